//! Layered configuration: built-in defaults, then `cloudcast.toml` (or the file
//! given with `--config`), then `CLOUDCAST__SECTION__KEY` environment variables,
//! then command-line flags (applied by the binary). `cloudcast.example.toml` at
//! the repository root documents every key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::error::CoreError;

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
    /// Folder with the web pages (`upload.html`) and built assets (`dist/`).
    pub web_dir: PathBuf,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: String::new(),
            max_json_bytes: 64 * 1024,
            web_dir: PathBuf::from("web"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PostgresConfig {
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

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClickhouseConfig {
    pub url: String,
    pub database: String,
    pub user: String,
    pub password: String,
}

impl Default for ClickhouseConfig {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:8123".into(),
            database: "cloudcast".into(),
            user: "default".into(),
            password: String::new(),
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
    pub secret_key: String,
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
            secret_key: "cloudcast-dev-secret".into(),
            embedded_root: PathBuf::from("var/s3"),
            embedded_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Lifetime of bearer tokens, in seconds.
    pub token_ttl_secs: i64,
    /// Shortest accepted password.
    pub min_password_len: usize,
    /// Sign-in attempts allowed per minute from one IP address.
    pub login_per_minute_per_ip: u32,
    /// Sign-in attempts allowed per minute for one login name.
    pub login_per_minute_per_account: u32,
    /// Lifetime of email verification links, in seconds.
    pub verification_ttl_secs: i64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            token_ttl_secs: 30 * 24 * 3600,
            min_password_len: 10,
            login_per_minute_per_ip: 30,
            login_per_minute_per_account: 5,
            verification_ttl_secs: 7 * 24 * 3600,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    /// SMTP relay host; empty: mail stays in the outbox for `cloudcast admin outbox`.
    pub host: String,
    pub port: u16,
    /// `none` (plain, for a local relay) or `starttls`.
    pub security: String,
    pub username: String,
    pub password: String,
    pub from: String,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 25,
            security: "starttls".into(),
            username: String::new(),
            password: String::new(),
            from: "Cloudcast <no-reply@localhost>".into(),
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
    pub expiry_secs: i64,
    /// How often expired uploads are swept, in seconds.
    pub sweep_secs: u64,
    /// Longest accepted audio, in seconds; longer uploads are rejected.
    pub max_duration_secs: u64,
    /// Largest avatar image, in bytes.
    pub max_avatar_bytes: usize,
}

impl Default for UploadsConfig {
    fn default() -> Self {
        Self {
            max_size: 5 * 1024 * 1024 * 1024,
            min_part_size: 8 * 1024 * 1024,
            max_chunk: 100 * 1024 * 1024,
            expiry_secs: 7 * 24 * 3600,
            sweep_secs: 60,
            max_duration_secs: 6 * 3600,
            max_avatar_bytes: 2 * 1024 * 1024,
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
    pub lease_secs: i64,
    pub max_attempts: i32,
    /// Hard limit on one job's run time.
    pub job_timeout_secs: u64,
}

impl Default for TranscodeConfig {
    fn default() -> Self {
        Self {
            ladder_kbps: vec![64, 128, 192],
            sample_rate: 44100,
            work_dir: PathBuf::from("var/work"),
            concurrency: 1,
            lease_secs: 60,
            max_attempts: 3,
            job_timeout_secs: 3600,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StreamConfig {
    /// HMAC key for signed stream URLs. Empty: a random key generated once
    /// and kept in PostgreSQL, so every node of one installation shares it.
    pub signing_key: String,
    /// Lifetime of signed stream URLs, in seconds.
    pub url_ttl_secs: i64,
    /// Bytes of rendition chunks kept in memory per stream node.
    pub cache_bytes: u64,
    /// Size of one cached chunk (S3 is read in aligned chunks of this size).
    pub chunk_bytes: u64,
    /// Longest wait for S3 before a request is answered 503, in milliseconds.
    pub s3_timeout_ms: u64,
    /// Heartbeat requests allowed per client IP per second (sustained).
    pub intake_per_ip_per_sec: u32,
    /// Heartbeat requests one IP may send in a burst above the sustained rate.
    pub intake_burst: u32,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            signing_key: String::new(),
            url_ttl_secs: 6 * 3600,
            cache_bytes: 256 * 1024 * 1024,
            chunk_bytes: 256 * 1024,
            s3_timeout_ms: 3000,
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
    /// shipped to ClickHouse, in milliseconds.
    pub flush_ms: u64,
    /// Heartbeat requests waiting for the log's next fsync; when full,
    /// intake answers 503.
    pub queue_capacity: usize,
    /// The write-ahead log's folder; one per process.
    pub wal_dir: PathBuf,
    /// Most bytes of unshipped segments on disk; past it, intake answers 503.
    pub wal_max_bytes: u64,
    /// Largest batch in one POST.
    pub max_beats_per_request: usize,
    /// Seconds a listener must hear of a cloudcast within one UTC day for
    /// that day to count one play (bots never count).
    pub play_min_seconds: u32,
    /// Smallest audience an ad-targeting aggregate may show (k-anonymity):
    /// a tag with fewer consenting listeners in the period is left out.
    pub min_audience: u64,
    /// Longest date range one statistics query may cover, in days.
    pub max_range_days: u32,
    /// How often finished days are rolled up into plain totals (seconds).
    pub rollup_secs: u64,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        Self {
            batch_rows: 50_000,
            flush_ms: 1000,
            queue_capacity: 4096,
            wal_dir: PathBuf::from("var/wal"),
            wal_max_bytes: 1 << 30,
            max_beats_per_request: 100,
            play_min_seconds: 30,
            min_audience: 50,
            max_range_days: 366,
            rollup_secs: 60,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrivacyConfig {
    /// Data exports whose heartbeats number at most this are built while the
    /// request waits; larger ones are built in the background.
    pub export_inline_beats: u64,
    /// Hours a finished export archive stays downloadable.
    pub export_ttl_hours: u32,
    /// Requests per minute allowed to one open-API key.
    pub api_key_per_minute: u32,
    /// Keys one account may hold.
    pub api_keys_per_user: u32,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        Self {
            export_inline_beats: 100_000,
            export_ttl_hours: 168,
            api_key_per_minute: 600,
            api_keys_per_user: 10,
        }
    }
}

impl Config {
    /// Defaults, then the TOML file (if it exists), then `CLOUDCAST__*` env.
    pub fn load(file: Option<&Path>) -> Result<Config, CoreError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                if !path.exists() {
                    return Err(CoreError::Config(format!(
                        "config file {} does not exist",
                        path.display()
                    )));
                }
                fig = fig.merge(Toml::file(path));
            }
            None => fig = fig.merge(Toml::file("cloudcast.toml")),
        }
        fig = fig.merge(Env::prefixed("CLOUDCAST__").split("__"));
        fig.extract().map_err(|e| CoreError::Config(e.to_string()))
    }

    pub fn public_url(&self) -> String {
        if self.http.public_url.is_empty() {
            format!("http://{}", self.http.listen)
        } else {
            self.http.public_url.trim_end_matches('/').to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_matches_the_structure() {
        let text = include_str!("../../cloudcast.example.toml");
        let parsed: Result<Config, _> = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string(text))
            .extract();
        assert!(parsed.is_ok(), "{parsed:?}");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let parsed: Result<Config, _> = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string("[http]\nlisen = \"1.2.3.4:5\"\n"))
            .extract();
        assert!(parsed.is_err());
    }
}
