//! The foundation's metrics, declared and described here: HTTP requests,
//! answered errors, and calls to S3 and PostgreSQL. Names and labels are
//! stable; dashboards (`infra/grafana/`) rely on them.

use std::time::Duration;

use axum::http::StatusCode;

pub const HTTP_REQUESTS: &str = "cloudcast_http_requests_total";
pub const HTTP_DURATION: &str = "cloudcast_http_request_duration_seconds";
pub const ERRORS: &str = "cloudcast_errors_total";
pub const S3_CALLS: &str = "cloudcast_s3_calls_total";
pub const S3_DURATION: &str = "cloudcast_s3_call_duration_seconds";
pub const PG_CALLS: &str = "cloudcast_postgres_calls_total";
pub const PG_DURATION: &str = "cloudcast_postgres_call_duration_seconds";
pub const TASK_ROUNDS: &str = "cloudcast_task_rounds_total";
pub const TASK_DURATION: &str = "cloudcast_task_round_duration_seconds";

/// Registers the descriptions (called once by the binary at start).
pub fn describe() {
    use metrics::{Unit, describe_counter, describe_histogram};
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by route (the matched pattern), method and status"
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time to answer an HTTP request (until the headers), by route and method"
    );
    describe_counter!(ERRORS, "Error answers by code and status");
    describe_counter!(
        S3_CALLS,
        "S3 calls by operation and outcome (ok, not_found, error)"
    );
    describe_histogram!(S3_DURATION, Unit::Seconds, "S3 call latency by operation");
    describe_counter!(
        PG_CALLS,
        "PostgreSQL calls on the hot paths (session and stream cloudcast look-ups) by operation and outcome"
    );
    describe_histogram!(
        PG_DURATION,
        Unit::Seconds,
        "PostgreSQL call latency by operation"
    );
    describe_counter!(
        TASK_ROUNDS,
        "Rounds of the periodic tasks (rollup, charts, purge, sweeps...) by task and outcome"
    );
    describe_histogram!(
        TASK_DURATION,
        Unit::Seconds,
        "Time one round of a periodic task took"
    );
}

/// One round of a periodic task (`periodic.rs`).
pub(crate) fn task_round(task: &'static str, ok: bool, took: Duration) {
    let outcome = if ok { "ok" } else { "error" };
    metrics::counter!(TASK_ROUNDS, "task" => task, "outcome" => outcome).increment(1);
    metrics::histogram!(TASK_DURATION, "task" => task).record(took.as_secs_f64());
}

/// One HTTP request answered.
pub fn http_request(route: String, method: &'static str, status: u16, took: Duration) {
    let labels = [
        metrics::Label::new("route", route),
        metrics::Label::new("method", method),
    ];
    let mut with_status = labels.to_vec();
    with_status.push(metrics::Label::new("status", status.to_string()));
    metrics::counter!(HTTP_REQUESTS, with_status).increment(1);
    metrics::histogram!(HTTP_DURATION, labels.to_vec()).record(took.as_secs_f64());
}

pub(crate) fn error_answered(code: &'static str, status: StatusCode) {
    metrics::counter!(ERRORS, "code" => code, "status" => status.as_str().to_string()).increment(1);
}

/// One S3 call and how it ended.
pub(crate) fn s3_call(op: &'static str, outcome: &'static str, took: Duration) {
    metrics::counter!(S3_CALLS, "op" => op, "outcome" => outcome).increment(1);
    metrics::histogram!(S3_DURATION, "op" => op).record(took.as_secs_f64());
}

/// Times a PostgreSQL call under `op` (a fixed name such as `session_lookup`).
pub async fn timed_pg<T, F>(op: &'static str, fut: F) -> Result<T, sqlx::Error>
where
    F: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    let started = std::time::Instant::now();
    let result = fut.await;
    let outcome = if result.is_ok() { "ok" } else { "error" };
    metrics::counter!(PG_CALLS, "op" => op, "outcome" => outcome).increment(1);
    metrics::histogram!(PG_DURATION, "op" => op).record(started.elapsed().as_secs_f64());
    result
}
