//! The workers' metrics, declared and described here.

use std::time::Duration;

pub const JOBS: &str = "cloudcast_transcode_jobs_total";
pub const JOB_DURATION: &str = "cloudcast_transcode_job_duration_seconds";
pub const QUEUE_DEPTH: &str = "cloudcast_transcode_queue_depth";

/// Registers the descriptions (called once by the binary at start).
pub fn describe() {
    metrics::describe_counter!(
        JOBS,
        "Transcode jobs run by this worker, by outcome (done, retry, failed, cancelled)"
    );
    metrics::describe_histogram!(
        JOB_DURATION,
        metrics::Unit::Seconds,
        "Time from lease to outcome of one transcode job"
    );
    metrics::describe_gauge!(
        QUEUE_DEPTH,
        "Transcode jobs queued and waiting for a worker"
    );
}

pub(crate) fn job_finished(outcome: &'static str, took: Duration) {
    metrics::counter!(JOBS, "outcome" => outcome).increment(1);
    metrics::histogram!(JOB_DURATION, "outcome" => outcome).record(took.as_secs_f64());
}

pub(crate) fn queue_depth(depth: i64) {
    metrics::gauge!(QUEUE_DEPTH).set(depth as f64);
}
