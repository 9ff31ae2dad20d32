//! Sign-in rate limits, per IP address and per login name. One instance is
//! shared by sign-in and by everything else that checks a password (account
//! deletion), so guesses there and here add up.

use std::net::IpAddr;

use cloudcast_core::ratelimit::KeyedLimit;

use crate::AccountsError;

#[derive(Clone)]
pub struct SigninLimits {
    per_ip: KeyedLimit<IpAddr>,
    per_account: KeyedLimit<String>,
}

impl SigninLimits {
    pub fn new(per_ip_per_minute: u32, per_account_per_minute: u32) -> SigninLimits {
        SigninLimits {
            per_ip: KeyedLimit::per_minute(per_ip_per_minute),
            per_account: KeyedLimit::per_minute(per_account_per_minute),
        }
    }

    /// Counts one attempt; refuses with the seconds to wait when over a limit.
    pub fn check_login(&self, ip: IpAddr, login: &str) -> Result<(), AccountsError> {
        self.per_ip.check(&ip).map_err(AccountsError::RateLimited)?;
        self.per_account
            .check(&login.to_string())
            .map_err(AccountsError::RateLimited)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_limit_applies_across_ips_and_ip_limit_across_accounts() {
        let l = SigninLimits::new(4, 2);
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        assert!(l.check_login(a, "dj").is_ok());
        assert!(l.check_login(b, "dj").is_ok());
        assert!(matches!(l.check_login(a, "dj"), Err(AccountsError::RateLimited(s)) if s >= 1));
        assert!(l.check_login(a, "other").is_ok());
        assert!(l.check_login(a, "third").is_ok());
        // a has used its 4 attempts, whatever the account; b has not.
        assert!(l.check_login(a, "fourth").is_err());
        assert!(l.check_login(b, "fourth").is_ok());
    }
}
