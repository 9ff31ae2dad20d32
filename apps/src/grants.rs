//! "Connected apps": the apps a person allowed, what each may do, and
//! disconnecting one (its codes and tokens go with the grant).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use cloudcast_core::auth::AuthUser;
use cloudcast_core::extract::ApiPath;
use cloudcast_core::scopes::Scope;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::authorize::ScopeWords;
use crate::{AppsError, AppsState};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConnectedApp {
    /// The grant's id (what disconnecting names).
    pub id: Uuid,
    pub name: String,
    pub client_id: String,
    pub website: Option<String>,
    pub logo_url: Option<String>,
    pub scopes: Vec<ScopeWords>,
    #[serde(with = "time::serde::rfc3339")]
    pub connected_at: OffsetDateTime,
    /// When it last received tokens.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

/// `GET /api/v1/me/connected-apps`.
#[utoipa::path(get, path = "/api/v1/me/connected-apps", tag = "apps",
    summary = "The apps I allowed to act for me",
    responses((status = 200, description = "Newest first", body = [ConnectedApp])),
    security(("session" = [])))]
pub async fn list(
    State(state): State<AppsState>,
    AuthUser(user): AuthUser,
) -> Result<Json<Vec<ConnectedApp>>, AppsError> {
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        Uuid,
        String,
        String,
        Option<String>,
        Option<Uuid>,
        Vec<String>,
        OffsetDateTime,
        Option<OffsetDateTime>,
    )> = sqlx::query_as(
        "SELECT g.id, a.name, a.client_id, a.website, a.logo_version, g.scopes, g.created_at, g.last_used_at
           FROM oauth_grants g JOIN oauth_apps a ON a.id = g.app_id
          WHERE g.user_id = $1 ORDER BY g.created_at DESC",
    )
    .bind(user)
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(
        rows.into_iter()
            .map(
                |(id, name, client_id, website, logo, scopes, connected_at, last_used_at)| {
                    ConnectedApp {
                        logo_url: crate::clients::logo_url(&client_id, logo),
                        id,
                        name,
                        client_id,
                        website,
                        scopes: scopes
                            .iter()
                            .filter_map(|s| Scope::parse(s))
                            .map(|s| ScopeWords {
                                scope: s.as_str(),
                                words: s.words(),
                            })
                            .collect(),
                        connected_at,
                        last_used_at,
                    }
                },
            )
            .collect(),
    ))
}

/// `DELETE /api/v1/me/connected-apps/{id}`: the app's access ends now.
#[utoipa::path(delete, path = "/api/v1/me/connected-apps/{id}", tag = "apps",
    summary = "Disconnect an app (its tokens stop working at once)",
    params(("id" = Uuid, Path, description = "The grant's id, from the list")),
    responses(
        (status = 204, description = "Disconnected"),
        (status = 404, description = "No such connected app", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn disconnect(
    State(state): State<AppsState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, AppsError> {
    let gone = sqlx::query("DELETE FROM oauth_grants WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user)
        .execute(&state.pool)
        .await?;
    if gone.rows_affected() == 0 {
        return Err(AppsError::NotFound("connected app"));
    }
    tracing::info!(user_id = %user, grant_id = %id, "app disconnected");
    Ok(StatusCode::NO_CONTENT)
}
