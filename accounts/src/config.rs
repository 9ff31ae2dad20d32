//! The `[auth]` and `[smtp]` sections: sessions, passwords, sign-in limits
//! and how account mail leaves. Whether the mailbox page may be shown
//! depends on `http.public_url`, so that rule is the binary's
//! (`src/config.rs`).

use std::time::Duration;

use cloudcast_core::config::{Checked, Checks, Secret, units};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Lifetime of bearer tokens.
    #[serde(rename = "token_ttl_secs", with = "units::secs")]
    pub token_ttl: Duration,
    /// Shortest accepted password, in characters.
    pub min_password_len: usize,
    /// Sign-in attempts allowed per minute from one IP address.
    pub login_per_minute_per_ip: u32,
    /// Sign-in attempts allowed per minute for one login name.
    pub login_per_minute_per_account: u32,
    /// Lifetime of email verification links.
    #[serde(rename = "verification_ttl_secs", with = "units::secs")]
    pub verification_ttl: Duration,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            token_ttl: Duration::from_secs(30 * 24 * 3600),
            min_password_len: 10,
            login_per_minute_per_ip: 30,
            login_per_minute_per_account: 5,
            verification_ttl: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// How mail reaches the SMTP relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain SMTP, for a relay on loopback.
    None,
    Starttls,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    /// SMTP relay host; empty: mail stays in the outbox for `cloudcast admin outbox`.
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: String,
    pub password: Secret,
    pub from: String,
    /// For a machine of one's own: every mail queued is shown at
    /// `/mailbox`, to loopback clients only, so a sign-up's link can be
    /// opened without a relay. Refused unless `http.public_url` (or the
    /// listening address when it is empty) is a loopback address.
    pub mailbox_page: bool,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 25,
            security: SmtpSecurity::Starttls,
            username: String::new(),
            password: Secret::default(),
            from: "Cloudcast <no-reply@localhost>".into(),
            mailbox_page: false,
        }
    }
}

impl Checked for AuthConfig {
    fn check(&self, c: &mut Checks) {
        let minute = Duration::from_secs(60);
        c.duration_at_least("auth.token_ttl_secs", self.token_ttl, minute);
        c.at_least("auth.min_password_len", self.min_password_len, 8);
        c.check(
            self.min_password_len <= 1024,
            "auth.min_password_len",
            || "must be at most 1024".into(),
        );
        c.at_least(
            "auth.login_per_minute_per_ip",
            self.login_per_minute_per_ip,
            1,
        );
        c.at_least(
            "auth.login_per_minute_per_account",
            self.login_per_minute_per_account,
            1,
        );
        c.duration_at_least("auth.verification_ttl_secs", self.verification_ttl, minute);
    }
}

impl Checked for SmtpConfig {
    fn check(&self, c: &mut Checks) {
        c.check(
            self.host.is_empty() || self.from.contains('@'),
            "smtp.from",
            || {
                format!(
                    "must be a mailbox such as `Cloudcast <no-reply@example.org>` (it is {:?})",
                    self.from
                )
            },
        );
    }
}
