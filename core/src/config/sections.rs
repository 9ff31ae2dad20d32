//! The sections every crate shares: where the server listens and how it
//! guards connections, the stores (PostgreSQL, S3), and the allowances and
//! quotas that hold across nodes.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Checked, Checks, Secret, units};

/// How many writes of each kind an account and an address may make
/// (`core/src/write_limits.rs`); counted in PostgreSQL, so they hold across
/// nodes. Anonymous reads are counted per node.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    pub signups_per_hour_per_address: u32,
    pub uploads_per_hour_per_account: u32,
    pub uploads_per_hour_per_address: u32,
    pub comments_per_minute_per_account: u32,
    pub comments_per_minute_per_address: u32,
    pub reports_per_hour_per_account: u32,
    pub reports_per_hour_per_address: u32,
    /// Follows (and blocks), favourites, reposts and playlist changes, each
    /// counted on its own.
    pub marks_per_minute_per_account: u32,
    pub marks_per_minute_per_address: u32,
    pub api_keys_per_hour_per_account: u32,
    pub exports_per_hour_per_account: u32,
    pub verification_mails_per_hour_per_account: u32,
    /// Account mails asked for without signing in (a new confirmation
    /// link, the notices of a sign-up or email change), per address.
    pub account_mails_per_hour_per_address: u32,
    /// Cover pictures and avatars set (each decoded and made again).
    pub pictures_per_hour_per_account: u32,
    /// Requests to the OAuth token and revocation endpoints, per address
    /// (guessing codes, refresh tokens or secrets).
    pub app_tokens_per_minute_per_address: u32,
    /// Passkey sign-ins started, per address (each stores a ceremony).
    pub passkey_sign_ins_per_minute_per_address: u32,
    /// Reads without an account or API key, per address and node (API,
    /// pages, oEmbed; not media, which players fetch by the range).
    pub anonymous_reads_per_minute_per_address: u32,
}

/// One list of the allowances, for what treats them all alike (their
/// validation; tests that lift them).
macro_rules! allowances {
    ($($field:ident),* $(,)?) => {
        impl LimitsConfig {
            /// Every allowance, with its key as the reference file spells it.
            pub fn allowances(&self) -> Vec<(&'static str, u32)> {
                vec![$((concat!("limits.", stringify!($field)), self.$field)),*]
            }

            pub fn allowances_mut(&mut self) -> Vec<&mut u32> {
                vec![$(&mut self.$field),*]
            }
        }
    };
}

allowances!(
    signups_per_hour_per_address,
    uploads_per_hour_per_account,
    uploads_per_hour_per_address,
    comments_per_minute_per_account,
    comments_per_minute_per_address,
    reports_per_hour_per_account,
    reports_per_hour_per_address,
    marks_per_minute_per_account,
    marks_per_minute_per_address,
    api_keys_per_hour_per_account,
    exports_per_hour_per_account,
    verification_mails_per_hour_per_account,
    account_mails_per_hour_per_address,
    pictures_per_hour_per_account,
    app_tokens_per_minute_per_address,
    passkey_sign_ins_per_minute_per_address,
    anonymous_reads_per_minute_per_address,
);

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            signups_per_hour_per_address: 10,
            uploads_per_hour_per_account: 20,
            uploads_per_hour_per_address: 60,
            comments_per_minute_per_account: 5,
            comments_per_minute_per_address: 20,
            reports_per_hour_per_account: 20,
            reports_per_hour_per_address: 60,
            marks_per_minute_per_account: 30,
            marks_per_minute_per_address: 120,
            api_keys_per_hour_per_account: 10,
            exports_per_hour_per_account: 4,
            verification_mails_per_hour_per_account: 3,
            account_mails_per_hour_per_address: 10,
            pictures_per_hour_per_account: 30,
            app_tokens_per_minute_per_address: 60,
            passkey_sign_ins_per_minute_per_address: 30,
            anonymous_reads_per_minute_per_address: 600,
        }
    }
}

/// What an account may keep and start (`ingest/src/quota.rs`); operators
/// raise one account's with `cloudcast admin quota`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuotasConfig {
    /// Uploads created and not yet finished or ended.
    pub open_uploads: u32,
    /// Bytes held: open uploads' declared lengths, originals and media.
    pub storage_bytes: u64,
    /// Bytes of uploads started since UTC midnight.
    pub daily_upload_bytes: u64,
    /// The same three for an account whose email is not verified yet.
    pub unverified_open_uploads: u32,
    pub unverified_storage_bytes: u64,
    pub unverified_daily_upload_bytes: u64,
}

impl Default for QuotasConfig {
    fn default() -> Self {
        const GIB: u64 = 1 << 30;
        Self {
            open_uploads: 5,
            storage_bytes: 50 * GIB,
            daily_upload_bytes: 20 * GIB,
            unverified_open_uploads: 1,
            unverified_storage_bytes: 2 * GIB,
            unverified_daily_upload_bytes: 2 * GIB,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address the HTTP server binds to.
    pub listen: SocketAddr,
    /// Base URL clients use to reach this server (used in `stream_url`).
    /// Empty means `http://{listen}`.
    pub public_url: String,
    /// Largest JSON body accepted on API routes, in bytes.
    pub max_json_bytes: usize,
    /// Folder whose `dist/` holds the built browser assets (served at
    /// `/assets`); the pages are compiled into the binary (`site/`).
    pub web_dir: PathBuf,
    /// Load balancers and proxies whose `X-Forwarded-For` is believed
    /// (addresses or networks). Empty: every client is its socket's address.
    pub trusted_proxies: Vec<crate::netaddr::Network>,
    /// A request head must arrive whole within this: a new connection's
    /// first, and the next one on a kept-alive connection (which is then
    /// closed), so a client sending half a request holds nothing for long.
    #[serde(rename = "header_timeout_secs", with = "units::secs")]
    pub header_timeout: Duration,
    /// A request body (but an upload's PATCH, which has its own rules) must
    /// arrive within this once its head has; slower: 408.
    #[serde(rename = "body_timeout_secs", with = "units::secs")]
    pub body_timeout: Duration,
    /// Connections open at once on this node; more wait to be accepted.
    pub max_connections: usize,
    /// Header fields in one request (more: 431).
    pub max_headers: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: String::new(),
            max_json_bytes: 64 * 1024,
            web_dir: PathBuf::from("web"),
            trusted_proxies: Vec::new(),
            header_timeout: Duration::from_secs(20),
            body_timeout: Duration::from_secs(60),
            max_connections: 8192,
            max_headers: 100,
        }
    }
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PostgresConfig {
    /// May carry a password (`postgres://user:password@host/db`); `Debug`
    /// hides it.
    pub url: String,
    pub max_connections: u32,
}

impl Default for PostgresConfig {
    fn default() -> Self {
        Self {
            url: "postgres://cloudcast@127.0.0.1:5433/cloudcast".into(),
            max_connections: 16,
        }
    }
}

impl std::fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("url", &redact_url_password(&self.url))
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

/// `scheme://user:password@host...` with the password replaced.
pub fn redact_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:[redacted]@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct S3Config {
    /// S3 endpoint URL. Empty: start the embedded endpoint on loopback.
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key: String,
    pub secret_key: Secret,
    /// Folder the embedded endpoint stores objects in.
    pub embedded_root: PathBuf,
    /// Address of the embedded endpoint (port 0 picks a free port).
    pub embedded_listen: SocketAddr,
}

impl Default for S3Config {
    fn default() -> Self {
        Self {
            endpoint: String::new(),
            bucket: "cloudcast".into(),
            region: "us-east-1".into(),
            access_key: "cloudcast".into(),
            secret_key: Secret::new("cloudcast-dev-secret"),
            embedded_root: PathBuf::from("var/s3"),
            embedded_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }
}

/// S3's bucket naming rules (the subset every implementation agrees on).
fn valid_bucket(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric()
}

/// Does `url` name this machine only (`localhost`, 127.0.0.0/8, `::1`)?
pub fn is_loopback_url(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The base URL clients reach this server at, without a trailing slash.
pub fn public_url(http: &HttpConfig) -> String {
    if http.public_url.is_empty() {
        format!("http://{}", http.listen)
    } else {
        http.public_url.trim_end_matches('/').to_string()
    }
}

impl Checked for HttpConfig {
    fn check(&self, c: &mut Checks) {
        c.http_url("http.public_url", &self.public_url, true);
        c.at_least("http.max_json_bytes", self.max_json_bytes, 1024);
        let second = Duration::from_secs(1);
        c.duration_at_least("http.header_timeout_secs", self.header_timeout, second);
        c.duration_at_least("http.body_timeout_secs", self.body_timeout, second);
        c.at_least("http.max_connections", self.max_connections, 1);
        c.at_least("http.max_headers", self.max_headers, 16);
    }
}

impl Checked for PostgresConfig {
    fn check(&self, c: &mut Checks) {
        c.check(
            self.url.starts_with("postgres://") || self.url.starts_with("postgresql://"),
            "postgres.url",
            || "must be a postgres:// URL".into(),
        );
        c.at_least("postgres.max_connections", self.max_connections, 1);
    }
}

impl Checked for S3Config {
    fn check(&self, c: &mut Checks) {
        c.http_url("s3.endpoint", &self.endpoint, true);
        c.check(valid_bucket(&self.bucket), "s3.bucket", || {
            format!(
                "must be 3 to 63 lower-case letters, digits, '-' or '.' (it is {:?})",
                self.bucket
            )
        });
        c.check(!self.region.is_empty(), "s3.region", || {
            "must not be empty".into()
        });
    }
}

impl Checked for LimitsConfig {
    fn check(&self, c: &mut Checks) {
        for (key, n) in self.allowances() {
            c.at_least(key, n, 1);
        }
    }
}

impl Checked for QuotasConfig {
    fn check(&self, c: &mut Checks) {
        for (key, n) in [
            ("quotas.open_uploads", u64::from(self.open_uploads)),
            ("quotas.storage_bytes", self.storage_bytes),
            ("quotas.daily_upload_bytes", self.daily_upload_bytes),
            (
                "quotas.unverified_open_uploads",
                u64::from(self.unverified_open_uploads),
            ),
            (
                "quotas.unverified_storage_bytes",
                self.unverified_storage_bytes,
            ),
            (
                "quotas.unverified_daily_upload_bytes",
                self.unverified_daily_upload_bytes,
            ),
        ] {
            c.at_least(key, n, 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_urls_are_told_apart() {
        for url in [
            "http://127.0.0.1:8080",
            "http://localhost/",
            "http://[::1]:80/x",
            "http://127.9.9.9",
        ] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in [
            "https://cloudcast.example",
            "http://10.0.0.1:8080",
            "http://127.0.0.1.evil.example",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
    }

    #[test]
    fn every_allowance_is_in_the_one_list() {
        let l = LimitsConfig::default();
        let fields = serde_json::to_value(&l)
            .ok()
            .and_then(|v| v.as_object().map(|o| o.len()))
            .unwrap_or(0);
        assert_eq!(l.allowances().len(), fields);
        let mut m = l.clone();
        assert_eq!(m.allowances_mut().len(), fields);
    }

    #[test]
    fn url_passwords_are_redacted_only_where_present() {
        assert_eq!(redact_url_password("postgres://u@h/d"), "postgres://u@h/d");
        assert_eq!(
            redact_url_password("postgres://u:p@ss@h/d"),
            "postgres://u:[redacted]@h/d"
        );
        assert_eq!(redact_url_password("not a url"), "not a url");
    }

    #[test]
    fn bucket_names_follow_s3s_rules() {
        let mut c = Checks::default();
        S3Config {
            bucket: "My_Bucket".into(),
            ..S3Config::default()
        }
        .check(&mut c);
        assert!(c.finish().is_err());
        assert!(S3Config::default().validate().is_ok());
    }
}
