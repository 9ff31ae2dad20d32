//! Favourites. PostgreSQL is the truth (`favourites`), and every change is
//! also an event (`favourite_events`) that the analytics node copies to
//! ClickHouse for statistics. Favourites are public, as listening is:
//! anyone may see a user's favourite public cloudcasts, except a minor's.
//! The rules are those of every mark (`marks.rs`).

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use uuid::Uuid;

use cloudcast_core::auth::{AuthUser, MaybeUser};
use cloudcast_core::extract::{ApiPath, ApiQuery};
use cloudcast_core::visibility;

use crate::lists::{Listing, PageQuery};
use crate::marks::{self, Mark, Marked};
use crate::{CatalogError, CatalogState};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FavouriteState {
    pub cloudcast_id: Uuid,
    pub favourited: bool,
    /// Users who have it among their favourites now (`null` when its owner
    /// hides its counts).
    pub favourites: Option<i64>,
}

async fn set(
    state: &CatalogState,
    user: Uuid,
    id: Uuid,
    on: bool,
) -> Result<Json<FavouriteState>, CatalogError> {
    let changed = marks::set(state, Mark::Favourite, user, id, on).await?;
    Ok(Json(FavouriteState {
        cloudcast_id: id,
        favourited: on,
        favourites: changed.count,
    }))
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
    set(&state, user, id, true).await
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
    set(&state, user, id, false).await
}

/// `GET /api/v1/me/favourites`
#[utoipa::path(get, path = "/api/v1/me/favourites", tag = "favourites", operation_id = "my_favourites",
    summary = "My favourites, newest first",
    description = "My own private cloudcasts (and unlisted ones I favourited) included.",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of my favourites", body = Listing<Marked>),
        (status = 400, description = "A bad limit or cursor", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn mine(
    State(state): State<CatalogState>,
    AuthUser(user): AuthUser,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Listing<Marked>>, CatalogError> {
    Ok(Json(
        marks::list(&state, Mark::Favourite, user, false, q).await?,
    ))
}

/// `GET /api/v1/users/{username}/favourites`: public, as the policy says
/// favourites can be viewed by all users.
#[utoipa::path(get, path = "/api/v1/users/{username}/favourites", tag = "favourites", operation_id = "user_favourites",
    summary = "A user's public favourites, newest first",
    params(("username" = String, Path, description = "The user's username"), PageQuery),
    responses(
        (status = 200, description = "A page of their favourites (public cloudcasts only)", body = Listing<Marked>),
        (status = 400, description = "A bad limit or cursor", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "The token is unknown or expired", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such user, or a minor", body = cloudcast_core::apidoc::ErrorBody)),
    security((), ("session" = [])))]
pub async fn of_user(
    State(state): State<CatalogState>,
    MaybeUser(_viewer): MaybeUser,
    ApiPath(username): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Listing<Marked>>, CatalogError> {
    let user = visibility::public_activity_of(&state.pool, &username)
        .await?
        .ok_or(CatalogError::NotFound("user"))?;
    // The public list: what anyone may see, whoever asks.
    Ok(Json(
        marks::list(&state, Mark::Favourite, user, true, q).await?,
    ))
}
