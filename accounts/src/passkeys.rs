//! Passkeys (WebAuthn, with the webauthn-rs crate): a person adds several
//! from settings (the password asked again), signs in with one instead of
//! a password, and removes them. The relying party is the host of
//! `http.public_url` (a passkey cannot belong to an IP address: without a
//! host name passkeys are unavailable, 409 `passkeys_unavailable`). Each
//! ceremony's state is a row of `webauthn_ceremonies` for five minutes, so
//! any node finishes what another began. Keys are discoverable: signing in
//! names no account, the authenticator does.
//!
//! A passkey is a factor of its own (the authenticator verified the
//! person): an account with one is no longer opened by the password alone
//! (`second_factor::factors`), and the actions that ask for the person
//! again take a one-time code a passkey gives ([`answer_assertion`]) where
//! an authenticator app's code would go. The account's first factor brings
//! ten recovery codes and ends its other sessions and apps. Adding and
//! removing are mailed and notified.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use cloudcast_core::auth::AuthUser;
use cloudcast_core::extract::{ApiJson, ApiPath};
use cloudcast_core::states::Ceremony;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;
use webauthn_rs::prelude::{
    AuthenticationResult, CreationChallengeResponse, DiscoverableAuthentication, DiscoverableKey,
    Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, RequestChallengeResponse, Url, Webauthn, WebauthnBuilder,
    WebauthnError,
};
use webauthn_rs_proto::ResidentKeyRequirement;

use crate::second_factor::require_identity;
use crate::{AccountsError, AccountsState};

/// A ceremony left this long is void.
const CEREMONY_SECS: i64 = 300;
/// Passkeys one account may hold.
const MAX_PASSKEYS: i64 = 10;

/// The one-time code a passkey gives for an action that asks for the
/// person again: `pkc_` and 43 characters, taken by `check_code`.
pub const PROOF_PREFIX: &str = "pkc_";

/// Takes `user`'s passkey code (once, within five minutes).
pub(crate) async fn take_proof(
    pool: &sqlx::PgPool,
    user: Uuid,
    code: &str,
) -> Result<bool, AccountsError> {
    let hash = hex::encode(cloudcast_core::auth::hash_token(code));
    Ok(sqlx::query(
        "DELETE FROM webauthn_ceremonies
          WHERE user_id = $1 AND kind = $2 AND state->>'hash' = $3 AND expires_at > now()",
    )
    .bind(user)
    .bind(Ceremony::Proof)
    .bind(hash)
    .execute(pool)
    .await?
    .rows_affected()
        == 1)
}

/// The relying party for `public_url`, or `None` when it names no host (an
/// IP address, as `http://127.0.0.1:8080`), where WebAuthn cannot work.
pub fn relying_party(public_url: &str) -> Option<Arc<Webauthn>> {
    let url = Url::parse(public_url).ok()?;
    let host = url.domain()?.to_string();
    let built = WebauthnBuilder::new(&host, &url).and_then(|b| b.rp_name("Cloudcast").build());
    match built {
        Ok(w) => Some(Arc::new(w)),
        Err(e) => {
            tracing::warn!(error = %e, "passkeys are unavailable for this public URL");
            None
        }
    }
}

fn party(state: &AccountsState) -> Result<&Webauthn, AccountsError> {
    state
        .webauthn
        .as_deref()
        .ok_or(AccountsError::PasskeysUnavailable)
}

/// Stores a ceremony's state; its id is what the client sends back.
async fn begin(
    pool: &sqlx::PgPool,
    user: Option<Uuid>,
    kind: Ceremony,
    state: serde_json::Value,
) -> Result<Uuid, AccountsError> {
    let id = Uuid::new_v4();
    sqlx::query("DELETE FROM webauthn_ceremonies WHERE expires_at < now()")
        .execute(pool)
        .await?;
    sqlx::query(
        "INSERT INTO webauthn_ceremonies (id, user_id, kind, state, expires_at)
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))",
    )
    .bind(id)
    .bind(user)
    .bind(kind)
    .bind(state)
    .bind(CEREMONY_SECS as f64)
    .execute(pool)
    .await?;
    Ok(id)
}

/// Takes a live ceremony (once: a second try finds nothing).
async fn take(
    pool: &sqlx::PgPool,
    id: Uuid,
    user: Option<Uuid>,
    kind: Ceremony,
) -> Result<Option<serde_json::Value>, AccountsError> {
    Ok(sqlx::query_scalar(
        "DELETE FROM webauthn_ceremonies
          WHERE id = $1 AND user_id IS NOT DISTINCT FROM $2 AND kind = $3 AND expires_at > now()
          RETURNING state",
    )
    .bind(id)
    .bind(user)
    .bind(kind)
    .fetch_optional(pool)
    .await?)
}

/// One of my passkeys.
#[derive(Debug, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct PasskeyInfo {
    pub id: Uuid,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

/// `GET /api/v1/me/passkeys`
#[utoipa::path(get, path = "/api/v1/me/passkeys", tag = "accounts",
    summary = "My passkeys",
    responses((status = 200, description = "Oldest first", body = [PasskeyInfo])),
    security(("session" = [])))]
pub async fn list(
    State(state): State<AccountsState>,
    AuthUser(user): AuthUser,
) -> Result<Json<Vec<PasskeyInfo>>, AccountsError> {
    Ok(Json(
        sqlx::query_as(
            "SELECT id, name, created_at, last_used_at FROM passkeys
              WHERE user_id = $1 ORDER BY created_at",
        )
        .bind(user)
        .fetch_all(&state.pool)
        .await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityAgain {
    #[schema(max_length = 1024)]
    pub password: String,
    /// With a factor enrolled: the authenticator app's code, a recovery
    /// code, or the one-time code a passkey gives (`.../passkeys/assertion`).
    #[schema(max_length = 64)]
    pub code: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Ceremonial<T> {
    /// Send it back with the authenticator's answer (five minutes).
    pub ceremony: Uuid,
    /// For `navigator.credentials.create()` / `.get()` (`publicKey`), with
    /// binary fields in base64url.
    #[schema(value_type = Object)]
    pub options: T,
}

/// `POST /api/v1/me/passkeys/registration`: the password again, then the
/// options for the browser to make a passkey.
#[utoipa::path(post, path = "/api/v1/me/passkeys/registration", tag = "accounts",
    summary = "Start adding a passkey (the password asked again)",
    request_body = IdentityAgain,
    responses(
        (status = 200, description = "The ceremony and the options for navigator.credentials.create()", body = Ceremonial<Object>),
        (status = 403, description = "The password or code is wrong (`wrong_password`, `wrong_code`, `second_factor_required`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 409, description = "Ten passkeys already (`too_many_passkeys`), or this server has no host name for passkeys (`passkeys_unavailable`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 429, description = "Too many attempts", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn begin_registration(
    State(state): State<AccountsState>,
    AuthUser(user): AuthUser,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(req): ApiJson<IdentityAgain>,
) -> Result<Json<Ceremonial<CreationChallengeResponse>>, AccountsError> {
    let webauthn = party(&state)?;
    require_identity(&state, peer.ip(), user, req.password, req.code.as_deref()).await?;
    let (username, held): (String, Vec<serde_json::Value>) = sqlx::query_as(
        "SELECT u.username, COALESCE(array_agg(p.credential) FILTER (WHERE p.id IS NOT NULL), '{}')
           FROM users u LEFT JOIN passkeys p ON p.user_id = u.id
          WHERE u.id = $1 GROUP BY u.username",
    )
    .bind(user)
    .fetch_one(&state.pool)
    .await?;
    if held.len() as i64 >= MAX_PASSKEYS {
        return Err(AccountsError::TooManyPasskeys(MAX_PASSKEYS));
    }
    // The authenticators that hold one already are not asked again.
    let exclude: Vec<_> = held
        .into_iter()
        .filter_map(|c| serde_json::from_value::<Passkey>(c).ok())
        .map(|p| p.cred_id().clone())
        .collect();
    let (mut options, registration) = webauthn
        .start_passkey_registration(user, &username, &username, Some(exclude))
        .map_err(AccountsError::passkey)?;
    // A discoverable key: signing in then names no account, the
    // authenticator does (webauthn-rs asks for none by default).
    if let Some(sel) = options.public_key.authenticator_selection.as_mut() {
        sel.resident_key = Some(ResidentKeyRequirement::Required);
        sel.require_resident_key = true;
    }
    let state_json = serde_json::to_value(&registration).map_err(AccountsError::passkey)?;
    let ceremony = begin(&state.pool, Some(user), Ceremony::Register, state_json).await?;
    Ok(Json(Ceremonial { ceremony, options }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPasskey {
    pub ceremony: Uuid,
    /// What I call it (1 to 60 characters), to tell my passkeys apart.
    #[schema(max_length = 60)]
    pub name: String,
    /// What `navigator.credentials.create()` answered, binary fields in base64url.
    #[schema(value_type = Object)]
    pub credential: RegisterPublicKeyCredential,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AddedPasskey {
    pub passkey: PasskeyInfo,
    /// With the account's first factor: ten single-use recovery codes,
    /// shown this once (empty otherwise).
    pub recovery_codes: Vec<String>,
}

/// `POST /api/v1/me/passkeys`: the authenticator's answer; the passkey is
/// mine.
#[utoipa::path(post, path = "/api/v1/me/passkeys", tag = "accounts",
    summary = "Finish adding a passkey",
    request_body = NewPasskey,
    responses(
        (status = 201, description = "Added (the first factor brings recovery codes)", body = AddedPasskey),
        (status = 400, description = "The ceremony is unknown or expired, or the authenticator's answer does not verify (`passkey_refused`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 409, description = "This passkey is registered already (`passkey_taken`), or passkeys are unavailable", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "A bad name", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn add(
    State(state): State<AccountsState>,
    AuthUser(user): AuthUser,
    headers: HeaderMap,
    ApiJson(req): ApiJson<NewPasskey>,
) -> Result<(StatusCode, Json<AddedPasskey>), AccountsError> {
    let webauthn = party(&state)?;
    let name = cloudcast_core::text::clean_text("name", &req.name, 60)?.replace('\n', " ");
    let Some(saved) = take(&state.pool, req.ceremony, Some(user), Ceremony::Register).await? else {
        return Err(AccountsError::PasskeyRefused(
            "the ceremony is unknown or expired: start again".into(),
        ));
    };
    let registration: PasskeyRegistration =
        serde_json::from_value(saved).map_err(AccountsError::passkey)?;
    // Signing in names no account, so a key the authenticator cannot find
    // by itself would guard the account and never open it.
    let discoverable = req
        .credential
        .extensions
        .cred_props
        .as_ref()
        .and_then(|p| p.rk);
    if discoverable == Some(false) {
        return Err(AccountsError::PasskeyRefused(
            "this authenticator made a key it cannot find by itself (not discoverable); use one that keeps passkeys".into(),
        ));
    }
    let passkey = webauthn
        .finish_passkey_registration(&req.credential, &registration)
        .map_err(|e| {
            AccountsError::PasskeyRefused(format!(
                "the authenticator's answer does not verify ({e})"
            ))
        })?;
    let credential = serde_json::to_value(&passkey).map_err(AccountsError::passkey)?;
    let mut tx = state.pool.begin().await?;
    // One addition at a time per account: the count and "first" hold.
    sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
        .bind(user)
        .execute(&mut *tx)
        .await?;
    let held: i64 = sqlx::query_scalar("SELECT count(*) FROM passkeys WHERE user_id = $1")
        .bind(user)
        .fetch_one(&mut *tx)
        .await?;
    if held >= MAX_PASSKEYS {
        return Err(AccountsError::TooManyPasskeys(MAX_PASSKEYS));
    }
    let first = !crate::second_factor::enrolled_in(&mut tx, user).await?;
    let info: PasskeyInfo = sqlx::query_as(
        "INSERT INTO passkeys (id, user_id, credential_id, name, credential)
         VALUES ($1, $2, $3, $4, $5)
         RETURNING id, name, created_at, last_used_at",
    )
    .bind(Uuid::now_v7())
    .bind(user)
    .bind(passkey.cred_id().as_ref())
    .bind(&name)
    .bind(&credential)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => AccountsError::PasskeyTaken,
        _ => AccountsError::Database(e),
    })?;
    let recovery_codes = if first {
        // As with a new authenticator app: whoever held the account before
        // (a stolen session, an app they connected) keeps nothing.
        let keep =
            cloudcast_core::auth::credential(&headers)?.map(cloudcast_core::auth::hash_token);
        cloudcast_core::auth::end_sessions(&mut tx, user, keep).await?;
        crate::second_factor::new_recovery_codes(&mut tx, user).await?
    } else {
        Vec::new()
    };
    let email: String = sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
        .bind(user)
        .fetch_one(&mut *tx)
        .await?;
    cloudcast_core::notify::security_event(
        &mut tx,
        user,
        &email,
        "passkey_added",
        "A passkey was added to your Cloudcast account",
        &format!(
            "Hello,\n\nA passkey named \"{name}\" was just added to your account: it signs you in \
             without a password, and your password alone no longer opens the account. If this \
             was not you, remove it in Settings, reset your password and write to us from the \
             contact page.\n"
        ),
        &format!("A passkey was added: “{name}”"),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user_id = %user, "passkey added");
    Ok((
        StatusCode::CREATED,
        Json(AddedPasskey {
            passkey: info,
            recovery_codes,
        }),
    ))
}

/// `DELETE /api/v1/me/passkeys/{id}`: the password again; the passkey goes.
#[utoipa::path(delete, path = "/api/v1/me/passkeys/{id}", tag = "accounts",
    summary = "Remove one of my passkeys (the password asked again)",
    params(("id" = Uuid, Path, description = "The passkey's id")),
    request_body = IdentityAgain,
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "The password or code is wrong", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such passkey of mine", body = cloudcast_core::apidoc::ErrorBody),
        (status = 429, description = "Too many attempts", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn remove(
    State(state): State<AccountsState>,
    AuthUser(user): AuthUser,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<IdentityAgain>,
) -> Result<StatusCode, AccountsError> {
    require_identity(&state, peer.ip(), user, req.password, req.code.as_deref()).await?;
    let mut tx = state.pool.begin().await?;
    let gone: Option<(String, String)> = sqlx::query_as(
        "DELETE FROM passkeys p USING users u
          WHERE p.id = $1 AND p.user_id = $2 AND u.id = p.user_id
          RETURNING p.name, u.email",
    )
    .bind(id)
    .bind(user)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((name, email)) = gone else {
        return Err(AccountsError::NotFound("passkey"));
    };
    cloudcast_core::notify::security_event(
        &mut tx,
        user,
        &email,
        "passkey_removed",
        "A passkey was removed from your Cloudcast account",
        &format!(
            "Hello,\n\nThe passkey named \"{name}\" was just removed from your account. If this \
             was not you, reset your password and write to us from the contact page.\n"
        ),
        &format!("A passkey was removed: “{name}”"),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user_id = %user, "passkey removed");
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/me/passkeys/assertion`: the options for the browser to
/// confirm it is me, by one of my passkeys, before an action that asks.
#[utoipa::path(post, path = "/api/v1/me/passkeys/assertion", tag = "accounts",
    summary = "Start confirming it is me with a passkey (for an action that asks)",
    responses(
        (status = 200, description = "The ceremony and the options for navigator.credentials.get()", body = Ceremonial<Object>),
        (status = 404, description = "I have no passkey", body = cloudcast_core::apidoc::ErrorBody),
        (status = 409, description = "Passkeys are unavailable here", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn begin_assertion(
    State(state): State<AccountsState>,
    AuthUser(user): AuthUser,
) -> Result<Json<Ceremonial<RequestChallengeResponse>>, AccountsError> {
    let webauthn = party(&state)?;
    let keys = own_passkeys(&state.pool, user).await?;
    if keys.is_empty() {
        return Err(AccountsError::NotFound("passkey"));
    }
    let (options, auth) = webauthn
        .start_passkey_authentication(&keys)
        .map_err(AccountsError::passkey)?;
    let state_json = serde_json::to_value(&auth).map_err(AccountsError::passkey)?;
    let ceremony = begin(&state.pool, Some(user), Ceremony::Confirm, state_json).await?;
    Ok(Json(Ceremonial { ceremony, options }))
}

async fn own_passkeys(pool: &sqlx::PgPool, user: Uuid) -> Result<Vec<Passkey>, AccountsError> {
    let rows: Vec<serde_json::Value> =
        sqlx::query_scalar("SELECT credential FROM passkeys WHERE user_id = $1")
            .bind(user)
            .fetch_all(pool)
            .await?;
    rows.into_iter()
        .map(|c| serde_json::from_value(c).map_err(AccountsError::passkey))
        .collect()
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PasskeyProof {
    /// Send it as the `code` of the action that asks for me again (once,
    /// within five minutes).
    pub code: String,
}

/// `POST /api/v1/me/passkeys/assertion/answer`: my passkey's answer; a
/// one-time code for the action.
#[utoipa::path(post, path = "/api/v1/me/passkeys/assertion/answer", tag = "accounts",
    summary = "Finish confirming it is me with a passkey: a one-time code",
    request_body = PasskeySignIn,
    responses(
        (status = 200, description = "The one-time code", body = PasskeyProof),
        (status = 400, description = "The ceremony is unknown or expired, or the answer does not verify (`passkey_refused`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 409, description = "Passkeys are unavailable here", body = cloudcast_core::apidoc::ErrorBody),
        (status = 429, description = "Too many attempts (Retry-After)", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn answer_assertion(
    State(state): State<AccountsState>,
    AuthUser(user): AuthUser,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(req): ApiJson<PasskeySignIn>,
) -> Result<Json<PasskeyProof>, AccountsError> {
    let webauthn = party(&state)?;
    let Some(saved) = take(&state.pool, req.ceremony, Some(user), Ceremony::Confirm).await? else {
        return Err(AccountsError::PasskeyRefused(
            "the ceremony is unknown or expired: start again".into(),
        ));
    };
    let auth: PasskeyAuthentication =
        serde_json::from_value(saved).map_err(AccountsError::passkey)?;
    let result = match webauthn.finish_passkey_authentication(&req.credential, &auth) {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(user_id = %user, error = %e, "passkey confirmation refused");
            state
                .limits
                .check_login(peer.ip(), &format!("account:{user}"))
                .await?;
            return Err(AccountsError::PasskeyRefused(
                "the passkey's answer does not verify".into(),
            ));
        }
    };
    let mut tx = state.pool.begin().await?;
    let row: Option<(Uuid, serde_json::Value)> = sqlx::query_as(
        "SELECT id, credential FROM passkeys WHERE user_id = $1 AND credential_id = $2 FOR UPDATE",
    )
    .bind(user)
    .bind(result.cred_id().as_ref())
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((id, credential)) = row {
        let passkey: Passkey =
            serde_json::from_value(credential).map_err(AccountsError::passkey)?;
        record_use(&mut tx, id, passkey, &result).await?;
    }
    tx.commit().await?;
    let (token, _) = cloudcast_core::auth::new_token();
    let code = format!("{PROOF_PREFIX}{token}");
    let hash = hex::encode(cloudcast_core::auth::hash_token(&code));
    begin(
        &state.pool,
        Some(user),
        Ceremony::Proof,
        serde_json::json!({ "hash": hash }),
    )
    .await?;
    Ok(Json(PasskeyProof { code }))
}

/// `POST /api/v1/sessions/passkey/challenge`: the options for the browser
/// to sign in with a passkey.
#[utoipa::path(post, path = "/api/v1/sessions/passkey/challenge", tag = "accounts",
    summary = "Start signing in with a passkey",
    responses(
        (status = 200, description = "The ceremony and the options for navigator.credentials.get()", body = Ceremonial<Object>),
        (status = 409, description = "This server has no host name for passkeys (`passkeys_unavailable`)", body = cloudcast_core::apidoc::ErrorBody)))]
pub async fn sign_in_challenge(
    State(state): State<AccountsState>,
) -> Result<Json<Ceremonial<RequestChallengeResponse>>, AccountsError> {
    let webauthn = party(&state)?;
    let (mut options, auth) = webauthn
        .start_discoverable_authentication()
        .map_err(AccountsError::passkey)?;
    // webauthn-rs asks for conditional mediation (autofill); a button asks
    // at once.
    options.mediation = None;
    let state_json = serde_json::to_value(&auth).map_err(AccountsError::passkey)?;
    let ceremony = begin(&state.pool, None, Ceremony::SignIn, state_json).await?;
    Ok(Json(Ceremonial { ceremony, options }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeySignIn {
    pub ceremony: Uuid,
    /// What `navigator.credentials.get()` answered, binary fields in base64url.
    #[schema(value_type = Object)]
    pub credential: PublicKeyCredential,
}

/// A passkey that answered, under the row lock its caller took: the
/// counter moves on (a clone of the key shows as one going back) and the
/// time it was last used.
async fn record_use(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    id: Uuid,
    mut passkey: Passkey,
    result: &AuthenticationResult,
) -> Result<(), AccountsError> {
    passkey.update_credential(result);
    sqlx::query("UPDATE passkeys SET credential = $2, last_used_at = now() WHERE id = $1")
        .bind(id)
        .bind(serde_json::to_value(&passkey).map_err(AccountsError::passkey)?)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// `POST /api/v1/sessions/passkey`: signed in by a passkey, no password.
#[utoipa::path(post, path = "/api/v1/sessions/passkey", tag = "accounts",
    summary = "Sign in with a passkey",
    request_body = PasskeySignIn,
    responses(
        (status = 200, description = "A bearer token (and the session cookie)", body = crate::sessions::SessionCreated),
        (status = 401, description = "The ceremony is unknown or expired, or the passkey is unknown or does not verify (`invalid_credentials`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 409, description = "Passkeys are unavailable here", body = cloudcast_core::apidoc::ErrorBody),
        (status = 429, description = "Too many attempts (Retry-After)", body = cloudcast_core::apidoc::ErrorBody)))]
pub async fn sign_in(
    State(state): State<AccountsState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<PasskeySignIn>,
) -> Result<Response, AccountsError> {
    let webauthn = party(&state)?;
    let Some(saved) = take(&state.pool, req.ceremony, None, Ceremony::SignIn).await? else {
        return Err(AccountsError::BadCredentials);
    };
    let auth: DiscoverableAuthentication =
        serde_json::from_value(saved).map_err(AccountsError::passkey)?;
    // The ceremonies a sign-in needs are limited per address; the account
    // is counted only once its passkey is refused (a stranger naming it
    // cannot use up its allowance).
    let Ok((user, cred_id)) = webauthn.identify_discoverable_authentication(&req.credential) else {
        return Err(AccountsError::BadCredentials);
    };
    let mut tx = state.pool.begin().await?;
    let row: Option<(Uuid, serde_json::Value)> = sqlx::query_as(&format!(
        "SELECT p.id, p.credential FROM passkeys p JOIN users u ON u.id = p.user_id
          WHERE p.credential_id = $1 AND p.user_id = $2 AND {}
            FOR UPDATE OF p",
        cloudcast_core::visibility::sql_account_confirmed("u")
    ))
    .bind(cred_id)
    .bind(user)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((id, credential)) = row else {
        return Err(AccountsError::BadCredentials);
    };
    let passkey: Passkey = serde_json::from_value(credential).map_err(AccountsError::passkey)?;
    let result = match webauthn.finish_discoverable_authentication(
        &req.credential,
        auth,
        &[DiscoverableKey::from(&passkey)],
    ) {
        Ok(r) => r,
        Err(e) => {
            drop(tx);
            if matches!(e, WebauthnError::CredentialPossibleCompromise) {
                tracing::warn!(user_id = %user, passkey_id = %id, "a passkey's counter went back: a cloned key?");
            } else {
                tracing::info!(user_id = %user, error = %e, "passkey sign-in refused");
            }
            state
                .limits
                .check_login(peer.ip(), &format!("account:{user}"))
                .await?;
            return Err(AccountsError::BadCredentials);
        }
    };
    record_use(&mut tx, id, passkey, &result).await?;
    tx.commit().await?;
    let resp = crate::sessions::open(&state, user, &headers).await?;
    tracing::info!(user_id = %user, "signed in with a passkey");
    Ok(resp.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passkey_needs_a_host_name() {
        assert!(relying_party("http://localhost:8080").is_some());
        assert!(relying_party("https://cloudcast.example").is_some());
        assert!(relying_party("http://127.0.0.1:8080").is_none());
        assert!(relying_party("not a url").is_none());
    }
}
