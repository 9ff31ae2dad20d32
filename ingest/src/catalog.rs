//! The catalogue: what a cloudcast is, its metadata, and where to stream it.

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

use crate::{IngestError, IngestState};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Track {
    pub start_ms: u64,
    pub artist: String,
    pub title: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurchaseLink {
    pub label: String,
    pub url: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CloudcastView {
    pub id: Uuid,
    pub title: String,
    pub owner: String,
    /// `processing`, `ready`, `failed` or `rejected`.
    pub status: String,
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
    status: String,
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

/// The cloudcast as `listener` may see it (stream URLs signed for them),
/// with its owner's id.
async fn load(
    state: &IngestState,
    id: Uuid,
    listener: &Listener,
) -> Result<(CloudcastView, Uuid), IngestError> {
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
        return Err(IngestError::NotFound("cloudcast"));
    };
    let ready = r.status == "ready";
    let query = state.signer.sign(id, listener, unix_now()).query();
    let signed = |file: &str| format!("{}/stream/{id}/{file}?{query}", state.config.public_url());
    Ok((
        CloudcastView {
            id,
            title: r.title,
            owner: r.owner,
            private: r.private,
            progress: (r.status == "processing").then(|| r.progress.unwrap_or(0)),
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
        r.owner_id,
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
    State(state): State<IngestState>,
    MaybeUser(user): MaybeUser,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
) -> Result<Response, IngestError> {
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
    let (view, owner) = load(&state, id, &me).await?;
    if view.private && user != Some(owner) {
        return Err(IngestError::NotFound("cloudcast"));
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

fn invalid(msg: impl Into<String>) -> IngestError {
    IngestError::InvalidField(msg.into())
}

fn plain_text(name: &str, s: &str, max: usize, allow_newlines: bool) -> Result<(), IngestError> {
    if s.chars().count() > max {
        return Err(invalid(format!("{name}: at most {max} characters")));
    }
    if s.chars()
        .any(|c| c.is_control() && !(allow_newlines && c == '\n'))
    {
        return Err(invalid(format!(
            "{name}: control characters are not allowed"
        )));
    }
    Ok(())
}

/// Normalises tags (trimmed, lower case, unique) and checks them.
pub fn normalise_tags(tags: &[String]) -> Result<Vec<String>, IngestError> {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        let t = t.trim().to_lowercase();
        if t.is_empty() || t.chars().count() > 30 {
            return Err(invalid("tags: each tag has 1 to 30 characters"));
        }
        if !t
            .chars()
            .all(|c| c.is_alphanumeric() || " -&'.".contains(c))
        {
            return Err(invalid(format!(
                "tags: {t:?} may hold letters, digits, spaces and - & ' . only"
            )));
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.len() > 10 {
        return Err(invalid("tags: at most 10"));
    }
    Ok(out)
}

pub fn validate_tracklist(tracks: &[Track], duration_ms: Option<i64>) -> Result<(), IngestError> {
    if tracks.len() > 500 {
        return Err(invalid("tracklist: at most 500 tracks"));
    }
    let mut last = 0;
    for (i, t) in tracks.iter().enumerate() {
        if t.start_ms < last {
            return Err(invalid(format!(
                "tracklist: track {i} starts before the one above it"
            )));
        }
        if let Some(d) = duration_ms
            && t.start_ms > d.max(0) as u64
        {
            return Err(invalid(format!(
                "tracklist: track {i} starts after the end of the mix"
            )));
        }
        last = t.start_ms;
        plain_text("tracklist artist", &t.artist, 200, false)?;
        plain_text("tracklist title", &t.title, 200, false)?;
        if t.title.trim().is_empty() {
            return Err(invalid(format!("tracklist: track {i} has no title")));
        }
    }
    Ok(())
}

pub fn validate_links(links: &[PurchaseLink]) -> Result<(), IngestError> {
    if links.len() > 10 {
        return Err(invalid("purchase_links: at most 10"));
    }
    for (i, l) in links.iter().enumerate() {
        plain_text("purchase_links label", &l.label, 60, false)?;
        let url = url::Url::parse(&l.url)
            .map_err(|_| invalid(format!("purchase_links: link {i} is not a URL")))?;
        if url.scheme() != "https" || url.host_str().is_none_or(str::is_empty) {
            return Err(invalid(format!(
                "purchase_links: link {i} must be an https:// URL"
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(format!(
                "purchase_links: link {i} must not carry credentials"
            )));
        }
    }
    Ok(())
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
    State(state): State<IngestState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(update): ApiJson<MetadataUpdate>,
) -> Result<Json<CloudcastView>, IngestError> {
    let me = Listener::user(user);
    let (current, owner) = load(&state, id, &me).await?;
    if owner != user {
        return Err(IngestError::NotOwner);
    }
    let title = match &update.title {
        Some(t) => {
            let t = t.trim();
            if t.is_empty() {
                return Err(invalid("title: must not be empty"));
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

async fn owner_or_admin(state: &IngestState, id: Uuid, user: Uuid) -> Result<(), IngestError> {
    let row: Option<(Uuid, bool)> = sqlx::query_as(
        "SELECT c.owner_id, u.is_admin FROM cloudcasts c, users u WHERE c.id = $1 AND u.id = $2",
    )
    .bind(id)
    .bind(user)
    .fetch_optional(&state.pool)
    .await?;
    match row {
        None => Err(IngestError::NotFound("cloudcast")),
        Some((owner, is_admin)) if owner == user || is_admin => Ok(()),
        Some(_) => Err(IngestError::NotOwner),
    }
}

/// `POST /api/v1/cloudcasts/{id}/retry`: the owner or an admin puts a failed
/// transcode back in the queue.
#[utoipa::path(post, path = "/api/v1/cloudcasts/{id}/retry", tag = "cloudcasts",
    summary = "Transcode a failed cloudcast again",
    params(("id" = Uuid, Path, description = "The cloudcast")),
    responses(
        (status = 202, description = "Queued", body = CloudcastView),
        (status = 403, description = "Not the owner", body = cloudcast_core::apidoc::ErrorBody),
        (status = 409, description = "Not failed", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn retry(
    State(state): State<IngestState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<(axum::http::StatusCode, Json<CloudcastView>), IngestError> {
    owner_or_admin(&state, id, user).await?;
    let requeued = cloudcast_transcode::queue::retry_failed(&state.pool, id)
        .await
        .map_err(|e| match e {
            cloudcast_transcode::TranscodeError::Database(d) => IngestError::Database(d),
            other => IngestError::Internal(other.to_string()),
        })?;
    if !requeued {
        return Err(IngestError::NotRetryable);
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
    State(state): State<IngestState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<axum::http::StatusCode, IngestError> {
    owner_or_admin(&state, id, user).await?;
    sqlx::query("DELETE FROM cloudcasts WHERE id = $1")
        .bind(id)
        .execute(&state.pool)
        .await?;
    for prefix in [format!("originals/{id}/"), format!("media/{id}/")] {
        state.storage.delete_prefix(&prefix).await?;
    }
    tracing::info!(cloudcast_id = %id, by = %user, "cloudcast deleted");
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_normalised() {
        let t = normalise_tags(&[" Deep House ".into(), "deep house".into(), "Techno".into()]);
        assert_eq!(
            t.ok(),
            Some(vec!["deep house".to_string(), "techno".to_string()])
        );
        assert!(normalise_tags(&["<script>".into()]).is_err());
        assert!(normalise_tags(&(0..11).map(|i| format!("t{i}")).collect::<Vec<_>>()).is_err());
    }

    #[test]
    fn links_must_be_https() {
        let l = |u: &str| {
            vec![PurchaseLink {
                label: "Buy".into(),
                url: u.into(),
            }]
        };
        assert!(validate_links(&l("https://shop.example/track/1")).is_ok());
        assert!(validate_links(&l("http://shop.example/")).is_err());
        assert!(validate_links(&l("javascript:alert(1)")).is_err());
        assert!(validate_links(&l("https://user:pw@shop.example/")).is_err());
        assert!(validate_links(&l("not a url")).is_err());
    }

    #[test]
    fn tracklists_are_ordered_and_inside_the_mix() {
        let t = |s: u64| Track {
            start_ms: s,
            artist: "A".into(),
            title: "T".into(),
        };
        assert!(validate_tracklist(&[t(0), t(1000)], Some(2000)).is_ok());
        assert!(validate_tracklist(&[t(1000), t(0)], Some(2000)).is_err());
        assert!(validate_tracklist(&[t(0), t(5000)], Some(2000)).is_err());
    }
}
