//! The analytics role's metrics, declared and described here: ClickHouse
//! calls and the heartbeat shipper.

use std::time::{Duration, Instant};

pub const CH_CALLS: &str = "cloudcast_clickhouse_calls_total";
pub const CH_DURATION: &str = "cloudcast_clickhouse_call_duration_seconds";
pub const SHIPPED_ROWS: &str = "cloudcast_shipper_rows_total";
pub const SHIPPER_LAG: &str = "cloudcast_shipper_lag_seconds";
pub const SHIPPER_PENDING: &str = "cloudcast_shipper_pending_segments";
pub const DDL_STUCK: &str = "cloudcast_clickhouse_ddl_stuck_replicas";

/// Registers the descriptions (called once by the binary at start).
pub fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        CH_CALLS,
        "ClickHouse calls by query or operation and outcome"
    );
    describe_histogram!(
        CH_DURATION,
        Unit::Seconds,
        "ClickHouse call latency by query or operation"
    );
    describe_counter!(
        SHIPPED_ROWS,
        "Heartbeats the shipper inserted into ClickHouse"
    );
    describe_gauge!(
        SHIPPER_LAG,
        Unit::Seconds,
        "Age of the oldest beat in the segment shipped last: how far ClickHouse is behind intake"
    );
    describe_gauge!(
        SHIPPER_PENDING,
        "Sealed heartbeat segments waiting to be shipped"
    );
    describe_gauge!(
        DDL_STUCK,
        "ClickHouse replicas that have not run a DDL task queued over a minute ago (cluster mode)"
    );
}

/// Times one ClickHouse call under `op` (a query's file name or a fixed
/// operation name) and counts its outcome.
pub async fn timed<T, E, F>(op: &'static str, fut: F) -> Result<T, E>
where
    F: std::future::Future<Output = Result<T, E>>,
{
    let started = Instant::now();
    let result = fut.await;
    record(op, result.is_ok(), started.elapsed());
    result
}

fn record(op: &'static str, ok: bool, took: Duration) {
    let outcome = if ok { "ok" } else { "error" };
    metrics::counter!(CH_CALLS, "op" => op, "outcome" => outcome).increment(1);
    metrics::histogram!(CH_DURATION, "op" => op).record(took.as_secs_f64());
}

pub(crate) fn shipped(rows: usize, oldest_ts: u32) {
    metrics::counter!(SHIPPED_ROWS).increment(rows as u64);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let lag = (now - i64::from(oldest_ts)).max(0);
    metrics::gauge!(SHIPPER_LAG).set(lag as f64);
}

pub(crate) fn pending(segments: usize) {
    metrics::gauge!(SHIPPER_PENDING).set(segments as f64);
}

pub(crate) fn ddl_stuck(replicas: usize) {
    metrics::gauge!(DDL_STUCK).set(replicas as f64);
}
