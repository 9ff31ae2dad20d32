//! The one loop every periodic task runs in: a round, then a pause of its
//! period (with up to a tenth more at random, so nodes started together do
//! not all fire at once), until shutdown. Each round runs in a span named
//! for the task and is counted and timed by outcome
//! (`cloudcast_task_rounds_total`, `cloudcast_task_round_duration_seconds`);
//! a failed round is logged and simply tried again next period.

use std::fmt::Display;
use std::future::Future;
use std::time::{Duration, Instant};

use rand::Rng;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Runs `round` every `period` until `shutdown`; the first round at once.
pub async fn every<F, Fut, E>(
    task: &'static str,
    period: Duration,
    shutdown: CancellationToken,
    mut round: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    loop {
        let started = Instant::now();
        let span = tracing::debug_span!("task", task);
        let outcome = round().instrument(span).await;
        let ok = outcome.is_ok();
        if let Err(e) = outcome {
            tracing::warn!(task, error = %e, "a periodic task's round failed; will retry");
        }
        crate::metrics::task_round(task, ok, started.elapsed());
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(jittered(period)) => {}
        }
    }
}

/// `period` and up to a tenth more.
fn jittered(period: Duration) -> Duration {
    let tenth = period.as_millis() as u64 / 10;
    if tenth == 0 {
        return period;
    }
    period + Duration::from_millis(rand::thread_rng().gen_range(0..=tenth))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn jitter_adds_at_most_a_tenth() {
        for _ in 0..100 {
            let d = jittered(Duration::from_secs(10));
            assert!(
                d >= Duration::from_secs(10) && d <= Duration::from_secs(11),
                "{d:?}"
            );
        }
        assert_eq!(jittered(Duration::from_millis(5)), Duration::from_millis(5));
    }

    #[tokio::test]
    async fn rounds_repeat_failures_included_until_shutdown() {
        let rounds = Arc::new(AtomicU32::new(0));
        let shutdown = CancellationToken::new();
        let (r, s) = (rounds.clone(), shutdown.clone());
        let task = tokio::spawn(every(
            "test",
            Duration::from_millis(10),
            shutdown.clone(),
            move || {
                let n = r.fetch_add(1, Ordering::SeqCst);
                if n == 3 {
                    s.cancel();
                }
                async move {
                    if n % 2 == 0 {
                        Err("an odd failure")
                    } else {
                        Ok(())
                    }
                }
            },
        ));
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        assert_eq!(rounds.load(Ordering::SeqCst), 4);
    }
}
