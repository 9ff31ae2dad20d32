//! The exports a user asks for: `GET /api/v1/me/export` (the archive at
//! once, or a background job when it is large), the jobs' list, status and
//! archive, and the sweep of expired archives. The archive itself is built
//! by `export.rs`; jobs are leased and built by `export_jobs.rs`.

use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cloudcast_core::auth::AuthUser;
use cloudcast_core::extract::ApiPath;
use cloudcast_core::states::ExportState;
use cloudcast_core::storage::Storage;
use futures::TryStreamExt;
use serde::Serialize;
use sqlx::PgPool;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use cloudcast_core::error::Chain;

use crate::export::{beat_count, build};
use crate::{PrivacyError, PrivacyState};

fn attachment(user: Uuid) -> HeaderValue {
    let day = OffsetDateTime::now_utc().date();
    HeaderValue::from_str(&format!(
        "attachment; filename=\"cloudcast-export-{user}-{day}.zip\""
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// An export as its owner sees it.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ExportStatus {
    pub id: Uuid,
    pub status: ExportState,
    pub size_bytes: Option<i64>,
    pub error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub ready_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[sqlx(skip)]
    pub status_url: String,
    /// Set once ready.
    #[sqlx(skip)]
    pub download_url: Option<String>,
}

impl ExportStatus {
    fn with_urls(mut self) -> ExportStatus {
        self.status_url = format!("/api/v1/me/exports/{}", self.id);
        if self.status == ExportState::Ready {
            self.download_url = Some(format!("/api/v1/me/exports/{}/archive", self.id));
        }
        self
    }
}

/// Exports as their owner sees them, filtered by `filter` (over the
/// table's columns).
fn select_status(filter: &str) -> String {
    format!(
        "SELECT id, status, size_bytes, error, created_at, ready_at, expires_at
           FROM data_exports
          WHERE expires_at > now() AND {filter}"
    )
}

async fn status_of(pool: &PgPool, user: Uuid, id: Uuid) -> Result<ExportStatus, PrivacyError> {
    let s: Option<ExportStatus> = sqlx::query_as(&select_status("id = $1 AND user_id = $2"))
        .bind(id)
        .bind(user)
        .fetch_optional(pool)
        .await?;
    Ok(s.ok_or(PrivacyError::NotFound("export"))?.with_urls())
}

/// Queues a background export (built by `export_jobs`), or returns the
/// one already waiting or building.
async fn start_background(state: &PrivacyState, user: Uuid) -> Result<ExportStatus, PrivacyError> {
    let pool = &state.pool;
    let building: Option<ExportStatus> = sqlx::query_as(&select_status(&format!(
        "user_id = $1 AND status = '{}' ORDER BY created_at DESC LIMIT 1",
        ExportState::Building
    )))
    .bind(user)
    .fetch_optional(pool)
    .await?;
    if let Some(s) = building {
        return Ok(s.with_urls());
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO data_exports (id, user_id, expires_at)
         VALUES ($1, $2, now() + make_interval(secs => $3))",
    )
    .bind(id)
    .bind(user)
    .bind(state.config.export_ttl.as_secs_f64())
    .execute(pool)
    .await?;
    tracing::info!(user_id = %user, export_id = %id, "export queued");
    status_of(pool, user, id).await
}

fn accepted(status: ExportStatus) -> Response {
    let location = HeaderValue::from_str(&status.status_url).ok();
    let mut resp = (StatusCode::ACCEPTED, Json(status)).into_response();
    if let Some(l) = location {
        resp.headers_mut().insert(header::LOCATION, l);
    }
    resp
}

/// `GET /api/v1/me/export`: the archive itself when small; else 202 with
/// the background export to poll (`Location`).
#[utoipa::path(get, path = "/api/v1/me/export", tag = "privacy",
    summary = "Everything held about me, as one zip archive",
    responses(
        (status = 200, description = "The archive (account.json and Parquet files)", content_type = "application/zip"),
        (status = 202, description = "Large: being built in the background; poll Location", body = ExportStatus),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn export_me(
    State(state): State<PrivacyState>,
    AuthUser(user): AuthUser,
) -> Result<Response, PrivacyError> {
    let beats = beat_count(&state.clickhouse, user).await?;
    if beats > state.config.export_inline_beats {
        return Ok(accepted(start_background(&state, user).await?));
    }
    let file = build(&state.pool, &state.clickhouse, &state.storage, user).await?;
    let body = tokio::fs::read(file.path()).await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/zip"),
            ),
            (header::CONTENT_DISPOSITION, attachment(user)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response())
}

/// `POST /api/v1/me/exports`: starts a background export (202).
#[utoipa::path(post, path = "/api/v1/me/exports", tag = "privacy",
    summary = "Build my export in the background",
    responses(
        (status = 202, description = "Started (or the one already building)", body = ExportStatus),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn create(
    State(state): State<PrivacyState>,
    AuthUser(user): AuthUser,
) -> Result<Response, PrivacyError> {
    Ok(accepted(start_background(&state, user).await?))
}

/// `GET /api/v1/me/exports`: the user's unexpired exports, newest first.
#[utoipa::path(get, path = "/api/v1/me/exports", tag = "privacy",
    summary = "My exports",
    responses(
        (status = 200, description = "Unexpired exports, newest first", body = [ExportStatus]),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn list(
    State(state): State<PrivacyState>,
    AuthUser(user): AuthUser,
) -> Result<Json<Vec<ExportStatus>>, PrivacyError> {
    let rows: Vec<ExportStatus> =
        sqlx::query_as(&select_status("user_id = $1 ORDER BY created_at DESC"))
            .bind(user)
            .fetch_all(&state.pool)
            .await?;
    Ok(Json(
        rows.into_iter().map(ExportStatus::with_urls).collect(),
    ))
}

/// `GET /api/v1/me/exports/{id}`: 200 when ready, 202 while building.
#[utoipa::path(get, path = "/api/v1/me/exports/{id}", tag = "privacy",
    summary = "One export's state",
    params(("id" = Uuid, Path, description = "The export")),
    responses(
        (status = 200, description = "Ready or failed", body = ExportStatus),
        (status = 202, description = "Still building", body = ExportStatus),
        (status = 404, description = "No such export of mine", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn status(
    State(state): State<PrivacyState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, PrivacyError> {
    let s = status_of(&state.pool, user, id).await?;
    Ok(if s.status == ExportState::Building {
        accepted(s)
    } else {
        Json(s).into_response()
    })
}

/// `GET /api/v1/me/exports/{id}/archive`: the zip, streamed from S3.
#[utoipa::path(get, path = "/api/v1/me/exports/{id}/archive", tag = "privacy",
    summary = "Download a ready export",
    params(("id" = Uuid, Path, description = "The export")),
    responses(
        (status = 200, description = "The archive", content_type = "application/zip"),
        (status = 202, description = "Still building", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such export of mine", body = cloudcast_core::apidoc::ErrorBody),
        (status = 410, description = "The export failed", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn archive(
    State(state): State<PrivacyState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, PrivacyError> {
    let s = status_of(&state.pool, user, id).await?;
    match s.status {
        ExportState::Ready => {}
        ExportState::Building => return Err(PrivacyError::NotReady),
        ExportState::Failed => {
            return Err(PrivacyError::ExportFailed(s.error.unwrap_or_default()));
        }
    }
    let key: Option<String> = sqlx::query_scalar("SELECT s3_key FROM data_exports WHERE id = $1")
        .bind(id)
        .fetch_one(&state.pool)
        .await?;
    let key = key.ok_or(PrivacyError::NotFound("export"))?;
    let obj = state.storage.get_stream(&key).await?;
    let stream = tokio_util::io::ReaderStream::new(obj.body.into_async_read())
        .map_err(std::io::Error::other);
    let mut resp = Response::new(Body::from_stream(stream));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    h.insert(header::CONTENT_DISPOSITION, attachment(user));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if obj.total_size > 0
        && let Ok(v) = HeaderValue::from_str(&obj.total_size.to_string())
    {
        h.insert(header::CONTENT_LENGTH, v);
    }
    Ok(resp)
}

/// Deletes expired archives (S3 and their rows).
pub async fn sweep_once(pool: &PgPool, storage: &Storage) -> Result<usize, PrivacyError> {
    let expired: Vec<(Uuid, Option<String>)> =
        sqlx::query_as("SELECT id, s3_key FROM data_exports WHERE expires_at <= now() LIMIT 100")
            .fetch_all(pool)
            .await?;
    for (id, key) in &expired {
        if let Some(k) = key {
            storage.delete(k).await?;
        }
        sqlx::query("DELETE FROM data_exports WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await?;
    }
    Ok(expired.len())
}

/// Runs [`sweep_once`] every `every` until shutdown.
pub async fn run_sweeper(
    pool: PgPool,
    storage: Storage,
    every: Duration,
    shutdown: CancellationToken,
) {
    cloudcast_core::periodic::every("export_sweep", every, shutdown, || async {
        sweep_once(&pool, &storage)
            .await
            .map(|_| ())
            .map_err(|e| Chain(&e).to_string())
    })
    .await
}
