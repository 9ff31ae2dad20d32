//! The worker loop: wait for a job (NOTIFY or a periodic look), lease it,
//! download the original, encode, index, publish; renew the lease meanwhile.
//! A loudness job decodes and measures only, and stores the series; a
//! seek-index job adds the segment index to the published renditions.
//! Each worker process also queues both backfills (mixes published before
//! the series or the index were kept), a batch at a time.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::config::TranscodeConfig;
use cloudcast_core::queue::{self, Job};
use cloudcast_core::states::JobKind;
use cloudcast_core::storage::Storage;

use crate::pipeline::{LadderOutput, LadderSpec, encode_ladder};
use crate::publish::{index_all, publish, republish_with_seek_index, store_loudness};
use crate::{TranscodeError, metrics};

#[derive(Clone)]
pub struct WorkerState {
    pub pool: PgPool,
    pub storage: Storage,
    pub config: Arc<TranscodeConfig>,
}

/// Runs `transcode.concurrency` worker loops until `shutdown` fires.
pub async fn run_workers(state: WorkerState, shutdown: CancellationToken) {
    let mut tasks = Vec::new();
    for n in 0..state.config.concurrency {
        let worker_id = format!(
            "{}-{}-{n}",
            cloudcast_core::hostname().unwrap_or_else(|| "worker".into()),
            std::process::id()
        );
        let state = state.clone();
        let shutdown = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            worker_loop(state, worker_id, shutdown).await;
        }));
    }
    tasks.push(tokio::spawn(watch_queue(
        state.pool.clone(),
        shutdown.clone(),
    )));
    tasks.push(tokio::spawn(backfill(
        state.pool.clone(),
        state.config.loudness_backfill,
        shutdown.clone(),
    )));
    for t in tasks {
        let _ = t.await;
    }
}

/// Loudness measurements kept waiting by the backfill, topped up each
/// round (`transcode.loudness_backfill_secs`): a batch the workers get
/// through between rounds, behind any transcode (the queue leases
/// transcodes first).
const BACKFILL_BATCH: i64 = 20;

/// Queues the loudness backfill, a batch a round, until nothing is left
/// (and again after a restart, which finds only what is still missing).
async fn backfill(pool: PgPool, every: Duration, shutdown: CancellationToken) {
    cloudcast_core::periodic::every("backfill", every, shutdown, || async {
        for kind in [JobKind::Loudness, JobKind::SeekIndex] {
            let n = queue::enqueue_backfill(&pool, kind, BACKFILL_BATCH).await?;
            if n > 0 {
                tracing::info!(queued = n, %kind, "backfill queued for published mixes");
            }
        }
        Ok::<(), sqlx::Error>(())
    })
    .await
}

/// How often the queue-depth gauge is refreshed.
const DEPTH_EVERY: Duration = Duration::from_secs(5);

async fn watch_queue(pool: PgPool, shutdown: CancellationToken) {
    loop {
        match queue::depth(&pool).await {
            Ok(n) => metrics::queue_depth(n),
            Err(e) => tracing::debug!(error = %e, "reading the queue depth failed"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(DEPTH_EVERY) => {}
        }
    }
}

async fn worker_loop(state: WorkerState, worker_id: String, shutdown: CancellationToken) {
    let mut listener = connect_listener(&state.pool).await;
    loop {
        if shutdown.is_cancelled() {
            return;
        }
        let leased = queue::lease(&state.pool, &worker_id, state.config.lease).await;
        match leased {
            Ok(Some(job)) => {
                let span = tracing::info_span!("job", job_id = %job.id, cloudcast_id = %job.cloudcast_id, attempt = job.attempts);
                run_job(&state, &worker_id, job, &shutdown)
                    .instrument(span)
                    .await;
                continue;
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %cloudcast_core::error::Chain(&e), "leasing a job failed")
            }
        }
        // Sleep until a NOTIFY, a periodic look (for retries whose back-off
        // ended and leases that expired), or shutdown.
        let wait = Duration::from_secs(5);
        tokio::select! {
            _ = shutdown.cancelled() => return,
            n = async {
                match listener.as_mut() {
                    Some(l) => l.recv().await.map(|_| ()),
                    None => { tokio::time::sleep(wait).await; Ok(()) }
                }
            } => {
                if n.is_err() {
                    listener = connect_listener(&state.pool).await;
                }
            }
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

async fn connect_listener(pool: &PgPool) -> Option<PgListener> {
    let mut l = PgListener::connect_with(pool).await.ok()?;
    l.listen(queue::CHANNEL).await.ok()?;
    Some(l)
}

async fn run_job(state: &WorkerState, worker_id: &str, job: Job, shutdown: &CancellationToken) {
    let cfg = &state.config;
    if i64::from(job.attempts) > i64::from(cfg.max_attempts) {
        let reason = format!(
            "transcoding stopped {} times without finishing",
            job.attempts - 1
        );
        let _ = queue::fail(
            &state.pool,
            &job,
            worker_id,
            &reason,
            true,
            cfg.max_attempts,
        )
        .await;
        return;
    }
    let cancel = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(AtomicU8::new(0));
    let renewer = tokio::spawn(renew_lease(
        state.pool.clone(),
        job.id,
        worker_id.to_string(),
        cfg.lease,
        cancel.clone(),
        progress.clone(),
        shutdown.clone(),
    ));
    let work_dir = cfg.work_dir.join(job.id.to_string());
    let started = std::time::Instant::now();
    let result = match job.kind {
        JobKind::Transcode => {
            transcode(state, worker_id, &job, &work_dir, cancel.clone(), progress).await
        }
        JobKind::Loudness => {
            measure(state, worker_id, &job, &work_dir, cancel.clone(), progress).await
        }
        JobKind::SeekIndex => {
            republish_with_seek_index(&state.pool, &state.storage, &job, worker_id, &work_dir).await
        }
    };
    renewer.abort();
    let _ = tokio::fs::remove_dir_all(&work_dir).await;
    let outcome = match &result {
        Ok(_) => "done",
        Err(TranscodeError::Cancelled) => "cancelled",
        Err(e) if e.is_permanent() => "failed",
        Err(_) => "retry",
    };
    metrics::job_finished(outcome, started.elapsed());
    match result {
        Ok(duration_ms) => tracing::info!(duration_ms, "job done"),
        Err(TranscodeError::Cancelled) => {
            tracing::warn!("job cancelled; its lease was lost or the worker is stopping")
        }
        Err(e) => {
            tracing::warn!(error = %cloudcast_core::error::Chain(&e), permanent = e.is_permanent(), "job failed");
            if let Err(e2) = queue::fail(
                &state.pool,
                &job,
                worker_id,
                &e.to_string(),
                e.is_permanent(),
                cfg.max_attempts,
            )
            .await
            {
                tracing::error!(error = %cloudcast_core::error::Chain(&e2), "recording the failure failed; the lease will expire and the job runs again");
            }
        }
    }
}

async fn transcode(
    state: &WorkerState,
    worker_id: &str,
    job: &Job,
    work_dir: &PathBuf,
    cancel: Arc<AtomicBool>,
    progress: Arc<AtomicU8>,
) -> Result<i64, TranscodeError> {
    let ladder = state.config.ladder_kbps.clone();
    let outputs = decode(state, job, work_dir, ladder, cancel, progress, index_all).await?;
    publish(&state.pool, &state.storage, job, worker_id, &outputs).await
}

/// The loudness backfill: decodes the original as a transcode would (no
/// renditions), stores the series; returns the measured length in ms.
async fn measure(
    state: &WorkerState,
    worker_id: &str,
    job: &Job,
    work_dir: &PathBuf,
    cancel: Arc<AtomicBool>,
    progress: Arc<AtomicU8>,
) -> Result<i64, TranscodeError> {
    let out = decode(state, job, work_dir, Vec::new(), cancel, progress, Ok).await?;
    let mut tx = state.pool.begin().await?;
    if !queue::complete(&mut tx, job.id, worker_id).await? {
        return Err(TranscodeError::Cancelled);
    }
    store_loudness(&mut tx, job.cloudcast_id, &out.short_term).await?;
    tx.commit().await?;
    Ok(i64::try_from(out.short_term.len()).unwrap_or(i64::MAX) * 1000)
}

/// What both kinds of job do first: download the original, decode it once
/// through the ladder of `bitrates_kbps` (none: measure only) and finish
/// with `then`, all on a blocking thread.
async fn decode<T: Send + 'static>(
    state: &WorkerState,
    job: &Job,
    work_dir: &PathBuf,
    bitrates_kbps: Vec<u32>,
    cancel: Arc<AtomicBool>,
    progress: Arc<AtomicU8>,
    then: fn(LadderOutput) -> Result<T, TranscodeError>,
) -> Result<T, TranscodeError> {
    tokio::fs::create_dir_all(work_dir).await?;
    let input = work_dir.join("original");
    let bytes = state.storage.get_to_file(&job.original_key, &input).await?;
    tracing::info!(bytes, "original downloaded");
    let cfg = &state.config;
    let spec = LadderSpec {
        bitrates_kbps,
        sample_rate: cfg.sample_rate,
        timeout: cfg.job_timeout,
    };
    let out_dir = work_dir.clone();
    tokio::task::spawn_blocking(move || {
        then(encode_ladder(&input, &out_dir, &spec, &cancel, &progress)?)
    })
    .await
    .map_err(TranscodeError::Thread)?
}

async fn renew_lease(
    pool: PgPool,
    job: uuid::Uuid,
    worker: String,
    lease: Duration,
    cancel: Arc<AtomicBool>,
    progress: Arc<AtomicU8>,
    shutdown: CancellationToken,
) {
    // Every 2 s (and at most a third of the lease, so two missed renewals
    // still leave time): progress reaches the API quickly, and a deleted
    // cloudcast cancels its job within seconds. The lease is at least 3 s
    // (validated at load).
    let every = (lease / 3).clamp(Duration::from_secs(1), Duration::from_secs(2));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => { cancel.store(true, Ordering::SeqCst); return; }
            _ = tokio::time::sleep(every) => {}
        }
        match queue::renew(&pool, job, &worker, lease, progress.load(Ordering::Relaxed)).await {
            Ok(true) => {}
            Ok(false) => {
                cancel.store(true, Ordering::SeqCst);
                return;
            }
            Err(e) => {
                tracing::warn!(error = %cloudcast_core::error::Chain(&e), "lease renewal failed; retrying")
            }
        }
    }
}
