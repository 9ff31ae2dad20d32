//! The open API's keys: third parties read public data with a
//! key a user made in their settings, within a per-key rate limit.
//!
//! A request carrying `X-Api-Key` is a third party's: it may only read
//! (GET/HEAD, and CORS preflights), its session credentials are removed so it sees exactly what
//! the public sees (never the key owner's private data), and each key gets
//! `privacy.api_key_per_minute` requests a minute (429 + `Retry-After`).
//! Only a SHA-256 of the key is stored; the key is shown once, at creation.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cloudcast_core::auth::{AuthUser, hash_token, new_token};
use cloudcast_core::extract::{ApiJson, ApiPath};
use cloudcast_core::ratelimit::{KeyedLimit, SharedLimit};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tracing::Instrument;
use uuid::Uuid;

use crate::{PrivacyError, PrivacyState};

/// The header a third party sends its key in.
pub const API_KEY_HEADER: HeaderName = HeaderName::from_static("x-api-key");

/// Keys look like `cck_<43 url-safe characters>`; the prefix says what they are
/// when one turns up in a log or a repository.
const KEY_PREFIX: &str = "cck_";

/// How long a key lookup is remembered; a revoked key stops working within it.
const CACHE_SECS: u64 = 30;

/// Uncached key lookups one client address may cause per minute (a client
/// with a few real keys needs a handful every 30 s).
const LOOKUPS_PER_MINUTE: u32 = 60;

/// Known keys (hash → key id) and the per-key limiter.
#[derive(Clone)]
pub struct KeyGate {
    cache: moka::future::Cache<Vec<u8>, Option<Uuid>>,
    /// Requests per key, shared by every node.
    limit: SharedLimit,
    /// Lookups that reach PostgreSQL, per client address: made-up keys
    /// must not turn into a query each. Per node on purpose: a shared
    /// count would itself be the query it spares.
    lookups: KeyedLimit<IpAddr>,
}

impl KeyGate {
    pub fn new(pool: sqlx::PgPool, per_minute: u32) -> KeyGate {
        KeyGate {
            // One entry per key seen in the last 30 s; 100k is ~10 MB.
            cache: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(CACHE_SECS))
                .build(),
            limit: SharedLimit::per_minute(pool, "api_key", per_minute),
            lookups: KeyedLimit::per_minute(LOOKUPS_PER_MINUTE),
        }
    }
}

impl KeyGate {
    /// Drops cached lookups of these key hashes (revoked or erased keys).
    pub async fn forget(&self, hashes: &[Vec<u8>]) {
        for h in hashes {
            self.cache.invalidate(h).await;
        }
    }
}

/// The key's id, or `None` when no live key has this hash.
async fn lookup(state: &PrivacyState, hash: Vec<u8>) -> Result<Option<Uuid>, PrivacyError> {
    if let Some(hit) = state.keys.cache.get(&hash).await {
        return Ok(hit);
    }
    // Recorded once per cache period, not per request.
    let id: Option<Uuid> = sqlx::query_scalar(
        "UPDATE api_keys SET last_used_at = now() WHERE key_hash = $1 RETURNING id",
    )
    .bind(&hash)
    .fetch_optional(&state.pool)
    .await?;
    state.keys.cache.insert(hash, id).await;
    Ok(id)
}

/// Middleware for every route: requests with `X-Api-Key` are checked,
/// limited, and stripped of session credentials; others pass untouched.
/// Its state is behind an `Arc`: the layer clones it for every request,
/// and `PrivacyState` (pools, clients, caches) is dear to clone.
pub async fn gate(
    State(state): State<std::sync::Arc<PrivacyState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(raw) = req.headers().get(&API_KEY_HEADER) else {
        return next.run(req).await;
    };
    let key = match raw.to_str() {
        Ok(k) if k.starts_with(KEY_PREFIX) && k.len() <= 128 => k.to_string(),
        _ => return PrivacyError::BadKey.into_response(),
    };
    if !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return PrivacyError::KeyReadOnly.into_response();
    }
    let hash = hash_token(&key);
    if !state.keys.cache.contains_key(&hash) {
        let ip = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        if let Err(wait) = state.keys.lookups.check(&ip) {
            return PrivacyError::RateLimited(wait).into_response();
        }
    }
    let id = match lookup(&state, hash).await {
        Ok(Some(id)) => id,
        Ok(None) => return PrivacyError::BadKey.into_response(),
        Err(e) => return e.into_response(),
    };
    match state.keys.limit.check(&id.to_string()).await {
        Ok(Ok(())) => {}
        Ok(Err(wait)) => return PrivacyError::RateLimited(wait).into_response(),
        Err(e) => return PrivacyError::from(e).into_response(),
    }
    // A third party sees what the public sees, whatever else it sends.
    let h = req.headers_mut();
    h.remove(header::AUTHORIZATION);
    h.remove(header::COOKIE);
    next.run(req)
        .instrument(tracing::debug_span!("api_key", api_key_id = %id))
        .await
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewKey {
    pub name: String,
}

#[derive(Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct KeyInfo {
    pub id: Uuid,
    pub name: String,
    /// The key's first characters, to tell keys apart.
    pub prefix: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedKey {
    #[serde(flatten)]
    pub info: KeyInfo,
    /// Shown this once; only its hash is kept.
    pub key: String,
}

/// `POST /api/v1/me/api-keys` `{"name": ".."}`: 201 with the key, shown once.
#[utoipa::path(post, path = "/api/v1/me/api-keys", tag = "privacy",
    summary = "Make an open-API key (shown once)",
    request_body = NewKey,
    responses(
        (status = 201, description = "The key; only its hash is kept", body = CreatedKey),
        (status = 403, description = "My email is not confirmed yet (`email_unverified`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 409, description = "Too many keys", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "Bad name", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn create(
    State(state): State<PrivacyState>,
    AuthUser(user): AuthUser,
    ApiJson(req): ApiJson<NewKey>,
) -> Result<Response, PrivacyError> {
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(PrivacyError::InvalidField(
            "name must be 1 to 100 characters".into(),
        ));
    }
    let pool = &state.pool;
    cloudcast_core::auth::require_verified(pool, user, "create API keys").await?;
    let held: i64 = sqlx::query_scalar("SELECT count(*) FROM api_keys WHERE user_id = $1")
        .bind(user)
        .fetch_one(pool)
        .await?;
    let max = state.config.api_keys_per_user;
    if held >= i64::from(max) {
        return Err(PrivacyError::TooMany(format!(
            "an account may hold {max} API keys; delete one first"
        )));
    }
    let (secret, _) = new_token();
    let key = format!("{KEY_PREFIX}{secret}");
    let prefix: String = key.chars().take(KEY_PREFIX.len() + 6).collect();
    let info: KeyInfo = sqlx::query_as(
        "INSERT INTO api_keys (id, user_id, name, prefix, key_hash)
         VALUES ($1, $2, $3, $4, $5)
         RETURNING id, name, prefix, created_at, last_used_at",
    )
    .bind(Uuid::now_v7())
    .bind(user)
    .bind(name)
    .bind(&prefix)
    .bind(hash_token(&key))
    .fetch_one(pool)
    .await?;
    tracing::info!(user_id = %user, api_key_id = %info.id, "API key created");
    Ok((StatusCode::CREATED, Json(CreatedKey { info, key })).into_response())
}

/// `GET /api/v1/me/api-keys`: the user's keys (never the keys themselves).
#[utoipa::path(get, path = "/api/v1/me/api-keys", tag = "privacy",
    summary = "My open-API keys",
    responses(
        (status = 200, description = "Keys, without the secret", body = [KeyInfo]),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn list(
    State(state): State<PrivacyState>,
    AuthUser(user): AuthUser,
) -> Result<Json<Vec<KeyInfo>>, PrivacyError> {
    let keys: Vec<KeyInfo> = sqlx::query_as(
        "SELECT id, name, prefix, created_at, last_used_at FROM api_keys
          WHERE user_id = $1 ORDER BY created_at",
    )
    .bind(user)
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(keys))
}

/// `DELETE /api/v1/me/api-keys/{id}`: revokes a key (within 30 s everywhere).
#[utoipa::path(delete, path = "/api/v1/me/api-keys/{id}", tag = "privacy",
    summary = "Revoke an open-API key",
    params(("id" = Uuid, Path, description = "The key's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such key of mine", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn delete(
    State(state): State<PrivacyState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, PrivacyError> {
    let hash: Option<Vec<u8>> = sqlx::query_scalar(
        "DELETE FROM api_keys WHERE id = $1 AND user_id = $2 RETURNING key_hash",
    )
    .bind(id)
    .bind(user)
    .fetch_optional(&state.pool)
    .await?;
    let hash = hash.ok_or(PrivacyError::NotFound("API key"))?;
    // This node forgets it at once; others within the cache period.
    state.keys.forget(&[hash]).await;
    Ok(StatusCode::NO_CONTENT)
}
