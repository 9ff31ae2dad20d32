//! One upload as stored (`uploads`), and what ends an unfinished one.

use sqlx::PgPool;
use uuid::Uuid;

use cloudcast_core::states::{UploadState, Visibility};

use crate::{IngestError, IngestState};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UploadRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub cloudcast_id: Uuid,
    pub title: String,
    /// Chosen at creation (`Upload-Metadata` key `visibility`).
    pub visibility: Visibility,
    /// Kept to its owner until published (`Upload-Metadata` key `draft`).
    pub draft: bool,
    pub length: i64,
    pub offset_bytes: i64,
    pub part_size: i64,
    pub s3_key: String,
    pub s3_upload_id: String,
    pub tail_key: Option<String>,
    pub tail_len: i64,
    pub state: UploadState,
    pub expires_at: time::OffsetDateTime,
}

pub const UPLOAD_COLUMNS: &str = "id, user_id, cloudcast_id, title, visibility, draft, length, offset_bytes, part_size, \
     s3_key, s3_upload_id, tail_key, tail_len, state, expires_at";

/// The upload `id` if `user` owns it; someone else's looks exactly like a
/// missing one.
pub async fn load_owned(pool: &PgPool, id: Uuid, user: Uuid) -> Result<UploadRow, IngestError> {
    let row: Option<UploadRow> = sqlx::query_as(&format!(
        "SELECT {UPLOAD_COLUMNS} FROM uploads WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    match row {
        Some(r) if r.user_id == user => Ok(r),
        _ => Err(IngestError::NotFound("upload")),
    }
}

/// When an upload touched now expires (tus expiration).
pub fn expires_after(state: &IngestState) -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc() + state.uploads.expiry
}

/// Deletes an object that is no longer referenced; a failure only leaves
/// garbage behind (swept with the upload), so it is logged, not returned.
pub async fn delete_quietly(state: &IngestState, key: &str) {
    if let Err(e) = state.storage.delete(key).await {
        tracing::warn!(key, error = %cloudcast_core::error::Chain(&e), "could not delete a stale object");
    }
}

/// Ends an unfinished upload: aborts the multipart upload, deletes the tail
/// and its part records, and marks the upload `new_state`. The caller holds
/// the upload's lock.
pub async fn close(
    state: &IngestState,
    up: &UploadRow,
    new_state: UploadState,
) -> Result<(), IngestError> {
    debug_assert!(new_state.is_closed());
    if let Err(e) = state
        .storage
        .abort_multipart(&up.s3_key, &up.s3_upload_id)
        .await
    {
        // Already gone is fine; anything else is retried by the next sweep.
        tracing::warn!(upload_id = %up.id, error = %cloudcast_core::error::Chain(&e), "aborting the multipart upload failed");
    }
    if let Some(tail) = &up.tail_key {
        delete_quietly(state, tail).await;
    }
    let mut tx = state.pool.begin().await?;
    sqlx::query("DELETE FROM upload_parts WHERE upload_id = $1")
        .bind(up.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE uploads SET state = $2, tail_key = NULL, tail_len = 0, updated_at = now() WHERE id = $1")
        .bind(up.id)
        .bind(new_state)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(upload_id = %up.id, %new_state, "upload closed");
    Ok(())
}
