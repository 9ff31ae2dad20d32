//! The links that confirm an address: the one mailed at sign-up (opening it
//! makes the account one in use and signs it in), and those mailed again,
//! from the sign-in page for a sign-up whose mail was lost or from the
//! settings page for an older account not confirmed yet.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use sqlx::PgPool;

use cloudcast_core::auth::{AuthUser, hash_token, new_token};
use cloudcast_core::extract::{ApiJson, ApiQuery};

use crate::{AccountsError, AccountsState};

/// A new confirmation link for `email`, by mail (through the outbox); it
/// returns to `next` once opened.
pub(crate) async fn queue_verification(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    state: &AccountsState,
    id: Uuid,
    username: &str,
    email: &str,
    next: Option<&str>,
) -> Result<(), AccountsError> {
    let (token, token_hash) = new_token();
    let expires = OffsetDateTime::now_utc() + state.auth.verification_ttl;
    sqlx::query(
        "INSERT INTO email_verifications (token_hash, user_id, expires_at) VALUES ($1, $2, $3)",
    )
    .bind(token_hash)
    .bind(id)
    .bind(expires)
    .execute(&mut **tx)
    .await?;
    let mut link = format!("{}/verify-email?token={token}", state.public_url);
    if let Some(next) = next.filter(|n| *n != "/") {
        link.push_str("&next=");
        link.extend(url::form_urlencoded::byte_serialize(next.as_bytes()));
    }
    cloudcast_core::outbox::queue(
        tx,
        Some(id),
        email,
        "verify_email",
        "Confirm your Cloudcast email address",
        &format!(
            "Hello {username},\n\nPlease confirm this address by opening:\n{link}\n\nIf you did not register, ignore this message: an account not confirmed within 24 hours is deleted.\n"
        ),
    )
    .await?;
    Ok(())
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct VerificationSent {
    /// The address the link went to (the account's own).
    pub sent_to: String,
}

/// `POST /api/v1/me/verification`: a new link to confirm my email (the
/// first may be lost or expired); a limited write.
#[utoipa::path(post, path = "/api/v1/me/verification", tag = "accounts",
    summary = "Mail me a new link to confirm my email address",
    responses(
        (status = 202, description = "A new link is on its way; earlier ones still work until they expire", body = VerificationSent),
        (status = 409, description = "The address is confirmed already (`already_verified`)", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn resend_verification(
    State(state): State<AccountsState>,
    AuthUser(user): AuthUser,
) -> Result<(StatusCode, Json<VerificationSent>), AccountsError> {
    let mut tx = state.pool.begin().await?;
    let row: Option<(String, String, bool)> = sqlx::query_as(
        "SELECT username, email, email_verified_at IS NOT NULL FROM users WHERE id = $1 FOR UPDATE",
    )
    .bind(user)
    .fetch_optional(&mut *tx)
    .await?;
    let (username, email, verified) = row.ok_or(AccountsError::NotFound("account"))?;
    if verified {
        return Err(AccountsError::AlreadyVerified);
    }
    queue_verification(&mut tx, &state, user, &username, &email, None).await?;
    tx.commit().await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(VerificationSent { sent_to: email }),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResendRequest {
    /// The username or address signed up with.
    #[schema(max_length = 254)]
    pub login: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Accepted {
    pub accepted: bool,
}

/// `POST /api/v1/accounts/confirmation`: the link again, for a sign-up
/// whose mail was lost (from the sign-in page; no account can sign in yet).
#[utoipa::path(post, path = "/api/v1/accounts/confirmation", tag = "accounts",
    summary = "Mail a sign-up's confirmation link again",
    description = "Always 202, whether or not a sign-up waits under this username or address; \
        when one does, a new link goes to its address (the earlier ones still work).",
    request_body = ResendRequest,
    responses(
        (status = 202, description = "If a sign-up waits, a link is on its way", body = Accepted)))]
pub async fn resend_confirmation(
    State(state): State<AccountsState>,
    ApiJson(req): ApiJson<ResendRequest>,
) -> Result<(StatusCode, Json<Accepted>), AccountsError> {
    let login = req.login.trim().to_lowercase();
    if login.is_empty() || login.len() > 254 {
        return Err(AccountsError::InvalidField(
            "login: 1 to 254 characters".into(),
        ));
    }
    let mut tx = state.pool.begin().await?;
    let pending: Option<(Uuid, String, String)> = sqlx::query_as(
        "SELECT id, username, email FROM users
          WHERE (lower(username) = $1 OR lower(email) = $1) AND pending_until > now()
          LIMIT 1 FOR UPDATE",
    )
    .bind(&login)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((id, username, email)) = pending {
        queue_verification(&mut tx, &state, id, &username, &email, None).await?;
    }
    tx.commit().await?;
    Ok((StatusCode::ACCEPTED, Json(Accepted { accepted: true })))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerifyQuery {
    /// The token from the mailed link.
    #[param(required = true, pattern = "^[A-Za-z0-9_-]{43}$")]
    pub token: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Verified {
    pub verified: bool,
}

/// `GET /api/v1/accounts/verify-email?token=..` (the link in the email).
#[utoipa::path(get, path = "/api/v1/accounts/verify-email", tag = "accounts",
    summary = "Confirm an email address (the mailed link)",
    params(VerifyQuery),
    responses(
        (status = 200, description = "Verified", body = Verified),
        (status = 422, description = "No token, or an unknown, used or expired one", body = cloudcast_core::apidoc::ErrorBody)))]
pub async fn verify_email(
    State(state): State<AccountsState>,
    ApiQuery(q): ApiQuery<VerifyQuery>,
) -> Result<Json<Verified>, AccountsError> {
    let token = q
        .token
        .filter(|t| !t.is_empty() && t.len() < 100)
        .ok_or_else(|| AccountsError::InvalidField("token: missing".into()))?;
    confirm(&state.pool, &token).await?;
    Ok(Json(Verified { verified: true }))
}

/// Uses a mailed link's token: the address is confirmed, and a pending
/// sign-up becomes an account in use. Returns the account.
async fn confirm(pool: &PgPool, token: &str) -> Result<Uuid, AccountsError> {
    let mut tx = pool.begin().await?;
    let user: Option<Uuid> = sqlx::query_scalar(
        "UPDATE email_verifications SET used_at = now()
          WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
          RETURNING user_id",
    )
    .bind(hash_token(token))
    .fetch_optional(&mut *tx)
    .await?;
    // A sign-up past its hold is as gone as if the sweeper had run.
    let confirmed: Option<Uuid> = match user {
        Some(user) => {
            sqlx::query_scalar(
                "UPDATE users SET email_verified_at = coalesce(email_verified_at, now()),
                                  pending_until = NULL
                  WHERE id = $1 AND (pending_until IS NULL OR pending_until > now())
                  RETURNING id",
            )
            .bind(user)
            .fetch_optional(&mut *tx)
            .await?
        }
        None => None,
    };
    let Some(user) = confirmed else {
        return Err(AccountsError::InvalidField(
            "token: unknown, used or expired; sign in and ask for a new link (POST /api/v1/me/verification, or Settings), or sign up again".into(),
        ));
    };
    tx.commit().await?;
    tracing::info!(user_id = %user, "email confirmed");
    Ok(user)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmRequest {
    /// The token from the mailed link.
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$")]
    pub token: String,
}

/// `POST /api/v1/accounts/confirm`: what the mailed link does on the site.
#[utoipa::path(post, path = "/api/v1/accounts/confirm", tag = "accounts",
    summary = "Confirm an address from its mailed link, and sign in",
    description = "Confirms the address the link went to (a sign-up becomes an account in use) \
        and signs its account in, as `POST /api/v1/sessions` does.",
    request_body = ConfirmRequest,
    responses(
        (status = 200, description = "Confirmed; a bearer token (and the session cookie)", body = crate::sessions::SessionCreated),
        (status = 403, description = "Confirmed, but the account signs in with a second factor: no session (`second_factor_required`); sign in with the password and the code", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "An unknown, used or expired token", body = cloudcast_core::apidoc::ErrorBody)))]
pub async fn confirm_and_sign_in(
    State(state): State<AccountsState>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<ConfirmRequest>,
) -> Result<Response, AccountsError> {
    if req.token.is_empty() || req.token.len() >= 100 {
        return Err(AccountsError::InvalidField("token: missing".into()));
    }
    let user = confirm(&state.pool, &req.token).await?;
    // A mailed link proves the mailbox, not the second factor: the address
    // is confirmed, and an account with an authenticator app signs in as
    // always (password, then code).
    if crate::second_factor::enrolled(&state.pool, user).await? {
        tracing::info!(user_id = %user, "email confirmed; no session without the second factor");
        return Err(AccountsError::SecondFactorRequired);
    }
    let resp = crate::sessions::open(&state, user, &headers).await?;
    tracing::info!(user_id = %user, "signed in from a mailed link");
    Ok(resp.into_response())
}
