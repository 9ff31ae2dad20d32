//! A cloudcast as the API shows it (with stream URLs signed for the
//! caller), its owner's edits, retrying a failed transcode, and deletion.

use axum::Json;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use cloudcast_core::auth::{AuthUser, MaybeUser};
use cloudcast_core::extract::{ApiJson, ApiPath};
use cloudcast_core::listener::Listener;
use cloudcast_core::signing::unix_now;
use cloudcast_core::states::{CloudcastStatus, Downloads, PurgeScope, Visibility};
use cloudcast_core::text::plain_text;
use cloudcast_core::visibility::{self, Access};
use cloudcast_core::{keys, purges, queue, slugs};

use crate::metadata::{PurchaseLink, Track, normalise_tags, validate_links, validate_tracklist};
use crate::{CatalogError, CatalogState, cards};

#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct CloudcastView {
    pub id: Uuid,
    pub title: String,
    /// The owner's username, as they spell it.
    pub owner: String,
    /// Unique among the owner's cloudcasts; from the title.
    pub slug: Option<String>,
    /// Its page: `/{owner}/{slug}` (an unlisted one's carries its secret).
    pub url: String,
    pub status: CloudcastStatus,
    pub duration_ms: Option<i64>,
    /// Why processing failed or the upload was rejected, for the DJ.
    pub error: Option<String>,
    /// Transcoding progress in percent, while `processing`.
    pub progress: Option<i16>,
    /// `public` (listed), `unlisted` (by its URL only) or `private` (owner only).
    pub visibility: Visibility,
    /// Its DJ has not published it yet: nobody else sees it, whatever its
    /// visibility (`POST .../publish`).
    pub draft: bool,
    /// Not listed or playable by others before this time (UTC).
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub publish_at: Option<OffsetDateTime>,
    /// When it appeared: `publish_at`, else the upload.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub published_at: OffsetDateTime,
    pub disable_comments: bool,
    /// Counts are shown to the owner and administrators only.
    pub hide_stats: bool,
    /// Signed, expiring URL of the HLS master playlist, bound to the
    /// listener who asked; set once ready.
    pub stream_url: Option<String>,
    /// What its DJ offers for download: `off` (streaming only), `aac`
    /// (the best AAC rendition) or `original` (the uploaded file).
    pub downloads: Downloads,
    /// Where to download it (a stable URL that redirects to the file,
    /// signed for whoever follows it); set when offered and ready.
    pub download_url: Option<String>,
    /// Signed URL of the waveform overview (audiowaveform JSON, 10 pixels
    /// a second, for peaks.js).
    pub peaks_url: Option<String>,
    /// Signed URL of the fine waveform for zooming (audiowaveform binary
    /// `.dat`, 512 samples a pixel: peaks.js's default zoom levels).
    pub peaks_fine_url: Option<String>,
    pub loudness: Option<LoudnessView>,
    pub description: String,
    pub tags: Vec<String>,
    pub tracklist: Vec<Track>,
    pub purchase_links: Vec<PurchaseLink>,
    /// Users who have it among their favourites (`null` when hidden).
    pub favourites: Option<i64>,
    /// Users who reposted it (`null` when hidden).
    pub reposts: Option<i64>,
    /// Plays in the last 30 days, as the charts count them (`null` when hidden).
    pub plays: Option<i64>,
    /// The cover picture in each size (the default picture when none).
    pub picture_urls: crate::pictures::PictureUrls,
    /// What the signed-in caller has done with it; absent when anonymous.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub me: Option<ViewerState>,
    /// Set when a moderator took it down: only its owner (and
    /// administrators) see it at all then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub takedown: Option<TakedownView>,
}

/// Why a cloudcast was taken down, and how its DJ may answer.
#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct TakedownView {
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    /// The moderator's statement of reasons.
    pub reason: String,
    /// `POST` a counter-notice here.
    pub counter_notice_url: String,
    /// Whether a counter-notice waits for a moderator.
    pub counter_notice_open: bool,
}

/// The caller's own relation to a cloudcast.
#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ViewerState {
    pub favourited: bool,
    pub reposted: bool,
    pub listen_later: bool,
    pub following_owner: bool,
}

#[derive(sqlx::FromRow)]
struct Row {
    title: String,
    owner: String,
    slug: Option<String>,
    secret: String,
    #[sqlx(flatten)]
    access: Access,
    status: CloudcastStatus,
    duration_ms: Option<i64>,
    error: Option<String>,
    description: String,
    tags: Vec<String>,
    tracklist: serde_json::Value,
    purchase_links: serde_json::Value,
    listed_at: OffsetDateTime,
    disable_comments: bool,
    hide_stats: bool,
    downloads: Downloads,
    picture_version: Option<Uuid>,
    progress: Option<i16>,
    favourites: i64,
    reposts: i64,
    plays: i64,
    loudness_lufs: Option<f64>,
    loudness_range_lu: Option<f64>,
    true_peak_dbtp: Option<f64>,
    viewer_is_admin: bool,
    taken_down_at: Option<OffsetDateTime>,
    takedown_reason: Option<String>,
    counter_notice_open: bool,
    favourited: bool,
    reposted: bool,
    listen_later: bool,
    following_owner: bool,
}

/// EBU R128 measurements of the published audio.
#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct LoudnessView {
    pub integrated_lufs: Option<f64>,
    pub range_lu: Option<f64>,
    pub true_peak_dbtp: Option<f64>,
}

/// What [`load`] found: the view, who may see it, and its secret (checked
/// by the slug route for an unlisted cloudcast).
pub(crate) struct Loaded {
    pub view: CloudcastView,
    pub access: Access,
    pub secret: String,
}

/// The cloudcast as `user` sees it, with stream URLs signed for `listener`;
/// callers apply [`Access::visible_to`].
pub(crate) async fn load(
    state: &CatalogState,
    id: Uuid,
    user: Option<Uuid>,
    listener: &Listener,
) -> Result<Loaded, CatalogError> {
    let row: Option<Row> = sqlx::query_as(
        concat!(
        "SELECT c.title, u.username AS owner, c.slug, c.secret, c.owner_id, c.visibility,
                c.publish_at, c.taken_down_at IS NOT NULL AS taken_down, c.taken_down_at, c.draft,
                COALESCE(c.owner_hidden_until > now(), false) AS owner_suspended,
                c.takedown_reason,
                EXISTS (SELECT 1 FROM counter_notices n
                         WHERE n.cloudcast_id = c.id AND n.status = 'open') AS counter_notice_open,
                c.status, c.duration_ms, c.error, c.description, c.tags,
                c.tracklist, c.purchase_links, c.listed_at, c.disable_comments, c.hide_stats,
                c.downloads, c.picture_version, ",
        cloudcast_core::job_progress_of_c!(),
        " AS progress,
                (SELECT count(*) FROM favourites f WHERE f.cloudcast_id = c.id) AS favourites,
                (SELECT count(*) FROM reposts r WHERE r.cloudcast_id = c.id) AS reposts,
                COALESCE((SELECT ch.plays_30d FROM cloudcast_charts ch
                           WHERE ch.cloudcast_id = c.id), 0) AS plays,
                c.loudness_lufs, c.loudness_range_lu, c.true_peak_dbtp,
                COALESCE((SELECT v.is_admin FROM users v WHERE v.id = $2), false) AS viewer_is_admin,
                EXISTS (SELECT 1 FROM favourites f WHERE f.cloudcast_id = c.id AND f.user_id = $2) AS favourited,
                EXISTS (SELECT 1 FROM reposts r WHERE r.cloudcast_id = c.id AND r.user_id = $2) AS reposted,
                EXISTS (SELECT 1 FROM listen_later l WHERE l.cloudcast_id = c.id AND l.user_id = $2) AS listen_later,
                EXISTS (SELECT 1 FROM follows w WHERE w.followee_id = c.owner_id AND w.follower_id = $2) AS following_owner
           FROM cloudcasts c JOIN users u ON u.id = c.owner_id WHERE c.id = $1"
    ))
    .bind(id)
    .bind(user)
    .fetch_optional(&state.pool)
    .await?;
    let Some(r) = row else {
        return Err(CatalogError::NotFound("cloudcast"));
    };
    let ready = r.status == CloudcastStatus::Ready;
    let query = state.signer.sign(id, listener, unix_now()).query();
    let signed = |file: &str| format!("{}/stream/{id}/{file}?{query}", state.public_url);
    let counts =
        !r.hide_stats || user.is_some_and(|u| r.access.manageable_by(u, r.viewer_is_admin));
    Ok(Loaded {
        view: CloudcastView {
            id,
            url: cards::url(
                &r.owner,
                r.slug.as_deref(),
                id,
                r.access.visibility,
                &r.secret,
            ),
            title: r.title,
            owner: r.owner,
            slug: r.slug,
            visibility: r.access.visibility,
            draft: r.access.draft,
            publish_at: r.access.publish_at,
            published_at: r.listed_at,
            disable_comments: r.disable_comments,
            hide_stats: r.hide_stats,
            progress: (r.status == CloudcastStatus::Processing).then(|| r.progress.unwrap_or(0)),
            stream_url: ready.then(|| signed("master.m3u8")),
            download_url: (ready && r.downloads != Downloads::Off)
                .then(|| format!("{}/api/v1/cloudcasts/{id}/download", state.public_url)),
            downloads: r.downloads,
            peaks_url: ready.then(|| signed("peaks.json")),
            peaks_fine_url: ready.then(|| signed("peaks.dat")),
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
            favourites: counts.then_some(r.favourites),
            reposts: counts.then_some(r.reposts),
            plays: counts.then_some(r.plays),
            picture_urls: crate::pictures::urls(id, r.picture_version),
            me: user.map(|_| ViewerState {
                favourited: r.favourited,
                reposted: r.reposted,
                listen_later: r.listen_later,
                following_owner: r.following_owner,
            }),
            takedown: r.taken_down_at.map(|at| TakedownView {
                at,
                reason: r.takedown_reason.unwrap_or_default(),
                counter_notice_url: format!("/api/v1/cloudcasts/{id}/counter-notice"),
                counter_notice_open: r.counter_notice_open,
            }),
        },
        access: r.access,
        secret: r.secret,
    })
}

/// The listener a request plays as, and the cookie to set when a browser
/// is seen for the first time (before its first stream request). Without
/// an account or a signed cookie, the URL is bound to the client itself
/// (its address and user agent), so a player that keeps no cookies (ffmpeg,
/// an app) can use it and no one else can; a browser also gets a cookie,
/// and its stream requests then carry both.
pub(crate) async fn listener_of(
    state: &CatalogState,
    user: Option<Uuid>,
    ip: IpAddr,
    headers: &HeaderMap,
) -> Result<(Listener, Option<HeaderValue>), CatalogError> {
    if user.is_some() || state.listeners.from_cookie(headers).is_some() {
        let me = state.listeners.identify(user, ip, headers).await?;
        return Ok((me, None));
    }
    let me = state.listeners.client(ip, headers).await?;
    let (_, cookie) = state.listeners.issue();
    Ok((me, cookie))
}

/// Answers with the cloudcast if `user` may see it (`secret_ok`: the slug
/// route's check of an unlisted cloudcast's secret).
pub(crate) async fn respond(
    state: &CatalogState,
    id: Uuid,
    user: Option<Uuid>,
    ip: IpAddr,
    headers: &HeaderMap,
    secret: Option<&str>,
) -> Result<Response, CatalogError> {
    let (me, new_cookie) = listener_of(state, user, ip, headers).await?;
    let loaded = load(state, id, user, &me).await?;
    if !loaded.reachable_by(user, secret) {
        return Err(CatalogError::NotFound("cloudcast"));
    }
    let mut resp = Json(loaded.view).into_response();
    if let Some(c) = new_cookie {
        resp.headers_mut().insert(header::SET_COOKIE, c);
    }
    Ok(resp)
}

impl Loaded {
    pub(crate) fn reachable_by(&self, user: Option<Uuid>, secret: Option<&str>) -> bool {
        reachable(&self.access, &self.secret, user, secret)
    }
}

/// May `user` reach the cloudcast this way: by id (`given` None), or by its
/// readable URL, which for an unlisted cloudcast must carry its secret (the
/// slug alone can be guessed).
pub(crate) fn reachable(
    access: &Access,
    secret: &str,
    user: Option<Uuid>,
    given: Option<&str>,
) -> bool {
    let secret_ok = match given {
        None => true,
        Some(given) => {
            access.visibility != Visibility::Unlisted
                || user == Some(access.owner_id)
                || same_secret(given, secret)
        }
    };
    access.visible_to(user) && secret_ok
}

/// Compares secrets in time independent of where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// `GET /api/v1/cloudcasts/{id}`: a private (or not yet published)
/// cloudcast is "not found" to everyone but its owner. An unlisted one is
/// reached by its id, which is never listed. A browser seen for the first
/// time gets its anonymous listener cookie here.
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
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, CatalogError> {
    respond(&state, id, user, peer.ip(), &headers, None).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MetadataUpdate {
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    #[schema(max_length = 5000)]
    pub description: Option<String>,
    #[schema(max_items = 10)]
    pub tags: Option<Vec<String>>,
    pub tracklist: Option<Vec<Track>>,
    pub purchase_links: Option<Vec<PurchaseLink>>,
    pub visibility: Option<Visibility>,
    /// RFC 3339; `null` publishes now. Not listed or playable by others
    /// before it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub publish_at: Option<Option<Timestamp>>,
    pub disable_comments: Option<bool>,
    pub hide_stats: Option<bool>,
    /// Offer it for download (and in my podcast feed): `aac` or
    /// `original`; `off` for streaming only.
    pub downloads: Option<Downloads>,
}

/// An RFC 3339 time in a request.
#[derive(Debug, Clone, Copy)]
pub struct Timestamp(pub OffsetDateTime);

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        time::serde::rfc3339::deserialize(d).map(Timestamp)
    }
}

/// A field that may be sent as `null` (to clear it) or left out (to keep it).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// `PATCH /api/v1/cloudcasts/{id}`: the owner edits the metadata. A new
/// title gives a new slug; the old one keeps resolving.
#[utoipa::path(patch, path = "/api/v1/cloudcasts/{id}", tag = "cloudcasts",
    summary = "Change a cloudcast's title, description, tags, tracklist, links, visibility, schedule or downloads",
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
    let Loaded {
        view: current,
        access,
        ..
    } = load(&state, id, Some(user), &me).await?;
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
            Some(t.to_string())
        }
        None => None,
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
    let publish_at = match update.publish_at {
        // Kept in UTC; a time PostgreSQL or UTC cannot hold is refused here.
        Some(Some(t)) => Some(
            t.0.checked_to_offset(time::UtcOffset::UTC)
                .filter(|at| (1970..=9998).contains(&at.year()))
                .ok_or_else(|| {
                    CatalogError::InvalidField(
                        "publish_at: must be a time between 1970 and 9998".into(),
                    )
                })?,
        ),
        Some(None) => None,
        None => current.publish_at,
    };
    let mut tx = state.pool.begin().await?;
    sqlx::query(
        "UPDATE cloudcasts SET title = $2, description = $3, tags = $4, tracklist = $5,
                purchase_links = $6, visibility = $7, publish_at = $8,
                disable_comments = $9, hide_stats = $10, downloads = $11, updated_at = now()
          WHERE id = $1",
    )
    .bind(id)
    .bind(title.as_ref().unwrap_or(&current.title))
    .bind(update.description.unwrap_or(current.description))
    .bind(&tags)
    .bind(to_json(&tracklist))
    .bind(to_json(&links))
    .bind(update.visibility.unwrap_or(current.visibility))
    .bind(publish_at)
    .bind(update.disable_comments.unwrap_or(current.disable_comments))
    .bind(update.hide_stats.unwrap_or(current.hide_stats))
    .bind(update.downloads.unwrap_or(current.downloads))
    .execute(&mut *tx)
    .await?;
    if let Some(t) = &title
        && *t != current.title
    {
        slugs::assign(&mut tx, id, access.owner_id, t).await?;
    }
    tx.commit().await?;
    tracing::info!(cloudcast_id = %id, "metadata updated");
    Ok(Json(load(&state, id, Some(user), &me).await?.view))
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
        Json(
            load(&state, id, Some(user), &Listener::user(user))
                .await?
                .view,
        ),
    ))
}

/// `POST /api/v1/cloudcasts/{id}/publish`: the DJ publishes a draft once
/// it is ready; from then on its visibility and schedule decide who sees
/// it. Unscheduled, it counts as new from now (feeds, the newest list).
#[utoipa::path(post, path = "/api/v1/cloudcasts/{id}/publish", tag = "cloudcasts",
    summary = "Publish a draft",
    description = "Idempotent: publishing a published cloudcast changes nothing.",
    params(("id" = Uuid, Path, description = "The cloudcast")),
    responses(
        (status = 200, description = "Published", body = CloudcastView),
        (status = 403, description = "Not the owner (`not_owner`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such cloudcast (or someone else's draft)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 409, description = "Not ready yet: still processing, or failed (`not_ready`)", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn publish(
    State(state): State<CatalogState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<CloudcastView>, CatalogError> {
    let row: Option<(Uuid, CloudcastStatus, bool)> =
        sqlx::query_as("SELECT owner_id, status, draft FROM cloudcasts WHERE id = $1")
            .bind(id)
            .fetch_optional(&state.pool)
            .await?;
    match row {
        None => return Err(CatalogError::NotFound("cloudcast")),
        // Someone else's draft does not exist for them.
        Some((owner, _, true)) if owner != user => return Err(CatalogError::NotFound("cloudcast")),
        Some((owner, _, _)) if owner != user => return Err(CatalogError::NotOwner),
        Some((_, status, true)) if status != CloudcastStatus::Ready => {
            return Err(CatalogError::NotReady);
        }
        Some((_, _, true)) => {
            sqlx::query(
                "UPDATE cloudcasts SET draft = false, publish_at = COALESCE(publish_at, now())
                  WHERE id = $1 AND owner_id = $2 AND draft",
            )
            .bind(id)
            .bind(user)
            .execute(&state.pool)
            .await?;
            tracing::info!(cloudcast_id = %id, "draft published");
        }
        Some(_) => {}
    }
    Ok(Json(
        load(&state, id, Some(user), &Listener::user(user))
            .await?
            .view,
    ))
}

/// `DELETE /api/v1/cloudcasts/{id}`: removes the cloudcast, its job (a
/// running worker notices within seconds and stops), and its objects now;
/// its ClickHouse rows go through the removal queue (the analytics node
/// applies it within seconds, and again after `purges::REPEAT_AFTER`).
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
    let mut tx = state.pool.begin().await?;
    let owner: Option<Uuid> =
        sqlx::query_scalar("DELETE FROM cloudcasts WHERE id = $1 RETURNING owner_id")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(owner) = owner else {
        return Err(CatalogError::NotFound("cloudcast"));
    };
    // Events naming a cloudcast that no longer exists; favourites and
    // reposts themselves cascade.
    for table in ["favourite_events", "repost_events"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE cloudcast_id = $1"))
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    // The objects go now, and again with the queued removal (a late write
    // by a worker or a failure now leaves nothing behind).
    let prefixes = keys::cloudcast_prefixes(id);
    purges::enqueue(&mut tx, owner, PurgeScope::Cloudcast, &[id], &prefixes).await?;
    tx.commit().await?;
    for prefix in &prefixes {
        if let Err(e) = state.storage.delete_prefix(prefix).await {
            tracing::warn!(cloudcast_id = %id, error = %e, "objects left for the queued removal");
        }
    }
    tracing::info!(cloudcast_id = %id, by = %user, "cloudcast deleted");
    Ok(axum::http::StatusCode::NO_CONTENT)
}
