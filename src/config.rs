//! The whole configuration: every crate's section composed, loaded in
//! layers (`cloudcast_core::config`) and checked at start. Each section's
//! struct, defaults and rules live with the crate that reads it; here are
//! only the composition and the rules that span two sections.

use std::path::Path;

use figment::providers::Env;
use serde::{Deserialize, Serialize};

use cloudcast_accounts::config::{AuthConfig, PoliciesConfig, SmtpConfig};
use cloudcast_analytics::config::{AnalyticsConfig, ClickhouseConfig};
use cloudcast_core::config::{
    self as layers, Checked, Checks, ConfigError, HttpConfig, LimitsConfig, PostgresConfig,
    QuotasConfig, S3Config, is_loopback_url, public_url,
};
use cloudcast_ingest::config::UploadsConfig;
use cloudcast_moderation::config::ModerationConfig;
use cloudcast_notifications::config::NotificationsConfig;
use cloudcast_privacy::config::PrivacyConfig;
use cloudcast_stream::config::StreamConfig;
use cloudcast_transcode::config::TranscodeConfig;

/// One field per `[section]` of `cloudcast.example.toml`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub http: HttpConfig,
    pub postgres: PostgresConfig,
    pub clickhouse: ClickhouseConfig,
    pub s3: S3Config,
    pub auth: AuthConfig,
    pub uploads: UploadsConfig,
    pub transcode: TranscodeConfig,
    pub stream: StreamConfig,
    pub analytics: AnalyticsConfig,
    pub privacy: PrivacyConfig,
    pub notifications: NotificationsConfig,
    pub policies: PoliciesConfig,
    pub moderation: ModerationConfig,
    pub smtp: SmtpConfig,
    pub limits: LimitsConfig,
    pub quotas: QuotasConfig,
}

impl Config {
    /// Defaults, then the TOML file (if it exists), then `CLOUDCAST__*` env;
    /// checked.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load_from(file, Env::prefixed("CLOUDCAST__").split("__"))
    }

    /// [`Config::load`] with the environment given (tests pass their own).
    pub fn load_from(file: Option<&Path>, env: Env) -> Result<Config, ConfigError> {
        layers::load(file, env)
    }

    /// Every rule a value must keep; the error names each key that breaks one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        Checked::validate(self)
    }

    /// The base URL clients reach this server at, without a trailing slash.
    pub fn public_url(&self) -> String {
        public_url(&self.http)
    }
}

impl Checked for Config {
    fn check(&self, c: &mut Checks) {
        self.http.check(c);
        self.postgres.check(c);
        self.clickhouse.check(c);
        self.s3.check(c);
        self.limits.check(c);
        self.quotas.check(c);
        self.auth.check(c);
        self.smtp.check(c);
        self.uploads.check(c);
        self.transcode.check(c);
        self.stream.check(c);
        self.analytics.check(c);
        self.privacy.check(c);
        self.notifications.check(c);
        self.policies.check(c);
        self.moderation.check(c);

        // Spans two sections: the page is only for a machine of one's own.
        c.check(
            !self.smtp.mailbox_page || is_loopback_url(&self.public_url()),
            "smtp.mailbox_page",
            || {
                format!(
                    "shows every mail, links included, so it is only for a machine of one's own: \
                     http.public_url must be a loopback address (it is {:?})",
                    self.public_url()
                )
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use cloudcast_core::config::{Secret, from_toml, invalid_keys};

    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        from_toml(text)
    }

    #[test]
    fn the_mailbox_page_is_for_loopback_only() {
        let mut c = Config::default();
        c.smtp.mailbox_page = true;
        c.http.public_url = "https://cloudcast.example".into();
        assert!(c.validate().is_err());
        c.http.public_url = "http://127.0.0.1:8080".into();
        assert!(c.validate().is_ok());
    }

    #[test]
    fn example_config_matches_the_structure_and_the_defaults() {
        let text = include_str!("../cloudcast.example.toml");
        let parsed = parse(text).unwrap_or_else(|e| panic!("{e}: {e:?}"));
        // Every key the example shows is the default.
        assert_eq!(format!("{parsed:?}"), format!("{:?}", Config::default()));
    }

    #[test]
    fn the_example_documents_every_key() {
        use figment::providers::{Format, Toml};
        let example: serde_json::Value =
            figment::Figment::from(Toml::string(include_str!("../cloudcast.example.toml")))
                .extract()
                .unwrap_or_else(|e| panic!("{e}"));
        let defaults = serde_json::to_value(Config::default()).unwrap_or_default();
        let sections = defaults.as_object().cloned().unwrap_or_default();
        assert_eq!(sections.len(), 16);
        let mut missing = Vec::new();
        for (section, keys) in sections {
            for key in keys.as_object().map(|o| o.keys()).into_iter().flatten() {
                if example.get(&section).and_then(|s| s.get(key)).is_none() {
                    missing.push(format!("{section}.{key}"));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "not in cloudcast.example.toml: {missing:?}"
        );
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(matches!(
            parse("[http]\nlisen = \"1.2.3.4:5\"\n"),
            Err(ConfigError::Parse(_))
        ));
    }

    #[test]
    fn units_are_read_in_the_keys_unit() {
        let c = parse("[analytics]\nflush_ms = 250\n[privacy]\nexport_ttl_hours = 2\n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.analytics.flush, Duration::from_millis(250));
        assert_eq!(c.privacy.export_ttl, Duration::from_secs(7200));
    }

    #[test]
    fn invalid_values_name_their_keys() {
        let e = parse(
            "[analytics]\nflush_ms = 0\n[s3]\nbucket = \"My_Bucket\"\n[stream]\nintake_burst = 1\n",
        );
        let e = e.err().unwrap_or_else(|| panic!("accepted"));
        let message = e.to_string();
        assert!(message.contains("analytics.flush_ms"), "{message}");
        assert_eq!(
            invalid_keys(e),
            ["s3.bucket", "stream.intake_burst", "analytics.flush_ms"]
        );
        let e = parse("[transcode]\nladder_kbps = []\n").err();
        assert_eq!(e.map(invalid_keys), Some(vec!["transcode.ladder_kbps"]));
        let e = parse("[smtp]\nsecurity = \"tls\"\n").err();
        assert!(matches!(e, Some(ConfigError::Parse(_))), "{e:?}");
        let shown = e.map(|e| e.to_string()).unwrap_or_default();
        assert!(shown.contains("`smtp.security`"), "{shown}");
    }

    #[test]
    fn the_defaults_are_valid() {
        assert!(Config::default().validate().is_ok());
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let mut c = Config::default();
        c.s3.secret_key = Secret::new("s3-secret-value");
        c.smtp.password = Secret::new("smtp-secret-value");
        c.clickhouse.password = Secret::new("ch-secret-value");
        c.stream.signing_key = Secret::new("signing-secret-value");
        c.postgres.url = "postgres://cc:pg-secret-value@db.example:5432/cc".into();
        let shown = format!("{c:?} {c:#?}");
        for secret in [
            "s3-secret-value",
            "smtp-secret-value",
            "ch-secret-value",
            "signing-secret-value",
            "pg-secret-value",
        ] {
            assert!(!shown.contains(secret), "{secret} shown in {shown}");
        }
        assert!(shown.contains("postgres://cc:[redacted]@db.example:5432/cc"));
        assert!(shown.contains("[redacted]"));
        // The values are still there for the code that needs them.
        assert_eq!(c.s3.secret_key.expose(), "s3-secret-value");
    }

    #[test]
    // figment's Jail fixes the closure's error type.
    #[allow(clippy::result_large_err)]
    fn the_environment_is_a_layer() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("CC_TEST__ANALYTICS__FLUSH_MS", "0");
            let e = Config::load_from(None, Env::prefixed("CC_TEST__").split("__")).err();
            assert_eq!(e.map(invalid_keys), Some(vec!["analytics.flush_ms"]));
            jail.set_env("CC_TEST__ANALYTICS__FLUSH_MS", "200");
            let c = Config::load_from(None, Env::prefixed("CC_TEST__").split("__"))
                .map_err(|e| figment::Error::from(e.to_string()))?;
            assert_eq!(c.analytics.flush, Duration::from_millis(200));
            Ok(())
        });
    }
}
