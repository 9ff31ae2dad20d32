//! Listen later: a private list of cloudcasts to play another time. Only
//! its user sees it; it is in their data export and erased with them.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use uuid::Uuid;

use cloudcast_core::auth::AuthUser;
use cloudcast_core::extract::{ApiPath, ApiQuery};

use crate::lists::{Listing, PageQuery};
use crate::marks::{self, Mark, Marked};
use crate::{CatalogError, CatalogState};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ListenLaterState {
    pub cloudcast_id: Uuid,
    pub listen_later: bool,
}

async fn set(
    state: &CatalogState,
    user: Uuid,
    id: Uuid,
    on: bool,
) -> Result<Json<ListenLaterState>, CatalogError> {
    marks::set(state, Mark::ListenLater, user, id, on).await?;
    Ok(Json(ListenLaterState {
        cloudcast_id: id,
        listen_later: on,
    }))
}

/// `PUT /api/v1/cloudcasts/{id}/listen-later` (idempotent).
#[utoipa::path(put, path = "/api/v1/cloudcasts/{id}/listen-later", tag = "listen later",
    summary = "Keep a cloudcast to listen to later (idempotent)",
    params(("id" = Uuid, Path, description = "The cloudcast")),
    responses(
        (status = 200, description = "Kept", body = ListenLaterState),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such cloudcast, or a private one", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn add(
    State(state): State<CatalogState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ListenLaterState>, CatalogError> {
    set(&state, user, id, true).await
}

/// `DELETE /api/v1/cloudcasts/{id}/listen-later` (idempotent).
#[utoipa::path(delete, path = "/api/v1/cloudcasts/{id}/listen-later", tag = "listen later",
    summary = "Take a cloudcast off my listen-later list (idempotent)",
    params(("id" = Uuid, Path, description = "The cloudcast")),
    responses(
        (status = 200, description = "Not (or no longer) kept", body = ListenLaterState),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn remove(
    State(state): State<CatalogState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ListenLaterState>, CatalogError> {
    set(&state, user, id, false).await
}

/// `GET /api/v1/me/listen-later`
#[utoipa::path(get, path = "/api/v1/me/listen-later", tag = "listen later", operation_id = "my_listen_later",
    summary = "My listen-later list, newest first",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of the list", body = Listing<Marked>),
        (status = 400, description = "A bad limit or cursor", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn mine(
    State(state): State<CatalogState>,
    AuthUser(user): AuthUser,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Listing<Marked>>, CatalogError> {
    Ok(Json(
        marks::list(&state, Mark::ListenLater, user, false, q).await?,
    ))
}
