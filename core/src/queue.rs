//! The transcode queue: a PostgreSQL table leased with `FOR UPDATE SKIP LOCKED`.
//! Every statement that touches `transcode_jobs` lives here: the upload's
//! completion enqueues, workers lease, renew, finish and fail, owners retry,
//! and the catalogue reads a job's progress through [`job_progress_of_c!`].
//! Besides transcodes it holds two backfills ([`JobKind::Loudness`]:
//! measure a published mix again, publish nothing; [`JobKind::SeekIndex`]:
//! add the segment index to its renditions, published as a new version),
//! which wait behind every transcode and never fail their mix.
//!
//! A running job holds a lease that its worker renews; a job whose lease ran
//! out (its worker died) is leased again by the next worker. Failures retry
//! with exponential back-off up to `max_attempts`, then the job and its
//! cloudcast are `failed` with the reason kept for the DJ.

use std::time::Duration;

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::states::{CloudcastStatus, JobKind, JobState};

/// The latest job's progress (0 to 1) of the cloudcast aliased `c`, as a
/// SQL expression for the cards and pages that show it; a literal, so the
/// catalogue's constant queries `concat!` it in.
#[macro_export]
macro_rules! job_progress_of_c {
    () => {
        "(SELECT j.progress FROM transcode_jobs j WHERE j.cloudcast_id = c.id AND j.kind = 'transcode'
          ORDER BY j.created_at DESC LIMIT 1)"
    };
}

/// NOTIFY channel: idle workers wake at once when a job is queued.
pub const CHANNEL: &str = "transcode_jobs";

/// Queues the transcode of `cloudcast` in the caller's transaction; the
/// workers are woken when it commits. Returns the job's id.
pub async fn enqueue(tx: &mut PgConnection, cloudcast: Uuid) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO transcode_jobs (id, cloudcast_id, state) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(cloudcast)
        .bind(JobState::Queued)
        .execute(&mut *tx)
        .await?;
    // Delivered at commit: idle workers wake at once instead of polling.
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    Ok(id)
}

/// Tops a backfill (`kind`: [`JobKind::Loudness`] or [`JobKind::SeekIndex`])
/// up to `batch` waiting jobs: queues published mixes that lack what it
/// adds (the loudness series; the segment index of their renditions) and
/// never had one queued (a failed job is not queued again: its mix plays
/// on without it; a unique index keeps it to one per mix whichever node
/// queues). Mixes offered for download come first. Returns how many were
/// queued; workers are woken.
pub async fn enqueue_backfill(
    pool: &PgPool,
    kind: JobKind,
    batch: i64,
) -> Result<u64, sqlx::Error> {
    let missing = match kind {
        JobKind::Loudness => {
            "NOT EXISTS (SELECT 1 FROM cloudcast_loudness l WHERE l.cloudcast_id = c.id)"
        }
        JobKind::SeekIndex => {
            "EXISTS (SELECT 1 FROM renditions r
                      WHERE r.cloudcast_id = c.id AND r.version = c.media_version
                        AND NOT COALESCE((r.fragment_index->>'sidx')::boolean, false))"
        }
        JobKind::Transcode => return Ok(0),
    };
    let mut tx = pool.begin().await?;
    // `kind` names a constant partial index; nothing here is input.
    let queued = sqlx::query(&format!(
        "INSERT INTO transcode_jobs (id, cloudcast_id, state, kind)
         SELECT gen_random_uuid(), c.id, $1, $2 FROM cloudcasts c
          WHERE c.status = $3 AND c.media_version IS NOT NULL AND {missing}
            AND NOT EXISTS (SELECT 1 FROM transcode_jobs j WHERE j.cloudcast_id = c.id AND j.kind = $2)
          ORDER BY c.downloads = 'off', c.created_at
          LIMIT GREATEST(0, $4 - (SELECT count(*) FROM transcode_jobs w
                                   WHERE w.kind = $2 AND w.state IN ($1, $5)))
         ON CONFLICT (cloudcast_id) WHERE kind = '{kind}' DO NOTHING"
    ))
    .bind(JobState::Queued)
    .bind(kind)
    .bind(CloudcastStatus::Ready)
    .bind(batch)
    .bind(JobState::Running)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if queued > 0 {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(kind.as_str())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(queued)
}

/// Transcodes waiting for a worker (for the queue-depth gauge; the
/// loudness backfill waits behind them and is not counted).
pub async fn depth(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM transcode_jobs WHERE state = $1 AND kind = $2")
        .bind(JobState::Queued)
        .bind(JobKind::Transcode)
        .fetch_one(pool)
        .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Job {
    pub id: Uuid,
    pub cloudcast_id: Uuid,
    pub attempts: i32,
    pub original_key: String,
    pub kind: JobKind,
}

/// Takes the oldest runnable job, if any: transcodes before loudness
/// measurements, so a backfill never keeps a DJ waiting.
pub async fn lease(
    pool: &PgPool,
    worker: &str,
    lease: Duration,
) -> Result<Option<Job>, sqlx::Error> {
    sqlx::query_as::<_, Job>(
        "WITH next AS (
             SELECT id FROM transcode_jobs
             WHERE (state = $3 AND run_after <= now())
                OR (state = $4 AND lease_until < now())
             ORDER BY kind <> $5, run_after
             LIMIT 1
             FOR UPDATE SKIP LOCKED
         )
         UPDATE transcode_jobs j
            SET state = $4, attempts = j.attempts + 1, worker = $1, progress = 0,
                lease_until = now() + make_interval(secs => $2), updated_at = now()
           FROM next, cloudcasts c
          WHERE j.id = next.id AND c.id = j.cloudcast_id
         RETURNING j.id, j.cloudcast_id, j.attempts, c.original_key, j.kind",
    )
    .bind(worker)
    .bind(lease.as_secs_f64())
    .bind(JobState::Queued)
    .bind(JobState::Running)
    .bind(JobKind::Transcode)
    .fetch_optional(pool)
    .await
}

/// Extends the lease and records progress; `false` means the job is no
/// longer ours (lease lost, or the cloudcast and its job were deleted).
pub async fn renew(
    pool: &PgPool,
    job: Uuid,
    worker: &str,
    lease: Duration,
    progress: u8,
) -> Result<bool, sqlx::Error> {
    let res = sqlx::query(
        "UPDATE transcode_jobs SET lease_until = now() + make_interval(secs => $3), progress = $4, updated_at = now()
         WHERE id = $1 AND worker = $2 AND state = $5",
    )
    .bind(job)
    .bind(worker)
    .bind(lease.as_secs_f64())
    .bind(progress.min(100) as i16)
    .bind(JobState::Running)
    .execute(pool)
    .await?;
    Ok(res.rows_affected() == 1)
}

/// Marks the job done in the publishing transaction; `false` when it is no
/// longer this worker's (lease lost, or the cloudcast was deleted), and
/// then nothing may be published.
pub async fn complete(tx: &mut PgConnection, job: Uuid, worker: &str) -> Result<bool, sqlx::Error> {
    let res = sqlx::query(
        "UPDATE transcode_jobs SET state = $3, error = NULL, lease_until = NULL, progress = 100, updated_at = now()
         WHERE id = $1 AND worker = $2 AND state = $4",
    )
    .bind(job)
    .bind(worker)
    .bind(JobState::Done)
    .bind(JobState::Running)
    .execute(&mut *tx)
    .await?;
    Ok(res.rows_affected() == 1)
}

/// Puts a failed job back in the queue at once (a DJ or an admin asked);
/// `false` when the cloudcast has no failed job.
pub async fn retry_failed(pool: &PgPool, cloudcast: Uuid) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let job: Option<Uuid> = sqlx::query_scalar(
        "UPDATE transcode_jobs SET state = $2, attempts = 0, error = NULL, progress = 0,
                run_after = now(), lease_until = NULL, updated_at = now()
          WHERE cloudcast_id = $1 AND state = $3 AND kind = $4
          RETURNING id",
    )
    .bind(cloudcast)
    .bind(JobState::Queued)
    .bind(JobState::Failed)
    .bind(JobKind::Transcode)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(job) = job else {
        return Ok(false);
    };
    sqlx::query(
        "UPDATE cloudcasts SET status = $2, error = NULL, updated_at = now() WHERE id = $1",
    )
    .bind(cloudcast)
    .bind(CloudcastStatus::Processing)
    .execute(&mut *tx)
    .await?;
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(job.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// Back-off before attempt `attempts + 1`: 10 s, 20 s, 40 s ... capped at 1 h.
pub fn backoff_secs(attempts: i32) -> i64 {
    let exp = attempts.clamp(1, 10) - 1;
    (10i64 << exp).min(3600)
}

/// Records a failure: back to the queue for a retry, or `failed` for good.
pub async fn fail(
    pool: &PgPool,
    job: &Job,
    worker: &str,
    reason: &str,
    permanent: bool,
    max_attempts: u32,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    if permanent || i64::from(job.attempts) >= i64::from(max_attempts) {
        let res = sqlx::query(
            "UPDATE transcode_jobs SET state = $4, error = $3, lease_until = NULL, updated_at = now()
             WHERE id = $1 AND worker = $2 AND state = $5",
        )
        .bind(job.id)
        .bind(worker)
        .bind(reason)
        .bind(JobState::Failed)
        .bind(JobState::Running)
        .execute(&mut *tx)
        .await?;
        // A failed measurement leaves its published mix as it is.
        if res.rows_affected() == 1 && job.kind == JobKind::Transcode {
            let owner: Option<Uuid> = sqlx::query_scalar(
                "UPDATE cloudcasts SET status = $3, error = $2, updated_at = now() WHERE id = $1
                 RETURNING owner_id",
            )
            .bind(job.cloudcast_id)
            .bind(reason)
            .bind(CloudcastStatus::Failed)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(owner) = owner {
                let failed = crate::notify::Event::new(
                    crate::states::NotificationKind::ProcessingFailed,
                    crate::notify::To::User(owner),
                    job.cloudcast_id,
                )
                .about(job.cloudcast_id)
                .detail(reason);
                crate::notify::record(&mut tx, &failed).await?;
            }
        }
    } else {
        sqlx::query(
            "UPDATE transcode_jobs SET state = $5, error = $3, lease_until = NULL,
                    run_after = now() + make_interval(secs => $4), updated_at = now()
             WHERE id = $1 AND worker = $2 AND state = $6",
        )
        .bind(job.id)
        .bind(worker)
        .bind(reason)
        .bind(backoff_secs(job.attempts) as f64)
        .bind(JobState::Queued)
        .bind(JobState::Running)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff_secs(1), 10);
        assert_eq!(backoff_secs(2), 20);
        assert_eq!(backoff_secs(3), 40);
        assert_eq!(backoff_secs(50), 3600);
    }
}
