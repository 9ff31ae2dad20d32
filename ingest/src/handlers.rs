//! The tus routes: discovery, creation (with an optional first chunk),
//! offset, JSON status, append and termination. Each takes the upload's
//! lock before it writes; the bytes themselves go through `parts.rs`.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cloudcast_core::standing::Restriction;
use serde::Serialize;
use tracing::Instrument;
use uuid::Uuid;

use cloudcast_core::auth::AuthUser;
use cloudcast_core::extract::ApiPath;
use cloudcast_core::keys;
use cloudcast_core::quotas;
use cloudcast_core::states::{UploadState, Visibility};

use crate::lock::UploadLock;
use crate::parts::append;
use crate::tus::{self, UPLOAD_LENGTH, UPLOAD_METADATA, UPLOAD_OFFSET};
use crate::upload::{close, load_owned};
use crate::{IngestError, IngestState};

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
    if let Ok(v) = HeaderValue::from_str(&state.uploads.max_size.to_string()) {
        h.insert(tus::TUS_MAX_SIZE.clone(), v);
    }
    resp
}

/// `OPTIONS /api/v1/uploads/{id}`: the same discovery answer.
#[utoipa::path(options, path = "/api/v1/uploads/{id}", tag = "uploads",
    summary = "tus discovery on an upload",
    params(("id" = Uuid, Path, description = "The upload")),
    responses(
        (status = 204, description = "Tus-Version, Tus-Extension and Tus-Max-Size headers")))]
pub async fn options_one(
    State(state): State<IngestState>,
    ApiPath(_id): ApiPath<Uuid>,
) -> Response {
    options(State(state)).await
}

/// `POST /api/v1/uploads` (tus creation).
#[utoipa::path(post, path = "/api/v1/uploads", tag = "uploads",
    summary = "Start a resumable tus upload (Upload-Length, Upload-Metadata with filename, title, visibility and draft)",
    params(("Tus-Resumable" = String, Header, description = "1.0.0")),
    responses(
        (status = 201, description = "Created; Location names the upload"),
        (status = 400, description = "A tus header is missing or malformed, or the first bytes run past Upload-Length", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 403, description = "Over the account's quota: unfinished uploads (`too_many_open_uploads`) or bytes held (`storage_quota_exceeded`); an unverified account has a small allowance; a moderator took uploads away (`account_restricted`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 412, description = "Not tus 1.0.0", body = cloudcast_core::apidoc::ErrorBody),
        (status = 413, description = "Larger than allowed", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "The title or file name is too long or holds control characters, or the visibility or draft flag is unknown", body = cloudcast_core::apidoc::ErrorBody),
        (status = 423, description = "Another request is writing to this upload (creation-with-upload)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 429, description = "Today's upload volume is used up (`daily_upload_volume_exceeded`, Retry-After: midnight UTC)", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn create(
    State(state): State<IngestState>,
    AuthUser(user): AuthUser,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, IngestError> {
    tus::check_resumable(&headers)?;
    // A moderator may have taken uploads away from this account.
    cloudcast_core::standing::require(&state.pool, user, Restriction::Uploads).await?;
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
    let max = state.uploads.max_size;
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
    if title.chars().chain(filename.chars()).any(char::is_control) {
        return Err(IngestError::InvalidField(
            "title and filename must not contain control characters".into(),
        ));
    }
    // Chosen up front, so a mix meant to be private is never listed, not
    // even between its transcode and a later edit.
    let visibility = match meta.get("visibility").map(String::as_str) {
        None => Visibility::Public,
        Some(v) => Visibility::parse(v).ok_or_else(|| {
            IngestError::InvalidField("visibility must be public, unlisted or private".into())
        })?,
    };
    // A draft stays its owner's until published (`POST .../publish`), so
    // the details can be filled in while the file uploads.
    let draft = match meta.get("draft").map(String::as_str) {
        None | Some("false") => false,
        Some("" | "true") => true,
        Some(_) => {
            return Err(IngestError::InvalidField(
                "draft must be true or false (or empty, meaning true)".into(),
            ));
        }
    };

    let id = Uuid::now_v7();
    let cloudcast_id = Uuid::now_v7();
    let key = keys::original(cloudcast_id, id);
    let part_size = tus::part_size(length, state.uploads.min_part_size);
    // creation-with-upload: the POST may carry the first bytes.
    let with_upload = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case(tus::OFFSET_CONTENT_TYPE));
    let declared_len = tus::u64_header(&headers, &header::CONTENT_LENGTH)?;
    let span = tracing::info_span!("upload", upload_id = %id, cloudcast_id = %cloudcast_id);
    async {
        // The quota is checked and the upload recorded in one transaction
        // under the account's row lock, so uploads started at once are
        // counted one after the other.
        let mut tx = state.pool.begin().await?;
        quotas::admit(&mut tx, &state.quotas, user, length)
            .await?
            .map_err(IngestError::OverQuota)?;
        let s3_upload_id = state.storage.create_multipart(&key).await?;
        let expires_at = time::OffsetDateTime::now_utc() + state.uploads.expiry;
        sqlx::query(
            "INSERT INTO uploads (id, user_id, cloudcast_id, filename, title, length, part_size, s3_key, s3_upload_id, expires_at, visibility, draft)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
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
        .bind(visibility)
        .bind(draft)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
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
        (status = 404, description = "No such upload of mine"),
        (status = 410, description = "Terminated or expired"),
        (status = 412, description = "Not tus 1.0.0")),
    security(("session" = [])))]
pub async fn head(
    State(state): State<IngestState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
) -> Result<Response, IngestError> {
    tus::check_resumable(&headers)?;
    let up = load_owned(&state.pool, id, user).await?;
    if up.state.is_closed() {
        return Err(IngestError::NotReceiving(up.state));
    }
    let mut resp = tus_response(StatusCode::OK);
    set_num(&mut resp, &UPLOAD_OFFSET, up.offset_bytes);
    set_num(&mut resp, &UPLOAD_LENGTH, up.length);
    if up.state == UploadState::Receiving {
        set_expires(&mut resp, up.expires_at);
    }
    Ok(resp)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UploadStatus {
    pub id: Uuid,
    pub offset: i64,
    pub length: i64,
    pub state: UploadState,
    /// Set once the upload is complete.
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
    let complete = up.state == UploadState::Complete;
    Ok(Json(UploadStatus {
        id: up.id,
        offset: up.offset_bytes,
        length: up.length,
        state: up.state,
        cloudcast_id: complete.then_some(up.cloudcast_id),
    }))
}
/// `PATCH /api/v1/uploads/{id}`: append bytes at `Upload-Offset`.
#[utoipa::path(patch, path = "/api/v1/uploads/{id}", tag = "uploads",
    summary = "tus: append bytes at Upload-Offset",
    params(("id" = Uuid, Path, description = "The upload"), ("Tus-Resumable" = String, Header, description = "1.0.0")),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream"),
    responses(
        (status = 204, description = "Appended; Upload-Offset is the new offset"),
        (status = 400, description = "A tus header is missing or malformed, the body runs past Upload-Length, or it was cut off", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such upload of mine", body = cloudcast_core::apidoc::ErrorBody),
        (status = 409, description = "Upload-Offset is not the upload's offset", body = cloudcast_core::apidoc::ErrorBody),
        (status = 410, description = "Terminated or expired", body = cloudcast_core::apidoc::ErrorBody),
        (status = 412, description = "Not tus 1.0.0", body = cloudcast_core::apidoc::ErrorBody),
        (status = 413, description = "More than one PATCH may carry", body = cloudcast_core::apidoc::ErrorBody),
        (status = 415, description = "Not application/offset+octet-stream", body = cloudcast_core::apidoc::ErrorBody),
        (status = 423, description = "Another request is writing to this upload", body = cloudcast_core::apidoc::ErrorBody)),
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
        let (offset, expires) = work.await.map_err(IngestError::PartTask)??;
        let mut resp = tus_response(StatusCode::NO_CONTENT);
        set_num(&mut resp, &UPLOAD_OFFSET, offset);
        set_expires(&mut resp, expires);
        Ok(resp)
    }
    .instrument(span)
    .await
}

/// `DELETE /api/v1/uploads/{id}` (tus termination): aborts the S3 multipart
/// upload and frees what was stored.
#[utoipa::path(delete, path = "/api/v1/uploads/{id}", tag = "uploads",
    summary = "tus: abandon an unfinished upload",
    params(("id" = Uuid, Path, description = "The upload"), ("Tus-Resumable" = String, Header, description = "1.0.0")),
    responses(
        (status = 204, description = "Terminated"),
        (status = 404, description = "No such upload of mine", body = cloudcast_core::apidoc::ErrorBody),
        (status = 409, description = "Complete: delete the cloudcast instead", body = cloudcast_core::apidoc::ErrorBody),
        (status = 410, description = "Terminated or expired already", body = cloudcast_core::apidoc::ErrorBody),
        (status = 412, description = "Not tus 1.0.0", body = cloudcast_core::apidoc::ErrorBody),
        (status = 423, description = "Another request is writing to this upload", body = cloudcast_core::apidoc::ErrorBody)),
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
    let result = match up.state {
        UploadState::Receiving => close(&state, &up, UploadState::Terminated).await,
        UploadState::Complete => Err(IngestError::UploadComplete),
        other => Err(IngestError::NotReceiving(other)),
    };
    lock.release().await;
    result?;
    Ok(tus_response(StatusCode::NO_CONTENT))
}
