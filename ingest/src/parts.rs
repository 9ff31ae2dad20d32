//! The part pipeline: the bytes of one PATCH, cut into S3 multipart parts.
//!
//! Bytes are buffered up to the upload's part size; every full part is
//! uploaded at once and recorded in PostgreSQL together with the new
//! offset. Bytes past the last full part (the "tail", smaller than a part)
//! are written to an object of their own when the PATCH ends, so the
//! durable offset always equals committed parts plus the committed tail: a
//! HEAD after a client disconnect or a server crash returns exactly what is
//! safe, and the upload resumes from any node. Memory per PATCH is bounded
//! by [`PARTS_IN_FLIGHT`] parts plus the one being filled.

use std::collections::VecDeque;

use axum::body::Body;
use bytes::Bytes;
use futures::StreamExt;
use sqlx::PgPool;
use uuid::Uuid;

use cloudcast_core::keys;
use cloudcast_core::states::UploadState;

use crate::completion::finish;
use crate::partbuf::PartBuf;
use crate::upload::{UploadRow, delete_quietly, expires_after};
use crate::{IngestError, IngestState, metrics};

/// Where a PATCH may start, given the upload's state: `Ok(true)` to take
/// bytes, `Ok(false)` when the upload is already complete and the client
/// is resending its last PATCH (answered with the final offset, nothing
/// written).
pub fn check_start(up: &UploadRow, sent_offset: u64) -> Result<bool, IngestError> {
    match up.state {
        UploadState::Receiving => {}
        UploadState::Complete if sent_offset == up.length as u64 => return Ok(false),
        other => return Err(IngestError::NotReceiving(other)),
    }
    let offset = up.offset_bytes as u64;
    if sent_offset != offset {
        return Err(IngestError::OffsetMismatch {
            sent: sent_offset,
            expected: offset,
        });
    }
    Ok(true)
}

/// Checks a PATCH's declared `Content-Length` before any byte is read.
pub fn check_declared(
    declared: Option<u64>,
    remaining: u64,
    max_chunk: u64,
) -> Result<(), IngestError> {
    let Some(n) = declared else {
        return Ok(());
    };
    if n > max_chunk {
        return Err(too_large(max_chunk));
    }
    if n > remaining {
        return Err(IngestError::BadTusRequest(format!(
            "the chunk of {n} bytes runs past Upload-Length ({remaining} bytes remain)"
        )));
    }
    Ok(())
}

fn too_large(max_chunk: u64) -> IngestError {
    IngestError::TooLarge(format!("one PATCH may carry at most {max_chunk} bytes"))
}

/// How much of a body chunk of `len` bytes to keep when `received` bytes of
/// this PATCH are in and `remaining` were left when it began; with the
/// error that ends the PATCH after it, if any. What was kept is committed
/// even then, so the client resumes from HEAD.
pub fn take(received: u64, len: u64, remaining: u64, max_chunk: u64) -> (u64, Option<IngestError>) {
    if received + len > max_chunk {
        return (0, Some(too_large(max_chunk)));
    }
    let room = remaining - received;
    if len > room {
        return (
            room,
            Some(IngestError::BadTusRequest(
                "the body runs past Upload-Length; extra bytes were discarded".into(),
            )),
        );
    }
    (len, None)
}

/// Appends the body at `sent_offset`; returns the new durable offset and
/// expiry. The caller holds the upload's lock.
pub async fn append(
    state: &IngestState,
    mut up: UploadRow,
    sent_offset: u64,
    declared_len: Option<u64>,
    body: Body,
) -> Result<(i64, time::OffsetDateTime), IngestError> {
    if !check_start(&up, sent_offset)? {
        return Ok((up.offset_bytes, up.expires_at));
    }
    let offset = up.offset_bytes as u64;
    let remaining = up.length as u64 - offset;
    let max_chunk = state.uploads.max_chunk;
    check_declared(declared_len, remaining, max_chunk)?;

    let part_size = up.part_size as usize;
    let mut buf = PartBuf::new(part_size)?;
    if let Some(tail) = &up.tail_key {
        let bytes = state.storage.get_bytes(tail).await?;
        // A tail is always shorter than a part; anything else is corruption.
        if buf.fill(&bytes) != bytes.len() {
            return Err(IngestError::CorruptTail(bytes.len()));
        }
    }
    let mut received: u64 = 0;
    let mut failure: Option<IngestError> = None;
    let mut parts = PartPipeline::new(next_part_number(&state.pool, up.id).await?);
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                // Keep what arrived intact; the client resumes from HEAD.
                failure = Some(IngestError::BodyInterrupted(e));
                break;
            }
        };
        let (kept, stop) = take(received, chunk.len() as u64, remaining, max_chunk);
        let mut rest = &chunk[..kept as usize];
        while !rest.is_empty() {
            rest = &rest[buf.fill(rest)..];
            if buf.is_full() {
                let part = std::mem::replace(&mut buf, PartBuf::new(part_size)?).freeze();
                parts.push(state, &mut up, part).await?;
            }
        }
        received += kept;
        metrics::bytes_received(kept);
        if stop.is_some() {
            failure = stop;
            break;
        }
    }

    let complete = offset + received == up.length as u64;
    if complete && !buf.is_empty() {
        // The last part may be smaller than the minimum part size.
        let last = std::mem::replace(&mut buf, PartBuf::new(1)?).freeze();
        parts.push(state, &mut up, last).await?;
    }
    // Every part must be committed before a tail is written after them.
    parts.drain(state, &mut up).await?;
    if !buf.is_empty() {
        commit_tail(state, &mut up, buf.freeze()).await?;
    }
    if complete {
        finish(state, &up).await?;
    }
    match failure {
        Some(e) => Err(e),
        None => Ok((up.offset_bytes, up.expires_at)),
    }
}

async fn next_part_number(pool: &PgPool, upload: Uuid) -> Result<i32, IngestError> {
    let n: Option<i32> =
        sqlx::query_scalar("SELECT max(part_number) FROM upload_parts WHERE upload_id = $1")
            .bind(upload)
            .fetch_one(pool)
            .await?;
    Ok(n.unwrap_or(0) + 1)
}

/// How many parts of one PATCH are sent to S3 while the body is still being
/// read: enough to overlap receiving with storing, and a bound on memory
/// (this many parts, plus the one being filled). Two keep a 2 GiB upload at
/// 0.91 of the aws CLI's speed with the node under 100 MiB; a third added
/// speed within the noise and 8 MiB of memory (BENCHMARKS.md).
pub const PARTS_IN_FLIGHT: usize = 2;

/// A part being stored: its number, ETag and size once done.
type PartUpload = tokio::task::JoinHandle<Result<(i32, String, i64), IngestError>>;

/// Uploads full parts in the background and commits them strictly in order,
/// so the durable offset only ever covers contiguous, stored bytes. If a part
/// fails, the parts after it are never committed (their numbers are reused
/// by the next PATCH, which overwrites them in S3).
struct PartPipeline {
    next_number: i32,
    inflight: VecDeque<PartUpload>,
}

impl PartPipeline {
    fn new(next_number: i32) -> PartPipeline {
        PartPipeline {
            next_number,
            inflight: VecDeque::with_capacity(PARTS_IN_FLIGHT),
        }
    }

    async fn push(
        &mut self,
        state: &IngestState,
        up: &mut UploadRow,
        part: Bytes,
    ) -> Result<(), IngestError> {
        let storage = state.storage.clone();
        let (key, upload_id) = (up.s3_key.clone(), up.s3_upload_id.clone());
        let number = self.next_number;
        self.next_number += 1;
        let size = part.len() as i64;
        self.inflight.push_back(tokio::spawn(async move {
            let etag = storage.upload_part(&key, &upload_id, number, part).await?;
            Ok((number, etag, size))
        }));
        while self.inflight.len() >= PARTS_IN_FLIGHT {
            self.commit_oldest(state, up).await?;
        }
        Ok(())
    }

    async fn commit_oldest(
        &mut self,
        state: &IngestState,
        up: &mut UploadRow,
    ) -> Result<(), IngestError> {
        if let Some(handle) = self.inflight.pop_front() {
            let (number, etag, size) = handle.await.map_err(IngestError::PartTask)??;
            record_part(state, up, number, &etag, size).await?;
        }
        Ok(())
    }

    async fn drain(&mut self, state: &IngestState, up: &mut UploadRow) -> Result<(), IngestError> {
        while !self.inflight.is_empty() {
            self.commit_oldest(state, up).await?;
        }
        Ok(())
    }
}

/// Commits one stored part with the new offset. The first part of a PATCH
/// contains the old tail (if any), so the tail is cleared in the same
/// transaction.
async fn record_part(
    state: &IngestState,
    up: &mut UploadRow,
    number: i32,
    etag: &str,
    size: i64,
) -> Result<(), IngestError> {
    let parts_total = {
        let mut tx = state.pool.begin().await?;
        sqlx::query(
            "INSERT INTO upload_parts (upload_id, part_number, etag, size) VALUES ($1, $2, $3, $4)
             ON CONFLICT (upload_id, part_number) DO UPDATE SET etag = EXCLUDED.etag, size = EXCLUDED.size",
        )
        .bind(up.id)
        .bind(number)
        .bind(etag)
        .bind(size)
        .execute(&mut *tx)
        .await?;
        let total: i64 = sqlx::query_scalar(
            "SELECT COALESCE(sum(size), 0)::bigint FROM upload_parts WHERE upload_id = $1",
        )
        .bind(up.id)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE uploads SET offset_bytes = $2, tail_key = NULL, tail_len = 0, updated_at = now(),
                    expires_at = now() + make_interval(secs => $3)
             WHERE id = $1",
        )
        .bind(up.id)
        .bind(total)
        .bind(state.uploads.expiry.as_secs_f64())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        total
    };
    tracing::debug!(part = number, size, offset = parts_total, "part committed");
    if let Some(old) = up.tail_key.take() {
        delete_quietly(state, &old).await;
    }
    up.tail_len = 0;
    up.offset_bytes = parts_total;
    up.expires_at = expires_after(state);
    Ok(())
}

/// Writes the bytes past the last full part to a fresh object, then points
/// the upload at it; the old tail is deleted only after the switch.
async fn commit_tail(
    state: &IngestState,
    up: &mut UploadRow,
    tail: Bytes,
) -> Result<(), IngestError> {
    let key = keys::upload_tail(up.id, Uuid::now_v7());
    let len = tail.len() as i64;
    state
        .storage
        .put_bytes(&key, tail, "application/octet-stream")
        .await?;
    let parts_total: i64 = sqlx::query_scalar(
        "SELECT COALESCE(sum(size), 0)::bigint FROM upload_parts WHERE upload_id = $1",
    )
    .bind(up.id)
    .fetch_one(&state.pool)
    .await?;
    sqlx::query(
        "UPDATE uploads SET offset_bytes = $2, tail_key = $3, tail_len = $4, updated_at = now(),
                expires_at = now() + make_interval(secs => $5)
          WHERE id = $1",
    )
    .bind(up.id)
    .bind(parts_total + len)
    .bind(&key)
    .bind(len)
    .bind(state.uploads.expiry.as_secs_f64())
    .execute(&state.pool)
    .await?;
    if let Some(old) = up.tail_key.replace(key) {
        delete_quietly(state, &old).await;
    }
    up.tail_len = len;
    up.offset_bytes = parts_total + len;
    up.expires_at = expires_after(state);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upload(state: UploadState, offset: i64, length: i64) -> UploadRow {
        UploadRow {
            id: Uuid::nil(),
            user_id: Uuid::nil(),
            cloudcast_id: Uuid::nil(),
            title: String::new(),
            visibility: cloudcast_core::states::Visibility::Public,
            draft: false,
            length,
            offset_bytes: offset,
            part_size: 8 << 20,
            s3_key: String::new(),
            s3_upload_id: String::new(),
            tail_key: None,
            tail_len: 0,
            state,
            expires_at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_patch_starts_only_at_the_durable_offset() {
        let up = upload(UploadState::Receiving, 100, 1000);
        assert!(matches!(check_start(&up, 100), Ok(true)));
        assert!(matches!(
            check_start(&up, 0),
            Err(IngestError::OffsetMismatch {
                sent: 0,
                expected: 100
            })
        ));
        assert!(matches!(
            check_start(&up, 101),
            Err(IngestError::OffsetMismatch { .. })
        ));
        // A complete upload answers its final offset to a resent last PATCH.
        let done = upload(UploadState::Complete, 1000, 1000);
        assert!(matches!(check_start(&done, 1000), Ok(false)));
        assert!(matches!(
            check_start(&done, 10),
            Err(IngestError::NotReceiving(UploadState::Complete))
        ));
        let gone = upload(UploadState::Expired, 0, 1000);
        assert!(matches!(
            check_start(&gone, 0),
            Err(IngestError::NotReceiving(UploadState::Expired))
        ));
    }

    #[test]
    fn a_declared_length_must_fit_the_chunk_and_the_upload() {
        assert!(check_declared(None, 10, 5).is_ok());
        assert!(check_declared(Some(5), 10, 5).is_ok());
        assert!(matches!(
            check_declared(Some(6), 10, 5),
            Err(IngestError::TooLarge(_))
        ));
        assert!(matches!(
            check_declared(Some(11), 10, 100),
            Err(IngestError::BadTusRequest(_))
        ));
    }

    #[test]
    fn bytes_past_the_upload_or_the_chunk_limit_are_not_kept() {
        // Fits.
        assert!(matches!(take(0, 4, 10, 100), (4, None)));
        // Runs past Upload-Length: the part that fits is kept.
        assert!(matches!(
            take(8, 4, 10, 100),
            (2, Some(IngestError::BadTusRequest(_)))
        ));
        // Exactly to the end.
        assert!(matches!(take(6, 4, 10, 100), (4, None)));
        // Past the PATCH limit: nothing of this chunk is kept.
        assert!(matches!(
            take(98, 4, 1000, 100),
            (0, Some(IngestError::TooLarge(_)))
        ));
    }
}
