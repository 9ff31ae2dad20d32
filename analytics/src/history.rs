//! Play history, read from the `listen_sessions` view: the user's own
//! (`/api/v1/me/history`: what, when, how long, where it stopped) and the
//! public listening activity (which cloudcasts a user listens to is public;
//! a minor's never is).

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use cloudcast_core::auth::AuthUser;
use cloudcast_core::extract::{ApiPath, ApiQuery};
use cloudcast_core::visibility;

use crate::dates::LimitParams;
use crate::metrics::timed;
use crate::sql;
use crate::{AnalyticsError, AnalyticsState};

/// Sessions returned unless `limit` says otherwise.
const DEFAULT_LIMIT: u32 = 50;

#[derive(Debug, Clone, Serialize, Deserialize, clickhouse::Row, PartialEq)]
pub struct SessionRow {
    pub cloudcast_id: String,
    pub session_id: String,
    pub started: u32,
    pub ended: u32,
    pub seconds: u64,
    pub furthest_ms: u64,
    pub last_ms: u64,
}

/// A user's listen sessions, newest first: of one cloudcast, or of all.
pub async fn sessions(
    client: &clickhouse::Client,
    user: Uuid,
    cloudcast: Option<Uuid>,
    limit: u32,
) -> Result<Vec<SessionRow>, AnalyticsError> {
    let one = cloudcast.map(|c| c.to_string());
    let b = sql::Binds {
        user_id: Some(user.to_string()),
        cloudcast_id: Some(one.as_deref().unwrap_or("")),
        limit: Some(limit),
        ..sql::Binds::default()
    };
    Ok(timed(
        sql::HISTORY.name,
        sql::HISTORY.bound(client, &b)?.fetch_all(),
    )
    .await?)
}

#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct CloudcastRef {
    pub id: Uuid,
    pub title: String,
}

#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub cloudcast: CloudcastRef,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ended_at: OffsetDateTime,
    /// Seconds heard in this session.
    pub seconds: u64,
    /// Where playback stopped (the last beat's position).
    pub stopped_at_ms: u64,
    /// The furthest position reached.
    pub furthest_ms: u64,
}

#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct History {
    pub history: Vec<HistoryEntry>,
}

#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ActivityEntry {
    pub cloudcast: CloudcastRef,
    #[serde(with = "time::serde::rfc3339")]
    pub listened_at: OffsetDateTime,
    pub seconds: u64,
}

#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Activity {
    pub username: String,
    pub activity: Vec<ActivityEntry>,
}

fn at(unix: u32) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(i64::from(unix)).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Titles of the sessions' cloudcasts that `viewer` may see (None: the
/// public, who see only listed ones, never an unlisted cloudcast); deleted
/// cloudcasts and ones made private since drop out.
async fn titles(
    pool: &sqlx::PgPool,
    rows: &[SessionRow],
    viewer: Option<Uuid>,
) -> Result<HashMap<Uuid, String>, AnalyticsError> {
    let ids: Vec<Uuid> = rows
        .iter()
        .filter_map(|r| Uuid::parse_str(&r.cloudcast_id).ok())
        .collect();
    let found: Vec<(Uuid, String)> = sqlx::query_as(&format!(
        "SELECT c.id, c.title FROM cloudcasts c WHERE c.id = ANY($1) AND {visible}",
        visible = match viewer {
            Some(_) => visibility::sql_visible("c", "$2"),
            None => format!("{} AND $2::uuid IS NULL", visibility::sql_listed("c")),
        }
    ))
    .bind(&ids)
    .bind(viewer)
    .fetch_all(pool)
    .await?;
    Ok(found.into_iter().collect())
}

fn titled<'a>(
    rows: &'a [SessionRow],
    titles: &'a HashMap<Uuid, String>,
) -> impl Iterator<Item = (&'a SessionRow, CloudcastRef)> + 'a {
    rows.iter().filter_map(move |r| {
        let id = Uuid::parse_str(&r.cloudcast_id).ok()?;
        let title = titles.get(&id)?.clone();
        Some((r, CloudcastRef { id, title }))
    })
}

/// The query of my history: how many, and of which cloudcast.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// Entries at most.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Only the sessions of this cloudcast (where to resume it).
    pub cloudcast: Option<Uuid>,
}

/// `GET /api/v1/me/history?limit=n&cloudcast=id`
#[utoipa::path(get, path = "/api/v1/me/history", tag = "analytics", operation_id = "my_history",
    summary = "My play history, newest first",
    description = "One entry per listening session: what, when, how long, and where it stopped. \
        Newest first, `limit` of them (default 50); `cloudcast` keeps that one's only (where to \
        resume it).",
    params(HistoryParams),
    responses(
        (status = 200, description = "My listening sessions", body = History),
        (status = 400, description = "Bad limit or query", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 503, description = "Analytics unavailable", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn mine(
    State(state): State<AnalyticsState>,
    AuthUser(user): AuthUser,
    ApiQuery(params): ApiQuery<HistoryParams>,
) -> Result<Json<History>, AnalyticsError> {
    let limit = LimitParams {
        limit: params.limit,
    }
    .limit(DEFAULT_LIMIT)?;
    let rows = sessions(&state.clickhouse, user, params.cloudcast, limit).await?;
    let titles = titles(&state.pool, &rows, Some(user)).await?;
    let history = titled(&rows, &titles)
        .map(|(r, cloudcast)| HistoryEntry {
            cloudcast,
            started_at: at(r.started),
            ended_at: at(r.ended),
            seconds: r.seconds,
            stopped_at_ms: r.last_ms,
            furthest_ms: r.furthest_ms,
        })
        .collect();
    Ok(Json(History { history }))
}

/// `GET /api/v1/users/{username}/activity?limit=n`: what the user listened
/// to and when, public cloudcasts only, without positions.
#[utoipa::path(get, path = "/api/v1/users/{username}/activity", tag = "analytics", operation_id = "user_activity",
    summary = "A user's public listening activity",
    description = "What the user listened to and when, public cloudcasts only, without \
        positions; newest first, `limit` of them (default 50).",
    params(("username" = String, Path, description = "The user's username"), LimitParams),
    responses(
        (status = 200, description = "Their listening activity, newest first", body = Activity),
        (status = 400, description = "Bad limit or query", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such user, or a minor", body = cloudcast_core::apidoc::ErrorBody),
        (status = 503, description = "Analytics unavailable", body = cloudcast_core::apidoc::ErrorBody)))]
pub async fn of_user(
    State(state): State<AnalyticsState>,
    ApiPath(username): ApiPath<String>,
    ApiQuery(params): ApiQuery<LimitParams>,
) -> Result<Json<Activity>, AnalyticsError> {
    // A minor's activity is never public: the same 404 as an unknown name.
    let user = visibility::public_activity_of(&state.pool, &username)
        .await?
        .ok_or(AnalyticsError::NotFound("user"))?;
    let rows = sessions(&state.clickhouse, user, None, params.limit(DEFAULT_LIMIT)?).await?;
    let titles = titles(&state.pool, &rows, None).await?;
    let activity = titled(&rows, &titles)
        .map(|(r, cloudcast)| ActivityEntry {
            cloudcast,
            listened_at: at(r.started),
            seconds: r.seconds,
        })
        .collect();
    Ok(Json(Activity { username, activity }))
}
