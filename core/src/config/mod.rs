//! The layering of the configuration: built-in defaults, then
//! `cloudcast.toml` (or the file given with `--config`), then
//! `CLOUDCAST__SECTION__KEY` environment variables, then command-line flags
//! (applied by the binary). `cloudcast.example.toml` at the repository root
//! documents every key.
//!
//! Each crate owns its section (struct, defaults and `check`): this crate
//! the ones every crate shares ([`sections`]: http, postgres, s3, limits,
//! quotas), the others theirs (`analytics/src/config.rs`, ...); the binary
//! composes them into one `Config` (`src/config.rs`). Times are `Duration`s
//! (the key's name says its unit: `_secs`, `_ms`, `_hours`), secrets are
//! [`Secret`]s that `Debug` never prints, and every section is checked at
//! load so a bad value stops the process at start with the key named,
//! never later on a request.

use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

mod sections;

pub use sections::{
    HttpConfig, LimitsConfig, PostgresConfig, QuotasConfig, S3Config, is_loopback_url, public_url,
    redact_url_password,
};

/// Why the configuration could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("config file {} does not exist", .0.display())]
    MissingFile(PathBuf),
    /// A key of the wrong type or an unknown key.
    #[error("configuration key `{}` could not be read", key_of(.0))]
    Parse(#[source] Box<figment::Error>),
    #[error("configuration is invalid: {}", list(.0))]
    Invalid(Vec<Problem>),
}

/// One invalid key and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: &'static str,
    pub problem: String,
}

/// The key a figment error is about, as the reference file spells it
/// (`smtp.security`, whether it came from a file or `CLOUDCAST__SMTP__SECURITY`).
fn key_of(e: &figment::Error) -> String {
    let key = e.path.join(".").to_lowercase();
    if key.is_empty() {
        "(top level)".into()
    } else {
        key
    }
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("`{}` {}", p.key, p.problem))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A secret value (password, key). `Debug` shows only whether it is set, so
/// a config printed in a log or a panic message never carries it.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    /// The value itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            f.write_str("\"\"")
        } else {
            f.write_str("\"[redacted]\"")
        }
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Secret {
        Secret(s.to_string())
    }
}

/// Durations written in the file as whole numbers of the key's unit.
pub mod units {
    macro_rules! unit {
        ($name:ident, $to:expr, $from:expr) => {
            pub mod $name {
                use serde::{Deserialize, Deserializer, Serializer};
                use std::time::Duration;

                pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
                    let to: fn(&Duration) -> u64 = $to;
                    s.serialize_u64(to(d))
                }

                pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
                    let from: fn(u64) -> Duration = $from;
                    Ok(from(u64::deserialize(d)?))
                }
            }
        };
    }
    unit!(millis, |d| d.as_millis() as u64, Duration::from_millis);
    unit!(secs, |d| d.as_secs(), Duration::from_secs);
    unit!(hours, |d| d.as_secs() / 3600, |h| Duration::from_secs(
        h.saturating_mul(3600)
    ));
}

/// One mebibyte, for checks on byte sizes.
pub const MIB: u64 = 1024 * 1024;

/// Collects every problem so one start reports them all.
#[derive(Default)]
pub struct Checks(Vec<Problem>);

impl Checks {
    pub fn check(&mut self, ok: bool, key: &'static str, problem: impl FnOnce() -> String) {
        if !ok {
            self.0.push(Problem {
                key,
                problem: problem(),
            });
        }
    }

    pub fn at_least<T: PartialOrd + std::fmt::Display + Copy>(
        &mut self,
        key: &'static str,
        value: T,
        min: T,
    ) {
        self.check(value >= min, key, || {
            format!("must be at least {min} (it is {value})")
        });
    }

    pub fn duration_at_least(&mut self, key: &'static str, value: Duration, min: Duration) {
        self.check(value >= min, key, || {
            format!("must be at least {min:?} (it is {value:?})")
        });
    }

    pub fn http_url(&mut self, key: &'static str, value: &str, may_be_empty: bool) {
        let ok = (may_be_empty && value.is_empty())
            || value.starts_with("http://")
            || value.starts_with("https://");
        self.check(ok, key, || {
            format!("must be an http:// or https:// URL (it is {value:?})")
        });
    }

    /// Every problem found, or none.
    pub fn finish(self) -> Result<(), ConfigError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(self.0))
        }
    }
}

/// A configuration whose every value is checked at load.
pub trait Checked {
    /// Adds a problem for each key whose value breaks a rule.
    fn check(&self, c: &mut Checks);

    fn validate(&self) -> Result<(), ConfigError> {
        let mut c = Checks::default();
        self.check(&mut c);
        c.finish()
    }
}

/// `T`'s defaults, then the TOML file (`cloudcast.toml` when none is
/// given; a given one must exist), then the environment; checked.
pub fn load<T>(file: Option<&Path>, env: Env) -> Result<T, ConfigError>
where
    T: Checked + Default + Serialize + DeserializeOwned,
{
    let mut fig = Figment::from(Serialized::defaults(T::default()));
    match file {
        Some(path) => {
            if !path.exists() {
                return Err(ConfigError::MissingFile(path.to_path_buf()));
            }
            fig = fig.merge(Toml::file(path));
        }
        None => fig = fig.merge(Toml::file("cloudcast.toml")),
    }
    let config: T = fig
        .merge(env)
        .extract()
        .map_err(|e| ConfigError::Parse(Box::new(e)))?;
    config.validate()?;
    Ok(config)
}

/// [`load`] from a TOML text instead of a file and the environment (tests).
pub fn from_toml<T>(text: &str) -> Result<T, ConfigError>
where
    T: Checked + Default + Serialize + DeserializeOwned,
{
    let config: T = Figment::from(Serialized::defaults(T::default()))
        .merge(Toml::string(text))
        .extract()
        .map_err(|e| ConfigError::Parse(Box::new(e)))?;
    config.validate()?;
    Ok(config)
}

/// The keys a validation error names, in order (tests).
pub fn invalid_keys(e: ConfigError) -> Vec<&'static str> {
    match e {
        ConfigError::Invalid(p) => p.into_iter().map(|p| p.key).collect(),
        _ => Vec::new(),
    }
}
