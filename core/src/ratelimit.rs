//! Per-key rate limits (governor's generic cell rate algorithm). Limits are
//! per process: behind a load balancer each node enforces its share.

use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

#[derive(Clone)]
pub struct KeyedLimit<K: Hash + Eq + Clone> {
    limiter: Arc<DefaultKeyedRateLimiter<K>>,
    checks: Arc<AtomicU64>,
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN)
}

impl<K: Hash + Eq + Clone> KeyedLimit<K> {
    pub fn per_minute(n: u32) -> Self {
        Self::with_quota(Quota::per_minute(nonzero(n)))
    }

    /// `n` per second sustained, with bursts of up to `burst`.
    pub fn per_second(n: u32, burst: u32) -> Self {
        Self::with_quota(Quota::per_second(nonzero(n)).allow_burst(nonzero(burst.max(n))))
    }

    fn with_quota(q: Quota) -> Self {
        KeyedLimit {
            limiter: Arc::new(RateLimiter::keyed(q)),
            checks: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Counts one request for `key`; `Err(seconds to wait)` when over the limit.
    pub fn check(&self, key: &K) -> Result<(), u64> {
        // Forget idle keys now and then so the map stays small.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(key).map_err(|n| {
            n.wait_time_from(DefaultClock::default().now())
                .as_secs()
                .max(1)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refuses_per_key() {
        let l: KeyedLimit<u8> = KeyedLimit::per_second(1, 3);
        for _ in 0..3 {
            assert!(l.check(&1).is_ok());
        }
        assert_eq!(l.check(&1), Err(1));
        assert!(l.check(&2).is_ok());
    }
}
