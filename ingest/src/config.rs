//! The `[uploads]` section: how large and how long an upload may be, and
//! the size of its parts. The picture limits are read by the crates that
//! take pictures (accounts, catalog), handed their values by the binary.

use std::time::Duration;

use cloudcast_core::config::{Checked, Checks, MIB, units};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UploadsConfig {
    /// Largest upload accepted (tus `Tus-Max-Size`), in bytes.
    pub max_size: u64,
    /// Smallest S3 multipart part size; raised per upload so no upload needs
    /// more than 10,000 parts. S3 requires at least 5 MiB.
    pub min_part_size: u64,
    /// Largest single PATCH body, in bytes.
    pub max_chunk: u64,
    /// An unfinished upload expires this long after its last byte (tus expiration).
    #[serde(rename = "expiry_secs", with = "units::secs")]
    pub expiry: Duration,
    /// How often expired uploads are swept.
    #[serde(rename = "sweep_secs", with = "units::secs")]
    pub sweep: Duration,
    /// Longest accepted audio; longer uploads are rejected.
    #[serde(rename = "max_duration_secs", with = "units::secs")]
    pub max_duration: Duration,
    /// Largest avatar image, in bytes.
    pub max_avatar_bytes: usize,
    /// Largest cover picture upload, in bytes (it is resized; the original
    /// is not kept).
    pub max_picture_bytes: usize,
}

impl Default for UploadsConfig {
    fn default() -> Self {
        Self {
            max_size: 5 * 1024 * 1024 * 1024,
            min_part_size: 8 * 1024 * 1024,
            max_chunk: 100 * 1024 * 1024,
            expiry: Duration::from_secs(7 * 24 * 3600),
            sweep: Duration::from_secs(60),
            max_duration: Duration::from_secs(6 * 3600),
            max_avatar_bytes: 2 * 1024 * 1024,
            max_picture_bytes: 8 * 1024 * 1024,
        }
    }
}

impl Checked for UploadsConfig {
    fn check(&self, c: &mut Checks) {
        c.at_least("uploads.max_size", self.max_size, 1);
        c.at_least("uploads.min_part_size", self.min_part_size, 5 * MIB);
        c.at_least("uploads.max_chunk", self.max_chunk, 1);
        let second = Duration::from_secs(1);
        c.duration_at_least("uploads.expiry_secs", self.expiry, second);
        c.duration_at_least("uploads.sweep_secs", self.sweep, second);
        c.duration_at_least("uploads.max_duration_secs", self.max_duration, second);
        c.at_least("uploads.max_avatar_bytes", self.max_avatar_bytes, 1024);
        c.at_least("uploads.max_picture_bytes", self.max_picture_bytes, 1024);
    }
}
