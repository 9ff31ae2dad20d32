//! What people expect of an account besides signing in: a password reset
//! by mail, a change of password, and a change of email address that takes
//! effect only once the new address is confirmed. Tokens are random, kept
//! only as hashes, single-use and short-lived; every change is told to the
//! account's (old) address through the outbox. Asking for a reset says
//! nothing about whether an account exists.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use cloudcast_core::auth::{self, AuthUser, hash_token, new_token};
use cloudcast_core::extract::{ApiJson, ApiQuery};

use crate::passwords::hash_password;
use crate::registration::{validate_email, validate_password};
use crate::{AccountsError, AccountsState};

/// How long a reset link works: long enough to read the mail, short
/// enough that an old mailbox is no key to the account.
const RESET_TTL: Duration = Duration::from_secs(3600);

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    /// Username or email.
    #[schema(min_length = 1, max_length = 254)]
    pub login: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Accepted {
    pub accepted: bool,
}

/// `POST /api/v1/accounts/password-reset`
#[utoipa::path(post, path = "/api/v1/accounts/password-reset", tag = "accounts",
    summary = "Ask for a password reset link by mail",
    description = "Always 202, whether or not the account exists. The link works once, for an hour; a newer request replaces it.",
    request_body = ResetRequest,
    responses(
        (status = 202, description = "If the account exists, a link is on its way", body = Accepted),
        (status = 429, description = "Too many requests for this address or account", body = cloudcast_core::apidoc::ErrorBody)))]
pub async fn request_reset(
    State(state): State<AccountsState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(req): ApiJson<ResetRequest>,
) -> Result<(StatusCode, Json<Accepted>), AccountsError> {
    let login = req.login.trim().to_lowercase();
    if login.is_empty() || login.len() > 254 {
        return Err(AccountsError::InvalidField(
            "login: 1 to 254 characters".into(),
        ));
    }
    // The sign-in limits: a reset request is as good as a guess at a login.
    state.limits.check_login(peer.ip(), &login).await?;
    let mut tx = state.pool.begin().await?;
    let found: Option<(Uuid, String, String)> = sqlx::query_as(
        "SELECT id, username, email FROM users
          WHERE (lower(username) = $1 OR lower(email) = $1) AND pending_until IS NULL LIMIT 1",
    )
    .bind(&login)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((id, username, email)) = found {
        sqlx::query("DELETE FROM password_resets WHERE user_id = $1 AND used_at IS NULL")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let (token, token_hash) = new_token();
        sqlx::query(
            "INSERT INTO password_resets (token_hash, user_id, expires_at) VALUES ($1, $2, $3)",
        )
        .bind(token_hash)
        .bind(id)
        .bind(OffsetDateTime::now_utc() + RESET_TTL)
        .execute(&mut *tx)
        .await?;
        let link = format!("{}/reset-password?token={token}", state.public_url);
        cloudcast_core::outbox::queue(
            &mut tx,
            Some(id),
            &email,
            "password_reset",
            "Reset your Cloudcast password",
            &format!(
                "Hello {username},\n\nTo choose a new password, open this link within an hour:\n{link}\n\n\
                 If you did not ask for this, ignore this message; your password stays as it is.\n"
            ),
        )
        .await?;
        tracing::info!(user_id = %id, "password reset requested");
    }
    tx.commit().await?;
    Ok((StatusCode::ACCEPTED, Json(Accepted { accepted: true })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirm {
    /// The token from the mailed link.
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$")]
    pub token: String,
    /// The new password (at least `auth.min_password_len` characters).
    #[schema(min_length = 10, max_length = 1024)]
    pub password: String,
}

/// `POST /api/v1/accounts/password-reset/confirm`: sets the new password
/// and signs the account out everywhere.
#[utoipa::path(post, path = "/api/v1/accounts/password-reset/confirm", tag = "accounts",
    summary = "Set a new password with the mailed token",
    request_body = ResetConfirm,
    responses(
        (status = 204, description = "Changed; every session of the account is signed out"),
        (status = 422, description = "The password is too short, or the token unknown, used or expired", body = cloudcast_core::apidoc::ErrorBody)))]
pub async fn confirm_reset(
    State(state): State<AccountsState>,
    ApiJson(req): ApiJson<ResetConfirm>,
) -> Result<StatusCode, AccountsError> {
    validate_password(&req.password, state.auth.min_password_len)?;
    if req.token.is_empty() || req.token.len() > 100 {
        return Err(AccountsError::InvalidField(
            "token: unknown, used or expired".into(),
        ));
    }
    let hash = hash_password(req.password).await?;
    let mut tx = state.pool.begin().await?;
    let user: Option<Uuid> = sqlx::query_scalar(
        "UPDATE password_resets SET used_at = now()
          WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
          RETURNING user_id",
    )
    .bind(hash_token(&req.token))
    .fetch_optional(&mut *tx)
    .await?;
    let Some(user) = user else {
        return Err(AccountsError::InvalidField(
            "token: unknown, used or expired; ask for a new link".into(),
        ));
    };
    set_password(&mut tx, user, &hash, None).await?;
    // Following the link proves the mailbox.
    sqlx::query(
        "UPDATE users SET email_verified_at = COALESCE(email_verified_at, now()) WHERE id = $1",
    )
    .bind(user)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(user_id = %user, "password reset");
    Ok(StatusCode::NO_CONTENT)
}

/// Stores the new hash, signs out every session but `keep`, disconnects
/// every app, and tells the account's address.
async fn set_password(
    tx: &mut sqlx::PgConnection,
    user: Uuid,
    hash: &str,
    keep: Option<Vec<u8>>,
) -> Result<(), AccountsError> {
    let (username, email): (String, String) = sqlx::query_as(
        "UPDATE users SET password_hash = $2 WHERE id = $1 RETURNING username, email",
    )
    .bind(user)
    .bind(hash)
    .fetch_one(&mut *tx)
    .await?;
    cloudcast_core::auth::end_sessions(tx, user, keep).await?;
    // A challenge opened with the old password takes no code now.
    sqlx::query("DELETE FROM signin_challenges WHERE user_id = $1")
        .bind(user)
        .execute(&mut *tx)
        .await?;
    cloudcast_core::outbox::queue(
        tx,
        Some(user),
        &email,
        "password_changed",
        "Your Cloudcast password was changed",
        &format!(
            "Hello {username},\n\nThe password of your account was just changed: its other \
             sessions were signed out and the apps it had allowed were disconnected. If this \
             was not you, ask for a password reset now.\n"
        ),
    )
    .await?;
    Ok(())
}

/// The signed-in user's password must be `given`, with a code when the
/// account has an authenticator app.
async fn check_password(
    state: &AccountsState,
    peer: SocketAddr,
    user: Uuid,
    given: String,
    code: Option<&str>,
) -> Result<(), AccountsError> {
    let confirmed = crate::second_factor::confirm_identity(
        &state.pool,
        &state.limits,
        peer.ip(),
        user,
        given,
        code,
    )
    .await?;
    if confirmed {
        Ok(())
    } else {
        Err(AccountsError::WrongPassword)
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    #[schema(max_length = 1024)]
    pub current_password: String,
    #[schema(min_length = 10, max_length = 1024)]
    pub new_password: String,
    /// With an authenticator app enrolled: its code, or a recovery code.
    #[serde(default)]
    #[schema(max_length = 64)]
    pub code: Option<String>,
}

/// `PUT /api/v1/me/password`
#[utoipa::path(put, path = "/api/v1/me/password", tag = "accounts",
    summary = "Change my password (the current one is asked again)",
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed; my other sessions are signed out"),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 403, description = "The current password is wrong (`wrong_password`), or the account's second factor is missing or wrong (`second_factor_required`, `wrong_code`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "The new password is too short", body = cloudcast_core::apidoc::ErrorBody),
        (status = 429, description = "Too many attempts", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn change_password(
    State(state): State<AccountsState>,
    AuthUser(user): AuthUser,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<PasswordChange>,
) -> Result<StatusCode, AccountsError> {
    validate_password(&req.new_password, state.auth.min_password_len)?;
    check_password(
        &state,
        peer,
        user,
        req.current_password,
        req.code.as_deref(),
    )
    .await?;
    let hash = hash_password(req.new_password).await?;
    // This session stays signed in; every other one is signed out.
    let keep = auth::credential(&headers)?.map(hash_token);
    let mut tx = state.pool.begin().await?;
    set_password(&mut tx, user, &hash, keep).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user, "password changed");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailChange {
    /// My password, asked again.
    #[schema(max_length = 1024)]
    pub password: String,
    /// The new address; it takes effect once confirmed from a link sent to it.
    #[schema(max_length = 254)]
    pub email: String,
    /// With an authenticator app enrolled: its code, or a recovery code.
    #[serde(default)]
    #[schema(max_length = 64)]
    pub code: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EmailPending {
    /// Where the confirmation link went.
    pub pending_email: String,
}

/// `PUT /api/v1/me/email`
#[utoipa::path(put, path = "/api/v1/me/email", tag = "accounts",
    summary = "Change my email address (confirmed from the new address)",
    request_body = EmailChange,
    responses(
        (status = 202, description = "A confirmation link went to the new address (or, if the \
            address belongs to another account, its owner is told instead: the answer is the \
            same); the old address is told", body = EmailPending),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 403, description = "The password is wrong (`wrong_password`), or the account's second factor is missing or wrong (`second_factor_required`, `wrong_code`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "Not an email address", body = cloudcast_core::apidoc::ErrorBody),
        (status = 429, description = "Too many attempts", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn change_email(
    State(state): State<AccountsState>,
    AuthUser(user): AuthUser,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(req): ApiJson<EmailChange>,
) -> Result<(StatusCode, Json<EmailPending>), AccountsError> {
    validate_email(&req.email)?;
    check_password(&state, peer, user, req.password, req.code.as_deref()).await?;
    let mut tx = state.pool.begin().await?;
    // An address in use answers as a free one does (nobody learns whose it
    // is); its owner hears of the attempt instead of getting a link.
    let holder: Option<(Uuid, String)> = sqlx::query_as(
        "SELECT id, username FROM users WHERE lower(email) = lower($1) AND id <> $2",
    )
    .bind(&req.email)
    .bind(user)
    .fetch_optional(&mut *tx)
    .await?;
    let (username, old): (String, String) =
        sqlx::query_as("SELECT username, email FROM users WHERE id = $1")
            .bind(user)
            .fetch_one(&mut *tx)
            .await?;
    sqlx::query("DELETE FROM email_changes WHERE user_id = $1 AND used_at IS NULL")
        .bind(user)
        .execute(&mut *tx)
        .await?;
    if let Some((holder, holder_name)) = holder {
        cloudcast_core::outbox::queue(
            &mut tx,
            Some(holder),
            &req.email,
            "email_change_to_taken_address",
            "Someone tried to give your address to another Cloudcast account",
            &format!(
                "Hello {holder_name},\n\nAnother Cloudcast account asked to use this address, \
                 which is yours. Nothing has changed, and the other account was not told whose \
                 address it is. You need not do anything.\n"
            ),
        )
        .await?;
        notify_old_address(&mut tx, user, &username, &old).await?;
        tx.commit().await?;
        tracing::info!(user_id = %user, "email change to an address in use; its owner is told");
        return Ok((
            StatusCode::ACCEPTED,
            Json(EmailPending {
                pending_email: req.email,
            }),
        ));
    }
    let (token, token_hash) = new_token();
    sqlx::query(
        "INSERT INTO email_changes (token_hash, user_id, new_email, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(user)
    .bind(&req.email)
    .bind(OffsetDateTime::now_utc() + state.auth.verification_ttl)
    .execute(&mut *tx)
    .await?;
    let link = format!("{}/confirm-email?token={token}", state.public_url);
    cloudcast_core::outbox::queue(
        &mut tx,
        Some(user),
        &req.email,
        "confirm_email_change",
        "Confirm your new Cloudcast email address",
        &format!(
            "Hello {username},\n\nTo make this your account's address, open:\n{link}\n\n\
             If you did not ask for this, ignore this message.\n"
        ),
    )
    .await?;
    notify_old_address(&mut tx, user, &username, &old).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user, "email change requested");
    Ok((
        StatusCode::ACCEPTED,
        Json(EmailPending {
            pending_email: req.email,
        }),
    ))
}

/// Tells an account's address that a change of it was asked for.
async fn notify_old_address(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    user: Uuid,
    username: &str,
    old: &str,
) -> Result<(), AccountsError> {
    cloudcast_core::outbox::queue(
        tx,
        Some(user),
        old,
        "email_change_requested",
        "A new email address was given for your Cloudcast account",
        &format!(
            "Hello {username},\n\nSomeone signed in to your account asked to change its email \
             address. It changes only once the new address is confirmed. If this was not you, \
             change your password now.\n"
        ),
    )
    .await?;
    Ok(())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TokenQuery {
    /// The token from the mailed link.
    #[param(required = true, pattern = "^[A-Za-z0-9_-]{43}$")]
    pub token: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EmailChanged {
    /// The account's address now (confirmed).
    pub email: String,
}

/// `GET /api/v1/accounts/confirm-email-change?token=` (the mailed link).
#[utoipa::path(get, path = "/api/v1/accounts/confirm-email-change", tag = "accounts",
    summary = "Confirm a new email address (the mailed link)",
    params(TokenQuery),
    responses(
        (status = 200, description = "The address is changed and verified", body = EmailChanged),
        (status = 409, description = "Another account took the address meanwhile", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "No token, or an unknown, used or expired one", body = cloudcast_core::apidoc::ErrorBody)))]
pub async fn confirm_email_change(
    State(state): State<AccountsState>,
    ApiQuery(q): ApiQuery<TokenQuery>,
) -> Result<Json<EmailChanged>, AccountsError> {
    let token = q
        .token
        .filter(|t| !t.is_empty() && t.len() < 100)
        .ok_or_else(|| AccountsError::InvalidField("token: missing".into()))?;
    let mut tx = state.pool.begin().await?;
    let change: Option<(Uuid, String)> = sqlx::query_as(
        "UPDATE email_changes SET used_at = now()
          WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
          RETURNING user_id, new_email",
    )
    .bind(hash_token(&token))
    .fetch_optional(&mut *tx)
    .await?;
    let Some((user, email)) = change else {
        return Err(AccountsError::InvalidField(
            "token: unknown, used or expired; ask for the change again".into(),
        ));
    };
    let updated =
        sqlx::query("UPDATE users SET email = $2, email_verified_at = now() WHERE id = $1")
            .bind(user)
            .bind(&email)
            .execute(&mut *tx)
            .await;
    match updated {
        Ok(_) => {}
        Err(sqlx::Error::Database(db)) if db.constraint() == Some("users_email_ci") => {
            return Err(AccountsError::EmailTaken);
        }
        Err(e) => return Err(e.into()),
    }
    tx.commit().await?;
    tracing::info!(user_id = %user, "email changed");
    Ok(Json(EmailChanged { email }))
}
