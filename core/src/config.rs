//! Layered configuration: built-in defaults, then `cloudcast.toml` (or the file
//! given with `--config`), then `CLOUDCAST__SECTION__KEY` environment variables,
//! then command-line flags (applied by the binary). `cloudcast.example.toml` at
//! the repository root documents every key.
//!
//! One struct per section, and each crate's state is handed only the
//! sections it uses. Times are `Duration`s (the key's name says its unit:
//! `_secs`, `_ms`, `_hours`), secrets are [`Secret`]s that `Debug` never
//! prints, and [`Config::validate`] runs at load so a bad value stops the
//! process at start with the key named, never later on a request.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

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
mod units {
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
    pub smtp: SmtpConfig,
    pub limits: LimitsConfig,
    pub quotas: QuotasConfig,
}

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
    /// Follows, favourites and reposts, each counted on its own.
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
pub struct ClickhouseConfig {
    pub url: String,
    pub database: String,
    pub user: String,
    pub password: Secret,
    /// The cluster (in ClickHouse's `remote_servers`) the tables are spread
    /// over: replicated tables on every shard behind Distributed ones,
    /// migrations `ON CLUSTER`. Empty: one server, plain MergeTree tables.
    pub cluster: String,
    /// Longest an `ON CLUSTER` statement waits for every replica to run it
    /// before it fails, naming those that did not.
    #[serde(rename = "ddl_timeout_secs", with = "units::secs")]
    pub ddl_timeout: Duration,
}

impl Default for ClickhouseConfig {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:8123".into(),
            database: "cloudcast".into(),
            user: "default".into(),
            password: Secret::default(),
            cluster: String::new(),
            ddl_timeout: Duration::from_secs(180),
        }
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

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TranscodeConfig {
    /// AAC ladder in kb/s; one fragmented MP4 per entry.
    pub ladder_kbps: Vec<u32>,
    /// Output sample rate for every rendition.
    pub sample_rate: u32,
    /// Local scratch folder for originals and encoder output.
    pub work_dir: PathBuf,
    /// Jobs one worker process runs at once.
    pub concurrency: usize,
    /// How long a lease lasts before another worker may take the job.
    #[serde(rename = "lease_secs", with = "units::secs")]
    pub lease: Duration,
    pub max_attempts: u32,
    /// Hard limit on one job's run time.
    #[serde(rename = "job_timeout_secs", with = "units::secs")]
    pub job_timeout: Duration,
}

impl Default for TranscodeConfig {
    fn default() -> Self {
        Self {
            ladder_kbps: vec![64, 128, 192],
            sample_rate: 44100,
            work_dir: PathBuf::from("var/work"),
            concurrency: 1,
            lease: Duration::from_secs(60),
            max_attempts: 3,
            job_timeout: Duration::from_secs(3600),
        }
    }
}

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

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalyticsConfig {
    /// Heartbeats per write-ahead-log segment (one ClickHouse insert) at most.
    pub batch_rows: usize,
    /// Longest a heartbeat waits in the open segment before it is sealed and
    /// shipped to ClickHouse.
    #[serde(rename = "flush_ms", with = "units::millis")]
    pub flush: Duration,
    /// Heartbeat requests waiting for the log's next fsync; when full,
    /// intake answers 503.
    pub queue_capacity: usize,
    /// The write-ahead log's folder; one per process.
    pub wal_dir: PathBuf,
    /// Most bytes of unshipped segments on disk; past it, intake answers 503.
    pub wal_max_bytes: u64,
    /// Largest batch in one POST.
    pub max_beats_per_request: usize,
    /// Seconds of listening the web and embed players gather before they
    /// send them in one request (one beat per second; fewer requests).
    pub player_batch_secs: u32,
    /// Seconds a listener must hear of a cloudcast within one UTC day for
    /// that day to count one play (bots never count).
    pub play_min_seconds: u32,
    /// Anonymous listeners (no account) of one cloudcast counted from one
    /// address in one UTC day, at most: a household or an office behind one
    /// NAT, not a script minting cookies (the listening rule, README).
    pub listeners_per_address: u32,
    /// A listening session counts at most the time between its first and
    /// last beat as the server received them plus this (one beat's worth
    /// on either side, and a player's batching), whatever its beats claim.
    pub session_slack_secs: u32,
    /// Smallest audience an ad-targeting aggregate may show (k-anonymity):
    /// a tag with fewer consenting listeners in the period is left out.
    pub min_audience: u64,
    /// Longest date range one statistics query may cover, in days.
    pub max_range_days: u32,
    /// How often finished days are rolled up into plain totals.
    #[serde(rename = "rollup_secs", with = "units::secs")]
    pub rollup: Duration,
    /// How often the charts (plays in 30 days, trending) are computed from
    /// ClickHouse into PostgreSQL, and tags recounted.
    #[serde(rename = "charts_secs", with = "units::secs")]
    pub charts: Duration,
    /// Whole months raw heartbeats are kept before their monthly partition
    /// is dropped (once every day in it is rolled up; the aggregates stay).
    /// 0 keeps them for ever.
    pub raw_months: u32,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        Self {
            batch_rows: 50_000,
            flush: Duration::from_millis(1000),
            queue_capacity: 4096,
            wal_dir: PathBuf::from("var/wal"),
            wal_max_bytes: 1 << 30,
            max_beats_per_request: 100,
            player_batch_secs: 5,
            play_min_seconds: 30,
            listeners_per_address: 16,
            session_slack_secs: 10,
            min_audience: 50,
            max_range_days: 366,
            rollup: Duration::from_secs(60),
            charts: Duration::from_secs(300),
            raw_months: 13,
        }
    }
}

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

const MIB: u64 = 1024 * 1024;

/// Collects every problem so one start reports them all.
#[derive(Default)]
struct Checks(Vec<Problem>);

impl Checks {
    fn check(&mut self, ok: bool, key: &'static str, problem: impl FnOnce() -> String) {
        if !ok {
            self.0.push(Problem {
                key,
                problem: problem(),
            });
        }
    }

    fn at_least<T: PartialOrd + std::fmt::Display + Copy>(
        &mut self,
        key: &'static str,
        value: T,
        min: T,
    ) {
        self.check(value >= min, key, || {
            format!("must be at least {min} (it is {value})")
        });
    }

    fn duration_at_least(&mut self, key: &'static str, value: Duration, min: Duration) {
        self.check(value >= min, key, || {
            format!("must be at least {min:?} (it is {value:?})")
        });
    }

    fn http_url(&mut self, key: &'static str, value: &str, may_be_empty: bool) {
        let ok = (may_be_empty && value.is_empty())
            || value.starts_with("http://")
            || value.starts_with("https://");
        self.check(ok, key, || {
            format!("must be an http:// or https:// URL (it is {value:?})")
        });
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

impl Config {
    /// Defaults, then the TOML file (if it exists), then `CLOUDCAST__*` env;
    /// validated.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load_from(file, Env::prefixed("CLOUDCAST__").split("__"))
    }

    /// [`Config::load`] with the environment given (tests pass their own).
    pub fn load_from(file: Option<&Path>, env: Env) -> Result<Config, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                if !path.exists() {
                    return Err(ConfigError::MissingFile(path.to_path_buf()));
                }
                fig = fig.merge(Toml::file(path));
            }
            None => fig = fig.merge(Toml::file("cloudcast.toml")),
        }
        let config: Config = fig
            .merge(env)
            .extract()
            .map_err(|e| ConfigError::Parse(Box::new(e)))?;
        config.validate()?;
        Ok(config)
    }

    /// Every rule a value must keep; the error names each key that breaks one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut c = Checks::default();
        let h = &self.http;
        c.http_url("http.public_url", &h.public_url, true);
        c.at_least("http.max_json_bytes", h.max_json_bytes, 1024);

        c.check(
            self.postgres.url.starts_with("postgres://")
                || self.postgres.url.starts_with("postgresql://"),
            "postgres.url",
            || "must be a postgres:// URL".into(),
        );
        c.at_least("postgres.max_connections", self.postgres.max_connections, 1);

        c.http_url("clickhouse.url", &self.clickhouse.url, false);
        c.check(
            !self.clickhouse.database.is_empty()
                && self
                    .clickhouse
                    .database
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            "clickhouse.database",
            || "must be letters, digits and '_'".into(),
        );
        c.check(
            self.clickhouse
                .cluster
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            "clickhouse.cluster",
            || "must be letters, digits and '_' (or empty for one server)".into(),
        );

        let s3 = &self.s3;
        c.http_url("s3.endpoint", &s3.endpoint, true);
        c.check(valid_bucket(&s3.bucket), "s3.bucket", || {
            format!(
                "must be 3 to 63 lower-case letters, digits, '-' or '.' (it is {:?})",
                s3.bucket
            )
        });
        c.check(!s3.region.is_empty(), "s3.region", || {
            "must not be empty".into()
        });

        let h = &self.http;
        c.duration_at_least(
            "http.header_timeout_secs",
            h.header_timeout,
            Duration::from_secs(1),
        );
        c.duration_at_least(
            "http.body_timeout_secs",
            h.body_timeout,
            Duration::from_secs(1),
        );
        c.at_least("http.max_connections", h.max_connections, 1);
        c.at_least("http.max_headers", h.max_headers, 16);

        for (key, n) in self.limits.allowances() {
            c.at_least(key, n, 1);
        }
        let q = &self.quotas;
        c.at_least("quotas.open_uploads", q.open_uploads, 1);
        c.at_least("quotas.storage_bytes", q.storage_bytes, 1);
        c.at_least("quotas.daily_upload_bytes", q.daily_upload_bytes, 1);
        c.at_least(
            "quotas.unverified_open_uploads",
            q.unverified_open_uploads,
            1,
        );
        c.at_least(
            "quotas.unverified_storage_bytes",
            q.unverified_storage_bytes,
            1,
        );
        c.at_least(
            "quotas.unverified_daily_upload_bytes",
            q.unverified_daily_upload_bytes,
            1,
        );

        let a = &self.auth;
        c.duration_at_least("auth.token_ttl_secs", a.token_ttl, Duration::from_secs(60));
        c.at_least("auth.min_password_len", a.min_password_len, 8);
        c.check(a.min_password_len <= 1024, "auth.min_password_len", || {
            "must be at most 1024".into()
        });
        c.at_least("auth.login_per_minute_per_ip", a.login_per_minute_per_ip, 1);
        c.at_least(
            "auth.login_per_minute_per_account",
            a.login_per_minute_per_account,
            1,
        );
        c.duration_at_least(
            "auth.verification_ttl_secs",
            a.verification_ttl,
            Duration::from_secs(60),
        );

        let m = &self.smtp;
        c.check(
            !m.mailbox_page || is_loopback_url(&public_url(h)),
            "smtp.mailbox_page",
            || {
                format!(
                    "shows every mail, links included, so it is only for a machine of one's own: \
                     http.public_url must be a loopback address (it is {:?})",
                    public_url(h)
                )
            },
        );
        c.check(
            m.host.is_empty() || m.from.contains('@'),
            "smtp.from",
            || {
                format!(
                    "must be a mailbox such as `Cloudcast <no-reply@example.org>` (it is {:?})",
                    m.from
                )
            },
        );

        let u = &self.uploads;
        c.at_least("uploads.max_size", u.max_size, 1);
        c.at_least("uploads.min_part_size", u.min_part_size, 5 * MIB);
        c.at_least("uploads.max_chunk", u.max_chunk, 1);
        c.duration_at_least("uploads.expiry_secs", u.expiry, Duration::from_secs(1));
        c.duration_at_least("uploads.sweep_secs", u.sweep, Duration::from_secs(1));
        c.duration_at_least(
            "uploads.max_duration_secs",
            u.max_duration,
            Duration::from_secs(1),
        );
        c.at_least("uploads.max_avatar_bytes", u.max_avatar_bytes, 1024);
        c.at_least("uploads.max_picture_bytes", u.max_picture_bytes, 1024);

        let t = &self.transcode;
        c.check(
            !t.ladder_kbps.is_empty() && t.ladder_kbps.iter().all(|k| (8..=512).contains(k)),
            "transcode.ladder_kbps",
            || {
                format!(
                    "must list bit rates of 8 to 512 kb/s (it is {:?})",
                    t.ladder_kbps
                )
            },
        );
        c.check(
            (8000..=96000).contains(&t.sample_rate),
            "transcode.sample_rate",
            || format!("must be 8000 to 96000 Hz (it is {})", t.sample_rate),
        );
        c.at_least("transcode.concurrency", t.concurrency, 1);
        // Renewals run every third of the lease, at most every 2 s.
        c.duration_at_least("transcode.lease_secs", t.lease, Duration::from_secs(3));
        c.at_least("transcode.max_attempts", t.max_attempts, 1);
        c.duration_at_least(
            "transcode.job_timeout_secs",
            t.job_timeout,
            Duration::from_secs(1),
        );

        let s = &self.stream;
        c.duration_at_least("stream.url_ttl_secs", s.url_ttl, Duration::from_secs(60));
        c.at_least("stream.chunk_bytes", s.chunk_bytes, 4096);
        c.check(s.cache_bytes >= s.chunk_bytes, "stream.cache_bytes", || {
            format!(
                "must hold at least one chunk ({} bytes; it is {})",
                s.chunk_bytes, s.cache_bytes
            )
        });
        c.duration_at_least(
            "stream.s3_timeout_ms",
            s.s3_timeout,
            Duration::from_millis(1),
        );
        c.at_least("stream.intake_per_ip_per_sec", s.intake_per_ip_per_sec, 1);
        c.check(
            s.intake_burst >= s.intake_per_ip_per_sec,
            "stream.intake_burst",
            || {
                format!(
                    "must be at least stream.intake_per_ip_per_sec ({}; it is {})",
                    s.intake_per_ip_per_sec, s.intake_burst
                )
            },
        );

        let an = &self.analytics;
        c.at_least("analytics.batch_rows", an.batch_rows, 1);
        c.duration_at_least("analytics.flush_ms", an.flush, Duration::from_millis(1));
        c.at_least("analytics.queue_capacity", an.queue_capacity, 1);
        c.at_least("analytics.wal_max_bytes", an.wal_max_bytes, MIB);
        c.at_least(
            "analytics.max_beats_per_request",
            an.max_beats_per_request,
            1,
        );
        c.at_least("analytics.player_batch_secs", an.player_batch_secs, 1);
        c.check(
            an.player_batch_secs as usize <= an.max_beats_per_request,
            "analytics.player_batch_secs",
            || "must not exceed analytics.max_beats_per_request".into(),
        );
        c.at_least("analytics.min_audience", an.min_audience, 1);
        c.at_least(
            "analytics.listeners_per_address",
            an.listeners_per_address,
            1,
        );
        c.check(
            an.session_slack_secs >= an.player_batch_secs,
            "analytics.session_slack_secs",
            || "must be at least analytics.player_batch_secs (a batch arrives at once)".into(),
        );
        c.at_least("analytics.max_range_days", an.max_range_days, 1);
        c.duration_at_least("analytics.rollup_secs", an.rollup, Duration::from_secs(1));
        c.duration_at_least(
            "clickhouse.ddl_timeout_secs",
            self.clickhouse.ddl_timeout,
            Duration::from_secs(1),
        );
        c.duration_at_least("analytics.charts_secs", an.charts, Duration::from_secs(1));

        let p = &self.privacy;
        c.duration_at_least(
            "privacy.export_ttl_hours",
            p.export_ttl,
            Duration::from_secs(3600),
        );
        c.at_least("privacy.api_key_per_minute", p.api_key_per_minute, 1);
        c.at_least("privacy.api_keys_per_user", p.api_keys_per_user, 1);
        // Renewed every third of it: under 3 s a busy database could let a
        // live build be taken over.
        c.duration_at_least(
            "privacy.export_lease_secs",
            p.export_lease,
            Duration::from_secs(3),
        );
        c.at_least("privacy.export_attempts", p.export_attempts, 1);

        if c.0.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(c.0))
        }
    }

    pub fn public_url(&self) -> String {
        public_url(&self.http)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mailbox_page_is_for_loopback_only() {
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
        let mut c = Config::default();
        c.smtp.mailbox_page = true;
        c.http.public_url = "https://cloudcast.example".into();
        assert!(c.validate().is_err());
        c.http.public_url = "http://127.0.0.1:8080".into();
        assert!(c.validate().is_ok());
    }

    fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let config: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string(text))
            .extract()
            .map_err(|e| ConfigError::Parse(Box::new(e)))?;
        config.validate()?;
        Ok(config)
    }

    fn keys(e: ConfigError) -> Vec<&'static str> {
        match e {
            ConfigError::Invalid(p) => p.into_iter().map(|p| p.key).collect(),
            other => panic!("not a validation error: {other}"),
        }
    }

    #[test]
    fn example_config_matches_the_structure_and_the_defaults() {
        let text = include_str!("../../cloudcast.example.toml");
        let parsed = from_toml(text).unwrap_or_else(|e| panic!("{e}: {e:?}"));
        // Every key the example shows is the default.
        assert_eq!(format!("{parsed:?}"), format!("{:?}", Config::default()));
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
    fn unknown_keys_are_rejected() {
        assert!(matches!(
            from_toml("[http]\nlisen = \"1.2.3.4:5\"\n"),
            Err(ConfigError::Parse(_))
        ));
    }

    #[test]
    fn units_are_read_in_the_keys_unit() {
        let c = from_toml("[analytics]\nflush_ms = 250\n[privacy]\nexport_ttl_hours = 2\n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.analytics.flush, Duration::from_millis(250));
        assert_eq!(c.privacy.export_ttl, Duration::from_secs(7200));
    }

    #[test]
    fn invalid_values_name_their_keys() {
        let e = from_toml(
            "[analytics]\nflush_ms = 0\n[s3]\nbucket = \"My_Bucket\"\n[stream]\nintake_burst = 1\n",
        );
        let e = e.err().unwrap_or_else(|| panic!("accepted"));
        let message = e.to_string();
        assert!(message.contains("analytics.flush_ms"), "{message}");
        assert_eq!(
            keys(e),
            ["s3.bucket", "stream.intake_burst", "analytics.flush_ms"]
        );
        let e = from_toml("[transcode]\nladder_kbps = []\n").err();
        assert_eq!(e.map(keys), Some(vec!["transcode.ladder_kbps"]));
        let e = from_toml("[smtp]\nsecurity = \"tls\"\n").err();
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
    fn url_passwords_are_redacted_only_where_present() {
        assert_eq!(redact_url_password("postgres://u@h/d"), "postgres://u@h/d");
        assert_eq!(
            redact_url_password("postgres://u:p@ss@h/d"),
            "postgres://u:[redacted]@h/d"
        );
        assert_eq!(redact_url_password("not a url"), "not a url");
    }

    #[test]
    // figment's Jail fixes the closure's error type.
    #[allow(clippy::result_large_err)]
    fn the_environment_is_a_layer() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("CC_TEST__ANALYTICS__FLUSH_MS", "0");
            let e = Config::load_from(None, Env::prefixed("CC_TEST__").split("__")).err();
            assert_eq!(e.map(keys), Some(vec!["analytics.flush_ms"]));
            jail.set_env("CC_TEST__ANALYTICS__FLUSH_MS", "200");
            let c = Config::load_from(None, Env::prefixed("CC_TEST__").split("__"))
                .map_err(|e| figment::Error::from(e.to_string()))?;
            assert_eq!(c.analytics.flush, Duration::from_millis(200));
            Ok(())
        });
    }
}
