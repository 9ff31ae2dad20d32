//! The `[moderation]` section: how long a person has to contest a decision
//! to erase an account reported as under 13, and how long the contact
//! page keeps a sender's contact after their case closes.

use std::time::Duration;

use cloudcast_core::config::{Checked, Checks, units};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModerationConfig {
    /// From a confirmed under-13 report to the erasure, unless an appeal
    /// succeeds: 14 days.
    #[serde(rename = "contest_secs", with = "units::secs")]
    pub contest: Duration,
    /// A contact case's sender name and address are kept this long after
    /// the case closes: 30 days.
    #[serde(rename = "contact_kept_secs", with = "units::secs")]
    pub contact_kept: Duration,
    /// How often due erasures and expired contacts are swept.
    #[serde(rename = "sweep_secs", with = "units::secs")]
    pub sweep: Duration,
}

impl Default for ModerationConfig {
    fn default() -> Self {
        Self {
            contest: Duration::from_secs(14 * 24 * 3600),
            contact_kept: Duration::from_secs(30 * 24 * 3600),
            sweep: Duration::from_secs(60),
        }
    }
}

impl Checked for ModerationConfig {
    fn check(&self, c: &mut Checks) {
        // Tests shorten them to seconds; zero would be no rule at all.
        let least = Duration::from_millis(100);
        c.duration_at_least("moderation.contest_secs", self.contest, least);
        c.duration_at_least("moderation.contact_kept_secs", self.contact_kept, least);
        c.duration_at_least("moderation.sweep_secs", self.sweep, least);
    }
}
