//! Registration and email verification.
//!
//! Registration keeps the privacy rules that apply before an account
//! exists: a person under 13 is refused and nothing about them is stored;
//! 13 to 17 year olds are marked as minors and shown the parental advice;
//! a username, being public, may not be an email address. The signup
//! consents (personalised ads on, third-party contact off) are recorded as
//! the first entries of the consent history, and the verification mail is
//! queued in the same transaction as the account.

use std::sync::LazyLock;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use regex::Regex;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use cloudcast_core::auth::{AuthUser, hash_token, new_token};
use cloudcast_core::extract::{ApiJson, ApiQuery};
use cloudcast_core::paths;

use crate::passwords::{MAX_PASSWORD_BYTES, hash_password};
use crate::{AccountsError, AccountsState, mail};

/// What an email address must look like (the OpenAPI document says the
/// same): no spaces or control characters, one `@`, a dotted domain.
pub const EMAIL_PATTERN: &str =
    r"^[^\s@\x00-\x1f\x7f]+@[^\s@.\x00-\x1f\x7f]+(\.[^\s@.\x00-\x1f\x7f]+)+$";
/// What a username must look like: it is public and part of page URLs.
pub const USERNAME_PATTERN: &str = r"^[A-Za-z0-9_.-]{3,30}$";

static EMAIL: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(EMAIL_PATTERN).ok());
static USERNAME: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(USERNAME_PATTERN).ok());

fn matches(re: &LazyLock<Option<Regex>>, s: &str) -> bool {
    re.as_ref().is_some_and(|r| r.is_match(s))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    /// Never shown to anyone but the account itself.
    #[schema(
        max_length = 254,
        pattern = r"^[^\s@\x00-\x1f\x7f]+@[^\s@.\x00-\x1f\x7f]+(\.[^\s@.\x00-\x1f\x7f]+)+$"
    )]
    pub email: String,
    /// Public: letters, digits, `_`, `-` and `.`.
    #[schema(min_length = 3, max_length = 30, pattern = r"^[A-Za-z0-9_.-]{3,30}$")]
    pub username: String,
    /// At least `auth.min_password_len` characters (10 by default).
    #[schema(min_length = 10, max_length = 1024)]
    pub password: String,
    /// `YYYY-MM-DD`, from 1900 to today; under 13 is refused.
    #[schema(format = Date, pattern = "^(19|20)[0-9]{2}-[0-9]{2}-[0-9]{2}$")]
    pub birth_date: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountCreated {
    pub id: Uuid,
    pub username: String,
    pub is_minor: bool,
    /// Set for 13-17 year olds: the UI shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub parental_advice: Option<&'static str>,
}

/// The advice shown to 13-17 year olds.
pub const PARENTAL_ADVICE: &str = "We recommend that people aged 13 to 17 ask a parent or legal guardian for permission before sending any information about themselves over the Internet, including to us.";

/// Full years between `birth` and `today`.
pub fn age_on(birth: Date, today: Date) -> i32 {
    let mut age = today.year() - birth.year();
    if (today.month() as u8, today.day()) < (birth.month() as u8, birth.day()) {
        age -= 1;
    }
    age
}

pub fn validate_email(email: &str) -> Result<(), AccountsError> {
    if email.len() > 254 || !matches(&EMAIL, email) {
        return Err(AccountsError::InvalidField(
            "email: not a valid email address".into(),
        ));
    }
    Ok(())
}

pub fn validate_username(username: &str) -> Result<(), AccountsError> {
    if username.contains('@') {
        return Err(AccountsError::InvalidField(
            "username: usernames are public, so an email address cannot be one".into(),
        ));
    }
    let len = username.chars().count();
    if !(3..=30).contains(&len) {
        return Err(AccountsError::InvalidField(
            "username: must be 3 to 30 characters".into(),
        ));
    }
    if !matches(&USERNAME, username) {
        return Err(AccountsError::InvalidField(
            "username: use letters, digits, '_', '-' and '.' only".into(),
        ));
    }
    // Profiles live at /{username}: a name may not hide one of the site's pages.
    if paths::is_reserved_username(username) {
        return Err(AccountsError::InvalidField(format!(
            "username: {username:?} is one of the site's own addresses; choose another"
        )));
    }
    Ok(())
}

pub fn parse_birth_date(s: &str, today: Date) -> Result<Date, AccountsError> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let date = Date::parse(s, &fmt)
        .map_err(|_| AccountsError::InvalidField("birth_date: expected YYYY-MM-DD".into()))?;
    if date > today || date.year() < 1900 {
        return Err(AccountsError::InvalidField(
            "birth_date: not a plausible birth date".into(),
        ));
    }
    Ok(date)
}

/// The password rules: at least `min` characters, at most 1024 bytes.
pub fn validate_password(password: &str, min: usize) -> Result<(), AccountsError> {
    if password.chars().count() < min {
        return Err(AccountsError::InvalidField(format!(
            "password: must be at least {min} characters"
        )));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AccountsError::InvalidField(format!(
            "password: must be at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Creates an account after every registration rule has passed; the email
/// verification message is queued in the same transaction.
pub async fn create_account(
    state: &AccountsState,
    req: NewAccount,
    is_admin: bool,
) -> Result<AccountCreated, AccountsError> {
    let today = OffsetDateTime::now_utc().date();
    let NewAccount {
        email,
        username,
        password,
        birth_date,
    } = req;
    validate_email(&email)?;
    validate_username(&username)?;
    let birth = parse_birth_date(&birth_date, today)?;
    // The age gate comes before anything is written: an under-13 leaves no trace.
    let age = age_on(birth, today);
    if age < 13 {
        return Err(AccountsError::UnderAge);
    }
    validate_password(&password, state.auth.min_password_len)?;
    let hash = hash_password(password).await?;
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
            return Err(AccountsError::EmailTaken);
        }
        Err(sqlx::Error::Database(db)) if db.constraint() == Some("users_username_ci") => {
            return Err(AccountsError::UsernameTaken);
        }
        Err(e) => return Err(e.into()),
    }
    // The defaults in force from the first moment (the columns' defaults).
    crate::consents::record_signup(&mut tx, id, true, false).await?;
    queue_verification(&mut tx, state, id, &username, &email).await?;
    tx.commit().await?;
    tracing::info!(user_id = %id, is_admin, "account registered");
    Ok(AccountCreated {
        id,
        username,
        is_minor,
        parental_advice: is_minor.then_some(PARENTAL_ADVICE),
    })
}

/// A new verification link for `email`, by mail (through the outbox).
async fn queue_verification(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    state: &AccountsState,
    id: Uuid,
    username: &str,
    email: &str,
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
    let link = format!("{}/verify-email?token={token}", state.public_url);
    mail::queue(
        tx,
        Some(id),
        email,
        "verify_email",
        "Confirm your Cloudcast email address",
        &format!(
            "Hello {username},\n\nPlease confirm this address by opening:\n{link}\n\nIf you did not register, ignore this message.\n"
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
    queue_verification(&mut tx, &state, user, &username, &email).await?;
    tx.commit().await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(VerificationSent { sent_to: email }),
    ))
}

/// `POST /api/v1/accounts`
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts",
    summary = "Register (13 or older)",
    request_body = NewAccount,
    responses(
        (status = 201, description = "Created; a verification link is mailed", body = AccountCreated),
        (status = 409, description = "Email or username taken", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "A field is invalid, or the person is under 13 (`under_13`: nothing is stored)", body = cloudcast_core::apidoc::ErrorBody)))]
pub async fn register(
    State(state): State<AccountsState>,
    ApiJson(req): ApiJson<NewAccount>,
) -> Result<(StatusCode, Json<AccountCreated>), AccountsError> {
    Ok((
        StatusCode::CREATED,
        Json(create_account(&state, req, false).await?),
    ))
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
        return Err(AccountsError::InvalidField(
            "token: unknown, used or expired; sign in and ask for a new link (POST /api/v1/me/verification, or Settings)".into(),
        ));
    };
    sqlx::query("UPDATE users SET email_verified_at = now() WHERE id = $1")
        .bind(user)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(user_id = %user, "email verified");
    Ok(Json(Verified { verified: true }))
}

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
        assert!(validate_username(" dj_shadow").is_err());
        assert!(validate_username("dj_shadow-2.0").is_ok());
        assert!(validate_username("Settings").is_err());
        assert!(validate_username("robots.txt").is_err());
    }

    #[test]
    fn emails_are_checked_for_shape() {
        assert!(validate_email("a@b.co").is_ok());
        assert!(validate_email("nope").is_err());
        assert!(validate_email("a@b").is_err());
        assert!(validate_email("a b@c.de").is_err());
        assert!(validate_email("a@b..de").is_err());
        assert!(validate_email("a@b@c.de").is_err());
        assert!(validate_email("a\u{1}@c.de").is_err());
        assert!(validate_email(" a@c.de").is_err());
    }

    #[test]
    fn the_documented_patterns_are_the_enforced_ones() {
        // The schema attributes repeat the constants (attributes take
        // literals); this catches the two drifting apart.
        let doc = <NewAccount as utoipa::PartialSchema>::schema();
        let json = serde_json::to_string(&doc).unwrap_or_default();
        let escaped = |p: &str| serde_json::to_string(p).unwrap_or_default();
        assert!(json.contains(&escaped(EMAIL_PATTERN)), "{json}");
        assert!(json.contains(&escaped(USERNAME_PATTERN)), "{json}");
        assert!(EMAIL.is_some() && USERNAME.is_some());
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
    fn passwords_have_a_floor_and_a_ceiling() {
        assert!(validate_password("short", 10).is_err());
        assert!(validate_password("long enough pw", 10).is_ok());
        assert!(validate_password(&"é".repeat(600), 10).is_err());
    }
}
