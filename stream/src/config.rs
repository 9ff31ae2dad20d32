//! The `[stream]` section: signed URLs, the chunk cache and the heartbeat
//! intake's rate.

use std::time::Duration;

use cloudcast_core::config::{Checked, Checks, Secret, units};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StreamConfig {
    /// HMAC key for signed stream URLs. Empty: a random key generated once
    /// and kept in PostgreSQL, so every node of one installation shares it.
    pub signing_key: Secret,
    /// Lifetime of signed stream URLs.
    #[serde(rename = "url_ttl_secs", with = "units::secs")]
    pub url_ttl: Duration,
    /// Bytes of rendition chunks kept in memory per stream node.
    pub cache_bytes: u64,
    /// Size of one cached chunk (S3 is read in aligned chunks of this size).
    pub chunk_bytes: u64,
    /// Longest wait for S3 before a request is answered 503.
    #[serde(rename = "s3_timeout_ms", with = "units::millis")]
    pub s3_timeout: Duration,
    /// Heartbeat requests allowed per client IP per second (sustained).
    pub intake_per_ip_per_sec: u32,
    /// Heartbeat requests one IP may send in a burst above the sustained rate.
    pub intake_burst: u32,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            signing_key: Secret::default(),
            url_ttl: Duration::from_secs(6 * 3600),
            cache_bytes: 256 * 1024 * 1024,
            chunk_bytes: 256 * 1024,
            s3_timeout: Duration::from_millis(3000),
            intake_per_ip_per_sec: 20,
            intake_burst: 60,
        }
    }
}

impl Checked for StreamConfig {
    fn check(&self, c: &mut Checks) {
        c.duration_at_least("stream.url_ttl_secs", self.url_ttl, Duration::from_secs(60));
        c.at_least("stream.chunk_bytes", self.chunk_bytes, 4096);
        c.check(
            self.cache_bytes >= self.chunk_bytes,
            "stream.cache_bytes",
            || {
                format!(
                    "must hold at least one chunk ({} bytes; it is {})",
                    self.chunk_bytes, self.cache_bytes
                )
            },
        );
        c.duration_at_least(
            "stream.s3_timeout_ms",
            self.s3_timeout,
            Duration::from_millis(1),
        );
        c.at_least(
            "stream.intake_per_ip_per_sec",
            self.intake_per_ip_per_sec,
            1,
        );
        c.check(
            self.intake_burst >= self.intake_per_ip_per_sec,
            "stream.intake_burst",
            || {
                format!(
                    "must be at least stream.intake_per_ip_per_sec ({}; it is {})",
                    self.intake_per_ip_per_sec, self.intake_burst
                )
            },
        );
    }
}
