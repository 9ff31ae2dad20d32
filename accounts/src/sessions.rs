//! Signing in and out, and the signed-in account (`/api/v1/me`, the one
//! response that shows the account's email).
//!
//! A session is a random bearer token (only its hash is stored), also set
//! as the HttpOnly `cc_session` cookie for web pages. Sign-in attempts are
//! limited per client address and per login name (`signin_limits.rs`).

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use cloudcast_core::auth::{
    AuthError, AuthUser, SESSION_COOKIE, credential, hash_token, new_token,
};
use cloudcast_core::extract::ApiJson;

use crate::passwords::{MAX_PASSWORD_BYTES, verify_nothing, verify_password};
use crate::registration::PARENTAL_ADVICE;
use crate::{AccountsError, AccountsState};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// Username or email, any case.
    #[schema(max_length = 254)]
    pub login: String,
    #[schema(max_length = 1024)]
    pub password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionCreated {
    pub token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// The `Set-Cookie` value of a session cookie (`max_age` 0 clears it).
pub fn session_cookie(token: &str, max_age: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={token}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

/// Secure cookies when the client reached us over TLS (directly or through
/// a proxy that says so) or when the public URL is https.
pub fn is_tls(public_url: &str, headers: &HeaderMap) -> bool {
    public_url.starts_with("https://")
        || headers
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
}

/// A `Set-Cookie` header that clears the session cookie.
pub fn clear_session_cookie(public_url: &str, headers: &HeaderMap) -> Option<HeaderValue> {
    HeaderValue::from_str(&session_cookie("", 0, is_tls(public_url, headers))).ok()
}

/// `POST /api/v1/sessions`: sign in by username or email. Answers with a
/// bearer token for API clients and sets the HttpOnly cookie for web pages.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "accounts",
    summary = "Sign in by username or email",
    request_body = Credentials,
    responses(
        (status = 200, description = "A bearer token (and the session cookie)", body = SessionCreated),
        (status = 401, description = "Wrong login or password; or, for an account with an authenticator app or a passkey, `second_factor_required` with a `challenge` (in `error`) to send with the code to `/api/v1/sessions/second-factor`, and the `methods` that finish the sign-in (`totp`, `passkey`: sign in with `/api/v1/sessions/passkey`, `recovery_code`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 429, description = "Too many attempts (Retry-After)", body = cloudcast_core::apidoc::ErrorBody)))]
pub async fn sign_in(
    State(state): State<AccountsState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<Credentials>,
) -> Result<Response, AccountsError> {
    if req.password.len() > MAX_PASSWORD_BYTES || req.login.len() > 254 {
        return Err(AccountsError::BadCredentials);
    }
    let login = req.login.trim().to_lowercase();
    state.limits.check_login(peer.ip(), &login).await?;
    // A sign-up not confirmed yet answers as a wrong password does: it
    // cannot be told from no account (the sign-in page offers the link again).
    let row: Option<(Uuid, String)> = sqlx::query_as(&format!(
        "SELECT u.id, u.password_hash FROM users u
          WHERE (lower(u.username) = $1 OR lower(u.email) = $1) AND {} LIMIT 1",
        cloudcast_core::visibility::sql_account_confirmed("u")
    ))
    .bind(&login)
    .fetch_optional(&state.pool)
    .await?;
    let Some((user_id, hash)) = row else {
        verify_nothing(req.password).await;
        return Err(AccountsError::BadCredentials);
    };
    if !verify_password(req.password, hash).await? {
        tracing::info!(user_id = %user_id, "sign-in refused: wrong password");
        return Err(AccountsError::BadCredentials);
    }
    let factors = crate::second_factor::factors(&state.pool, user_id).await?;
    if !factors.is_empty() {
        // No session yet: the code (with this challenge) or a passkey
        // comes next.
        let challenge = crate::second_factor::open_challenge(&state.pool, user_id).await?;
        tracing::info!(user_id = %user_id, "password right; a second factor is asked");
        let message = if factors.contains(&"totp") {
            "enter the code of your authenticator app (or a recovery code)"
        } else {
            "this account signs in with a passkey: use it (or a recovery code)"
        };
        let body = serde_json::json!({"error": {
            "code": "second_factor_required",
            "message": message,
            "challenge": challenge,
            "methods": factors,
        }});
        return Ok((StatusCode::UNAUTHORIZED, Json(body)).into_response());
    }
    let resp = open(&state, user_id, &headers).await?;
    tracing::info!(user_id = %user_id, "signed in");
    Ok(resp)
}

/// A new session for `user`: the token in the body and the HttpOnly cookie.
pub(crate) async fn open(
    state: &AccountsState,
    user: Uuid,
    headers: &HeaderMap,
) -> Result<Response, AccountsError> {
    let (token, token_hash) = new_token();
    let ttl = state.auth.token_ttl;
    let expires_at = OffsetDateTime::now_utc() + ttl;
    sqlx::query("INSERT INTO auth_tokens (token_hash, user_id, expires_at) VALUES ($1, $2, $3)")
        .bind(token_hash)
        .bind(user)
        .bind(expires_at)
        .execute(&state.pool)
        .await?;
    let mut resp = Json(SessionCreated {
        token: token.clone(),
        expires_at,
    })
    .into_response();
    let cookie = session_cookie(&token, ttl.as_secs(), is_tls(&state.public_url, headers));
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// `DELETE /api/v1/sessions`: revokes the token (or cookie) used for this request.
#[utoipa::path(delete, path = "/api/v1/sessions", tag = "accounts",
    summary = "Sign out (revoke this session)",
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn sign_out(
    State(state): State<AccountsState>,
    AuthUser(user): AuthUser,
    headers: HeaderMap,
    parts: RequestCredential,
) -> Result<Response, AccountsError> {
    sqlx::query("DELETE FROM auth_tokens WHERE token_hash = $1 AND user_id = $2")
        .bind(hash_token(&parts.0))
        .bind(user)
        .execute(&state.pool)
        .await?;
    tracing::info!(user_id = %user, "signed out");
    let mut resp = StatusCode::NO_CONTENT.into_response();
    if let Some(v) = clear_session_cookie(&state.public_url, &headers) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// The raw credential of the request (bearer token or session cookie).
pub struct RequestCredential(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RequestCredential {
    type Rejection = AuthError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        credential(&parts.headers)?
            .map(|t| RequestCredential(t.to_string()))
            .ok_or(AuthError::Unauthorized("no credential to revoke"))
    }
}

#[derive(Serialize, serde::Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Me {
    pub id: Uuid,
    pub username: String,
    /// Only ever shown to the account itself: absent when a third-party
    /// app asks (an app never sees it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schema(required = false)]
    pub email: String,
    /// Absent when a third-party app asks.
    #[serde(
        with = "iso_date::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, format = Date, required = false)]
    pub birth_date: Option<Date>,
    pub is_minor: bool,
    pub is_admin: bool,
    pub email_verified: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[sqlx(skip)]
    pub parental_advice: Option<std::borrow::Cow<'static, str>>,
    /// What the account may keep and start, and what it uses.
    #[sqlx(skip)]
    pub quota: Option<cloudcast_core::quotas::QuotaReport>,
    /// Suspended by a moderator until then (the year 9999: for good); the
    /// decision and its appeal are at `/api/v1/me/decisions`.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub suspended_until: Option<OffsetDateTime>,
    /// The terms in force wait for acceptance (this version).
    #[sqlx(skip)]
    #[serde(default)]
    pub terms_due: Option<String>,
    /// A new privacy version not dismissed yet: pages show its banner.
    #[sqlx(skip)]
    #[serde(default)]
    pub privacy_news: Option<crate::policies::VersionSummary>,
    /// Listening activity, favourites, reposts and follows kept private.
    pub activity_private: bool,
}

/// `GET /api/v1/me`: the signed-in account, email included (not for a
/// third-party app, which sees neither the email nor the birth date).
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts",
    summary = "My account (the only response with my email)",
    responses(
        (status = 200, description = "The account", body = Me),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn me(
    State(state): State<AccountsState>,
    AuthUser(user): AuthUser,
    app: Option<axum::Extension<cloudcast_core::scopes::Delegated>>,
) -> Result<Json<Me>, AccountsError> {
    let mut me: Me = sqlx::query_as(
        "SELECT id, username, email, birth_date, is_minor, is_admin,
                email_verified_at IS NOT NULL AS email_verified, created_at,
                CASE WHEN suspended_until > now() THEN suspended_until END AS suspended_until,
                activity_private
           FROM users WHERE id = $1",
    )
    .bind(user)
    .fetch_optional(&state.pool)
    .await?
    .ok_or(AccountsError::NotFound("account"))?;
    me.parental_advice = me
        .is_minor
        .then_some(std::borrow::Cow::Borrowed(PARENTAL_ADVICE));
    me.quota = Some(cloudcast_core::quotas::report(&state.pool, &state.quotas, user).await?);
    let policies = crate::policies::mine(&state.pool, user).await?;
    me.terms_due = policies
        .terms
        .filter(|_| policies.terms_due)
        .map(|t| t.version);
    me.privacy_news = policies.privacy_news;
    if app.is_some() {
        // The consent page promises an app never sees these.
        me.email.clear();
        me.birth_date = None;
        me.quota = None;
    }
    Ok(Json(me))
}

// `YYYY-MM-DD`, as the account was registered with.
time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_secure_behind_tls() {
        let mut h = HeaderMap::new();
        assert!(!is_tls("http://127.0.0.1:8080", &h));
        assert!(is_tls("https://cloudcast.example", &h));
        h.insert("x-forwarded-proto", HeaderValue::from_static("HTTPS"));
        assert!(is_tls("http://127.0.0.1:8080", &h));
        assert_eq!(
            session_cookie("t", 60, true),
            "cc_session=t; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure"
        );
    }
}
