//! Per-key rate limits, both by the generic cell rate algorithm (GCRA).
//!
//! - [`SharedLimit`] keeps its cells in PostgreSQL, so every node behind the
//!   load balancer draws on one allowance: sign-in attempts and open-API
//!   keys, where N nodes must not give an attacker N times the tries.
//! - [`KeyedLimit`] (governor) keeps them in the process: for the hot path
//!   (heartbeats, thousands a second, where a statement per beat would make
//!   PostgreSQL the bottleneck) and for guards whose point is to spare
//!   PostgreSQL a query. Behind a load balancer each node enforces its own.

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

/// The server secret the cells' keys are hashed under.
const CELL_KEY_SECRET: &str = "rate_limit_cells";

/// A per-minute limit whose cells every node shares through PostgreSQL
/// (table `rate_limits`): one statement per check, atomic under
/// concurrency (the row lock of an upsert). A cell is named by a keyed
/// hash of what it counts (a login, an address, a key id), so the table
/// holds no login name and no whole address.
#[derive(Clone)]
pub struct SharedLimit {
    pool: sqlx::PgPool,
    /// The hashing secret, shared by every node (`server_secrets`), read
    /// on the first check.
    secret: Arc<tokio::sync::OnceCell<Vec<u8>>>,
    /// Names the limit, so one table holds them all.
    scope: &'static str,
    /// Time one request uses up, in milliseconds (a minute / n).
    interval_ms: f64,
    /// How far ahead the cell may run: a burst of n at once is allowed.
    tolerance_ms: f64,
    checks: Arc<AtomicU64>,
}

impl SharedLimit {
    pub fn per_minute(pool: sqlx::PgPool, scope: &'static str, n: u32) -> SharedLimit {
        Self::per(pool, scope, n, std::time::Duration::from_secs(60))
    }

    /// `n` per `window`, all of them at once if need be (a burst of `n`),
    /// then one every `window / n`.
    pub fn per(
        pool: sqlx::PgPool,
        scope: &'static str,
        n: u32,
        window: std::time::Duration,
    ) -> SharedLimit {
        let n = n.max(1);
        let interval_ms = window.as_millis() as f64 / f64::from(n);
        SharedLimit {
            pool,
            secret: Arc::new(tokio::sync::OnceCell::new()),
            scope,
            interval_ms,
            tolerance_ms: interval_ms * f64::from(n - 1),
            checks: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Counts one request for `key`: `Ok(Err(seconds to wait))` when over
    /// the limit (a refused request uses nothing up).
    pub async fn check(&self, key: &str) -> Result<Result<(), u64>, sqlx::Error> {
        let secret = self
            .secret
            .get_or_try_init(|| crate::secrets::shared_secret(&self.pool, CELL_KEY_SECRET))
            .await?;
        let key = cell_name(secret, self.scope, key);
        if self.checks.fetch_add(1, Ordering::Relaxed) % 256 == 255 {
            // Cells in the past allow as much as no cell: forget them.
            let pool = self.pool.clone();
            tokio::spawn(async move {
                if let Err(e) = sqlx::query("DELETE FROM rate_limits WHERE tat < now()")
                    .execute(&pool)
                    .await
                {
                    tracing::warn!(error = %e, "forgetting old rate-limit cells failed");
                }
            });
        }
        let allowed = sqlx::query(
            "INSERT INTO rate_limits AS r (scope, key, tat)
             VALUES ($1, $2, now() + $3 * interval '1 millisecond')
             ON CONFLICT (scope, key) DO UPDATE
                SET tat = greatest(r.tat, now()) + $3 * interval '1 millisecond'
              WHERE greatest(r.tat, now()) <= now() + $4 * interval '1 millisecond'",
        )
        .bind(self.scope)
        .bind(&key)
        .bind(self.interval_ms)
        .bind(self.tolerance_ms)
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1;
        if allowed {
            return Ok(Ok(()));
        }
        let wait: Option<f64> = sqlx::query_scalar(
            "SELECT extract(epoch FROM tat - now())::float8 - $3 / 1000.0
               FROM rate_limits WHERE scope = $1 AND key = $2",
        )
        .bind(self.scope)
        .bind(&key)
        .bind(self.tolerance_ms)
        .fetch_optional(&self.pool)
        .await?;
        Ok(Err(wait_secs(wait.unwrap_or(1.0))))
    }
}

/// The cell of `key` in `scope`: HMAC-SHA256 under the shared secret, hex.
fn cell_name(secret: &[u8], scope: &str, key: &str) -> String {
    use hmac::Mac;
    let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(scope.as_bytes());
    mac.update(&[0]);
    mac.update(key.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whole seconds to wait, at least one.
fn wait_secs(secs: f64) -> u64 {
    if secs.is_finite() && secs > 1.0 {
        secs.ceil() as u64
    } else {
        1
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

    #[test]
    fn cells_name_neither_the_login_nor_the_address() {
        let a = cell_name(b"secret", "signin_login", "er_dj");
        assert_eq!(a.len(), 64);
        assert!(!a.contains("er_dj"));
        assert_eq!(a, cell_name(b"secret", "signin_login", "er_dj"));
        assert_ne!(a, cell_name(b"secret", "signin_ip", "er_dj"));
        assert_ne!(a, cell_name(b"other", "signin_login", "er_dj"));
    }

    #[test]
    fn waits_are_whole_seconds_of_at_least_one() {
        assert_eq!(wait_secs(0.2), 1);
        assert_eq!(wait_secs(-3.0), 1);
        assert_eq!(wait_secs(f64::NAN), 1);
        assert_eq!(wait_secs(14.1), 15);
    }
}
