//! Erasure: an account and everything held about it leave every store,
//! when its user leaves or when an operator removes a reported under-13. `DELETE /api/v1/me` (the user, with their password) and
//! `cloudcast admin purge-user` (an operator, e.g. for a reported under-13
//! user) share [`erase`].
//!
//! Order: one PostgreSQL transaction locks the account, deletes it (foreign
//! keys cascade to every row that names it), records the tombstone that
//! stops late heartbeats, and queues the removal of its ClickHouse rows and
//! S3 objects for the analytics node, now and again in five minutes (beats
//! still in flight, media a transcode was writing). The S3 objects are also
//! deleted at once; a failure there is retried by the queued removals.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use cloudcast_accounts::second_factor::confirm_identity;
use cloudcast_accounts::sessions::clear_session_cookie;
use cloudcast_core::auth::AuthUser;
use cloudcast_core::error::Chain;
use cloudcast_core::extract::ApiJson;
use cloudcast_core::states::{ErasureReason, PurgeScope, UploadState};
use cloudcast_core::storage::Storage;
use cloudcast_core::{keys, purges};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{PrivacyError, PrivacyState};

/// Why an account was erased (kept with the tombstone for 30 days).
pub use cloudcast_core::states::ErasureReason as Reason;

/// What an erasure removed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Erased {
    pub user_id: Uuid,
    pub cloudcasts: usize,
    pub objects_deleted: usize,
}

/// Erases `user`: PostgreSQL now (one transaction), S3 now and again with
/// the queued ClickHouse removal (so an S3 failure or an object written late
/// is retried), ClickHouse by the analytics node. Fails with `NotFound`
/// when there is no such account.
pub async fn erase(
    pool: &PgPool,
    storage: &Storage,
    user: Uuid,
    reason: ErasureReason,
) -> Result<Erased, PrivacyError> {
    let mut tx = pool.begin().await?;
    // Locks the account: no upload, cloudcast, comment or export can be
    // added for it until this commits (their foreign keys wait, then fail).
    let found: Option<Uuid> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1 FOR UPDATE")
        .bind(user)
        .fetch_optional(&mut *tx)
        .await?;
    if found.is_none() {
        return Err(PrivacyError::NotFound("account"));
    }
    let owned: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM cloudcasts WHERE owner_id = $1")
        .bind(user)
        .fetch_all(&mut *tx)
        .await?;
    let uploads: Vec<(Uuid, Uuid, String, String, UploadState)> = sqlx::query_as(
        "SELECT id, cloudcast_id, s3_key, s3_upload_id, state FROM uploads WHERE user_id = $1",
    )
    .bind(user)
    .fetch_all(&mut *tx)
    .await?;
    // Its cloudcasts, and those its unfinished uploads would have made.
    let mut cloudcasts = owned.clone();
    for (_, cc, ..) in &uploads {
        if !cloudcasts.contains(cc) {
            cloudcasts.push(*cc);
        }
    }
    let upload_ids: Vec<Uuid> = uploads.iter().map(|u| u.0).collect();
    let prefixes = keys::account_prefixes(user, &cloudcasts, &upload_ids);
    sqlx::query(
        "INSERT INTO erased_accounts (user_id, reason) VALUES ($1, $2)
         ON CONFLICT (user_id) DO NOTHING",
    )
    .bind(user)
    .bind(reason)
    .execute(&mut *tx)
    .await?;
    purges::enqueue(&mut tx, user, PurgeScope::Account, &cloudcasts, &prefixes).await?;
    // What the foreign keys do not take with the account (the registry's
    // statements): others' favourite and repost events about these
    // cloudcasts name cloudcasts that no longer exist.
    for statement in crate::registry::erasure_statements() {
        sqlx::query(statement)
            .bind(&cloudcasts)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(user)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;

    // The account is gone; its objects go now. Should S3 fail, the queued
    // removals sweep the same prefixes again, so the answer is still 200.
    for (id, _, key, upload_id, state) in &uploads {
        if *state == UploadState::Receiving {
            // Parts of an unfinished multipart upload are not objects yet;
            // aborting frees them. It may be aborted already (expired).
            if let Err(e) = storage.abort_multipart(key, upload_id).await {
                tracing::debug!(upload_id = %id, error = %e, "multipart upload already gone");
            }
        }
    }
    let mut objects = 0;
    for p in &prefixes {
        match storage.delete_prefix(p).await {
            Ok(n) => objects += n,
            Err(e) => {
                tracing::warn!(user_id = %user, prefix = %p, error = %Chain(&e), "deleting objects failed; the queued removal retries")
            }
        }
    }
    tracing::info!(user_id = %user, %reason, cloudcasts = owned.len(), objects, "account erased");
    crate::metrics::erasure(reason);
    Ok(Erased {
        user_id: user,
        cloudcasts: owned.len(),
        objects_deleted: objects,
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Confirm {
    pub password: String,
    /// With an authenticator app enrolled: its code, or a recovery code.
    #[serde(default)]
    #[schema(max_length = 64)]
    pub code: Option<String>,
}

/// `DELETE /api/v1/me` with `{"password": ".."}`: erases the signed-in
/// account. The password is asked again so that a stolen session alone
/// cannot delete an account; attempts count against the sign-in limits.
#[utoipa::path(delete, path = "/api/v1/me", tag = "privacy",
    summary = "Erase my account and everything held about me",
    request_body = Confirm,
    responses(
        (status = 200, description = "Erased from every store (analytics within seconds)", body = Erased),
        (status = 401, description = "Not signed in, or the password is wrong", body = cloudcast_core::apidoc::ErrorBody),
        (status = 403, description = "The account's second factor is missing or wrong (`second_factor_required`, `wrong_code`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 429, description = "Too many attempts", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn delete_me(
    State(state): State<PrivacyState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    AuthUser(user): AuthUser,
    headers: HeaderMap,
    ApiJson(req): ApiJson<Confirm>,
) -> Result<Response, PrivacyError> {
    let confirmed = confirm_identity(
        &state.pool,
        &state.limits,
        peer.ip(),
        user,
        req.password,
        req.code.as_deref(),
    )
    .await?;
    if !confirmed {
        return Err(PrivacyError::BadPassword);
    }
    let keys: Vec<Vec<u8>> = sqlx::query_scalar("SELECT key_hash FROM api_keys WHERE user_id = $1")
        .bind(user)
        .fetch_all(&state.pool)
        .await?;
    let erased = erase(&state.pool, &state.storage, user, ErasureReason::User).await?;
    // Its API keys stop at once on this node (elsewhere within their cache time).
    state.keys.forget(&keys).await;
    let mut resp = Json(erased).into_response();
    // The session cookie names an account that no longer exists.
    if let Some(v) = clear_session_cookie(&state.public_url, &headers) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// Finds an account by username or email (for the operator command).
pub async fn find_account(pool: &PgPool, login: &str) -> Result<Uuid, PrivacyError> {
    let login = login.trim().to_lowercase();
    let id: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM users WHERE lower(username) = $1 OR lower(email) = $1 LIMIT 1",
    )
    .bind(&login)
    .fetch_optional(pool)
    .await?;
    id.ok_or(PrivacyError::NotFound("account"))
}
