//! Favourites. PostgreSQL is the truth (`favourites`), and every change is
//! also an event (`favourite_events`) that the analytics node copies to
//! ClickHouse for statistics. Favourites are public, as listening is:
//! anyone may see a user's favourite public cloudcasts, except a minor's.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use cloudcast_core::auth::{AuthUser, MaybeUser};
use cloudcast_core::extract::ApiPath;
use cloudcast_core::visibility;

use crate::{CatalogError, CatalogState};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FavouriteState {
    pub cloudcast_id: Uuid,
    pub favourited: bool,
    /// Users who have it among their favourites now.
    pub favourites: i64,
}

async fn count(pool: &sqlx::PgPool, id: Uuid) -> Result<i64, CatalogError> {
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM favourites WHERE cloudcast_id = $1")
        .bind(id)
        .fetch_one(pool)
        .await?;
    Ok(n)
}

/// `PUT /api/v1/cloudcasts/{id}/favourite` (idempotent).
#[utoipa::path(put, path = "/api/v1/cloudcasts/{id}/favourite", tag = "favourites",
    summary = "Add a cloudcast to my favourites (idempotent)",
    params(("id" = Uuid, Path, description = "The cloudcast")),
    responses(
        (status = 200, description = "Favourited; with the new count", body = FavouriteState),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such cloudcast, or a private one", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn add(
    State(state): State<CatalogState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<FavouriteState>, CatalogError> {
    match visibility::load(&state.pool, id).await? {
        Some(a) if a.visible_to(Some(user)) => {}
        _ => return Err(CatalogError::NotFound("cloudcast")),
    }
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
#[utoipa::path(delete, path = "/api/v1/cloudcasts/{id}/favourite", tag = "favourites",
    summary = "Remove a cloudcast from my favourites (idempotent)",
    params(("id" = Uuid, Path, description = "The cloudcast")),
    responses(
        (status = 200, description = "Not (or no longer) favourited; with the new count", body = FavouriteState),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn remove(
    State(state): State<CatalogState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<FavouriteState>, CatalogError> {
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
) -> Result<(), CatalogError> {
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

/// `user`'s favourites as `viewer` may see them (the owner's own private
/// cloudcasts only in their own list), newest first.
async fn list(
    pool: &sqlx::PgPool,
    user: Uuid,
    viewer: Option<Uuid>,
) -> Result<Vec<Favourite>, CatalogError> {
    Ok(sqlx::query_as(&format!(
        "SELECT c.id AS cloudcast_id, c.title, f.created_at AS favourited_at
           FROM favourites f JOIN cloudcasts c ON c.id = f.cloudcast_id
          WHERE f.user_id = $1 AND {visible}
          ORDER BY f.created_at DESC, c.id
          LIMIT 1000",
        visible = visibility::sql_visible("c", "$2")
    ))
    .bind(user)
    .bind(viewer)
    .fetch_all(pool)
    .await?)
}

/// `GET /api/v1/me/favourites`
#[utoipa::path(get, path = "/api/v1/me/favourites", tag = "favourites", operation_id = "my_favourites",
    summary = "My favourites, newest first",
    description = "At most 1000, my own private cloudcasts included.",
    responses(
        (status = 200, description = "My favourites", body = FavouriteList),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn mine(
    State(state): State<CatalogState>,
    AuthUser(user): AuthUser,
) -> Result<Json<FavouriteList>, CatalogError> {
    Ok(Json(FavouriteList {
        favourites: list(&state.pool, user, Some(user)).await?,
    }))
}

/// `GET /api/v1/users/{username}/favourites`: public, as the policy says
/// favourites can be viewed by all users.
#[utoipa::path(get, path = "/api/v1/users/{username}/favourites", tag = "favourites", operation_id = "user_favourites",
    summary = "A user's public favourites, newest first",
    params(("username" = String, Path, description = "The user's username")),
    responses(
        (status = 200, description = "Their favourites (public cloudcasts only, at most 1000)", body = FavouriteList),
        (status = 401, description = "The token is unknown or expired", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such user, or a minor", body = cloudcast_core::apidoc::ErrorBody)),
    security((), ("session" = [])))]
pub async fn of_user(
    State(state): State<CatalogState>,
    MaybeUser(_viewer): MaybeUser,
    ApiPath(username): ApiPath<String>,
) -> Result<Json<FavouriteList>, CatalogError> {
    let user = visibility::public_activity_of(&state.pool, &username)
        .await?
        .ok_or(CatalogError::NotFound("user"))?;
    // The public list: what anyone may see, whoever asks.
    Ok(Json(FavouriteList {
        favourites: list(&state.pool, user, None).await?,
    }))
}
