//! Access to one's data: everything held about a user in one zip archive.
//!
//! The archive is a walk over the registry of every table
//! (`registry.rs`): `account.json` gathers each PostgreSQL table's sections
//! (account, profile, consents and their history, uploads, cloudcasts and
//! their slugs, comments and their moderation, reports, favourites, follows
//! both ways, reposts, listen-later, email verifications, sign-in history,
//! mail sent to the user, API keys); ClickHouse tables go in as Parquet
//! (play history, listening per day, ad-interest rows, and every heartbeat).
//!
//! A small export is built while the request waits. A large one (more
//! heartbeats than `privacy.export_inline_beats`) is built in the background
//! into S3 (`exports/<user>/<id>.zip`) as a job in PostgreSQL
//! (`export_jobs.rs`) and fetched when ready; the archive is deleted when it
//! expires.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cloudcast_analytics::columnar::{Format, encode, tsv_to_batch};
use cloudcast_core::auth::AuthUser;
use cloudcast_core::extract::ApiPath;
use cloudcast_core::keys;
use cloudcast_core::states::ExportState;
use cloudcast_core::storage::{Storage, StorageError};
use futures::TryStreamExt;
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::PgPool;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use cloudcast_core::error::Chain;

use crate::{PrivacyError, PrivacyState, registry};

/// Every heartbeat of the user, one day range at a time.
const HEARTBEATS_SQL: &str = "SELECT ts, cloudcast_id, session_id, seq, position_ms, rendition,
        referrer_domain, ip_prefix, ip_hash, browser, browser_major, os, device,
        is_bot, ads_consent, arrayStringConcat(tags, ',') AS cloudcast_tags
   FROM heartbeats
  WHERE user_id = ? AND toDate(ts) >= toDate(?) AND toDate(ts) <= toDate(?)
  ORDER BY ts, session_id, seq";

/// Heartbeats fetched per ClickHouse query (and held in memory at once).
const CHUNK_BEATS: u64 = 200_000;

const README: &str = "\
Everything Cloudcast holds about your account.

account.json              your account, profile, consents and their history,
                          uploads, cloudcasts, comments, reports you made and
                          reports on your cloudcasts, counter-notices,
                          favourites, sign-ins, mail sent to you, API keys
play_history.parquet      one row per listening session
listening_by_day.parquet  heartbeats per day and cloudcast
ad_interest.parquet       seconds heard per tag and day, as used for
                          personalised ads (only while you consented)
heartbeats.parquet        every listening heartbeat (one per second played):
                          position, rendition, referring domain, network
                          prefix (/24 or /48; never your whole address), a
                          hash of the address under a key deleted daily,
                          browser and device
avatar.*                  your profile picture, if you uploaded one
pictures/<cloudcast>.jpg  the cover picture of each of your cloudcasts that
                          has one (its largest size; the upload is not kept)

Parquet files open in pandas, DuckDB, R (arrow) or a spreadsheet plug-in.
";

async fn tsv(ch: &clickhouse::Client, sql: &str, binds: &[&str]) -> Result<String, PrivacyError> {
    let mut q = ch.query(sql);
    for b in binds {
        q = q.bind(*b);
    }
    let bytes = q
        .fetch_bytes("TabSeparatedWithNamesAndTypes")?
        .collect()
        .await?;
    Ok(String::from_utf8(bytes.to_vec())?)
}

/// The PostgreSQL side as one JSON document.
pub async fn account_json(pool: &PgPool, user: Uuid) -> Result<Value, PrivacyError> {
    let mut doc = serde_json::Map::new();
    for (name, one, sql) in registry::json_sections() {
        let wrapped = if one {
            format!("SELECT row_to_json(t) FROM ({sql}) t")
        } else {
            format!("SELECT coalesce(json_agg(t), '[]'::json) FROM ({sql}) t")
        };
        let v: Option<Value> = sqlx::query_scalar(&wrapped)
            .bind(user)
            .fetch_optional(pool)
            .await?;
        doc.insert(name.to_string(), v.unwrap_or(Value::Null));
    }
    let consents = doc
        .get("account")
        .map(|a| {
            json!({
                "personalised_ads": a.get("ads_consent"),
                "third_party_contact": a.get("third_party_consent"),
            })
        })
        .unwrap_or(Value::Null);
    doc.insert("consents".into(), consents);
    doc.insert(
        "exported_at".into(),
        json!(
            OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        ),
    );
    Ok(Value::Object(doc))
}

/// Heartbeats the user has, from the per-user ordered session table (cheap).
pub async fn beat_count(ch: &clickhouse::Client, user: Uuid) -> Result<u64, PrivacyError> {
    let n: u64 = ch
        .query(
            "SELECT toUInt64(sum(s)) FROM (
                 SELECT uniqExactMerge(seconds) AS s FROM listen_sessions
                  WHERE user_id = ? GROUP BY cloudcast_id, session_id, listener_id)",
        )
        .bind(user.to_string())
        .fetch_one()
        .await?;
    Ok(n)
}

/// Day ranges of at most [`CHUNK_BEATS`] heartbeats each (one day may exceed
/// it alone; it is never split).
fn day_chunks(days: &[(String, u64)]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut start: Option<&str> = None;
    let mut last = "";
    let mut sum = 0u64;
    for (day, n) in days {
        if let Some(s) = start
            && sum + n > CHUNK_BEATS
        {
            out.push((s.to_string(), last.to_string()));
            start = None;
            sum = 0;
        }
        start.get_or_insert(day.as_str());
        last = day;
        sum += n;
    }
    if let Some(s) = start {
        out.push((s.to_string(), last.to_string()));
    }
    out
}

/// Writes every heartbeat of the user into a Parquet file at `path`;
/// returns how many rows it holds (0: no file written).
async fn heartbeats_parquet(
    ch: &clickhouse::Client,
    user: Uuid,
    path: &Path,
) -> Result<u64, PrivacyError> {
    #[derive(clickhouse::Row, serde::Deserialize)]
    struct Day {
        listened_on: String,
        beats: u64,
    }
    let uid = user.to_string();
    let days: Vec<Day> = ch
        .query(
            "SELECT toString(toDate(ts)) AS listened_on, count() AS beats
               FROM heartbeats WHERE user_id = ?
              GROUP BY listened_on ORDER BY listened_on",
        )
        .bind(&uid)
        .fetch_all()
        .await?;
    let days: Vec<(String, u64)> = days.into_iter().map(|d| (d.listened_on, d.beats)).collect();
    let mut writer: Option<parquet::arrow::ArrowWriter<std::fs::File>> = None;
    let mut rows = 0u64;
    for (from, to) in day_chunks(&days) {
        let text = tsv(ch, HEARTBEATS_SQL, &[&uid, &from, &to]).await?;
        let path = path.to_path_buf();
        let w = writer.take();
        // Parquet encoding is CPU work: off the async workers.
        let (w, n) = tokio::task::spawn_blocking(move || -> Result<_, PrivacyError> {
            let batch = tsv_to_batch(&text)?;
            let mut w = match w {
                Some(w) => w,
                None => {
                    let file = std::fs::File::create(&path)?;
                    parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None)?
                }
            };
            w.write(&batch)?;
            Ok((w, batch.num_rows() as u64))
        })
        .await??;
        writer = Some(w);
        rows += n;
    }
    if let Some(w) = writer {
        tokio::task::spawn_blocking(move || w.close().map(|_| ())).await??;
    }
    Ok(rows)
}

/// Builds the archive into a temporary file and returns it.
pub async fn build(
    pool: &PgPool,
    ch: &clickhouse::Client,
    storage: &Storage,
    user: Uuid,
) -> Result<tempfile::NamedTempFile, PrivacyError> {
    let account = account_json(pool, user).await?;
    let uid = user.to_string();
    let mut parts: Vec<(&'static str, Vec<u8>)> = Vec::new();
    for (name, sql) in registry::parquet_files() {
        let text = tsv(ch, sql, &[&uid]).await?;
        let bytes = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, PrivacyError> {
            Ok(encode(&tsv_to_batch(&text)?, Format::Parquet)?)
        })
        .await??;
        parts.push((name, bytes));
    }
    let mut images: Vec<(String, Vec<u8>)> = Vec::new();
    let covers: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT id, picture_version FROM cloudcasts
          WHERE owner_id = $1 AND picture_version IS NOT NULL ORDER BY created_at",
    )
    .bind(user)
    .fetch_all(pool)
    .await?;
    for (cloudcast, version) in covers {
        let key = keys::picture(cloudcast, version, keys::PICTURE_LARGEST);
        match storage.get_bytes(&key).await {
            Ok(bytes) => images.push((format!("pictures/{cloudcast}.jpg"), bytes.to_vec())),
            // Replaced since the row was read: nothing to export.
            Err(StorageError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let avatar: Option<(String, Vec<u8>)> = {
        let row: Option<(Option<String>, Option<String>)> =
            sqlx::query_as("SELECT avatar_key, avatar_type FROM profiles WHERE user_id = $1")
                .bind(user)
                .fetch_optional(pool)
                .await?;
        match row {
            Some((Some(key), Some(kind))) => {
                let ext = kind.rsplit('/').next().unwrap_or("bin").to_string();
                match storage.get_bytes(&key).await {
                    Ok(bytes) => Some((format!("avatar.{ext}"), bytes.to_vec())),
                    // Replaced since the row was read: nothing to export.
                    Err(StorageError::NotFound { .. }) => None,
                    Err(e) => return Err(e.into()),
                }
            }
            _ => None,
        }
    };
    let dir = tempfile::tempdir()?;
    let beats_path = dir.path().join("heartbeats.parquet");
    let beats = heartbeats_parquet(ch, user, &beats_path).await?;
    let account = serde_json::to_vec_pretty(&account)?;
    tokio::task::spawn_blocking(move || -> Result<tempfile::NamedTempFile, PrivacyError> {
        let out = tempfile::NamedTempFile::new()?;
        let mut zip = zip::ZipWriter::new(out.reopen()?);
        let text = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        // Parquet and images are compressed already.
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(true);
        zip.start_file("README.txt", text)?;
        zip.write_all(README.as_bytes())?;
        zip.start_file("account.json", text)?;
        zip.write_all(&account)?;
        for (name, bytes) in parts {
            zip.start_file(name, stored)?;
            zip.write_all(&bytes)?;
        }
        for (name, bytes) in avatar.into_iter().chain(images) {
            zip.start_file(name, stored)?;
            zip.write_all(&bytes)?;
        }
        if beats > 0 {
            zip.start_file("heartbeats.parquet", stored)?;
            let mut f = std::fs::File::open(&beats_path)?;
            std::io::copy(&mut f, &mut zip)?;
        }
        zip.finish()?;
        drop(dir);
        Ok(out)
    })
    .await?
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn days(v: &[(&str, u64)]) -> Vec<(String, u64)> {
        v.iter().map(|(d, n)| (d.to_string(), *n)).collect()
    }

    #[test]
    fn day_chunks_stay_under_the_limit_and_cover_every_day() {
        let c = day_chunks(&days(&[
            ("2026-01-01", 150_000),
            ("2026-01-02", 40_000),
            ("2026-01-03", 20_000),
            ("2026-01-04", 250_000),
            ("2026-01-05", 1),
        ]));
        assert_eq!(
            c,
            vec![
                ("2026-01-01".to_string(), "2026-01-02".to_string()),
                ("2026-01-03".to_string(), "2026-01-03".to_string()),
                ("2026-01-04".to_string(), "2026-01-04".to_string()),
                ("2026-01-05".to_string(), "2026-01-05".to_string()),
            ]
        );
        assert!(day_chunks(&[]).is_empty());
    }

    #[test]
    fn no_section_selects_a_secret() {
        for (_, _, sql) in registry::json_sections() {
            for secret in ["password_hash", "token_hash", "key_hash", "*"] {
                assert!(!sql.contains(secret), "{sql} selects {secret}");
            }
        }
    }
}
