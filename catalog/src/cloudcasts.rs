//! A cloudcast as the API shows it (with stream URLs signed for the
//! caller), its owner's edits, retrying a failed transcode, and deletion.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use cloudcast_core::auth::{AuthUser, MaybeUser};
use cloudcast_core::extract::{ApiJson, ApiPath};
use cloudcast_core::listener::{self, Listener};
use cloudcast_core::signing::unix_now;
use cloudcast_core::states::CloudcastStatus;
use cloudcast_core::visibility::{self, Access};
use cloudcast_core::{keys, queue};

use crate::metadata::{
    PurchaseLink, Track, normalise_tags, plain_text, validate_links, validate_tracklist,
};
use crate::{CatalogError, CatalogState};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CloudcastView {
    pub id: Uuid,
    pub title: String,
    pub owner: String,
    pub status: CloudcastStatus,
    pub duration_ms: Option<i64>,
    /// Why processing failed or the upload was rejected, for the DJ.
    pub error: Option<String>,
    /// Transcoding progress in percent, while `processing`.
    pub progress: Option<i16>,
    /// Only the owner sees and hears a private cloudcast.
    pub private: bool,
    /// Signed, expiring URL of the HLS master playlist, bound to the
    /// listener who asked; set once ready.
    pub stream_url: Option<String>,
    /// Signed URL of the waveform peaks (audiowaveform JSON, for peaks.js).
    pub peaks_url: Option<String>,
    pub loudness: Option<LoudnessView>,
    pub description: String,
    pub tags: Vec<String>,
    pub tracklist: Vec<Track>,
    pub purchase_links: Vec<PurchaseLink>,
    /// Users who have it among their favourites.
    pub favourites: i64,
}

#[derive(sqlx::FromRow)]
struct Row {
    title: String,
    owner: String,
    owner_id: Uuid,
    private: bool,
    status: CloudcastStatus,
    duration_ms: Option<i64>,
    error: Option<String>,
    description: String,
    tags: Vec<String>,
    tracklist: serde_json::Value,
    purchase_links: serde_json::Value,
    progress: Option<i16>,
    favourites: i64,
    loudness_lufs: Option<f64>,
    loudness_range_lu: Option<f64>,
    true_peak_dbtp: Option<f64>,
}

/// EBU R128 measurements of the published audio.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoudnessView {
    pub integrated_lufs: Option<f64>,
    pub range_lu: Option<f64>,
    pub true_peak_dbtp: Option<f64>,
}

/// The cloudcast with stream URLs signed for `listener`, and who may see
/// it; callers apply [`Access::visible_to`].
async fn load(
    state: &CatalogState,
    id: Uuid,
    listener: &Listener,
) -> Result<(CloudcastView, Access), CatalogError> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT c.title, u.username AS owner, c.owner_id, c.private, c.status, c.duration_ms, c.error,
                c.description, c.tags, c.tracklist, c.purchase_links,
                (SELECT j.progress FROM transcode_jobs j WHERE j.cloudcast_id = c.id
                  ORDER BY j.created_at DESC LIMIT 1) AS progress,
                (SELECT count(*) FROM favourites f WHERE f.cloudcast_id = c.id) AS favourites,
                c.loudness_lufs, c.loudness_range_lu, c.true_peak_dbtp
           FROM cloudcasts c JOIN users u ON u.id = c.owner_id WHERE c.id = $1",
    )
    .bind(id)
    .fetch_optional(&state.pool)
    .await?;
    let Some(r) = row else {
        return Err(CatalogError::NotFound("cloudcast"));
    };
    let ready = r.status == CloudcastStatus::Ready;
    let query = state.signer.sign(id, listener, unix_now()).query();
    let signed = |file: &str| format!("{}/stream/{id}/{file}?{query}", state.public_url);
    let access = Access {
        owner_id: r.owner_id,
        private: r.private,
    };
    Ok((
        CloudcastView {
            id,
            title: r.title,
            owner: r.owner,
            private: r.private,
            progress: (r.status == CloudcastStatus::Processing).then(|| r.progress.unwrap_or(0)),
            stream_url: ready.then(|| signed("master.m3u8")),
            peaks_url: ready.then(|| signed("peaks.json")),
            loudness: ready.then_some(LoudnessView {
                integrated_lufs: r.loudness_lufs,
                range_lu: r.loudness_range_lu,
                true_peak_dbtp: r.true_peak_dbtp,
            }),
            status: r.status,
            duration_ms: r.duration_ms,
            error: r.error,
            description: r.description,
            tags: r.tags,
            tracklist: serde_json::from_value(r.tracklist).unwrap_or_default(),
            purchase_links: serde_json::from_value(r.purchase_links).unwrap_or_default(),
            favourites: r.favourites,
        },
        access,
    ))
}

/// `GET /api/v1/cloudcasts/{id}`: a private cloudcast is "not found" to
/// everyone but its owner. A browser seen for the first time gets its
/// anonymous listener cookie here, before its first stream request.
#[utoipa::path(get, path = "/api/v1/cloudcasts/{id}", tag = "cloudcasts",
    summary = "A cloudcast, with signed stream URLs for the caller",
    params(("id" = Uuid, Path, description = "The cloudcast")),
    responses(
        (status = 200, description = "The cloudcast", body = CloudcastView),
        (status = 404, description = "No such cloudcast (or private and not mine)", body = cloudcast_core::apidoc::ErrorBody)),
    security((), ("session" = [])))]
pub async fn get_cloudcast(
    State(state): State<CatalogState>,
    MaybeUser(user): MaybeUser,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
) -> Result<Response, CatalogError> {
    let mut new_cookie = None;
    let me = match listener::of_request(user, &headers) {
        Some(l) => l,
        None => {
            let fresh = listener::new_id();
            let l = Listener::anonymous(&fresh);
            new_cookie = listener::set_cookie(&fresh);
            l
        }
    };
    let (view, access) = load(&state, id, &me).await?;
    if !access.visible_to(user) {
        return Err(CatalogError::NotFound("cloudcast"));
    }
    let mut resp = Json(view).into_response();
    if let Some(c) = new_cookie {
        resp.headers_mut().insert(header::SET_COOKIE, c);
    }
    Ok(resp)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MetadataUpdate {
    pub title: Option<String>,
    pub description: Option<String>,
    pub tags: Option<Vec<String>>,
    pub tracklist: Option<Vec<Track>>,
    pub purchase_links: Option<Vec<PurchaseLink>>,
    pub private: Option<bool>,
}

/// `PATCH /api/v1/cloudcasts/{id}`: the owner edits the metadata.
#[utoipa::path(patch, path = "/api/v1/cloudcasts/{id}", tag = "cloudcasts",
    summary = "Change a cloudcast's title, description, tags, tracklist, links or privacy",
    params(("id" = Uuid, Path, description = "The cloudcast")),
    request_body = MetadataUpdate,
    responses(
        (status = 200, description = "The cloudcast", body = CloudcastView),
        (status = 403, description = "Not the owner", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such cloudcast", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "A field is invalid", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn update_metadata(
    State(state): State<CatalogState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(update): ApiJson<MetadataUpdate>,
) -> Result<Json<CloudcastView>, CatalogError> {
    let me = Listener::user(user);
    let (current, access) = load(&state, id, &me).await?;
    if !access.visible_to(Some(user)) {
        return Err(CatalogError::NotFound("cloudcast"));
    }
    if access.owner_id != user {
        return Err(CatalogError::NotOwner);
    }
    let title = match &update.title {
        Some(t) => {
            let t = t.trim();
            if t.is_empty() {
                return Err(CatalogError::InvalidField(
                    "title: must not be empty".into(),
                ));
            }
            plain_text("title", t, 200, false)?;
            t.to_string()
        }
        None => current.title,
    };
    if let Some(d) = &update.description {
        plain_text("description", d, 5000, true)?;
    }
    let tags = match &update.tags {
        Some(t) => normalise_tags(t)?,
        None => current.tags,
    };
    let tracklist = update.tracklist.unwrap_or(current.tracklist);
    validate_tracklist(&tracklist, current.duration_ms)?;
    let links = update.purchase_links.unwrap_or(current.purchase_links);
    validate_links(&links)?;
    sqlx::query(
        "UPDATE cloudcasts SET title = $2, description = $3, tags = $4, tracklist = $5,
                purchase_links = $6, private = $7, updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(&title)
    .bind(update.description.unwrap_or(current.description))
    .bind(&tags)
    .bind(to_json(&tracklist))
    .bind(to_json(&links))
    .bind(update.private.unwrap_or(current.private))
    .execute(&state.pool)
    .await?;
    tracing::info!(cloudcast_id = %id, "metadata updated");
    Ok(Json(load(&state, id, &me).await?.0))
}

/// Serialises the validated lists (strings and numbers only, so this cannot fail).
fn to_json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Array(Vec::new()))
}

/// Ok when `user` may manage the cloudcast (its owner or an administrator).
/// Others get 404 for a private one (it does not exist for them) and 403
/// for a public one.
async fn require_manager(state: &CatalogState, id: Uuid, user: Uuid) -> Result<(), CatalogError> {
    let viewed = visibility::load_for(&state.pool, id, Some(user))
        .await?
        .ok_or(CatalogError::NotFound("cloudcast"))?;
    if viewed.manageable_by(Some(user)) {
        return Ok(());
    }
    if viewed.access.visible_to(Some(user)) {
        Err(CatalogError::NotOwner)
    } else {
        Err(CatalogError::NotFound("cloudcast"))
    }
}

/// `POST /api/v1/cloudcasts/{id}/retry`: the owner or an admin puts a failed
/// transcode back in the queue.
#[utoipa::path(post, path = "/api/v1/cloudcasts/{id}/retry", tag = "cloudcasts",
    summary = "Transcode a failed cloudcast again",
    params(("id" = Uuid, Path, description = "The cloudcast")),
    responses(
        (status = 202, description = "Queued", body = CloudcastView),
        (status = 403, description = "Not the owner or an administrator", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such cloudcast (or a private one of someone else)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 409, description = "Not failed", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn retry(
    State(state): State<CatalogState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<(axum::http::StatusCode, Json<CloudcastView>), CatalogError> {
    require_manager(&state, id, user).await?;
    if !queue::retry_failed(&state.pool, id).await? {
        return Err(CatalogError::NotRetryable);
    }
    tracing::info!(cloudcast_id = %id, by = %user, "transcode retried");
    Ok((
        axum::http::StatusCode::ACCEPTED,
        Json(load(&state, id, &Listener::user(user)).await?.0),
    ))
}

/// `DELETE /api/v1/cloudcasts/{id}`: removes the cloudcast, its job (a
/// running worker notices within seconds and stops), and its objects.
#[utoipa::path(delete, path = "/api/v1/cloudcasts/{id}", tag = "cloudcasts",
    summary = "Delete a cloudcast and its media",
    params(("id" = Uuid, Path, description = "The cloudcast")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not the owner or an administrator", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such cloudcast", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn delete(
    State(state): State<CatalogState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<axum::http::StatusCode, CatalogError> {
    require_manager(&state, id, user).await?;
    sqlx::query("DELETE FROM cloudcasts WHERE id = $1")
        .bind(id)
        .execute(&state.pool)
        .await?;
    for prefix in keys::cloudcast_prefixes(id) {
        state.storage.delete_prefix(&prefix).await?;
    }
    tracing::info!(cloudcast_id = %id, by = %user, "cloudcast deleted");
    Ok(axum::http::StatusCode::NO_CONTENT)
}
