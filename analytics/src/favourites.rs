//! Favourites. PostgreSQL is the truth (`favourites`), and every change is
//! also an event (`favourite_events`) that [`run_copier`] copies to
//! ClickHouse for statistics.

use std::collections::HashSet;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use cloudcast_core::auth::{AuthUser, MaybeUser};
use cloudcast_core::extract::ApiPath;

use crate::{AnalyticsError, AnalyticsState, stats};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FavouriteState {
    pub cloudcast_id: Uuid,
    pub favourited: bool,
    /// Users who have it among their favourites now.
    pub favourites: i64,
}

async fn count(pool: &sqlx::PgPool, id: Uuid) -> Result<i64, AnalyticsError> {
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM favourites WHERE cloudcast_id = $1")
        .bind(id)
        .fetch_one(pool)
        .await?;
    Ok(n)
}

/// `PUT /api/v1/cloudcasts/{id}/favourite` (idempotent).
#[utoipa::path(put, path = "/api/v1/cloudcasts/{id}/favourite", tag = "analytics",
    summary = "Add a cloudcast to my favourites (idempotent)",
    params(("id" = Uuid, Path, description = "The cloudcast")),
    responses(
        (status = 200, description = "Favourited; with the new count", body = FavouriteState),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such cloudcast, or a private one", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn add(
    State(state): State<AnalyticsState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<FavouriteState>, AnalyticsError> {
    stats::subject(&state, id, Some(user)).await?;
    let mut tx = state.pool.begin().await?;
    let added = sqlx::query(
        "INSERT INTO favourites (user_id, cloudcast_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(user)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    // Only a real change is an event, so repeated PUTs count once.
    if added == 1 {
        event(&mut tx, user, id, 1).await?;
    }
    tx.commit().await?;
    Ok(Json(FavouriteState {
        cloudcast_id: id,
        favourited: true,
        favourites: count(&state.pool, id).await?,
    }))
}

/// `DELETE /api/v1/cloudcasts/{id}/favourite` (idempotent).
#[utoipa::path(delete, path = "/api/v1/cloudcasts/{id}/favourite", tag = "analytics",
    summary = "Remove a cloudcast from my favourites (idempotent)",
    params(("id" = Uuid, Path, description = "The cloudcast")),
    responses(
        (status = 200, description = "Not (or no longer) favourited; with the new count", body = FavouriteState),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn remove(
    State(state): State<AnalyticsState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<FavouriteState>, AnalyticsError> {
    let mut tx = state.pool.begin().await?;
    let removed = sqlx::query("DELETE FROM favourites WHERE user_id = $1 AND cloudcast_id = $2")
        .bind(user)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if removed == 1 {
        event(&mut tx, user, id, -1).await?;
    }
    tx.commit().await?;
    Ok(Json(FavouriteState {
        cloudcast_id: id,
        favourited: false,
        favourites: count(&state.pool, id).await?,
    }))
}

async fn event(
    tx: &mut sqlx::PgConnection,
    user: Uuid,
    id: Uuid,
    delta: i16,
) -> Result<(), AnalyticsError> {
    sqlx::query("INSERT INTO favourite_events (user_id, cloudcast_id, delta) VALUES ($1, $2, $3)")
        .bind(user)
        .bind(id)
        .bind(delta)
        .execute(tx)
        .await?;
    Ok(())
}

#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Favourite {
    pub cloudcast_id: Uuid,
    pub title: String,
    #[serde(with = "time::serde::rfc3339")]
    pub favourited_at: OffsetDateTime,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FavouriteList {
    pub favourites: Vec<Favourite>,
}

/// The user's favourites, newest first. `include_private`: the user's own
/// private cloudcasts too (only in the user's own list).
async fn list(
    pool: &sqlx::PgPool,
    user: Uuid,
    include_private: bool,
) -> Result<Vec<Favourite>, AnalyticsError> {
    Ok(sqlx::query_as(
        "SELECT c.id AS cloudcast_id, c.title, f.created_at AS favourited_at
           FROM favourites f JOIN cloudcasts c ON c.id = f.cloudcast_id
          WHERE f.user_id = $1 AND (NOT c.private OR ($2 AND c.owner_id = $1))
          ORDER BY f.created_at DESC, c.id
          LIMIT 1000",
    )
    .bind(user)
    .bind(include_private)
    .fetch_all(pool)
    .await?)
}

/// `GET /api/v1/me/favourites`
#[utoipa::path(get, path = "/api/v1/me/favourites", tag = "analytics", operation_id = "my_favourites",
    summary = "My favourites, newest first",
    description = "At most 1000, my own private cloudcasts included.",
    responses(
        (status = 200, description = "My favourites", body = FavouriteList),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn mine(
    State(state): State<AnalyticsState>,
    AuthUser(user): AuthUser,
) -> Result<Json<FavouriteList>, AnalyticsError> {
    Ok(Json(FavouriteList {
        favourites: list(&state.pool, user, true).await?,
    }))
}

/// `GET /api/v1/users/{username}/favourites`: public, as the policy says
/// favourites can be viewed by all users.
#[utoipa::path(get, path = "/api/v1/users/{username}/favourites", tag = "analytics", operation_id = "user_favourites",
    summary = "A user's public favourites, newest first",
    params(("username" = String, Path, description = "The user's username")),
    responses(
        (status = 200, description = "Their favourites (public cloudcasts only, at most 1000)", body = FavouriteList),
        (status = 401, description = "The token is unknown or expired", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such user, or a minor", body = cloudcast_core::apidoc::ErrorBody)),
    security((), ("session" = [])))]
pub async fn of_user(
    State(state): State<AnalyticsState>,
    MaybeUser(_viewer): MaybeUser,
    ApiPath(username): ApiPath<String>,
) -> Result<Json<FavouriteList>, AnalyticsError> {
    let user = crate::history::public_user(&state.pool, &username).await?;
    Ok(Json(FavouriteList {
        favourites: list(&state.pool, user, false).await?,
    }))
}

/// Events copied per round; one ClickHouse insert.
const COPY_BATCH: i64 = 10_000;
/// Ids below the copied maximum that are checked again, for events whose
/// transaction took an id early but committed after a later one was copied.
const LOOKBACK_IDS: i64 = 1000;
/// Events younger than this wait for the next round, for the same reason.
const SETTLE: &str = "2 seconds";
/// Lock id (arbitrary, fixed) so only one node copies at a time.
const COPY_LOCK: i64 = 0x0c10_dca5_7fa7;

#[derive(Debug, Serialize, clickhouse::Row)]
struct EventRow {
    event_id: u64,
    ts: u32,
    user_id: String,
    cloudcast_id: String,
    delta: i8,
}

/// One copy round; returns the number of events copied.
pub async fn copy_once(
    pool: &sqlx::PgPool,
    ch: &clickhouse::Client,
) -> Result<usize, AnalyticsError> {
    let mut tx = pool.begin().await?;
    let (locked,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_xact_lock($1)")
        .bind(COPY_LOCK)
        .fetch_one(&mut *tx)
        .await?;
    if !locked {
        return Ok(0);
    }
    let copied: u64 = ch
        .query("SELECT toUInt64(max(event_id)) FROM favourite_events")
        .fetch_one()
        .await?;
    let floor = i64::try_from(copied)
        .unwrap_or(i64::MAX)
        .saturating_sub(LOOKBACK_IDS)
        .max(0);
    let present: HashSet<u64> = ch
        .query("SELECT event_id FROM favourite_events WHERE event_id > ?")
        .bind(floor)
        .fetch_all::<u64>()
        .await?
        .into_iter()
        .collect();
    let rows: Vec<(i64, Uuid, Uuid, i16, OffsetDateTime)> = sqlx::query_as(&format!(
        "SELECT id, user_id, cloudcast_id, delta, at FROM favourite_events
          WHERE id > $1 AND at < now() - interval '{SETTLE}'
          ORDER BY id LIMIT $2"
    ))
    .bind(floor)
    .bind(COPY_BATCH)
    .fetch_all(&mut *tx)
    .await?;
    let missing: Vec<EventRow> = rows
        .into_iter()
        .filter_map(|(id, user, cc, delta, at)| {
            let event_id = u64::try_from(id).ok()?;
            (!present.contains(&event_id)).then(|| EventRow {
                event_id,
                ts: u32::try_from(at.unix_timestamp()).unwrap_or(0),
                user_id: user.to_string(),
                cloudcast_id: cc.to_string(),
                delta: i8::try_from(delta).unwrap_or(0),
            })
        })
        .collect();
    if missing.is_empty() {
        return Ok(0);
    }
    let mut insert = ch.insert::<EventRow>("favourite_events").await?;
    for row in &missing {
        insert.write(row).await?;
    }
    insert.end().await?;
    tx.commit().await?;
    Ok(missing.len())
}

/// Copies favourite events to ClickHouse every `every` until shutdown.
/// Failures (ClickHouse down) are retried on the next round; nothing is lost
/// because PostgreSQL keeps every event.
pub async fn run_copier(
    pool: sqlx::PgPool,
    ch: clickhouse::Client,
    every: Duration,
    shutdown: CancellationToken,
) {
    loop {
        match copy_once(&pool, &ch).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(events = n, "favourite events copied to ClickHouse"),
            Err(e) => tracing::warn!(error = %e, "copying favourite events failed; will retry"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}
