//! tus uploads streamed into S3 multipart uploads.
//!
//! Bytes of a PATCH are buffered up to the upload's part size; every full part
//! is uploaded at once and recorded in PostgreSQL together with the new offset.
//! Bytes past the last full part (the "tail", smaller than a part) are written
//! to an object of their own when the PATCH ends, so the durable offset always
//! equals committed parts plus the committed tail: a HEAD after a client
//! disconnect or a server crash returns exactly what is safe, and the upload
//! resumes from any node. Memory per PATCH is bounded by one part.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;
use serde::Serialize;
use sqlx::PgPool;
use sqlx::pool::PoolConnection;
use sqlx::postgres::Postgres;
use tracing::Instrument;
use uuid::Uuid;

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use cloudcast_core::auth::AuthUser;
use cloudcast_core::error::CoreError;
use cloudcast_core::extract::ApiPath;

use crate::partbuf::PartBuf;
use crate::probe::{Probe, probe_uri};
use crate::tus::{self, UPLOAD_LENGTH, UPLOAD_METADATA, UPLOAD_OFFSET};
use crate::{IngestError, IngestState};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UploadRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub cloudcast_id: Uuid,
    pub title: String,
    pub length: i64,
    pub offset_bytes: i64,
    pub part_size: i64,
    pub s3_key: String,
    pub s3_upload_id: String,
    pub tail_key: Option<String>,
    pub tail_len: i64,
    pub state: String,
    pub expires_at: time::OffsetDateTime,
}

const UPLOAD_COLUMNS: &str = "id, user_id, cloudcast_id, title, length, offset_bytes, part_size, \
     s3_key, s3_upload_id, tail_key, tail_len, state, expires_at";

async fn load_owned(pool: &PgPool, id: Uuid, user: Uuid) -> Result<UploadRow, IngestError> {
    let row: Option<UploadRow> = sqlx::query_as(&format!(
        "SELECT {UPLOAD_COLUMNS} FROM uploads WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    // Someone else's upload looks exactly like a missing one.
    match row {
        Some(r) if r.user_id == user => Ok(r),
        _ => Err(IngestError::NotFound("upload")),
    }
}

fn tus_response(status: StatusCode) -> Response {
    let mut resp = status.into_response();
    tus::base_headers(resp.headers_mut());
    resp
}

/// `Upload-Expires` in the HTTP date format (tus expiration extension).
fn set_expires(resp: &mut Response, at: time::OffsetDateTime) {
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    if let Ok(s) = at.to_offset(time::UtcOffset::UTC).format(&fmt)
        && let Ok(v) = HeaderValue::from_str(&s)
    {
        resp.headers_mut().insert(tus::UPLOAD_EXPIRES.clone(), v);
    }
}

fn set_num(resp: &mut Response, name: &axum::http::HeaderName, v: i64) {
    if let Ok(val) = HeaderValue::from_str(&v.to_string()) {
        resp.headers_mut().insert(name.clone(), val);
    }
}

/// `OPTIONS /api/v1/uploads`: what this server supports.
#[utoipa::path(options, path = "/api/v1/uploads", tag = "uploads",
    summary = "tus discovery: version, extensions, largest upload",
    responses(
        (status = 204, description = "Tus-Version, Tus-Extension and Tus-Max-Size headers")))]
pub async fn options(State(state): State<IngestState>) -> Response {
    let mut resp = tus_response(StatusCode::NO_CONTENT);
    let h = resp.headers_mut();
    h.insert(
        tus::TUS_VERSION_H.clone(),
        HeaderValue::from_static(tus::TUS_VERSION),
    );
    h.insert(
        tus::TUS_EXTENSION_H.clone(),
        HeaderValue::from_static(tus::TUS_EXTENSIONS),
    );
    if let Ok(v) = HeaderValue::from_str(&state.config.uploads.max_size.to_string()) {
        h.insert(tus::TUS_MAX_SIZE.clone(), v);
    }
    resp
}

/// `POST /api/v1/uploads` (tus creation).
/// `OPTIONS /api/v1/uploads/{id}`: the same discovery answer.
#[utoipa::path(options, path = "/api/v1/uploads/{id}", tag = "uploads",
    summary = "tus discovery on an upload",
    params(("id" = Uuid, Path, description = "The upload")),
    responses(
        (status = 204, description = "Tus-Version, Tus-Extension and Tus-Max-Size headers")))]
pub async fn options_one(State(state): State<IngestState>) -> Response {
    options(State(state)).await
}

#[utoipa::path(post, path = "/api/v1/uploads", tag = "uploads",
    summary = "Start a resumable tus upload (Upload-Length, Upload-Metadata with filename and title)",
    params(("Tus-Resumable" = String, Header, description = "1.0.0")),
    responses(
        (status = 201, description = "Created; Location names the upload"),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 412, description = "Not tus 1.0.0", body = cloudcast_core::apidoc::ErrorBody),
        (status = 413, description = "Larger than allowed", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn create(
    State(state): State<IngestState>,
    AuthUser(user): AuthUser,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, IngestError> {
    tus::check_resumable(&headers)?;
    if headers.contains_key("upload-defer-length") {
        return Err(IngestError::BadTusRequest(
            "Upload-Defer-Length is not supported; send Upload-Length".into(),
        ));
    }
    let length = tus::u64_header(&headers, &UPLOAD_LENGTH)?
        .ok_or_else(|| IngestError::BadTusRequest("Upload-Length is required".into()))?;
    if length == 0 {
        return Err(IngestError::BadTusRequest(
            "an empty file is not a cloudcast".into(),
        ));
    }
    let max = state.config.uploads.max_size;
    if length > max {
        return Err(IngestError::TooLarge(format!(
            "Upload-Length {length} exceeds the limit of {max} bytes"
        )));
    }
    let meta = match headers.get(&UPLOAD_METADATA) {
        Some(v) => tus::parse_metadata(v.to_str().map_err(|_| {
            IngestError::BadTusRequest("Upload-Metadata is not valid text".into())
        })?)?,
        None => Default::default(),
    };
    let filename = meta.get("filename").cloned().unwrap_or_default();
    let title = meta
        .get("title")
        .filter(|t| !t.trim().is_empty())
        .cloned()
        .unwrap_or_else(|| {
            if filename.is_empty() {
                "Untitled".into()
            } else {
                filename.clone()
            }
        });
    let title = title.trim().to_string();
    if title.chars().count() > 200 || filename.chars().count() > 255 {
        return Err(IngestError::InvalidField(
            "title must be at most 200 and filename at most 255 characters".into(),
        ));
    }

    let id = Uuid::now_v7();
    let cloudcast_id = Uuid::now_v7();
    let key = format!("originals/{cloudcast_id}/{id}");
    let part_size = tus::part_size(length, state.config.uploads.min_part_size);
    // creation-with-upload: the POST may carry the first bytes.
    let with_upload = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case(tus::OFFSET_CONTENT_TYPE));
    let declared_len = tus::u64_header(&headers, &header::CONTENT_LENGTH)?;
    let span = tracing::info_span!("upload", upload_id = %id, cloudcast_id = %cloudcast_id);
    async {
        let s3_upload_id = state.storage.create_multipart(&key).await?;
        let expires_at = time::OffsetDateTime::now_utc()
            + time::Duration::seconds(state.config.uploads.expiry_secs);
        sqlx::query(
            "INSERT INTO uploads (id, user_id, cloudcast_id, filename, title, length, part_size, s3_key, s3_upload_id, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(id)
        .bind(user)
        .bind(cloudcast_id)
        .bind(&filename)
        .bind(&title)
        .bind(length as i64)
        .bind(part_size as i64)
        .bind(&key)
        .bind(&s3_upload_id)
        .bind(expires_at)
        .execute(&state.pool)
        .await?;
        tracing::info!(length, part_size, with_upload, "upload created");
        let mut offset = 0;
        let mut expires = expires_at;
        if with_upload && declared_len != Some(0) {
            let up = load_owned(&state.pool, id, user).await?;
            let lock = UploadLock::try_acquire(&state.pool, id)
                .await?
                .ok_or(IngestError::Locked)?;
            let result = append(&state, up, 0, declared_len, body).await;
            lock.release().await;
            (offset, expires) = result?;
        }
        let mut resp = tus_response(StatusCode::CREATED);
        if let Ok(loc) = HeaderValue::from_str(&format!("/api/v1/uploads/{id}")) {
            resp.headers_mut().insert(header::LOCATION, loc);
        }
        set_num(&mut resp, &UPLOAD_OFFSET, offset);
        set_expires(&mut resp, expires);
        Ok(resp)
    }
    .instrument(span)
    .await
}

/// `HEAD /api/v1/uploads/{id}`: the durable offset.
#[utoipa::path(head, path = "/api/v1/uploads/{id}", tag = "uploads",
    summary = "tus: the upload's offset (Upload-Offset)",
    params(("id" = Uuid, Path, description = "The upload"), ("Tus-Resumable" = String, Header, description = "1.0.0")),
    responses(
        (status = 200, description = "Upload-Offset and Upload-Length headers"),
        (status = 404, description = "No such upload of mine", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn head(
    State(state): State<IngestState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
) -> Result<Response, IngestError> {
    tus::check_resumable(&headers)?;
    let up = load_owned(&state.pool, id, user).await?;
    if up.state == "terminated" || up.state == "expired" {
        return Err(IngestError::NotReceiving(up.state));
    }
    let mut resp = tus_response(StatusCode::OK);
    set_num(&mut resp, &UPLOAD_OFFSET, up.offset_bytes);
    set_num(&mut resp, &UPLOAD_LENGTH, up.length);
    if up.state == "receiving" {
        set_expires(&mut resp, up.expires_at);
    }
    Ok(resp)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UploadStatus {
    pub id: Uuid,
    pub offset: i64,
    pub length: i64,
    pub state: String,
    pub cloudcast_id: Option<Uuid>,
}

/// `GET /api/v1/uploads/{id}`: JSON status for people and scripts.
#[utoipa::path(get, path = "/api/v1/uploads/{id}", tag = "uploads",
    summary = "The upload's state as JSON",
    params(("id" = Uuid, Path, description = "The upload")),
    responses(
        (status = 200, description = "Offset, length and state", body = UploadStatus),
        (status = 404, description = "No such upload of mine", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn status(
    State(state): State<IngestState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<UploadStatus>, IngestError> {
    let up = load_owned(&state.pool, id, user).await?;
    let complete = up.state == "complete";
    Ok(Json(UploadStatus {
        id: up.id,
        offset: up.offset_bytes,
        length: up.length,
        state: up.state,
        cloudcast_id: complete.then_some(up.cloudcast_id),
    }))
}

/// Holds a session-level advisory lock on one upload for the length of a PATCH.
/// If the request is dropped mid-way, the connection is closed instead of being
/// returned to the pool, which releases the lock on the server.
struct UploadLock {
    conn: Option<PoolConnection<Postgres>>,
    key: i64,
}

impl UploadLock {
    async fn try_acquire(pool: &PgPool, id: Uuid) -> Result<Option<UploadLock>, IngestError> {
        let mut conn = pool.acquire().await?;
        // The lower 64 bits of a v7 UUID are random: a fine advisory-lock key.
        let key = id.as_u64_pair().1 as i64;
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(key)
            .fetch_one(&mut *conn)
            .await?;
        Ok(got.then_some(UploadLock {
            conn: Some(conn),
            key,
        }))
    }

    async fn release(mut self) {
        if let Some(mut conn) = self.conn.take() {
            let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(self.key)
                .execute(&mut *conn)
                .await;
            if unlocked.is_err() {
                drop(conn.detach());
            }
        }
    }
}

impl Drop for UploadLock {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            drop(conn.detach());
        }
    }
}

/// `PATCH /api/v1/uploads/{id}`: append bytes at `Upload-Offset`.
#[utoipa::path(patch, path = "/api/v1/uploads/{id}", tag = "uploads",
    summary = "tus: append bytes at Upload-Offset",
    params(("id" = Uuid, Path, description = "The upload"), ("Tus-Resumable" = String, Header, description = "1.0.0")),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream"),
    responses(
        (status = 204, description = "Appended; Upload-Offset is the new offset"),
        (status = 409, description = "Offset mismatch, or another request is writing", body = cloudcast_core::apidoc::ErrorBody),
        (status = 415, description = "Not application/offset+octet-stream", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn patch(
    State(state): State<IngestState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, IngestError> {
    tus::check_resumable(&headers)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.eq_ignore_ascii_case(tus::OFFSET_CONTENT_TYPE) {
        return Err(IngestError::BadContentType);
    }
    let sent_offset = tus::u64_header(&headers, &UPLOAD_OFFSET)?
        .ok_or_else(|| IngestError::BadTusRequest("Upload-Offset is required".into()))?;
    let declared_len = tus::u64_header(&headers, &header::CONTENT_LENGTH)?;

    let up = load_owned(&state.pool, id, user).await?;
    let span = tracing::info_span!("upload", upload_id = %id, cloudcast_id = %up.cloudcast_id);
    async move {
        let Some(lock) = UploadLock::try_acquire(&state.pool, id).await? else {
            return Err(IngestError::Locked);
        };
        // Re-read under the lock: another PATCH may have just finished.
        let up = load_owned(&state.pool, id, user).await?;
        // In its own task: if the client goes away, hyper drops this handler,
        // but the bytes already received are still committed (as a tail).
        let task_state = state.clone();
        let work = tokio::spawn(
            async move {
                let result = append(&task_state, up, sent_offset, declared_len, body).await;
                lock.release().await;
                result
            }
            .in_current_span(),
        );
        let (offset, expires) = work
            .await
            .map_err(|e| IngestError::BodyInterrupted(format!("upload task ended: {e}")))??;
        let mut resp = tus_response(StatusCode::NO_CONTENT);
        set_num(&mut resp, &UPLOAD_OFFSET, offset);
        set_expires(&mut resp, expires);
        Ok(resp)
    }
    .instrument(span)
    .await
}

async fn append(
    state: &IngestState,
    mut up: UploadRow,
    sent_offset: u64,
    declared_len: Option<u64>,
    body: Body,
) -> Result<(i64, time::OffsetDateTime), IngestError> {
    if up.state != "receiving" {
        if up.state == "complete" && sent_offset == up.length as u64 {
            return Ok((up.offset_bytes, up.expires_at));
        }
        return Err(IngestError::NotReceiving(up.state));
    }
    let offset = up.offset_bytes as u64;
    if sent_offset != offset {
        return Err(IngestError::OffsetMismatch {
            sent: sent_offset,
            expected: offset,
        });
    }
    let remaining = up.length as u64 - offset;
    let max_chunk = state.config.uploads.max_chunk;
    if let Some(n) = declared_len {
        if n > max_chunk {
            return Err(IngestError::TooLarge(format!(
                "one PATCH may carry at most {max_chunk} bytes"
            )));
        }
        if n > remaining {
            return Err(IngestError::BadTusRequest(format!(
                "the chunk of {n} bytes runs past Upload-Length ({remaining} bytes remain)"
            )));
        }
    }

    let part_size = up.part_size as usize;
    let mut buf = PartBuf::new(part_size)?;
    if let Some(tail) = &up.tail_key {
        let bytes = state.storage.get_bytes(tail).await?;
        // A tail is always shorter than a part; anything else is corruption.
        if buf.fill(&bytes) != bytes.len() {
            return Err(IngestError::Internal(format!(
                "tail object of {} bytes exceeds the part size",
                bytes.len()
            )));
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
                failure = Some(IngestError::BodyInterrupted(e.to_string()));
                break;
            }
        };
        let room = remaining - received;
        let take = (chunk.len() as u64).min(room) as usize;
        if received + chunk.len() as u64 > max_chunk {
            failure = Some(IngestError::TooLarge(format!(
                "one PATCH may carry at most {max_chunk} bytes"
            )));
            break;
        }
        let mut rest = &chunk[..take];
        while !rest.is_empty() {
            rest = &rest[buf.fill(rest)..];
            if buf.is_full() {
                let part = std::mem::replace(&mut buf, PartBuf::new(part_size)?).freeze();
                parts.push(state, &mut up, part).await?;
            }
        }
        received += take as u64;
        if take < chunk.len() {
            failure = Some(IngestError::BadTusRequest(
                "the body runs past Upload-Length; extra bytes were discarded".into(),
            ));
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
/// (this many parts, plus the one being filled).
const PARTS_IN_FLIGHT: usize = 3;

/// A part being stored: its number, ETag and size once done.
type PartUpload = tokio::task::JoinHandle<Result<(i32, String, i64), IngestError>>;

/// Uploads full parts in the background and commits them strictly in order,
/// so the durable offset only ever covers contiguous, stored bytes. If a part
/// fails, the parts after it are never committed (their numbers are reused
/// by the next PATCH, which overwrites them in S3).
struct PartPipeline {
    next_number: i32,
    inflight: std::collections::VecDeque<PartUpload>,
}

impl PartPipeline {
    fn new(next_number: i32) -> PartPipeline {
        PartPipeline {
            next_number,
            inflight: Default::default(),
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
            let (number, etag, size) = handle.await.map_err(|e| {
                IngestError::Core(CoreError::Storage(format!("part upload task: {e}")))
            })??;
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
        .bind(state.config.uploads.expiry_secs as f64)
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
    let key = format!("uploads/{}/tail-{}", up.id, Uuid::now_v7());
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
    .bind(state.config.uploads.expiry_secs as f64)
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

fn expires_after(state: &IngestState) -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc() + time::Duration::seconds(state.config.uploads.expiry_secs)
}

async fn delete_quietly(state: &IngestState, key: &str) {
    if let Err(e) = state.storage.delete(key).await {
        tracing::warn!(key, error = %e, "could not delete a stale tail object");
    }
}

/// Completes the multipart upload and probes the result. Audio within the
/// limits gets its cloudcast and transcode job in one transaction; anything
/// else becomes a `rejected` cloudcast with a reason and its bytes are deleted.
async fn finish(state: &IngestState, up: &UploadRow) -> Result<(), IngestError> {
    let parts: Vec<(i32, String)> = sqlx::query_as(
        "SELECT part_number, etag FROM upload_parts WHERE upload_id = $1 ORDER BY part_number",
    )
    .bind(up.id)
    .fetch_all(&state.pool)
    .await?;
    state
        .storage
        .complete_multipart(&up.s3_key, &up.s3_upload_id, &parts)
        .await
        .map_err(|e| match e {
            CoreError::Storage(m) => CoreError::Storage(format!("completing the upload: {m}")),
            other => other,
        })?;
    if let Some(tail) = &up.tail_key {
        delete_quietly(state, tail).await;
    }

    let url = state
        .storage
        .presign_get(&up.s3_key, Duration::from_secs(300))
        .await?;
    let max = Duration::from_secs(state.config.uploads.max_duration_secs);
    let probe = tokio::task::spawn_blocking(move || probe_uri(&url, Duration::from_secs(20), max))
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

    let job_id = Uuid::now_v7();
    let mut tx = state.pool.begin().await?;
    sqlx::query(
        "UPDATE uploads SET state = 'complete', tail_key = NULL, updated_at = now() WHERE id = $1",
    )
    .bind(up.id)
    .execute(&mut *tx)
    .await?;
    match &rejection {
        Some(reason) => {
            sqlx::query(
                "INSERT INTO cloudcasts (id, owner_id, title, status, error, original_key)
                 VALUES ($1, $2, $3, 'rejected', $4, NULL)",
            )
            .bind(up.cloudcast_id)
            .bind(up.user_id)
            .bind(&up.title)
            .bind(reason)
            .execute(&mut *tx)
            .await?;
        }
        None => {
            sqlx::query(
                "INSERT INTO cloudcasts (id, owner_id, title, status, original_key) VALUES ($1, $2, $3, 'processing', $4)",
            )
            .bind(up.cloudcast_id)
            .bind(up.user_id)
            .bind(&up.title)
            .bind(&up.s3_key)
            .execute(&mut *tx)
            .await?;
            sqlx::query("INSERT INTO transcode_jobs (id, cloudcast_id) VALUES ($1, $2)")
                .bind(job_id)
                .bind(up.cloudcast_id)
                .execute(&mut *tx)
                .await?;
            // Delivered at commit: idle workers wake at once instead of polling.
            sqlx::query("SELECT pg_notify('transcode_jobs', $1)")
                .bind(job_id.to_string())
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await?;
    match rejection {
        Some(reason) => {
            tracing::info!(reason, "upload rejected; original deleted");
            delete_quietly(state, &up.s3_key).await;
        }
        None => {
            tracing::info!(job_id = %job_id, bytes = up.length, "upload complete; transcode queued")
        }
    }
    Ok(())
}

/// `DELETE /api/v1/uploads/{id}` (tus termination): aborts the S3 multipart
/// upload and frees what was stored.
#[utoipa::path(delete, path = "/api/v1/uploads/{id}", tag = "uploads",
    summary = "tus: abandon an unfinished upload",
    params(("id" = Uuid, Path, description = "The upload"), ("Tus-Resumable" = String, Header, description = "1.0.0")),
    responses(
        (status = 204, description = "Terminated"),
        (status = 404, description = "No such upload of mine", body = cloudcast_core::apidoc::ErrorBody),
        (status = 409, description = "Complete: delete the cloudcast instead", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn terminate(
    State(state): State<IngestState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
) -> Result<Response, IngestError> {
    tus::check_resumable(&headers)?;
    let up = load_owned(&state.pool, id, user).await?;
    let Some(lock) = UploadLock::try_acquire(&state.pool, id).await? else {
        return Err(IngestError::Locked);
    };
    let up = load_owned(&state.pool, up.id, user).await?;
    let result = match up.state.as_str() {
        "receiving" => close(&state, &up, "terminated").await,
        "complete" => Err(IngestError::UploadComplete),
        other => Err(IngestError::NotReceiving(other.to_string())),
    };
    lock.release().await;
    result?;
    Ok(tus_response(StatusCode::NO_CONTENT))
}

/// Ends an unfinished upload: aborts the multipart upload, deletes the tail
/// and its part records, and marks the upload `state`.
async fn close(state: &IngestState, up: &UploadRow, new_state: &str) -> Result<(), IngestError> {
    if let Err(e) = state
        .storage
        .abort_multipart(&up.s3_key, &up.s3_upload_id)
        .await
    {
        // Already gone is fine; anything else is retried by the next sweep.
        tracing::warn!(upload_id = %up.id, error = %e, "aborting the multipart upload failed");
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
    tracing::info!(upload_id = %up.id, new_state, "upload closed");
    Ok(())
}

/// Expires unfinished uploads whose time ran out (tus expiration), freeing
/// their S3 multipart uploads. Runs until `shutdown`.
pub async fn run_janitor(state: IngestState, every: Duration, shutdown: CancellationToken) {
    loop {
        if let Err(e) = expire_due(&state).await {
            tracing::warn!(error = %e, "expiring uploads failed");
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

pub async fn expire_due(state: &IngestState) -> Result<usize, IngestError> {
    let due: Vec<UploadRow> = sqlx::query_as(&format!(
        "SELECT {UPLOAD_COLUMNS} FROM uploads WHERE state = 'receiving' AND expires_at < now() LIMIT 100"
    ))
    .fetch_all(&state.pool)
    .await?;
    let mut n = 0;
    for up in due {
        // A PATCH in flight holds the lock: leave that upload for the next sweep.
        let Some(lock) = UploadLock::try_acquire(&state.pool, up.id).await? else {
            continue;
        };
        let result = close(state, &up, "expired").await;
        lock.release().await;
        result?;
        n += 1;
    }
    Ok(n)
}
