//! The heartbeat log's metrics, declared and described here.

pub const LOG_BYTES: &str = "cloudcast_heartbeat_log_bytes";
pub const BEATS_LOGGED: &str = "cloudcast_heartbeats_logged_total";

/// Registers the descriptions (called once by the binary at start).
pub fn describe() {
    metrics::describe_gauge!(
        LOG_BYTES,
        metrics::Unit::Bytes,
        "Bytes of heartbeat log segments on disk, not yet shipped to ClickHouse"
    );
    metrics::describe_counter!(
        BEATS_LOGGED,
        "Heartbeats fsynced in the write-ahead log (each answered 202)"
    );
}

pub(crate) fn log_bytes(bytes: u64) {
    metrics::gauge!(LOG_BYTES).set(bytes as f64);
}

pub(crate) fn beats_logged(n: usize) {
    metrics::counter!(BEATS_LOGGED).increment(n as u64);
}
