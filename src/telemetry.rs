//! The process's metrics recorder: every crate declares its metrics in its
//! own `metrics.rs` (names, units, descriptions); this installs the one
//! Prometheus recorder they report to and registers every description.
//! `/metrics` on every role renders it.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Histogram buckets in seconds: sub-millisecond cache hits up to
/// multi-minute transcodes.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 300.0, 1800.0,
];

/// How often recorded histogram samples are folded into their buckets.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the recorder once per process (every later call returns the
/// same handle); `None` if another recorder was installed first.
pub fn install() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = match PrometheusBuilder::new().set_buckets(BUCKETS) {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(error = %e, "metrics buckets refused; metrics are off");
                    return None;
                }
            };
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::error!("a metrics recorder was installed already; metrics are off");
                return None;
            }
            describe();
            // Histogram samples pile up in the recorder until they are
            // folded into their buckets: without this a node nobody
            // scrapes grows by every request it times. A thread of its own,
            // as the recorder may be installed before the runtime starts.
            let upkeep = handle.clone();
            let started = std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_EVERY);
                        upkeep.run_upkeep();
                    }
                });
            if let Err(e) = started {
                tracing::error!(error = %e, "metrics upkeep thread did not start; samples are folded only when /metrics is read");
            }
            Some(handle)
        })
        .clone()
}

fn describe() {
    cloudcast_core::metrics::describe();
    cloudcast_beats::metrics::describe();
    cloudcast_ingest::metrics::describe();
    cloudcast_transcode::metrics::describe();
    cloudcast_stream::metrics::describe();
    cloudcast_analytics::metrics::describe();
    cloudcast_accounts::metrics::describe();
    cloudcast_privacy::metrics::describe();
    cloudcast_notifications::metrics::describe();
}
