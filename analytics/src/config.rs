//! The `[clickhouse]` and `[analytics]` sections: where the heartbeats go
//! and the rules they are counted by.

use std::path::PathBuf;
use std::time::Duration;

use cloudcast_core::config::{Checked, Checks, MIB, Secret, units};
use serde::{Deserialize, Serialize};

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

impl Checked for ClickhouseConfig {
    fn check(&self, c: &mut Checks) {
        c.http_url("clickhouse.url", &self.url, false);
        let name = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        c.check(
            !self.database.is_empty() && name(&self.database),
            "clickhouse.database",
            || "must be letters, digits and '_'".into(),
        );
        c.check(name(&self.cluster), "clickhouse.cluster", || {
            "must be letters, digits and '_' (or empty for one server)".into()
        });
        c.duration_at_least(
            "clickhouse.ddl_timeout_secs",
            self.ddl_timeout,
            Duration::from_secs(1),
        );
    }
}

impl Checked for AnalyticsConfig {
    fn check(&self, c: &mut Checks) {
        c.at_least("analytics.batch_rows", self.batch_rows, 1);
        c.duration_at_least("analytics.flush_ms", self.flush, Duration::from_millis(1));
        c.at_least("analytics.queue_capacity", self.queue_capacity, 1);
        c.at_least("analytics.wal_max_bytes", self.wal_max_bytes, MIB);
        c.at_least(
            "analytics.max_beats_per_request",
            self.max_beats_per_request,
            1,
        );
        c.at_least("analytics.player_batch_secs", self.player_batch_secs, 1);
        c.check(
            self.player_batch_secs as usize <= self.max_beats_per_request,
            "analytics.player_batch_secs",
            || "must not exceed analytics.max_beats_per_request".into(),
        );
        c.at_least("analytics.min_audience", self.min_audience, 1);
        c.at_least(
            "analytics.listeners_per_address",
            self.listeners_per_address,
            1,
        );
        c.check(
            self.session_slack_secs >= self.player_batch_secs,
            "analytics.session_slack_secs",
            || "must be at least analytics.player_batch_secs (a batch arrives at once)".into(),
        );
        c.at_least("analytics.max_range_days", self.max_range_days, 1);
        let second = Duration::from_secs(1);
        c.duration_at_least("analytics.rollup_secs", self.rollup, second);
        c.duration_at_least("analytics.charts_secs", self.charts, second);
    }
}
