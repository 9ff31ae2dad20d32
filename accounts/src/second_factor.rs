//! Two-step sign-in: a code from an authenticator app (TOTP, RFC 6238, with
//! the totp-rs crate: SHA-1, 6 digits, 30 s, one step either side), or one
//! of ten single-use recovery codes shown once at enrolment.
//!
//! A right password for an enrolled account opens a challenge instead of a
//! session (`sessions.rs`: 401 `second_factor_required` with the
//! challenge); the code and the challenge then open the session. The
//! actions that ask for the password again (erasure, a new password or
//! email) ask for a code too ([`require_code`]). Every code tried counts in
//! the sign-in buckets of the account's login, as passwords do. A password
//! reset never removes the factor: a recovery code does what a lost phone
//! needs. Enrolling and removing are mailed to the account's address.

use std::net::{IpAddr, SocketAddr};

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, TOTP};
use uuid::Uuid;

use cloudcast_core::auth::{AuthUser, hash_token, new_token};
use cloudcast_core::extract::ApiJson;

use crate::passwords::confirm_password;
use crate::{AccountsError, AccountsState, SigninLimits};

/// Seconds a code lasts, and its digits (what every authenticator app uses).
const STEP_SECS: u64 = 30;
const DIGITS: usize = 6;
/// Recovery codes made at enrolment.
pub const RECOVERY_CODES: usize = 10;
/// A challenge lasts this long, and takes this many codes.
const CHALLENGE_SECS: i64 = 300;
const CHALLENGE_TRIES: i32 = 5;
/// The issuer an authenticator app shows beside the account.
const ISSUER: &str = "Cloudcast";

fn totp(secret: Vec<u8>, account: &str) -> Result<TOTP, AccountsError> {
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        1,
        STEP_SECS,
        secret,
        Some(ISSUER.to_string()),
        account.to_string(),
    )
    .map_err(|e| AccountsError::InvalidField(format!("second factor: {e}")))
}

fn now_secs() -> u64 {
    u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0)
}

/// A recovery code as stored: its SHA-256 (codes are random, 50 bits).
fn recovery_hash(code: &str) -> Vec<u8> {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    Sha256::digest(normal.as_bytes()).to_vec()
}

/// Ten characters from an alphabet without look-alikes, shown as `xxxxx-xxxxx`.
fn new_recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut raw = [0u8; 10];
    rand::thread_rng().fill_bytes(&mut raw);
    let chars: String = raw
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

/// Whether `user` has a confirmed authenticator app (what a code is asked
/// for again, before erasure or a new password or email).
pub async fn totp_enrolled(pool: &sqlx::PgPool, user: Uuid) -> Result<bool, AccountsError> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL)",
    )
    .bind(user)
    .fetch_one(pool)
    .await?)
}

/// How `user` may finish signing in after a right password, if the
/// password alone may not: `totp` (an authenticator app's code),
/// `recovery_code`, `passkey`. Empty: the password opens a session. The
/// one home of what counts as a factor.
pub async fn factors_in(
    conn: &mut sqlx::PgConnection,
    user: Uuid,
) -> Result<Vec<&'static str>, AccountsError> {
    let (totp, recovery, passkey): (bool, bool, bool) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL),
                EXISTS (SELECT 1 FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL),
                EXISTS (SELECT 1 FROM passkeys WHERE user_id = $1)",
    )
    .bind(user)
    .fetch_one(conn)
    .await?;
    if !totp && !passkey {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    if totp {
        out.push("totp");
    }
    if passkey {
        out.push("passkey");
    }
    if recovery {
        out.push("recovery_code");
    }
    Ok(out)
}

/// [`factors_in`] on a connection of the pool.
pub async fn factors(pool: &sqlx::PgPool, user: Uuid) -> Result<Vec<&'static str>, AccountsError> {
    factors_in(&mut *pool.acquire().await?, user).await
}

/// Ten new recovery codes for `user` (any unused ones before are void),
/// to be shown once; only their hashes are kept.
pub async fn new_recovery_codes(
    conn: &mut sqlx::PgConnection,
    user: Uuid,
) -> Result<Vec<String>, AccountsError> {
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user)
        .execute(&mut *conn)
        .await?;
    for c in &codes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(user)
            .bind(recovery_hash(c))
            .execute(&mut *conn)
            .await?;
    }
    Ok(codes)
}

/// [`enrolled`] inside a transaction (adding a factor asks whether it is
/// the first).
pub async fn enrolled_in(conn: &mut sqlx::PgConnection, user: Uuid) -> Result<bool, AccountsError> {
    Ok(!factors_in(conn, user).await?.is_empty())
}

/// Whether the password alone may not open `user`'s account: an
/// authenticator app or a passkey is enrolled.
pub async fn enrolled(pool: &sqlx::PgPool, user: Uuid) -> Result<bool, AccountsError> {
    Ok(!factors(pool, user).await?.is_empty())
}

/// Is `code` good for `user`: a TOTP code of the step before, now or after
/// that no code was taken for yet, or an unused recovery code (spent by
/// this). Counted in the sign-in buckets of the account's login.
pub async fn check_code(
    pool: &sqlx::PgPool,
    limits: &SigninLimits,
    ip: IpAddr,
    user: Uuid,
    code: &str,
) -> Result<bool, AccountsError> {
    type Row = (String, String, Option<Vec<u8>>, i64, Option<i64>);
    let row: Option<Row> = sqlx::query_as(
        "SELECT lower(u.username), u.email, f.secret, COALESCE(f.last_step, 0),
                CEIL(EXTRACT(EPOCH FROM (f.locked_until - now())))::bigint
           FROM users u
           LEFT JOIN totp_factors f ON f.user_id = u.id AND f.confirmed_at IS NOT NULL
          WHERE u.id = $1",
    )
    .bind(user)
    .fetch_optional(pool)
    .await?;
    let (login, email, secret, last_step, locked_for) =
        row.ok_or(AccountsError::NotFound("account"))?;
    // Keyed by the account, whatever login the password was typed with.
    limits.check_login(ip, &format!("account:{user}")).await?;
    if let Some(secs) = locked_for.filter(|s| *s > 0) {
        return Err(AccountsError::RateLimited(
            u64::try_from(secs).unwrap_or(3600),
        ));
    }
    let code = code.trim();
    let good = if code.len() > 64 {
        false
    } else if code.starts_with(crate::passkeys::PROOF_PREFIX) {
        crate::passkeys::take_proof(pool, user, code).await?
    } else if code.len() == DIGITS && code.bytes().all(|b| b.is_ascii_digit()) {
        match secret {
            Some(secret) => take_totp(pool, user, &login, secret, last_step, code).await?,
            None => false,
        }
    } else {
        let spent = sqlx::query(
            "UPDATE recovery_codes SET used_at = now()
              WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
        )
        .bind(user)
        .bind(recovery_hash(code))
        .execute(pool)
        .await?
        .rows_affected()
            == 1;
        if spent {
            let mut conn = pool.acquire().await?;
            cloudcast_core::outbox::queue(
                &mut conn,
                Some(user),
                &email,
                "recovery_code_used",
                "A recovery code of your Cloudcast account was used",
                "Hello,\n\nOne of your recovery codes was just used to confirm a sign-in or a \
                 change. If this was not you, reset your password and remove the authenticator \
                 app from Settings, then set it up again.\n",
            )
            .await?;
        }
        spent
    };
    record_attempt(pool, user, &email, good).await?;
    Ok(good)
}

/// A TOTP code of the step before, now or after that is later than the
/// last one taken: taken now (once, whoever asks at the same moment).
async fn take_totp(
    pool: &sqlx::PgPool,
    user: Uuid,
    login: &str,
    secret: Vec<u8>,
    last_step: i64,
    code: &str,
) -> Result<bool, AccountsError> {
    let t = totp(secret, login)?;
    let step = now_secs() / STEP_SECS;
    for s in [step.saturating_sub(1), step, step + 1] {
        let s_i64 = i64::try_from(s).unwrap_or(i64::MAX);
        if s_i64 <= last_step || t.generate(s * STEP_SECS) != code {
            continue;
        }
        let taken = sqlx::query(
            "UPDATE totp_factors SET last_step = $2 WHERE user_id = $1 AND last_step < $2",
        )
        .bind(user)
        .bind(s_i64)
        .execute(pool)
        .await?
        .rows_affected();
        return Ok(taken == 1);
    }
    Ok(false)
}

/// Wrong codes in a row before the account takes none for a while.
const FAILURES_BEFORE_LOCK: i32 = 10;

/// Counts a wrong code across challenges (a new challenge costs only the
/// password): past [`FAILURES_BEFORE_LOCK`] no code is taken for an hour,
/// doubling with each further ten, and the owner is mailed. A right code
/// starts the count again.
async fn record_attempt(
    pool: &sqlx::PgPool,
    user: Uuid,
    email: &str,
    good: bool,
) -> Result<(), AccountsError> {
    if good {
        sqlx::query("UPDATE totp_factors SET failures = 0, locked_until = NULL WHERE user_id = $1")
            .bind(user)
            .execute(pool)
            .await?;
        return Ok(());
    }
    let locked: Option<i32> = sqlx::query_scalar(
        "UPDATE totp_factors SET failures = failures + 1,
                locked_until = CASE WHEN (failures + 1) % $2 = 0
                    THEN now() + make_interval(hours => LEAST(1 << ((failures + 1) / $2 - 1), 64))
                    ELSE locked_until END
          WHERE user_id = $1 AND confirmed_at IS NOT NULL
          RETURNING CASE WHEN failures % $2 = 0 THEN failures END",
    )
    .bind(user)
    .bind(FAILURES_BEFORE_LOCK)
    .fetch_optional(pool)
    .await?
    .flatten();
    if let Some(n) = locked {
        tracing::warn!(user_id = %user, failures = n, "second factor locked after wrong codes");
        let mut conn = pool.acquire().await?;
        cloudcast_core::outbox::queue(
            &mut conn,
            Some(user),
            email,
            "second_factor_locked",
            "Wrong codes were tried on your Cloudcast account",
            &format!(
                "Hello,\n\n{n} wrong codes were tried after your password was given right, so your \
                 account takes no code for a while. If this was not you, your password is known \
                 to someone: reset it now.\n"
            ),
        )
        .await?;
    }
    Ok(())
}

/// For the actions that ask for the password again: nothing more without a
/// factor (an authenticator app or a passkey); with one, a good code (403 `second_factor_required` without
/// one, `wrong_code` for a bad one).
pub async fn require_code(
    pool: &sqlx::PgPool,
    limits: &SigninLimits,
    ip: IpAddr,
    user: Uuid,
    code: Option<&str>,
) -> Result<(), AccountsError> {
    if !enrolled(pool, user).await? {
        return Ok(());
    }
    let code = code.ok_or(AccountsError::SecondFactorRequired)?;
    if check_code(pool, limits, ip, user, code).await? {
        Ok(())
    } else {
        Err(AccountsError::WrongCode)
    }
}

/// What a stolen session alone must not do asks for the person again: the
/// password (`passwords::confirm_password`, in the sign-in buckets) and,
/// with a factor enrolled, a code ([`require_code`]: the authenticator
/// app's, a recovery code, or the one-time code a passkey gives,
/// `passkeys::answer_assertion`). `Ok(false)`
/// for a wrong password (each caller answers it its own way); a missing or
/// wrong code is an error.
pub async fn confirm_identity(
    pool: &sqlx::PgPool,
    limits: &SigninLimits,
    ip: IpAddr,
    user: Uuid,
    password: String,
    code: Option<&str>,
) -> Result<bool, AccountsError> {
    if !confirm_password(pool, limits, ip, user, password).await? {
        return Ok(false);
    }
    require_code(pool, limits, ip, user, code).await?;
    Ok(true)
}

/// [`confirm_identity`] for the account's own settings, where a wrong
/// password is 403 `wrong_password`.
pub async fn require_identity(
    state: &AccountsState,
    ip: IpAddr,
    user: Uuid,
    password: String,
    code: Option<&str>,
) -> Result<(), AccountsError> {
    if confirm_identity(&state.pool, &state.limits, ip, user, password, code).await? {
        Ok(())
    } else {
        Err(AccountsError::WrongPassword)
    }
}

/// A challenge for `user`, whose password was right: the token to send
/// back with the code (only its hash is kept).
pub async fn open_challenge(pool: &sqlx::PgPool, user: Uuid) -> Result<String, AccountsError> {
    let (token, hash) = new_token();
    sqlx::query("DELETE FROM signin_challenges WHERE expires_at < now()")
        .execute(pool)
        .await?;
    sqlx::query(
        "INSERT INTO signin_challenges (token_hash, user_id, expires_at)
         VALUES ($1, $2, now() + make_interval(secs => $3))",
    )
    .bind(hash)
    .bind(user)
    .bind(CHALLENGE_SECS as f64)
    .execute(pool)
    .await?;
    Ok(token)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecondStep {
    /// From the 401 `second_factor_required` answer to the password.
    #[schema(max_length = 100)]
    pub challenge: String,
    /// The authenticator app's 6 digits, or a recovery code.
    #[schema(max_length = 64)]
    pub code: String,
}

/// `POST /api/v1/sessions/second-factor`: the code after a right password.
#[utoipa::path(post, path = "/api/v1/sessions/second-factor", tag = "accounts",
    summary = "Finish signing in with the code of my authenticator app (or a recovery code)",
    request_body = SecondStep,
    responses(
        (status = 200, description = "A bearer token (and the session cookie)", body = crate::sessions::SessionCreated),
        (status = 401, description = "The challenge is unknown, expired or used up, or the code is wrong (`invalid_credentials`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 429, description = "Too many attempts (Retry-After)", body = cloudcast_core::apidoc::ErrorBody)))]
pub async fn second_step(
    State(state): State<AccountsState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<SecondStep>,
) -> Result<Response, AccountsError> {
    if req.challenge.len() > 100 {
        return Err(AccountsError::BadCredentials);
    }
    let hash = hash_token(&req.challenge);
    let user: Option<Uuid> = sqlx::query_scalar(
        "UPDATE signin_challenges SET attempts = attempts + 1
          WHERE token_hash = $1 AND expires_at > now() AND attempts < $2
          RETURNING user_id",
    )
    .bind(&hash)
    .bind(CHALLENGE_TRIES)
    .fetch_optional(&state.pool)
    .await?;
    let Some(user) = user else {
        return Err(AccountsError::BadCredentials);
    };
    let good = match check_code(&state.pool, &state.limits, peer.ip(), user, &req.code).await {
        Ok(good) => good,
        // Erased meanwhile: as any wrong answer.
        Err(AccountsError::NotFound(_)) => false,
        Err(e) => return Err(e),
    };
    if !good {
        tracing::info!(user_id = %user, "sign-in refused: wrong second factor");
        return Err(AccountsError::BadCredentials);
    }
    sqlx::query("DELETE FROM signin_challenges WHERE token_hash = $1")
        .bind(&hash)
        .execute(&state.pool)
        .await?;
    let resp = crate::sessions::open(&state, user, &headers).await?;
    tracing::info!(user_id = %user, "signed in with a second factor");
    Ok(resp)
}

/// My second factor.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SecondFactorStatus {
    /// An authenticator app is enrolled (and confirmed).
    pub totp: bool,
    /// Passkeys held (each also guards the sign-in).
    pub passkeys: i64,
    /// Recovery codes not used yet.
    pub recovery_codes_left: i64,
}

/// `GET /api/v1/me/second-factor`
#[utoipa::path(get, path = "/api/v1/me/second-factor", tag = "accounts",
    summary = "Whether my sign-in asks for a code, and my recovery codes left",
    responses(
        (status = 200, description = "My second factor", body = SecondFactorStatus),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn status(
    State(state): State<AccountsState>,
    AuthUser(user): AuthUser,
) -> Result<Json<SecondFactorStatus>, AccountsError> {
    let (left, passkeys): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL),
                (SELECT count(*) FROM passkeys WHERE user_id = $1)",
    )
    .bind(user)
    .fetch_one(&state.pool)
    .await?;
    Ok(Json(SecondFactorStatus {
        totp: totp_enrolled(&state.pool, user).await?,
        passkeys,
        recovery_codes_left: left,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordAgain {
    #[schema(max_length = 1024)]
    pub password: String,
    /// With a passkey enrolled: a recovery code, or the one-time code a
    /// passkey gives (`/api/v1/me/passkeys/assertion`).
    #[schema(max_length = 64)]
    pub code: Option<String>,
}

/// What an authenticator app is given.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TotpEnrolment {
    /// The secret in base32, to type in by hand.
    pub secret: String,
    /// `otpauth://totp/...`, what the QR code holds.
    pub otpauth_url: String,
    /// The QR code as an SVG image.
    pub qr_svg: String,
}

/// `POST /api/v1/me/second-factor/totp`: a new secret for my app (the
/// password asked again); it counts once a first code confirms it.
#[utoipa::path(post, path = "/api/v1/me/second-factor/totp", tag = "accounts",
    summary = "Start enrolling an authenticator app: its secret and QR code",
    request_body = PasswordAgain,
    responses(
        (status = 200, description = "The secret, its otpauth URL and QR code", body = TotpEnrolment),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 403, description = "The password is wrong (`wrong_password`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 409, description = "An app is enrolled already; remove it first (`already_enrolled`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 429, description = "Too many attempts", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn begin_totp(
    State(state): State<AccountsState>,
    AuthUser(user): AuthUser,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(req): ApiJson<PasswordAgain>,
) -> Result<Json<TotpEnrolment>, AccountsError> {
    if totp_enrolled(&state.pool, user).await? {
        return Err(AccountsError::AlreadyEnrolled);
    }
    // A passkey account's thief with the password must not add an app of
    // theirs: the person again, as for every such change.
    require_identity(&state, peer.ip(), user, req.password, req.code.as_deref()).await?;
    let username: String = sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
        .bind(user)
        .fetch_one(&state.pool)
        .await?;
    // 160 bits, as RFC 4226 recommends.
    let mut secret = vec![0u8; 20];
    rand::thread_rng().fill_bytes(&mut secret);
    let t = totp(secret.clone(), &username)?;
    // Never over a confirmed one (one confirmed since the check above).
    let started = sqlx::query(
        "INSERT INTO totp_factors (user_id, secret) VALUES ($1, $2)
         ON CONFLICT (user_id) DO UPDATE SET secret = EXCLUDED.secret, last_step = 0,
                failures = 0, locked_until = NULL, created_at = now()
          WHERE totp_factors.confirmed_at IS NULL",
    )
    .bind(user)
    .bind(&secret)
    .execute(&state.pool)
    .await?
    .rows_affected();
    if started == 0 {
        return Err(AccountsError::AlreadyEnrolled);
    }
    let otpauth_url = t.get_url();
    let qr_svg = qrcode::QrCode::new(otpauth_url.as_bytes())
        .map(|q| {
            q.render::<qrcode::render::svg::Color>()
                .min_dimensions(200, 200)
                .build()
        })
        .map_err(|e| AccountsError::InvalidField(format!("second factor: {e}")))?;
    Ok(Json(TotpEnrolment {
        secret: t.get_secret_base32(),
        otpauth_url,
        qr_svg,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FirstCode {
    /// The app's 6 digits.
    #[schema(max_length = 64)]
    pub code: String,
}

/// Shown once: keep them somewhere safe.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

/// `POST /api/v1/me/second-factor/totp/confirm`: the app's first code (within
/// 15 minutes of the start) turns the factor on; ten recovery codes are
/// made, shown this once; every other session of the account ends.
#[utoipa::path(post, path = "/api/v1/me/second-factor/totp/confirm", tag = "accounts",
    summary = "Confirm my authenticator app with its first code; my recovery codes, shown once",
    request_body = FirstCode,
    responses(
        (status = 200, description = "On; the recovery codes", body = RecoveryCodes),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 403, description = "The code is wrong (`wrong_code`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No enrolment started in the last 15 minutes", body = cloudcast_core::apidoc::ErrorBody),
        (status = 429, description = "Too many attempts", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn confirm_totp(
    State(state): State<AccountsState>,
    AuthUser(user): AuthUser,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<FirstCode>,
) -> Result<Json<RecoveryCodes>, AccountsError> {
    let pending: Option<(String, Vec<u8>)> = sqlx::query_as(
        "SELECT lower(u.username), f.secret FROM totp_factors f JOIN users u ON u.id = f.user_id
          WHERE f.user_id = $1 AND f.confirmed_at IS NULL
            AND f.created_at > now() - interval '15 minutes'",
    )
    .bind(user)
    .fetch_optional(&state.pool)
    .await?;
    let (login, secret) = pending.ok_or(AccountsError::NotFound("enrolment"))?;
    state
        .limits
        .check_login(peer.ip(), &format!("account:{user}"))
        .await?;
    let code = req.code.trim();
    let step = now_secs() / STEP_SECS;
    let t = totp(secret, &login)?;
    let matched = if code.len() == DIGITS {
        [step.saturating_sub(1), step, step + 1]
            .into_iter()
            .find(|s| t.generate(s * STEP_SECS) == code)
    } else {
        None
    };
    let Some(step_taken) = matched else {
        return Err(AccountsError::WrongCode);
    };
    let mut tx = state.pool.begin().await?;
    let email: String = sqlx::query_scalar(
        "UPDATE totp_factors f SET confirmed_at = now(), last_step = $2
           FROM users u WHERE f.user_id = $1 AND u.id = f.user_id AND f.confirmed_at IS NULL
         RETURNING u.email",
    )
    .bind(user)
    .bind(i64::try_from(step_taken).unwrap_or(i64::MAX))
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AccountsError::NotFound("enrolment"))?;
    // Someone who turns this on because a session may be stolen: every
    // other session ends, as on a new password.
    let keep = cloudcast_core::auth::credential(&headers)?.map(hash_token);
    cloudcast_core::auth::end_sessions(&mut tx, user, keep).await?;
    let codes = new_recovery_codes(&mut tx, user).await?;
    cloudcast_core::notify::security_event(
        &mut tx,
        user,
        &email,
        "second_factor_added",
        "Your Cloudcast sign-in now asks for a code",
        "Hello,\n\nAn authenticator app was just added to your account: signing in now asks \
         for its code after your password. If this was not you, reset your password and \
         write to us from the contact page.\n",
        "An authenticator app was added: signing in now asks for its code",
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user_id = %user, "second factor enrolled");
    Ok(Json(RecoveryCodes {
        recovery_codes: codes,
    }))
}

/// `POST /api/v1/me/second-factor/recovery-codes`: ten new recovery codes
/// (the person asked again); the old ones stop working.
#[utoipa::path(post, path = "/api/v1/me/second-factor/recovery-codes", tag = "accounts",
    summary = "Make new recovery codes (the old ones stop working)",
    request_body = PasswordAgain,
    responses(
        (status = 200, description = "Ten codes, shown this once", body = RecoveryCodes),
        (status = 403, description = "The password or code is wrong, or a code is needed (`wrong_password`, `wrong_code`, `second_factor_required`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 409, description = "No authenticator app or passkey: recovery codes would recover nothing (`no_second_factor`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 429, description = "Too many attempts", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn renew_recovery_codes(
    State(state): State<AccountsState>,
    AuthUser(user): AuthUser,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(req): ApiJson<PasswordAgain>,
) -> Result<Json<RecoveryCodes>, AccountsError> {
    if !enrolled(&state.pool, user).await? {
        return Err(AccountsError::NoSecondFactor);
    }
    require_identity(&state, peer.ip(), user, req.password, req.code.as_deref()).await?;
    let mut tx = state.pool.begin().await?;
    let codes = new_recovery_codes(&mut tx, user).await?;
    let email: String = sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
        .bind(user)
        .fetch_one(&mut *tx)
        .await?;
    cloudcast_core::outbox::queue(
        &mut tx,
        Some(user),
        &email,
        "recovery_codes_renewed",
        "New recovery codes for your Cloudcast account",
        "Hello,\n\nNew recovery codes were just made for your account; the old ones no longer \
         work. If this was not you, reset your password and write to us from the contact page.\n",
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user_id = %user, "recovery codes renewed");
    Ok(Json(RecoveryCodes {
        recovery_codes: codes,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveFactor {
    #[schema(max_length = 1024)]
    pub password: String,
    /// A code of the app, or a recovery code.
    #[schema(max_length = 64)]
    pub code: String,
}

/// `DELETE /api/v1/me/second-factor/totp`: password and a code; the app and
/// the recovery codes go, and the account's address is told.
#[utoipa::path(delete, path = "/api/v1/me/second-factor/totp", tag = "accounts",
    summary = "Remove my authenticator app (password and a code asked)",
    request_body = RemoveFactor,
    responses(
        (status = 204, description = "Removed; sign-in asks for the password alone"),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 403, description = "The password or the code is wrong (`wrong_password`, `wrong_code`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 429, description = "Too many attempts", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn remove_totp(
    State(state): State<AccountsState>,
    AuthUser(user): AuthUser,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(req): ApiJson<RemoveFactor>,
) -> Result<StatusCode, AccountsError> {
    require_identity(&state, peer.ip(), user, req.password, Some(&req.code)).await?;
    let mut tx = state.pool.begin().await?;
    sqlx::query("DELETE FROM totp_factors WHERE user_id = $1")
        .bind(user)
        .execute(&mut *tx)
        .await?;
    // The recovery codes stay while a passkey still guards the account
    // (they are its way back if every passkey is lost).
    sqlx::query(
        "DELETE FROM recovery_codes WHERE user_id = $1
            AND NOT EXISTS (SELECT 1 FROM passkeys WHERE user_id = $1)",
    )
    .bind(user)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM signin_challenges WHERE user_id = $1")
        .bind(user)
        .execute(&mut *tx)
        .await?;
    let (email, passkeys): (String, bool) = sqlx::query_as(
        "SELECT email, EXISTS (SELECT 1 FROM passkeys WHERE user_id = $1) FROM users WHERE id = $1",
    )
    .bind(user)
    .fetch_one(&mut *tx)
    .await?;
    let (body, detail) = if passkeys {
        (
            "Hello,\n\nThe authenticator app of your account was just removed: signing in asks \
             for one of your passkeys. If this was not you, reset your password and write to us \
             from the contact page.\n",
            "The authenticator app was removed: your passkeys still guard the sign-in",
        )
    } else {
        (
            "Hello,\n\nThe authenticator app of your account was just removed: signing in asks \
             for your password alone. If this was not you, reset your password and write to us \
             from the contact page.\n",
            "The authenticator app was removed: signing in asks for the password alone",
        )
    };
    cloudcast_core::notify::security_event(
        &mut tx,
        user,
        &email,
        "second_factor_removed",
        "Your Cloudcast sign-in no longer asks for an app's code",
        body,
        detail,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user_id = %user, "second factor removed");
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_vectors() {
        // RFC 6238 appendix B, SHA-1, 8 digits cut to our 6.
        let t = TOTP::new(
            Algorithm::SHA1,
            8,
            1,
            30,
            b"12345678901234567890".to_vec(),
            None,
            String::new(),
        )
        .expect("a valid TOTP");
        assert_eq!(t.generate(59), "94287082");
        assert_eq!(t.generate(1_111_111_109), "07081804");
    }

    #[test]
    fn recovery_codes_are_read_loosely_and_never_alike() {
        let c = new_recovery_code();
        assert_eq!(c.len(), 11);
        assert_eq!(
            recovery_hash(&c),
            recovery_hash(&c.to_uppercase().replace('-', " "))
        );
        assert_ne!(new_recovery_code(), new_recovery_code());
    }
}
