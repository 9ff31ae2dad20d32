//! Background exports as jobs in PostgreSQL (`data_exports`), so no build
//! is lost with the process that ran it. Every statement that leases,
//! renews or finishes an export lives here.
//!
//! A node leases the oldest waiting export under its name (host and port:
//! the same after a restart) and renews the lease while it builds. When it
//! next looks for work it takes back, at once, any export still leased
//! under its name that it is not building: its previous run was cut off.
//! Another node takes an export once its lease has run out (a node that
//! never comes back). An export cut off `privacy.export_attempts` times is
//! failed, not tried again, and its owner can start another.

use std::collections::HashSet;
use std::time::Duration;

use crate::config::PrivacyConfig;
use cloudcast_core::error::Chain;
use cloudcast_core::keys;
use cloudcast_core::notify;
use cloudcast_core::states::{ExportState, NotificationKind};
use sqlx::PgPool;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

use crate::{PrivacyError, PrivacyState};

/// How often an idle builder looks for a waiting export: one indexed query
/// a second per node, and an export starts within a second of its request.
const POLL: Duration = Duration::from_secs(1);

/// What an export cut off too often says to its owner.
pub const INTERRUPTED: &str = "interrupted by restarts; start another";

/// What a failed build says to its owner (the cause is in the log).
const BUILD_FAILED: &str = "the archive could not be built";

/// Test hook: with `CLOUDCAST_FAILPOINT=export-build` the process aborts
/// right after leasing an export, as a crash in the middle of a build.
const FAILPOINT: &str = "export-build";

/// One leased export.
#[derive(Debug, sqlx::FromRow)]
struct Leased {
    id: Uuid,
    user_id: Uuid,
    attempts: i32,
}

/// Takes the oldest export that needs a builder: never leased, leased under
/// `worker` but not among `running` (cut off by this node's restart), or
/// with its lease run out.
async fn lease(
    pool: &PgPool,
    worker: &str,
    lease: Duration,
    running: &HashSet<Uuid>,
) -> Result<Option<Leased>, sqlx::Error> {
    let running: Vec<Uuid> = running.iter().copied().collect();
    sqlx::query_as(
        "WITH next AS (
             SELECT id FROM data_exports
              WHERE status = $4 AND expires_at > now()
                AND (lease_until IS NULL OR lease_until < now()
                     OR (worker = $1 AND NOT (id = ANY($3))))
              ORDER BY created_at
              LIMIT 1
              FOR UPDATE SKIP LOCKED
         )
         UPDATE data_exports e
            SET worker = $1, lease_until = now() + make_interval(secs => $2),
                attempts = e.attempts + 1
           FROM next WHERE e.id = next.id
         RETURNING e.id, e.user_id, e.attempts",
    )
    .bind(worker)
    .bind(lease.as_secs_f64())
    .bind(&running)
    .bind(ExportState::Building)
    .fetch_optional(pool)
    .await
}

/// Extends the lease; false when the export is no longer this worker's.
async fn renew(pool: &PgPool, id: Uuid, worker: &str, lease: Duration) -> bool {
    sqlx::query(
        "UPDATE data_exports SET lease_until = now() + make_interval(secs => $3)
          WHERE id = $1 AND worker = $2 AND status = $4",
    )
    .bind(id)
    .bind(worker)
    .bind(lease.as_secs_f64())
    .bind(ExportState::Building)
    .execute(pool)
    .await
    .is_ok_and(|r| r.rows_affected() == 1)
}

/// Marks the export failed with `reason` for its owner.
async fn fail(pool: &PgPool, id: Uuid, reason: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE data_exports SET status = $3, error = $2, lease_until = NULL WHERE id = $1")
        .bind(id)
        .bind(reason)
        .bind(ExportState::Failed)
        .execute(pool)
        .await
        .map(|_| ())
}

/// Builds one leased export into S3 and records the outcome.
async fn build_one(state: &PrivacyState, job: &Leased) -> Result<(), PrivacyError> {
    let pool = &state.pool;
    let key = keys::export_archive(job.user_id, job.id);
    let built = async {
        let file =
            crate::export::build(pool, &state.clickhouse, &state.storage, job.user_id).await?;
        let size = file.as_file().metadata().map(|m| m.len()).unwrap_or(0);
        state
            .storage
            .put_file(&key, file.path(), "application/zip")
            .await?;
        Ok::<u64, PrivacyError>(size)
    }
    .await;
    let size = match built {
        Ok(size) => size,
        Err(e) => {
            tracing::error!(error = %Chain(&e), "export failed");
            crate::metrics::export("failed");
            fail(pool, job.id, BUILD_FAILED).await?;
            return Ok(());
        }
    };
    let mut tx = pool.begin().await?;
    let done = sqlx::query(
        "UPDATE data_exports SET status = $4, s3_key = $2, size_bytes = $3,
                ready_at = now(), lease_until = NULL
          WHERE id = $1 AND status = $5",
    )
    .bind(job.id)
    .bind(&key)
    .bind(size as i64)
    .bind(ExportState::Ready)
    .bind(ExportState::Building)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 1 {
        // The person asked and may have left the page: they hear of it.
        let ready = notify::Event::new(
            NotificationKind::ExportReady,
            notify::To::User(job.user_id),
            job.id,
        );
        notify::record(&mut tx, &ready).await?;
    }
    tx.commit().await?;
    if done.rows_affected() == 0 {
        // The account was erased while this was built (its rows went with
        // it); another node may be building the same archive only if this
        // one lost its lease, and then the row is still there.
        let gone: bool =
            sqlx::query_scalar("SELECT NOT EXISTS (SELECT 1 FROM data_exports WHERE id = $1)")
                .bind(job.id)
                .fetch_one(pool)
                .await?;
        if gone {
            tracing::info!("the account is gone; its export is deleted");
            crate::metrics::export("gone");
            state.storage.delete(&key).await?;
        }
    } else {
        tracing::info!(bytes = size, "export ready");
        crate::metrics::export("ready");
    }
    Ok(())
}

/// Builds one leased export while renewing its lease.
async fn run_one(state: PrivacyState, worker: String, job: Leased) {
    let lease = state.config.export_lease;
    let build = build_one(&state, &job);
    tokio::pin!(build);
    // A third of the lease: two renewals can fail before another node may
    // take the export.
    let mut tick = tokio::time::interval(lease / 3);
    tick.tick().await;
    loop {
        tokio::select! {
            r = &mut build => {
                if let Err(e) = r {
                    tracing::error!(error = %Chain(&e), "recording the export's outcome failed");
                }
                return;
            }
            _ = tick.tick() => {
                if !renew(&state.pool, job.id, &worker, lease).await {
                    tracing::warn!("renewing the export's lease failed");
                }
            }
        }
    }
}

/// This node's name in `data_exports.worker`: its host and port, the same
/// when it restarts.
pub fn worker_name(listen: std::net::SocketAddr) -> String {
    let host = cloudcast_core::hostname().unwrap_or_else(|| "localhost".into());
    format!("{host}:{}", listen.port())
}

/// Runs up to `privacy.export_builders` builds at once until shutdown.
pub async fn run(state: PrivacyState, worker: String, shutdown: CancellationToken) {
    let cfg: &PrivacyConfig = &state.config;
    let (builders, lease_for, attempts) = (
        cfg.export_builders as usize,
        cfg.export_lease,
        cfg.export_attempts,
    );
    if builders == 0 {
        return;
    }
    let abort_after_lease = cloudcast_core::failpoint(FAILPOINT);
    let mut running: JoinSet<Uuid> = JoinSet::new();
    let mut ids: HashSet<Uuid> = HashSet::new();
    loop {
        while let Some(done) = running.try_join_next() {
            if let Ok(id) = done {
                ids.remove(&id);
            }
        }
        let mut idle = true;
        if running.len() < builders {
            match lease(&state.pool, &worker, lease_for, &ids).await {
                Ok(Some(job)) => {
                    idle = false;
                    let span = tracing::info_span!("export", user_id = %job.user_id, export_id = %job.id, attempt = job.attempts);
                    if abort_after_lease {
                        tracing::error!(parent: &span, "failpoint export-build: aborting mid-build");
                        std::process::abort();
                    }
                    if job.attempts > attempts as i32 {
                        tracing::warn!(parent: &span, "export cut off too often; failed");
                        if let Err(e) = fail(&state.pool, job.id, INTERRUPTED).await {
                            tracing::error!(parent: &span, error = %Chain(&e), "failing the export failed");
                        }
                    } else {
                        let id = job.id;
                        ids.insert(id);
                        let (st, w) = (state.clone(), worker.clone());
                        running.spawn(
                            async move {
                                run_one(st, w, job).await;
                                id
                            }
                            .instrument(span),
                        );
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %Chain(&e), "looking for exports to build failed"),
            }
        }
        if !idle {
            continue;
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(POLL) => {}
            Some(done) = running.join_next(), if !running.is_empty() => {
                if let Ok(id) = done {
                    ids.remove(&id);
                }
            }
        }
    }
    // Builds cut off here are taken back when this node starts again.
    running.shutdown().await;
}
