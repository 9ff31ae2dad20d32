//! Queries behind the statistics API. Values are bound by the client
//! (`?` placeholders, escaped), never spliced into SQL by hand.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use cloudcast_core::extract::ApiPath;

use crate::{AnalyticsError, AnalyticsState};

#[derive(Debug, Serialize, Deserialize, clickhouse::Row, PartialEq)]
pub struct CloudcastStats {
    /// Distinct listeners (signed-in users, or anonymous browsers).
    pub listeners: u64,
    /// Seconds of playback: one per distinct (session, sequence) heartbeat.
    pub listened_seconds: u64,
    /// Plays: listeners who listened at least `play_min_seconds` in a UTC day.
    pub plays: u64,
}

pub async fn stats_for(
    client: &clickhouse::Client,
    cloudcast: Uuid,
    play_min_seconds: u32,
) -> Result<CloudcastStats, AnalyticsError> {
    let id = cloudcast.to_string();
    // A beat re-sent by a player (same session and sequence) counts once.
    let stats = client
        .query(
            "SELECT
                 toUInt64(uniqExact(listener_id)) AS listeners,
                 toUInt64(uniqExact(session_id, seq)) AS listened_seconds,
                 toUInt64((SELECT count() FROM (
                     SELECT listener_id, toDate(ts) AS day
                     FROM heartbeats WHERE cloudcast_id = ?
                     GROUP BY listener_id, day
                     HAVING uniqExact(session_id, seq) >= ?))) AS plays
             FROM heartbeats WHERE cloudcast_id = ?",
        )
        .bind(&id)
        .bind(play_min_seconds)
        .bind(&id)
        .fetch_one::<CloudcastStats>()
        .await?;
    Ok(stats)
}

/// `GET /api/v1/cloudcasts/{id}/stats`
pub async fn cloudcast_stats(
    State(state): State<AnalyticsState>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<CloudcastStats>, AnalyticsError> {
    let exists: Option<(Uuid,)> = sqlx::query_as("SELECT id FROM cloudcasts WHERE id = $1")
        .bind(id)
        .fetch_optional(&state.pool)
        .await?;
    if exists.is_none() {
        return Err(AnalyticsError::NotFound("cloudcast"));
    }
    let stats = stats_for(
        &state.clickhouse,
        id,
        state.config.analytics.play_min_seconds,
    )
    .await?;
    Ok(Json(stats))
}
