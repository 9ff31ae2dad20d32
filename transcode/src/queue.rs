//! The transcode queue: a PostgreSQL table leased with `FOR UPDATE SKIP LOCKED`.
//!
//! A running job holds a lease that its worker renews; a job whose lease ran
//! out (its worker died) is leased again by the next worker. Failures retry
//! with exponential back-off up to `max_attempts`, then the job and its
//! cloudcast are `failed` with the reason kept for the DJ.

use sqlx::PgPool;
use uuid::Uuid;

use crate::TranscodeError;

pub const CHANNEL: &str = "transcode_jobs";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Job {
    pub id: Uuid,
    pub cloudcast_id: Uuid,
    pub attempts: i32,
    pub original_key: String,
}

/// Takes the oldest runnable job, if any.
pub async fn lease(
    pool: &PgPool,
    worker: &str,
    lease_secs: i64,
) -> Result<Option<Job>, TranscodeError> {
    let job = sqlx::query_as::<_, Job>(
        "WITH next AS (
             SELECT id FROM transcode_jobs
             WHERE (state = 'queued' AND run_after <= now())
                OR (state = 'running' AND lease_until < now())
             ORDER BY run_after
             LIMIT 1
             FOR UPDATE SKIP LOCKED
         )
         UPDATE transcode_jobs j
            SET state = 'running', attempts = j.attempts + 1, worker = $1, progress = 0,
                lease_until = now() + make_interval(secs => $2), updated_at = now()
           FROM next, cloudcasts c
          WHERE j.id = next.id AND c.id = j.cloudcast_id
         RETURNING j.id, j.cloudcast_id, j.attempts, c.original_key",
    )
    .bind(worker)
    .bind(lease_secs as f64)
    .fetch_optional(pool)
    .await?;
    Ok(job)
}

/// Extends the lease and records progress; `false` means the job is no
/// longer ours (lease lost, or the cloudcast and its job were deleted).
pub async fn renew(
    pool: &PgPool,
    job: Uuid,
    worker: &str,
    lease_secs: i64,
    progress: u8,
) -> Result<bool, TranscodeError> {
    let res = sqlx::query(
        "UPDATE transcode_jobs SET lease_until = now() + make_interval(secs => $3), progress = $4, updated_at = now()
         WHERE id = $1 AND worker = $2 AND state = 'running'",
    )
    .bind(job)
    .bind(worker)
    .bind(lease_secs as f64)
    .bind(progress.min(100) as i16)
    .execute(pool)
    .await?;
    Ok(res.rows_affected() == 1)
}

/// Puts a failed job back in the queue at once (a DJ or an admin asked);
/// `false` when the cloudcast has no failed job.
pub async fn retry_failed(pool: &PgPool, cloudcast: Uuid) -> Result<bool, TranscodeError> {
    let mut tx = pool.begin().await?;
    let job: Option<Uuid> = sqlx::query_scalar(
        "UPDATE transcode_jobs SET state = 'queued', attempts = 0, error = NULL, progress = 0,
                run_after = now(), lease_until = NULL, updated_at = now()
          WHERE cloudcast_id = $1 AND state = 'failed'
          RETURNING id",
    )
    .bind(cloudcast)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(job) = job else {
        return Ok(false);
    };
    sqlx::query("UPDATE cloudcasts SET status = 'processing', error = NULL, updated_at = now() WHERE id = $1")
        .bind(cloudcast)
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
    max_attempts: i32,
) -> Result<(), TranscodeError> {
    let mut tx = pool.begin().await?;
    if permanent || job.attempts >= max_attempts {
        let res = sqlx::query(
            "UPDATE transcode_jobs SET state = 'failed', error = $3, lease_until = NULL, updated_at = now()
             WHERE id = $1 AND worker = $2 AND state = 'running'",
        )
        .bind(job.id)
        .bind(worker)
        .bind(reason)
        .execute(&mut *tx)
        .await?;
        if res.rows_affected() == 1 {
            sqlx::query(
                "UPDATE cloudcasts SET status = 'failed', error = $2, updated_at = now() WHERE id = $1",
            )
            .bind(job.cloudcast_id)
            .bind(reason)
            .execute(&mut *tx)
            .await?;
        }
    } else {
        sqlx::query(
            "UPDATE transcode_jobs SET state = 'queued', error = $3, lease_until = NULL,
                    run_after = now() + make_interval(secs => $4), updated_at = now()
             WHERE id = $1 AND worker = $2 AND state = 'running'",
        )
        .bind(job.id)
        .bind(worker)
        .bind(reason)
        .bind(backoff_secs(job.attempts) as f64)
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
