//! An account's privacy preferences beyond its consents: keeping its
//! listening activity private (the policy makes it public; this switch goes
//! beyond it: `visibility.rs` applies it everywhere activity is shown per
//! person, while it still counts in anonymous totals), and an alternative
//! contact for security notices (policy §5; `operators.rs::notify_breach`),
//! and whether my profile takes comments (never a minor's:
//! `visibility::sql_profile_comments_open`).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use cloudcast_core::auth::AuthUser;
use cloudcast_core::extract::ApiJson;
use cloudcast_core::text::clean_text;

use crate::{AccountsError, AccountsState};

/// Longest alternative contact.
const MAX_CONTACT_CHARS: usize = 200;

#[derive(Debug, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Preferences {
    /// My listening, favourites, reposts and follows are shown to no one
    /// (they still count, anonymously, in totals).
    pub activity_private: bool,
    /// How to reach me about security matters besides my account's
    /// address: another address (mailed too), or another way (a phone
    /// number, a postal address) the operator uses by hand.
    pub security_contact: Option<String>,
    /// My profile takes comments (always false for a minor, whose profile
    /// never does).
    pub profile_comments: bool,
    /// Whether the switch is mine to turn on (not for a minor).
    pub profile_comments_available: bool,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesUpdate {
    pub activity_private: Option<bool>,
    /// An empty text removes it.
    #[schema(max_length = 200)]
    pub security_contact: Option<String>,
    /// Not for a minor.
    pub profile_comments: Option<bool>,
}

async fn load(pool: &sqlx::PgPool, user: Uuid) -> Result<Preferences, AccountsError> {
    sqlx::query_as(
        "SELECT activity_private, security_contact, profile_comments AND NOT is_minor AS profile_comments,
                NOT is_minor AS profile_comments_available
           FROM users WHERE id = $1",
    )
        .bind(user)
        .fetch_optional(pool)
        .await?
        .ok_or(AccountsError::NotFound("account"))
}

/// `GET /api/v1/me/preferences`
#[utoipa::path(get, path = "/api/v1/me/preferences", tag = "privacy",
    summary = "My privacy preferences: private activity, a contact for security notices, comments on my profile",
    responses(
        (status = 200, description = "My preferences", body = Preferences),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn get(
    State(state): State<AccountsState>,
    AuthUser(user): AuthUser,
) -> Result<Json<Preferences>, AccountsError> {
    Ok(Json(load(&state.pool, user).await?))
}

/// `PUT /api/v1/me/preferences`
#[utoipa::path(put, path = "/api/v1/me/preferences", tag = "privacy",
    summary = "Change my privacy preferences",
    request_body = PreferencesUpdate,
    responses(
        (status = 200, description = "My preferences", body = Preferences),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "A field is invalid (named)", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn put(
    State(state): State<AccountsState>,
    AuthUser(user): AuthUser,
    ApiJson(update): ApiJson<PreferencesUpdate>,
) -> Result<Json<Preferences>, AccountsError> {
    if update.activity_private.is_none()
        && update.security_contact.is_none()
        && update.profile_comments.is_none()
    {
        return Err(AccountsError::InvalidField(
            "send `activity_private` or `profile_comments` (true or false), and/or `security_contact` (text)".into(),
        ));
    }
    if update.profile_comments == Some(true) {
        let minor: bool = sqlx::query_scalar("SELECT is_minor FROM users WHERE id = $1")
            .bind(user)
            .fetch_one(&state.pool)
            .await?;
        if minor {
            return Err(AccountsError::InvalidField(
                "profile_comments: a minor's profile takes no comments".into(),
            ));
        }
    }
    let contact = match update.security_contact.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(c) => Some(Some(clean_text("security_contact", c, MAX_CONTACT_CHARS)?)),
    };
    sqlx::query(
        "UPDATE users SET activity_private = COALESCE($2, activity_private),
                security_contact = CASE WHEN $3 THEN $4 ELSE security_contact END,
                profile_comments = COALESCE($5, profile_comments)
          WHERE id = $1",
    )
    .bind(user)
    .bind(update.activity_private)
    .bind(contact.is_some())
    .bind(contact.flatten())
    .bind(update.profile_comments)
    .execute(&state.pool)
    .await?;
    tracing::info!(user_id = %user, "privacy preferences changed");
    Ok(Json(load(&state.pool, user).await?))
}
