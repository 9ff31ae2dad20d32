//! Passwords: argon2id (the crate's default parameters), hashed and
//! verified on a blocking thread so hashing never stalls the async runtime.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use std::net::IpAddr;

use uuid::Uuid;

use crate::{AccountsError, SigninLimits};

/// Longest password accepted, in bytes (hashing cost grows with length).
pub const MAX_PASSWORD_BYTES: usize = 1024;

pub async fn hash_password(password: String) -> Result<String, AccountsError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(AccountsError::Hash)
    })
    .await?
}

pub async fn verify_password(password: String, hash: String) -> Result<bool, AccountsError> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash).map_err(AccountsError::Hash)?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await?
}

/// Is `given` the signed-in `user`'s password? Asked again before what a
/// stolen session alone must not do (erase the account, set a new password
/// or email); every try counts in the same buckets as signing in by
/// username, so guesses here and there add up.
pub async fn confirm_password(
    pool: &sqlx::PgPool,
    limits: &SigninLimits,
    ip: IpAddr,
    user: Uuid,
    given: String,
) -> Result<bool, AccountsError> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT lower(username), password_hash FROM users WHERE id = $1")
            .bind(user)
            .fetch_optional(pool)
            .await?;
    let (login, hash) = row.ok_or(AccountsError::NotFound("account"))?;
    limits.check_login(ip, &login).await?;
    Ok(given.len() <= MAX_PASSWORD_BYTES && verify_password(given, hash).await?)
}

/// Spends the time of a real check, so response timing does not reveal
/// which logins exist.
pub async fn verify_nothing(password: String) {
    let _ = verify_password(password, DUMMY_HASH.to_string()).await;
}

/// argon2id hash of a random password, used to equalise timing for unknown logins.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$4t7pYVJdXHxnMGtpqCMAf6tGKV3b3iDyzXvBgYtqvqU";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dummy_hash_parses() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
