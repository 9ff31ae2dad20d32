//! Reposts: the policy's public "music sharing activity". A repost puts a
//! cloudcast in the feeds of the reposter's followers and in their public
//! list; it is counted on the cloudcast and copied to ClickHouse like a
//! favourite. A minor's reposts are never shown to others. The rules are
//! those of every mark (`marks.rs`).

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
pub struct RepostState {
    pub cloudcast_id: Uuid,
    pub reposted: bool,
    /// Users who reposted it now (`null` when its owner hides its counts).
    pub reposts: Option<i64>,
}

async fn set(
    state: &CatalogState,
    user: Uuid,
    id: Uuid,
    on: bool,
) -> Result<Json<RepostState>, CatalogError> {
    let changed = marks::set(state, Mark::Repost, user, id, on).await?;
    Ok(Json(RepostState {
        cloudcast_id: id,
        reposted: on,
        reposts: changed.count,
    }))
}

/// `PUT /api/v1/cloudcasts/{id}/repost` (idempotent).
#[utoipa::path(put, path = "/api/v1/cloudcasts/{id}/repost", tag = "reposts",
    summary = "Repost a cloudcast to my followers (idempotent)",
    params(("id" = Uuid, Path, description = "The cloudcast")),
    responses(
        (status = 200, description = "Reposted; with the new count", body = RepostState),
        (status = 400, description = "My own cloudcast (`own_cloudcast`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such cloudcast, or a private one", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn add(
    State(state): State<CatalogState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<RepostState>, CatalogError> {
    set(&state, user, id, true).await
}

/// `DELETE /api/v1/cloudcasts/{id}/repost` (idempotent).
#[utoipa::path(delete, path = "/api/v1/cloudcasts/{id}/repost", tag = "reposts",
    summary = "Withdraw my repost (idempotent)",
    params(("id" = Uuid, Path, description = "The cloudcast")),
    responses(
        (status = 200, description = "Not (or no longer) reposted", body = RepostState),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn remove(
    State(state): State<CatalogState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<RepostState>, CatalogError> {
    set(&state, user, id, false).await
}

/// `GET /api/v1/users/{username}/reposts`
#[utoipa::path(get, path = "/api/v1/users/{username}/reposts", tag = "reposts", operation_id = "user_reposts",
    summary = "A user's reposts, newest first",
    params(("username" = String, Path, description = "The user's username"), PageQuery),
    responses(
        (status = 200, description = "A page of their reposts (public cloudcasts only)", body = Listing<Marked>),
        (status = 400, description = "A bad limit or cursor", body = cloudcast_core::apidoc::ErrorBody),
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
    Ok(Json(
        marks::list(&state, Mark::Repost, user, true, q).await?,
    ))
}
