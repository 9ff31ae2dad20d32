//! The `[notifications]` section: live streams, and how often the
//! announcements and the mail go out.

use std::time::Duration;

use cloudcast_core::config::{Checked, Checks, units};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotificationsConfig {
    /// Live streams (server-sent events) one node keeps open; past this a
    /// page is told to poll instead. Each is an open connection and a task.
    pub max_streams: u32,
    /// How often a page that could not open a stream asks for its count.
    #[serde(rename = "poll_secs", with = "units::secs")]
    pub poll: Duration,
    /// How often newly listed mixes are announced to their DJ's followers
    /// (a scheduled mix is announced when its time comes).
    #[serde(rename = "announce_secs", with = "units::secs")]
    pub announce: Duration,
    /// How often notifications due by mail (at once, or in a digest that
    /// is due) are written to the outbox.
    #[serde(rename = "mail_secs", with = "units::secs")]
    pub mail: Duration,
}

impl Default for NotificationsConfig {
    fn default() -> Self {
        Self {
            max_streams: 5000,
            poll: Duration::from_secs(30),
            announce: Duration::from_secs(15),
            mail: Duration::from_secs(30),
        }
    }
}

impl Checked for NotificationsConfig {
    fn check(&self, c: &mut Checks) {
        c.duration_at_least("notifications.poll_secs", self.poll, Duration::from_secs(1));
        c.duration_at_least(
            "notifications.announce_secs",
            self.announce,
            Duration::from_secs(1),
        );
        c.duration_at_least("notifications.mail_secs", self.mail, Duration::from_secs(1));
    }
}
