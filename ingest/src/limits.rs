//! Sign-in rate limits, per IP address and per login name (governor's
//! generic cell rate algorithm). Limits are per process; behind a load
//! balancer each ingest node enforces them on its share of the traffic.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::IngestError;

#[derive(Clone)]
pub struct LoginLimits {
    per_ip: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    per_account: Arc<DefaultKeyedRateLimiter<String>>,
    checks: Arc<AtomicU64>,
}

fn quota(per_minute: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN))
}

impl LoginLimits {
    pub fn new(per_ip_per_minute: u32, per_account_per_minute: u32) -> LoginLimits {
        LoginLimits {
            per_ip: Arc::new(RateLimiter::keyed(quota(per_ip_per_minute))),
            per_account: Arc::new(RateLimiter::keyed(quota(per_account_per_minute))),
            checks: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Counts one attempt; refuses with the seconds to wait when over a limit.
    pub fn check_login(&self, ip: IpAddr, login: &str) -> Result<(), IngestError> {
        // Forget idle keys now and then so the maps stay small.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
            self.per_ip.retain_recent();
            self.per_account.retain_recent();
        }
        let now = DefaultClock::default().now();
        let wait = |n: governor::NotUntil<_>| n.wait_time_from(now).as_secs().max(1);
        if let Err(n) = self.per_ip.check_key(&ip) {
            return Err(IngestError::RateLimited(wait(n)));
        }
        if let Err(n) = self.per_account.check_key(&login.to_string()) {
            return Err(IngestError::RateLimited(wait(n)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_limit_applies_across_ips_and_ip_limit_across_accounts() {
        let l = LoginLimits::new(4, 2);
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        assert!(l.check_login(a, "dj").is_ok());
        assert!(l.check_login(b, "dj").is_ok());
        assert!(matches!(l.check_login(a, "dj"), Err(IngestError::RateLimited(s)) if s >= 1));
        assert!(l.check_login(a, "other").is_ok());
        assert!(l.check_login(a, "third").is_ok());
        // a has used its 4 attempts, whatever the account; b has not.
        assert!(l.check_login(a, "fourth").is_err());
        assert!(l.check_login(b, "fourth").is_ok());
    }
}
