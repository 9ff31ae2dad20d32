//! Sign-in rate limits, per IP address and per login name. One instance is
//! shared by sign-in and by everything else that checks a password (account
//! deletion, changes of password and email), so guesses there and here add
//! up; the counts live in PostgreSQL, so they add up across nodes too.

use std::net::IpAddr;

use cloudcast_core::netaddr::canonical;
use cloudcast_core::ratelimit::SharedLimit;

use crate::AccountsError;

#[derive(Clone)]
pub struct SigninLimits {
    per_ip: SharedLimit,
    per_account: SharedLimit,
}

impl SigninLimits {
    pub fn new(
        pool: sqlx::PgPool,
        per_ip_per_minute: u32,
        per_account_per_minute: u32,
    ) -> SigninLimits {
        SigninLimits {
            per_ip: SharedLimit::per_minute(pool.clone(), "signin_ip", per_ip_per_minute),
            per_account: SharedLimit::per_minute(pool, "signin_login", per_account_per_minute),
        }
    }

    /// Counts one attempt; refuses with the seconds to wait when over a limit.
    pub async fn check_login(&self, ip: IpAddr, login: &str) -> Result<(), AccountsError> {
        let ip = canonical(ip).to_string();
        self.per_ip
            .check(&ip)
            .await?
            .map_err(AccountsError::RateLimited)?;
        self.per_account
            .check(&login.to_lowercase())
            .await?
            .map_err(AccountsError::RateLimited)
    }
}
