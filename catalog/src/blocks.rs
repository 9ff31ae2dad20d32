//! Blocks: one person shuts another out of their corner of the site. The
//! rule of what a block means lives with the other visibility rules
//! (`core/src/visibility.rs`, [`visibility::sql_blocked`]); here a block is
//! made and undone. Making one ends the follows between the two, both
//! ways, and takes the blocked person out of the blocker's notifications.
//! The blocked person is not told; if they try to follow or comment, the
//! answer says a block stands between them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use cloudcast_core::auth::AuthUser;
use cloudcast_core::extract::ApiPath;
use cloudcast_core::notify;
use cloudcast_core::visibility;

use crate::lists::user_named;
use crate::{CatalogError, CatalogState};

/// Someone I blocked.
#[derive(Debug, Serialize, serde::Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct BlockEntry {
    pub username: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub blocked_at: OffsetDateTime,
}

/// The most a list of blocks answers with: far more than a person blocks,
/// and a bound on the answer.
const MAX_LISTED: i64 = 1000;

/// `PUT /api/v1/me/blocks/{username}` (idempotent).
#[utoipa::path(put, path = "/api/v1/me/blocks/{username}", tag = "follows",
    summary = "Block a user: no follows, comments or notifications between us (idempotent)",
    params(("username" = String, Path, description = "Whom to block (any case)")),
    responses(
        (status = 200, description = "Blocked; the follows between us are ended", body = BlockEntry),
        (status = 400, description = "That is me (`self_block`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such user", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn block(
    State(state): State<CatalogState>,
    AuthUser(me): AuthUser,
    ApiPath(username): ApiPath<String>,
) -> Result<Json<BlockEntry>, CatalogError> {
    let (them, name) = user_named(&state.pool, &username).await?;
    if them == me {
        return Err(CatalogError::SelfBlock);
    }
    let mut tx = state.pool.begin().await?;
    let blocked_at: OffsetDateTime = sqlx::query_scalar(
        "INSERT INTO user_blocks (blocker_id, blocked_id) VALUES ($1, $2)
         ON CONFLICT (blocker_id, blocked_id) DO UPDATE SET blocker_id = EXCLUDED.blocker_id
         RETURNING created_at",
    )
    .bind(me)
    .bind(them)
    .fetch_one(&mut *tx)
    .await
    .map_err(crate::error::gone("user"))?;
    sqlx::query(
        "DELETE FROM follows WHERE (follower_id = $1 AND followee_id = $2)
                                OR (follower_id = $2 AND followee_id = $1)",
    )
    .bind(me)
    .bind(them)
    .execute(&mut *tx)
    .await?;
    // Each one's part in the other's notifications goes (a notification
    // left with nobody is not shown: `notify::sql_shown`).
    let mut changed: Vec<Uuid> = sqlx::query_scalar(
        "DELETE FROM notification_events e USING notifications n
          WHERE e.notification_id = n.id
            AND ((n.recipient_id = $1 AND e.actor_id = $2) OR (n.recipient_id = $2 AND e.actor_id = $1))
         RETURNING n.recipient_id",
    )
    .bind(me)
    .bind(them)
    .fetch_all(&mut *tx)
    .await?;
    changed.sort_unstable();
    changed.dedup();
    notify::wake(&mut tx, &changed).await?;
    tx.commit().await?;
    tracing::info!(user_id = %me, blocked = %them, "block");
    Ok(Json(BlockEntry {
        username: name,
        blocked_at,
    }))
}

/// `DELETE /api/v1/me/blocks/{username}` (idempotent).
#[utoipa::path(delete, path = "/api/v1/me/blocks/{username}", tag = "follows",
    summary = "Unblock a user (idempotent; ended follows stay ended)",
    params(("username" = String, Path, description = "Whom to unblock (any case)")),
    responses(
        (status = 204, description = "Not (or no longer) blocked"),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such user", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn unblock(
    State(state): State<CatalogState>,
    AuthUser(me): AuthUser,
    ApiPath(username): ApiPath<String>,
) -> Result<StatusCode, CatalogError> {
    // By name among all confirmed accounts: someone suspended since can
    // still be unblocked.
    let them: Option<Uuid> = sqlx::query_scalar(&format!(
        "SELECT u.id FROM users u WHERE lower(u.username) = lower($1) AND {}",
        visibility::sql_account_confirmed("u")
    ))
    .bind(&username)
    .fetch_optional(&state.pool)
    .await?;
    let them = them.ok_or(CatalogError::NotFound("user"))?;
    sqlx::query("DELETE FROM user_blocks WHERE blocker_id = $1 AND blocked_id = $2")
        .bind(me)
        .bind(them)
        .execute(&state.pool)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/me/blocks`: whom I blocked, newest first.
#[utoipa::path(get, path = "/api/v1/me/blocks", tag = "follows",
    summary = "Whom I blocked, newest first",
    responses(
        (status = 200, description = "The people I blocked", body = Vec<BlockEntry>),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn mine(
    State(state): State<CatalogState>,
    AuthUser(me): AuthUser,
) -> Result<Json<Vec<BlockEntry>>, CatalogError> {
    let rows = sqlx::query_as(
        "SELECT u.username, b.created_at AS blocked_at
           FROM user_blocks b JOIN users u ON u.id = b.blocked_id
          WHERE b.blocker_id = $1
          ORDER BY b.created_at DESC, u.username LIMIT $2",
    )
    .bind(me)
    .bind(MAX_LISTED)
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(rows))
}

/// Whether I blocked `them` (the profile page's button).
pub(crate) async fn i_blocked(
    pool: &sqlx::PgPool,
    me: Uuid,
    them: Uuid,
) -> Result<bool, CatalogError> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM user_blocks WHERE blocker_id = $1 AND blocked_id = $2)",
    )
    .bind(me)
    .bind(them)
    .fetch_one(pool)
    .await?)
}

/// Refuses what `me` would do to `them` when a block stands between them.
pub(crate) async fn refuse_if_blocked(
    conn: &mut sqlx::PgConnection,
    me: Uuid,
    them: Uuid,
) -> Result<(), CatalogError> {
    if visibility::blocked(conn, me, them).await? {
        return Err(CatalogError::Blocked);
    }
    Ok(())
}
