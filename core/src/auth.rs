//! Bearer tokens: random 256-bit secrets handed to the client once; only their
//! SHA-256 is stored, so a database leak does not leak live sessions.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::ApiError;

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
pub fn bearer(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("Authorization header is not valid text"))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(ApiError::unauthorized(
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
pub fn credential(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    match bearer(headers)? {
        Some(t) => Ok(Some(t)),
        None => Ok(cookie(headers, SESSION_COOKIE).filter(|t| !t.is_empty())),
    }
}

fn unavailable(what: &str, e: sqlx::Error) -> ApiError {
    tracing::error!(error = %e, "{what} failed");
    ApiError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "database_unavailable",
        "the database did not answer; retry shortly",
    )
}

/// Resolves a token to its user, if the token is known and not expired.
pub async fn user_for_token(pool: &PgPool, token: &str) -> Result<Option<Uuid>, ApiError> {
    let row: Option<(Uuid,)> = sqlx::query_as(
        "SELECT user_id FROM auth_tokens WHERE token_hash = $1 AND expires_at > now()",
    )
    .bind(hash_token(token))
    .fetch_optional(pool)
    .await
    .map_err(|e| unavailable("token lookup", e))?;
    Ok(row.map(|r| r.0))
}

/// Is `user` an administrator? (Unknown users are not.)
pub async fn is_admin(pool: &PgPool, user: Uuid) -> Result<bool, ApiError> {
    let row: Option<(bool,)> = sqlx::query_as("SELECT is_admin FROM users WHERE id = $1")
        .bind(user)
        .fetch_optional(pool)
        .await
        .map_err(|e| unavailable("admin lookup", e))?;
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
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Some(token) = credential(&parts.headers)? else {
            return Ok(MaybeUser(None));
        };
        let pool = PgPool::from_ref(state);
        match user_for_token(&pool, token).await? {
            Some(id) => Ok(MaybeUser(Some(id))),
            None => Err(ApiError::unauthorized("token is unknown or expired")),
        }
    }
}

impl<S> FromRequestParts<S> for AuthUser
where
    PgPool: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match MaybeUser::from_request_parts(parts, state).await? {
            MaybeUser(Some(id)) => Ok(AuthUser(id)),
            MaybeUser(None) => Err(ApiError::unauthorized(
                "sign in first: send `Authorization: Bearer <token>`",
            )),
        }
    }
}
