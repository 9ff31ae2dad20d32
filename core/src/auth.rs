//! Bearer tokens: random 256-bit secrets handed to the client once; only their
//! SHA-256 is stored, so a database leak does not leak live sessions.
//!
//! The extractors here are the one home of "who is asking": [`MaybeUser`]
//! (anyone; a bad token is still a 401), [`AuthUser`] (signed in, else
//! 401) and [`AdminUser`] (an administrator, else 403). Each also holds
//! a restricted account (terms not accepted, suspended) to the routes its
//! standing allows (`standing.rs`).

use axum::extract::{FromRef, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use axum::http::StatusCode;

use crate::error::{ApiError, ErrorCode};
use crate::standing::{SQL_STANDING, Standing, allowed};

/// A credential was sent and names no live session or app token.
const UNKNOWN_TOKEN: &str = "token is unknown or expired";

/// Why a request's identity was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("administrators only")]
    NotAdmin,
    #[error(
        "confirm your email address first: open the link we mailed you (new accounts may not {0} until then)"
    )]
    EmailUnverified(&'static str),
    #[error(
        "accept the terms of service first: read them at /terms (version {0}) and accept them with POST /api/v1/me/policies/terms/accept"
    )]
    TermsNotAccepted(String),
    #[error(
        "this account is suspended: read the decision and appeal at /settings (GET /api/v1/me/decisions); you may still export or erase your data"
    )]
    Suspended,
    #[error("a moderator's decision does not let this account {0} now: read it at /settings")]
    Restricted(&'static str),
    #[error("looking up the session failed")]
    Database(#[from] sqlx::Error),
}

impl ErrorCode for AuthError {
    fn code(&self) -> &'static str {
        match self {
            AuthError::Unauthorized(_) => "unauthorized",
            AuthError::NotAdmin => "forbidden",
            AuthError::EmailUnverified(_) => "email_unverified",
            AuthError::TermsNotAccepted(_) => "terms_not_accepted",
            AuthError::Suspended => "account_suspended",
            AuthError::Restricted(_) => "account_restricted",
            AuthError::Database(_) => "database_unavailable",
        }
    }
    /// RFC 6750 §3: a 401 names the scheme, and a token that was sent and
    /// is no good says so (an OAuth client refreshes on it).
    fn headers(&self, headers: &mut HeaderMap) {
        if let AuthError::Unauthorized(why) = self {
            let value = if *why == UNKNOWN_TOKEN {
                "Bearer realm=\"cloudcast\", error=\"invalid_token\""
            } else {
                "Bearer realm=\"cloudcast\""
            };
            headers.insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static(value),
            );
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            AuthError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AuthError::NotAdmin
            | AuthError::EmailUnverified(_)
            | AuthError::TermsNotAccepted(_)
            | AuthError::Suspended
            | AuthError::Restricted(_) => StatusCode::FORBIDDEN,
            // A failed look-up is the database being away, not a bad request.
            AuthError::Database(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}
crate::impl_api_error!(AuthError);

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        ApiError::from_code(&e)
    }
}

/// Trust for new accounts: until its email is confirmed an account may not
/// `what` (comment, create API keys); the verification mail is the way in.
/// Uploads have a small allowance instead (`quotas.rs`).
pub async fn require_verified(
    pool: &PgPool,
    user: Uuid,
    what: &'static str,
) -> Result<(), AuthError> {
    let verified: Option<bool> =
        sqlx::query_scalar("SELECT email_verified_at IS NOT NULL FROM users WHERE id = $1")
            .bind(user)
            .fetch_optional(pool)
            .await?;
    if verified == Some(true) {
        Ok(())
    } else {
        Err(AuthError::EmailUnverified(what))
    }
}

/// Makes a new token; returns `(token for the client, hash to store)`.
pub fn new_token() -> (String, Vec<u8>) {
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    let token = URL_SAFE_NO_PAD.encode(raw);
    let hash = hash_token(&token);
    (token, hash)
}

pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Reads `Authorization: Bearer <token>`; `Ok(None)` when absent.
pub fn bearer(headers: &HeaderMap) -> Result<Option<&str>, AuthError> {
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| AuthError::Unauthorized("Authorization header is not valid text"))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(AuthError::Unauthorized(
            "Authorization header must be `Bearer <token>`",
        )),
    }
}

/// Name of the HttpOnly session cookie web pages use.
pub const SESSION_COOKIE: &str = "cc_session";

/// Reads one cookie's value from the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The request's credential: the bearer token, else the session cookie.
pub fn credential(headers: &HeaderMap) -> Result<Option<&str>, AuthError> {
    match bearer(headers)? {
        Some(t) => Ok(Some(t)),
        None => Ok(cookie(headers, SESSION_COOKIE).filter(|t| !t.is_empty())),
    }
}

/// Does the request carry any credential, even a malformed one (a
/// proxy's Basic credentials beside a session cookie)? What a shared cache
/// may not keep an answer to (`src/http.rs::guard`, `site/src/cache.rs`).
pub fn any_credential(headers: &HeaderMap) -> bool {
    !matches!(credential(headers), Ok(None))
}

/// Resolves a token hash to its user, if the token is known and not expired.
pub async fn user_for_token_hash(pool: &PgPool, hash: &[u8]) -> Result<Option<Uuid>, sqlx::Error> {
    crate::metrics::timed_pg(
        "session_lookup",
        sqlx::query_scalar(
            "SELECT user_id FROM auth_tokens WHERE token_hash = $1 AND expires_at > now()",
        )
        .bind(hash)
        .fetch_optional(pool),
    )
    .await
}

/// Resolves a token to its user, if the token is known and not expired.
pub async fn user_for_token(pool: &PgPool, token: &str) -> Result<Option<Uuid>, AuthError> {
    Ok(user_for_token_hash(pool, &hash_token(token)).await?)
}

/// The user of a live session and what their standing lets them do.
pub async fn session_for_token_hash(
    pool: &PgPool,
    hash: &[u8],
) -> Result<Option<(Uuid, Standing)>, sqlx::Error> {
    let row: Option<(Uuid, bool, Option<String>, Option<String>)> = crate::metrics::timed_pg(
        "session_lookup",
        sqlx::query_as(&format!(
            "SELECT a.user_id, {SQL_STANDING}
               FROM auth_tokens a JOIN users u ON u.id = a.user_id
              WHERE a.token_hash = $1 AND a.expires_at > now()"
        ))
        .bind(hash)
        .fetch_optional(pool),
    )
    .await?;
    Ok(row.map(|(user, suspended, current, accepted)| {
        (user, Standing::of(suspended, current, accepted))
    }))
}

/// Ends every session of `user` but `keep` (the one asking, if any) and
/// disconnects every app it allowed: after a password reset or change, a
/// new second factor or a suspension, whoever held the account before
/// keeps nothing, not even an app they connected.
pub async fn end_sessions(
    conn: &mut sqlx::PgConnection,
    user: Uuid,
    keep: Option<Vec<u8>>,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM auth_tokens WHERE user_id = $1 AND token_hash IS DISTINCT FROM $2")
        .bind(user)
        .bind(keep)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM oauth_grants WHERE user_id = $1")
        .bind(user)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Is `user` an administrator? (Unknown users are not.)
pub async fn is_admin(pool: &PgPool, user: Uuid) -> Result<bool, AuthError> {
    let row: Option<(bool,)> = sqlx::query_as("SELECT is_admin FROM users WHERE id = $1")
        .bind(user)
        .fetch_optional(pool)
        .await?;
    Ok(row.is_some_and(|r| r.0))
}

/// The signed-in user; rejects with 401 when there is none.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser(pub Uuid);

/// The signed-in user, if any. A token that is present but invalid is still a 401.
#[derive(Debug, Clone, Copy)]
pub struct MaybeUser(pub Option<Uuid>);

impl<S> FromRequestParts<S> for MaybeUser
where
    PgPool: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Some(token) = credential(&parts.headers)? else {
            return Ok(MaybeUser(None));
        };
        let pool = PgPool::from_ref(state);
        match session_for_token_hash(&pool, &hash_token(token)).await? {
            Some((id, standing)) if allowed(&standing, &parts.method, parts.uri.path()) => {
                Ok(MaybeUser(Some(id)))
            }
            Some((_, Standing::TermsDue(version))) => Err(AuthError::TermsNotAccepted(version)),
            Some(_) => Err(AuthError::Suspended),
            None => Err(AuthError::Unauthorized(UNKNOWN_TOKEN)),
        }
    }
}

impl<S> FromRequestParts<S> for AuthUser
where
    PgPool: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match MaybeUser::from_request_parts(parts, state).await? {
            MaybeUser(Some(id)) => Ok(AuthUser(id)),
            MaybeUser(None) => Err(AuthError::Unauthorized(
                "sign in first: send `Authorization: Bearer <token>`",
            )),
        }
    }
}

/// A signed-in administrator; 401 when not signed in, 403 otherwise.
#[derive(Debug, Clone, Copy)]
pub struct AdminUser(pub Uuid);

impl<S> FromRequestParts<S> for AdminUser
where
    PgPool: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let AuthUser(user) = AuthUser::from_request_parts(parts, state).await?;
        if is_admin(&PgPool::from_ref(state), user).await? {
            Ok(AdminUser(user))
        } else {
            Err(AuthError::NotAdmin)
        }
    }
}
