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

/// One version of a policy document.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyVersion {
    /// Its name, as people and the API refer to it (for example the date).
    pub version: String,
    /// The day it takes effect, `YYYY-MM-DD` (UTC). A later day is
    /// announced at once and takes effect then.
    pub effective: String,
    /// What changed, in a sentence or two: the banner and the mail say it.
    pub summary: String,
    /// The Markdown text, relative to [`PoliciesConfig::dir`].
    pub file: std::path::PathBuf,
}

impl PolicyVersion {
    /// [`PolicyVersion::effective`] as a date (checked at start).
    pub fn effective_date(&self) -> Option<time::Date> {
        time::Date::parse(
            &self.effective,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .ok()
    }
}

/// The `[policies]` section: the privacy policy and terms the site
/// publishes, and the consent default the operator's law asks for.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoliciesConfig {
    /// The folder the versions' files are named in (relative to the
    /// working directory), as `http.web_dir` is for the pages' assets.
    pub dir: std::path::PathBuf,
    /// Every version of the privacy policy, oldest first: shown, not forced.
    pub privacy: Vec<PolicyVersion>,
    /// Every version of the terms, oldest first: accepted before the API
    /// is used (none: no acceptance is asked).
    pub terms: Vec<PolicyVersion>,
    /// Personalised ads until withdrawn (the policy's opt-out), for
    /// operators outside the EU. Off (the default): consent is given, not
    /// presumed, as the GDPR and ePrivacy rules ask.
    pub ads_opt_out: bool,
    /// Accounts mailed per batch when a new version is announced.
    pub announce_batch: u32,
    /// How often announcements go on.
    #[serde(rename = "announce_secs", with = "units::secs")]
    pub announce_every: Duration,
}

/// A version of a document shipped under `docs/policies/`.
fn shipped(version: &str, summary: &str, file: &str) -> PolicyVersion {
    PolicyVersion {
        version: version.into(),
        effective: version.into(),
        summary: summary.into(),
        file: file.into(),
    }
}

impl Default for PoliciesConfig {
    /// The example texts shipped in the repository (run from its root); an
    /// operator names their own.
    fn default() -> Self {
        Self {
            dir: "docs/policies".into(),
            privacy: vec![
                shipped("2009-01-01", "The first version.", "privacy-2009-01-01.md"),
                shipped(
                    "2026-12-07",
                    "Personalised ads need your consent; your listening activity may be private; \
                     the contact page's Reports option; an alternative contact for security \
                     notices; changes are announced by mail and on your next visit.",
                    "privacy-2026-12-07.md",
                ),
            ],
            terms: vec![shipped(
                "2026-12-07",
                "The first version.",
                "terms-2026-12-07.md",
            )],
            ads_opt_out: false,
            announce_batch: 500,
            announce_every: Duration::from_secs(30),
        }
    }
}

impl Checked for PoliciesConfig {
    fn check(&self, c: &mut Checks) {
        for (field, versions) in [
            ("policies.privacy", &self.privacy),
            ("policies.terms", &self.terms),
        ] {
            let mut seen = std::collections::HashSet::new();
            let mut last = None;
            for v in versions {
                c.check(
                    !v.version.trim().is_empty()
                        && v.version.len() <= 64
                        && v.version
                            .chars()
                            .all(|ch| ch.is_ascii_alphanumeric() || "-._".contains(ch)),
                    field,
                    || {
                        format!(
                            "version {:?}: use 1 to 64 letters, digits, '-', '.' or '_'",
                            v.version
                        )
                    },
                );
                c.check(seen.insert(v.version.clone()), field, || {
                    format!("version {:?} is listed twice", v.version)
                });
                let day = v.effective_date();
                c.check(day.is_some(), field, || {
                    format!("version {:?}: effective must be YYYY-MM-DD", v.version)
                });
                c.check(day >= last, field, || {
                    format!(
                        "version {:?}: list versions oldest first (by effective day)",
                        v.version
                    )
                });
                last = day;
                c.check(!v.summary.trim().is_empty(), field, || {
                    format!("version {:?}: a summary of changes is needed", v.version)
                });
                // The file itself is read at start (`policies::sync`), which
                // names it when it is missing.
            }
        }
        c.at_least("policies.announce_batch", self.announce_batch, 1);
        c.duration_at_least(
            "policies.announce_secs",
            self.announce_every,
            Duration::from_millis(100),
        );
    }
}
