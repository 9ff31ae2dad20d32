//! Registration and email verification.
//!
//! Registration keeps the privacy rules that apply before an account
//! exists: a person under 13 is refused and nothing about them is stored;
//! 13 to 17 year olds are marked as minors and shown the parental advice;
//! a username, being public, may not be an email address. The signup
//! consents (personalised ads only if given, third-party contact off) are
//! recorded as the first entries of the consent history, the policies
//! shown and accepted are recorded (`policies.rs`), and the confirmation
//! mail is queued in the same transaction as the account.
//!
//! Sign-up answers the same (202, "check your mail") whether or not the
//! address has an account, with the password hashed either way, so nobody
//! learns who is registered. A new address gets a pending account and a
//! link: the account can be used only once the link is opened (it signs the
//! person in); until then it holds its username for [`PENDING_HOLD`], cannot
//! sign in (answered as a wrong password) and is seen nowhere, and it is
//! deleted once the hold has passed. A taken address gets a mail to its
//! owner instead. A username taken still answers 409: usernames are public.

use std::sync::LazyLock;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use regex::Regex;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use cloudcast_core::extract::ApiJson;
use cloudcast_core::paths;

use crate::confirmation::queue_verification;
use crate::passwords::{MAX_PASSWORD_BYTES, hash_password};
use crate::{AccountsError, AccountsState};

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
    /// A path of this site the confirmation link returns to once it has
    /// signed the person in (anything else returns to `/`).
    #[serde(default)]
    #[schema(max_length = 2048)]
    pub next: Option<String>,
    /// The version of the terms of service the person accepts: required,
    /// and must be the one in force, when the site has terms
    /// (`GET /api/v1/policies/terms`).
    #[serde(default)]
    #[schema(max_length = 64)]
    pub terms: Option<String>,
    /// Consent to personalised ads, given here or later in settings. Off
    /// unless given (the operator may keep the policy's opt-out instead:
    /// `policies.ads_opt_out`).
    #[serde(default)]
    pub personalised_ads: Option<bool>,
}

/// How long a sign-up holds its username while its link is not opened;
/// then the pending account is deleted.
pub const PENDING_HOLD: Duration = Duration::from_secs(24 * 3600);

/// The answer to a sign-up, the same whether or not the address was taken.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SignUpReceived {
    pub username: String,
    pub is_minor: bool,
    /// Set for 13-17 year olds: the UI shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub parental_advice: Option<&'static str>,
    /// Where the mail went (the address given).
    pub sent_to: String,
    /// What to do next, for people.
    pub message: &'static str,
}

/// What a sign-up is told to do.
pub const CHECK_YOUR_MAIL: &str = "We sent a link to this address: open it within 24 hours to \
    confirm it and start using your account. If no mail comes, the sign-in page can send the \
    link again.";

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

/// The checks every new account passes before anything is written; the
/// password's hash and whether the person is a minor.
async fn checked(state: &AccountsState, req: &NewAccount) -> Result<(Date, bool), AccountsError> {
    let today = OffsetDateTime::now_utc().date();
    validate_email(&req.email)?;
    validate_username(&req.username)?;
    let birth = parse_birth_date(&req.birth_date, today)?;
    // The age gate comes before anything is written: an under-13 leaves no trace.
    let age = age_on(birth, today);
    if age < 13 {
        return Err(AccountsError::UnderAge);
    }
    validate_password(&req.password, state.auth.min_password_len)?;
    if req.next.as_ref().is_some_and(|n| n.len() > 2048) {
        return Err(AccountsError::InvalidField(
            "next: at most 2048 characters".into(),
        ));
    }
    Ok((birth, age < 18))
}

/// Inserts an account (pending until `pending_until`, if given) with its
/// signup consents and policies; a username or address taken is its error.
/// `born` is the birth date and minority [`checked`] found.
async fn insert_account(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    state: &AccountsState,
    req: &NewAccount,
    hash: &str,
    (birth, is_minor): (Date, bool),
    is_admin: bool,
    pending_until: Option<OffsetDateTime>,
) -> Result<Uuid, AccountsError> {
    let id = Uuid::now_v7();
    let res = sqlx::query(
        "INSERT INTO users (id, email, username, password_hash, birth_date, is_minor, is_admin, pending_until)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(&req.email)
    .bind(&req.username)
    .bind(hash)
    .bind(birth)
    .bind(is_minor)
    .bind(is_admin)
    .bind(pending_until)
    .execute(&mut **tx)
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
    // Personalised ads by consent (or the operator's opt-out); recorded
    // from the first moment.
    let ads = req.personalised_ads.unwrap_or(state.ads_opt_out);
    sqlx::query("UPDATE users SET ads_consent = $2 WHERE id = $1")
        .bind(id)
        .bind(ads)
        .execute(&mut **tx)
        .await?;
    let chosen = req.personalised_ads.is_some();
    crate::consents::record_signup(tx, id, ads, false, chosen).await?;
    // An account an operator makes is asked to accept the terms on its
    // first visit (by the person, not the operator).
    let vouched = pending_until.is_none() && req.terms.is_none();
    crate::policies::at_sign_up(tx, id, req.terms.as_deref(), !vouched).await?;
    Ok(id)
}

/// Creates an account in use at once (`cloudcast admin`: the operator
/// vouches for it); a verification mail is queued in the same transaction.
pub async fn create_account(
    state: &AccountsState,
    req: NewAccount,
    is_admin: bool,
) -> Result<AccountCreated, AccountsError> {
    let (birth, is_minor) = checked(state, &req).await?;
    let hash = hash_password(req.password.clone()).await?;
    let mut tx = state.pool.begin().await?;
    let id = insert_account(
        &mut tx,
        state,
        &req,
        &hash,
        (birth, is_minor),
        is_admin,
        None,
    )
    .await?;
    queue_verification(&mut tx, state, id, &req.username, &req.email, None).await?;
    tx.commit().await?;
    tracing::info!(user_id = %id, is_admin, "account registered");
    Ok(AccountCreated {
        id,
        username: req.username,
        is_minor,
        parental_advice: is_minor.then_some(PARENTAL_ADVICE),
    })
}

/// Is `username` held: by an account in use, or by another address's
/// sign-up still waiting for its link? (The same address signing up again
/// replaces its own.)
async fn username_held(pool: &PgPool, username: &str, email: &str) -> Result<bool, AccountsError> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM users WHERE lower(username) = lower($1)
            AND (pending_until IS NULL OR (pending_until > now() AND lower(email) <> lower($2))))",
    )
    .bind(username)
    .bind(email)
    .fetch_one(pool)
    .await?)
}

/// A sign-up (`POST /api/v1/accounts`): see the module's description.
pub async fn sign_up(
    state: &AccountsState,
    req: NewAccount,
) -> Result<SignUpReceived, AccountsError> {
    let (birth, is_minor) = checked(state, &req).await?;
    if username_held(&state.pool, &req.username, &req.email).await? {
        return Err(AccountsError::UsernameTaken);
    }
    // Hashed whatever happens next, so a taken address takes as long.
    let hash = hash_password(req.password.clone()).await?;
    let next = req.next.as_deref().map(|n| paths::local_path(Some(n)));
    let mut tx = state.pool.begin().await?;
    // Before the address is looked at: the same answer either way.
    crate::policies::terms_accepted_at_sign_up(&mut tx, req.terms.as_deref()).await?;
    // Sign-ups past their hold that name this username or address, and this
    // address's own earlier sign-up, make way.
    sqlx::query(
        "DELETE FROM users WHERE pending_until IS NOT NULL
            AND (lower(username) = lower($1) OR lower(email) = lower($2))
            AND (pending_until <= now() OR lower(email) = lower($2))",
    )
    .bind(&req.username)
    .bind(&req.email)
    .execute(&mut *tx)
    .await?;
    let owner: Option<(Uuid, String)> =
        sqlx::query_as("SELECT id, username FROM users WHERE lower(email) = lower($1)")
            .bind(&req.email)
            .fetch_optional(&mut *tx)
            .await?;
    match owner {
        Some((owner, owner_name)) => {
            cloudcast_core::outbox::queue(
                &mut tx,
                Some(owner),
                &req.email,
                "signup_with_taken_address",
                "Someone tried to sign up to Cloudcast with your address",
                &format!(
                    "Hello {owner_name},\n\nSomeone tried to make a new Cloudcast account with \
                     this address, which is already yours. Nothing has changed. If it was you, \
                     sign in instead (the sign-in page can reset a forgotten password: {}/reset-password).\n\n\
                     If it was not you, you need not do anything.\n",
                    state.public_url
                ),
            )
            .await?;
            tracing::info!(user_id = %owner, "sign-up with an address in use; its owner is told");
        }
        None => {
            let until = OffsetDateTime::now_utc() + PENDING_HOLD;
            let id = insert_account(
                &mut tx,
                state,
                &req,
                &hash,
                (birth, is_minor),
                false,
                Some(until),
            )
            .await?;
            queue_verification(
                &mut tx,
                state,
                id,
                &req.username,
                &req.email,
                next.as_deref(),
            )
            .await?;
            tracing::info!(user_id = %id, "sign-up waiting for its link");
        }
    }
    tx.commit().await?;
    Ok(SignUpReceived {
        username: req.username,
        is_minor,
        parental_advice: is_minor.then_some(PARENTAL_ADVICE),
        sent_to: req.email,
        message: CHECK_YOUR_MAIL,
    })
}

/// Deletes the sign-ups whose hold passed without their link being opened
/// (nothing of a person who never confirmed is kept past it), every
/// `every` until shutdown.
pub async fn run_sweeper(pool: PgPool, every: Duration, shutdown: CancellationToken) {
    cloudcast_core::periodic::every("signup_sweep", every, shutdown, || async {
        let gone = sqlx::query("DELETE FROM users WHERE pending_until <= now()")
            .execute(&pool)
            .await?
            .rows_affected();
        if gone > 0 {
            tracing::info!(accounts = gone, "unconfirmed sign-ups deleted");
        }
        Ok::<(), sqlx::Error>(())
    })
    .await
}

/// `POST /api/v1/accounts`
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts",
    summary = "Sign up (13 or older); the account is used once its mailed link is opened",
    description = "Answers 202 whether or not the address has an account: a new address gets \
        a link that confirms it and signs in (the account holds its username for 24 hours \
        meanwhile); the owner of an address in use is told someone tried instead.",
    request_body = NewAccount,
    responses(
        (status = 202, description = "Check the mail sent to the address", body = SignUpReceived),
        (status = 409, description = "The username is taken (`username_taken`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "A field is invalid, or the person is under 13 (`under_13`: nothing is stored)", body = cloudcast_core::apidoc::ErrorBody)))]
pub async fn register(
    State(state): State<AccountsState>,
    ApiJson(req): ApiJson<NewAccount>,
) -> Result<(StatusCode, Json<SignUpReceived>), AccountsError> {
    Ok((StatusCode::ACCEPTED, Json(sign_up(&state, req).await?)))
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
