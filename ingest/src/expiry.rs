//! tus expiration: unfinished uploads whose time ran out are closed, their
//! S3 multipart uploads aborted and their tails deleted.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use cloudcast_core::states::UploadState;

use crate::lock::UploadLock;
use crate::upload::{UPLOAD_COLUMNS, UploadRow, close};
use crate::{IngestError, IngestState};

/// Uploads expired per sweep; the next sweep takes the rest.
const SWEEP_BATCH: i64 = 100;

/// Sweeps every `every` until `shutdown`.
pub async fn run(state: IngestState, every: Duration, shutdown: CancellationToken) {
    cloudcast_core::periodic::every("upload_expiry", every, shutdown, || async {
        expire_due(&state)
            .await
            .map(|_| ())
            .map_err(|e| cloudcast_core::error::Chain(&e).to_string())
    })
    .await
}

pub async fn expire_due(state: &IngestState) -> Result<usize, IngestError> {
    let due: Vec<UploadRow> = sqlx::query_as(&format!(
        "SELECT {UPLOAD_COLUMNS} FROM uploads WHERE state = $1 AND expires_at < now() LIMIT $2"
    ))
    .bind(UploadState::Receiving)
    .bind(SWEEP_BATCH)
    .fetch_all(&state.pool)
    .await?;
    let mut n = 0;
    for up in due {
        // A PATCH in flight holds the lock: leave that upload for the next sweep.
        let Some(lock) = UploadLock::try_acquire(&state.pool, up.id).await? else {
            continue;
        };
        let result = close(state, &up, UploadState::Expired).await;
        lock.release().await;
        result?;
        n += 1;
    }
    Ok(n)
}
