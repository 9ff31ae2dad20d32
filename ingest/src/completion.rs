//! An upload's last byte: complete the S3 multipart upload, probe what
//! arrived, and create its cloudcast. Audio within the limits gets its
//! cloudcast and transcode job in one transaction (the job through the
//! queue); anything else becomes a `rejected` cloudcast with a reason the DJ
//! reads, and its bytes are deleted.

use std::time::Duration;

use cloudcast_core::states::{CloudcastStatus, UploadState};
use cloudcast_core::{queue, slugs};

use crate::probe::{Probe, probe_uri};
use crate::upload::{UploadRow, delete_quietly};
use crate::{IngestError, IngestState};

/// How long the probe's presigned URL lives: the probe reads a few
/// hundred KiB at once, or not at all.
const PROBE_URL_TTL: Duration = Duration::from_secs(300);
/// Longest the probe may take before it counts as inconclusive.
const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

pub async fn finish(state: &IngestState, up: &UploadRow) -> Result<(), IngestError> {
    let parts: Vec<(i32, String)> = sqlx::query_as(
        "SELECT part_number, etag FROM upload_parts WHERE upload_id = $1 ORDER BY part_number",
    )
    .bind(up.id)
    .fetch_all(&state.pool)
    .await?;
    state
        .storage
        .complete_multipart(&up.s3_key, &up.s3_upload_id, &parts)
        .await?;
    if let Some(tail) = &up.tail_key {
        delete_quietly(state, tail).await;
    }

    let url = state.storage.presign_get(&up.s3_key, PROBE_URL_TTL).await?;
    let max = state.uploads.max_duration;
    let probe = tokio::task::spawn_blocking(move || probe_uri(&url, PROBE_TIMEOUT, max))
        .await
        .unwrap_or_else(|e| Probe::Inconclusive(format!("probe thread failed: {e}")));
    let rejection = match &probe {
        Probe::Rejected(reason) => Some(reason.clone()),
        Probe::Audio { duration_ms } => {
            tracing::info!(?duration_ms, "probe: audio");
            None
        }
        Probe::Inconclusive(why) => {
            tracing::warn!(why, "probe inconclusive; the transcoder will decide");
            None
        }
    };

    let mut tx = state.pool.begin().await?;
    sqlx::query("UPDATE uploads SET state = $2, tail_key = NULL, updated_at = now() WHERE id = $1")
        .bind(up.id)
        .bind(UploadState::Complete)
        .execute(&mut *tx)
        .await?;
    let job = match &rejection {
        Some(reason) => {
            sqlx::query(
                "INSERT INTO cloudcasts (id, owner_id, title, status, error, original_key, visibility, draft)
                 VALUES ($1, $2, $3, $4, $5, NULL, $6, $7)",
            )
            .bind(up.cloudcast_id)
            .bind(up.user_id)
            .bind(&up.title)
            .bind(CloudcastStatus::Rejected)
            .bind(reason)
            .bind(up.visibility)
            .bind(up.draft)
            .execute(&mut *tx)
            .await?;
            None
        }
        None => {
            sqlx::query(
                "INSERT INTO cloudcasts (id, owner_id, title, status, original_key, visibility, draft)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(up.cloudcast_id)
            .bind(up.user_id)
            .bind(&up.title)
            .bind(CloudcastStatus::Processing)
            .bind(&up.s3_key)
            .bind(up.visibility)
            .bind(up.draft)
            .execute(&mut *tx)
            .await?;
            Some(queue::enqueue(&mut tx, up.cloudcast_id).await?)
        }
    };
    // Its readable URL, from the title, in the same transaction.
    slugs::assign(&mut tx, up.cloudcast_id, up.user_id, &up.title).await?;
    tx.commit().await?;
    match (rejection, job) {
        (Some(reason), _) => {
            tracing::info!(reason, "upload rejected; original deleted");
            delete_quietly(state, &up.s3_key).await;
        }
        (None, job) => {
            tracing::info!(job_id = ?job, bytes = up.length, "upload complete; transcode queued")
        }
    }
    Ok(())
}
