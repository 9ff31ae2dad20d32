//! Registration and sign-in.
//!
//! Registration applies the privacy policy's rules: under-13s are refused and
//! nothing about them is stored (§12); 13-17 year olds are marked so the UI can
//! advise asking a parent; usernames that are email addresses are refused
//! because usernames are public (§1). Passwords are hashed with argon2id on a
//! blocking thread so hashing never stalls the async runtime.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use cloudcast_core::auth::{AuthUser, SESSION_COOKIE, credential, hash_token, new_token};
use cloudcast_core::extract::ApiJson;

use crate::{IngestError, IngestState, mail};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    pub email: String,
    pub username: String,
    pub password: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountCreated {
    pub id: Uuid,
    pub username: String,
    pub is_minor: bool,
    /// Set for 13-17 year olds: the UI shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parental_advice: Option<&'static str>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub login: String,
    pub password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionCreated {
    pub token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

const MAX_PASSWORD_LEN: usize = 1024;

/// Full years between `birth` and `today`.
pub fn age_on(birth: Date, today: Date) -> i32 {
    let mut age = today.year() - birth.year();
    if (today.month() as u8, today.day()) < (birth.month() as u8, birth.day()) {
        age -= 1;
    }
    age
}

pub fn validate_email(email: &str) -> Result<(), IngestError> {
    let bad = || IngestError::InvalidField("email: not a valid email address".into());
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = email.rsplit_once('@').ok_or_else(bad)?;
    if local.is_empty()
        || domain.len() < 3
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
    {
        return Err(bad());
    }
    Ok(())
}

pub fn validate_username(username: &str) -> Result<(), IngestError> {
    if username.contains('@') {
        return Err(IngestError::InvalidField(
            "username: usernames are public, so an email address cannot be one".into(),
        ));
    }
    let len = username.chars().count();
    if !(3..=30).contains(&len) {
        return Err(IngestError::InvalidField(
            "username: must be 3 to 30 characters".into(),
        ));
    }
    if !username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
    {
        return Err(IngestError::InvalidField(
            "username: use letters, digits, '_', '-' and '.' only".into(),
        ));
    }
    Ok(())
}

pub fn parse_birth_date(s: &str, today: Date) -> Result<Date, IngestError> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let date = Date::parse(s, &fmt)
        .map_err(|_| IngestError::InvalidField("birth_date: expected YYYY-MM-DD".into()))?;
    if date > today || date.year() < 1900 {
        return Err(IngestError::InvalidField(
            "birth_date: not a plausible birth date".into(),
        ));
    }
    Ok(date)
}

async fn hash_password(password: String) -> Result<String, IngestError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| IngestError::Hash(e.to_string()))
    })
    .await
    .map_err(|e| IngestError::Hash(e.to_string()))?
}

pub async fn verify_password(password: String, hash: String) -> Result<bool, IngestError> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash).map_err(|e| IngestError::Hash(e.to_string()))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(|e| IngestError::Hash(e.to_string()))?
}

/// Creates an account after every registration rule has passed; the email
/// verification message is queued in the same transaction.
pub async fn create_account(
    state: &IngestState,
    req: NewAccount,
    is_admin: bool,
) -> Result<AccountCreated, IngestError> {
    let today = OffsetDateTime::now_utc().date();
    let email = req.email.trim().to_string();
    let username = req.username.trim().to_string();
    validate_email(&email)?;
    validate_username(&username)?;
    let birth = parse_birth_date(&req.birth_date, today)?;
    // The age gate comes before anything is written: an under-13 leaves no trace.
    let age = age_on(birth, today);
    if age < 13 {
        return Err(IngestError::UnderAge);
    }
    let min = state.config.auth.min_password_len;
    if req.password.chars().count() < min {
        return Err(IngestError::InvalidField(format!(
            "password: must be at least {min} characters"
        )));
    }
    if req.password.len() > MAX_PASSWORD_LEN {
        return Err(IngestError::InvalidField(format!(
            "password: must be at most {MAX_PASSWORD_LEN} bytes"
        )));
    }
    let hash = hash_password(req.password).await?;
    let id = Uuid::now_v7();
    let is_minor = age < 18;
    let mut tx = state.pool.begin().await?;
    let res = sqlx::query(
        "INSERT INTO users (id, email, username, password_hash, birth_date, is_minor, is_admin)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(&email)
    .bind(&username)
    .bind(&hash)
    .bind(birth)
    .bind(is_minor)
    .bind(is_admin)
    .execute(&mut *tx)
    .await;
    match res {
        Ok(_) => {}
        Err(sqlx::Error::Database(db)) if db.constraint() == Some("users_email_ci") => {
            return Err(IngestError::EmailTaken);
        }
        Err(sqlx::Error::Database(db)) if db.constraint() == Some("users_username_ci") => {
            return Err(IngestError::UsernameTaken);
        }
        Err(e) => return Err(e.into()),
    }
    // The defaults in force from the first moment (the columns' defaults).
    crate::consents::record_signup(&mut tx, id, true, false).await?;
    let (token, token_hash) = new_token();
    let expires = OffsetDateTime::now_utc()
        + time::Duration::seconds(state.config.auth.verification_ttl_secs);
    sqlx::query(
        "INSERT INTO email_verifications (token_hash, user_id, expires_at) VALUES ($1, $2, $3)",
    )
    .bind(token_hash)
    .bind(id)
    .bind(expires)
    .execute(&mut *tx)
    .await?;
    let link = format!(
        "{}/api/v1/accounts/verify-email?token={token}",
        state.config.public_url()
    );
    mail::queue(
        &mut tx,
        Some(id),
        &email,
        "verify_email",
        "Confirm your Cloudcast email address",
        &format!(
            "Hello {username},\n\nPlease confirm this address by opening:\n{link}\n\nIf you did not register, ignore this message.\n"
        ),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user_id = %id, is_admin, "account registered");
    Ok(AccountCreated {
        id,
        username,
        is_minor,
        parental_advice: is_minor.then_some(PARENTAL_ADVICE),
    })
}

/// The policy's advice (§12) shown to 13-17 year olds.
pub const PARENTAL_ADVICE: &str = "We recommend that people aged 13 to 17 ask a parent or legal guardian for permission before sending any information about themselves over the Internet, including to us.";

/// `POST /api/v1/accounts`
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts",
    summary = "Register (13 or older)",
    request_body = NewAccount,
    responses(
        (status = 201, description = "Created; a verification link is mailed", body = AccountCreated),
        (status = 403, description = "Under 13", body = cloudcast_core::apidoc::ErrorBody),
        (status = 409, description = "Email or username taken", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "A field is invalid", body = cloudcast_core::apidoc::ErrorBody)))]
pub async fn register(
    State(state): State<IngestState>,
    ApiJson(req): ApiJson<NewAccount>,
) -> Result<(StatusCode, Json<AccountCreated>), IngestError> {
    Ok((
        StatusCode::CREATED,
        Json(create_account(&state, req, false).await?),
    ))
}

pub fn session_cookie(token: &str, max_age: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={token}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

/// Secure cookies when the client reached us over TLS (directly or through
/// a proxy that says so) or when the public URL is https.
pub fn is_tls(state: &IngestState, headers: &HeaderMap) -> bool {
    state.config.public_url().starts_with("https://")
        || headers
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
}

/// `POST /api/v1/sessions`: sign in by username or email. Answers with a
/// bearer token for API clients and sets the HttpOnly cookie for web pages.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "accounts",
    summary = "Sign in by username or email",
    request_body = Credentials,
    responses(
        (status = 200, description = "A bearer token (and the session cookie)", body = SessionCreated),
        (status = 401, description = "Wrong login or password", body = cloudcast_core::apidoc::ErrorBody),
        (status = 429, description = "Too many attempts", body = cloudcast_core::apidoc::ErrorBody)))]
pub async fn sign_in(
    State(state): State<IngestState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<Credentials>,
) -> Result<Response, IngestError> {
    if req.password.len() > MAX_PASSWORD_LEN || req.login.len() > 254 {
        return Err(IngestError::BadCredentials);
    }
    let login = req.login.trim().to_lowercase();
    state.limits.check_login(peer.ip(), &login)?;
    let row: Option<(Uuid, String)> = sqlx::query_as(
        "SELECT id, password_hash FROM users
         WHERE lower(username) = $1 OR lower(email) = $1 LIMIT 1",
    )
    .bind(&login)
    .fetch_optional(&state.pool)
    .await?;
    let Some((user_id, hash)) = row else {
        // Spend the same time as a real check so response timing does not
        // reveal which logins exist.
        let _ = verify_password(req.password, DUMMY_HASH.to_string()).await;
        return Err(IngestError::BadCredentials);
    };
    if !verify_password(req.password, hash).await? {
        tracing::info!(user_id = %user_id, "sign-in refused: wrong password");
        return Err(IngestError::BadCredentials);
    }
    let (token, token_hash) = new_token();
    let ttl = state.config.auth.token_ttl_secs;
    let expires_at = OffsetDateTime::now_utc() + time::Duration::seconds(ttl);
    sqlx::query("INSERT INTO auth_tokens (token_hash, user_id, expires_at) VALUES ($1, $2, $3)")
        .bind(token_hash)
        .bind(user_id)
        .bind(expires_at)
        .execute(&state.pool)
        .await?;
    tracing::info!(user_id = %user_id, "signed in");
    let mut resp = Json(SessionCreated {
        token: token.clone(),
        expires_at,
    })
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&session_cookie(&token, ttl, is_tls(&state, &headers))) {
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
    State(state): State<IngestState>,
    AuthUser(user): AuthUser,
    headers: HeaderMap,
    parts: RequestCredential,
) -> Result<Response, IngestError> {
    sqlx::query("DELETE FROM auth_tokens WHERE token_hash = $1 AND user_id = $2")
        .bind(hash_token(&parts.0))
        .bind(user)
        .execute(&state.pool)
        .await?;
    tracing::info!(user_id = %user, "signed out");
    let mut resp = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&session_cookie("", 0, is_tls(&state, &headers))) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// The raw credential of the request (bearer token or session cookie).
pub struct RequestCredential(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RequestCredential {
    type Rejection = cloudcast_core::ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        credential(&parts.headers)?
            .map(|t| RequestCredential(t.to_string()))
            .ok_or_else(|| cloudcast_core::ApiError::unauthorized("no credential to revoke"))
    }
}

#[derive(Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Me {
    pub id: Uuid,
    pub username: String,
    /// Only ever shown to the account itself.
    pub email: String,
    pub birth_date: Date,
    pub is_minor: bool,
    pub is_admin: bool,
    pub email_verified: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[sqlx(skip)]
    pub parental_advice: Option<&'static str>,
}

/// `GET /api/v1/me`: the signed-in account, email included.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts",
    summary = "My account (the only response with my email)",
    responses(
        (status = 200, description = "The account", body = Me),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn me(
    State(state): State<IngestState>,
    AuthUser(user): AuthUser,
) -> Result<Json<Me>, IngestError> {
    let mut me: Me = sqlx::query_as(
        "SELECT id, username, email, birth_date, is_minor, is_admin,
                email_verified_at IS NOT NULL AS email_verified, created_at
           FROM users WHERE id = $1",
    )
    .bind(user)
    .fetch_optional(&state.pool)
    .await?
    .ok_or(IngestError::NotFound("account"))?;
    me.parental_advice = me.is_minor.then_some(PARENTAL_ADVICE);
    Ok(Json(me))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerifyQuery {
    pub token: Option<String>,
}

/// `GET /api/v1/accounts/verify-email?token=..` (the link in the email).
#[utoipa::path(get, path = "/api/v1/accounts/verify-email", tag = "accounts",
    summary = "Confirm an email address (the mailed link)",
    params(VerifyQuery),
    responses(
        (status = 200, description = "Verified"),
        (status = 422, description = "Unknown, used or expired link", body = cloudcast_core::apidoc::ErrorBody)))]
pub async fn verify_email(
    State(state): State<IngestState>,
    axum::extract::Query(q): axum::extract::Query<VerifyQuery>,
) -> Result<Json<serde_json::Value>, IngestError> {
    let token = q
        .token
        .filter(|t| !t.is_empty() && t.len() < 100)
        .ok_or_else(|| IngestError::InvalidField("token: missing".into()))?;
    let mut tx = state.pool.begin().await?;
    let user: Option<Uuid> = sqlx::query_scalar(
        "UPDATE email_verifications SET used_at = now()
          WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
          RETURNING user_id",
    )
    .bind(hash_token(&token))
    .fetch_optional(&mut *tx)
    .await?;
    let Some(user) = user else {
        return Err(IngestError::InvalidField(
            "token: unknown, used or expired; sign in to get a new link".into(),
        ));
    };
    sqlx::query("UPDATE users SET email_verified_at = now() WHERE id = $1")
        .bind(user)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(user_id = %user, "email verified");
    Ok(Json(serde_json::json!({"verified": true})))
}

/// argon2id hash of a random password, used to equalise timing for unknown logins.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$4t7pYVJdXHxnMGtpqCMAf6tGKV3b3iDyzXvBgYtqvqU";

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn age_counts_whole_years() {
        assert_eq!(age_on(date!(2013 - 11 - 29), date!(2026 - 11 - 29)), 13);
        assert_eq!(age_on(date!(2013 - 11 - 30), date!(2026 - 11 - 29)), 12);
        assert_eq!(age_on(date!(2008 - 02 - 29), date!(2026 - 02 - 28)), 17);
    }

    #[test]
    fn usernames_that_are_emails_are_refused() {
        assert!(validate_username("dj@example.com").is_err());
        assert!(validate_username("ab").is_err());
        assert!(validate_username("dj shadow").is_err());
        assert!(validate_username("dj_shadow-2.0").is_ok());
    }

    #[test]
    fn emails_are_checked_for_shape() {
        assert!(validate_email("a@b.co").is_ok());
        assert!(validate_email("nope").is_err());
        assert!(validate_email("a@b").is_err());
        assert!(validate_email("a b@c.de").is_err());
    }

    #[test]
    fn birth_dates_are_parsed_strictly() {
        let today = date!(2026 - 11 - 29);
        assert!(parse_birth_date("2000-01-31", today).is_ok());
        assert!(parse_birth_date("2000-02-30", today).is_err());
        assert!(parse_birth_date("31/01/2000", today).is_err());
        assert!(parse_birth_date("2030-01-01", today).is_err());
    }

    #[test]
    fn dummy_hash_parses() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
