//! The `[privacy]` section: exports, API keys and the erasure window.

use std::time::Duration;

use cloudcast_core::config::{Checked, Checks, units};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrivacyConfig {
    /// Data exports whose heartbeats number at most this are built while the
    /// request waits; larger ones are built in the background.
    pub export_inline_beats: u64,
    /// How long a finished export archive stays downloadable.
    #[serde(rename = "export_ttl_hours", with = "units::hours")]
    pub export_ttl: Duration,
    /// Requests per minute allowed to one open-API key.
    pub api_key_per_minute: u32,
    /// Keys one account may hold.
    pub api_keys_per_user: u32,
    /// Background exports one node builds at once (0: this node builds none).
    pub export_builders: u32,
    /// How long a builder's lease on an export lasts unrenewed: how soon
    /// another node takes over the exports of a node that never comes back.
    #[serde(rename = "export_lease_secs", with = "units::secs")]
    pub export_lease: Duration,
    /// Builds an export may be cut off (by restarts) before it is failed.
    pub export_attempts: u32,
    /// Erasures and cloudcast deletions due within this window are applied
    /// to ClickHouse together, one mutation per table.
    #[serde(rename = "erasure_window_secs", with = "units::secs")]
    pub erasure_window: Duration,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        Self {
            export_inline_beats: 100_000,
            export_ttl: Duration::from_secs(168 * 3600),
            api_key_per_minute: 600,
            api_keys_per_user: 10,
            export_builders: 1,
            export_lease: Duration::from_secs(30),
            export_attempts: 3,
            erasure_window: Duration::from_secs(600),
        }
    }
}

impl Checked for PrivacyConfig {
    fn check(&self, c: &mut Checks) {
        c.duration_at_least(
            "privacy.export_ttl_hours",
            self.export_ttl,
            Duration::from_secs(3600),
        );
        c.at_least("privacy.api_key_per_minute", self.api_key_per_minute, 1);
        c.at_least("privacy.api_keys_per_user", self.api_keys_per_user, 1);
        // Renewed every third of it: under 3 s a busy database could let a
        // live build be taken over.
        c.duration_at_least(
            "privacy.export_lease_secs",
            self.export_lease,
            Duration::from_secs(3),
        );
        c.at_least("privacy.export_attempts", self.export_attempts, 1);
    }
}
