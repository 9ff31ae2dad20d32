//! The queue of ClickHouse (and S3) removals the analytics node applies
//! (`analytics_purges`, applied by `analytics/src/purge.rs`): every writer
//! queues through here. Each removal is queued twice: now, and again after
//! [`REPEAT_AFTER`], for rows still on their way when the first ran.

use std::time::Duration;

use sqlx::PgConnection;
use uuid::Uuid;

use crate::states::PurgeScope;

/// Longer than a stream node's cloudcast, session and consent caches
/// (5, 30 and 60 s)
/// and its heartbeat log's seal interval plus a shipping retry, so a beat
/// accepted just before the first removal is caught by the second.
pub const REPEAT_AFTER: Duration = Duration::from_secs(300);

/// What to remove: `user` is whose rows (for `cloudcast`, the owner, who
/// keeps their other rows); `cloudcasts` whose rows by cloudcast id;
/// `s3_prefixes` objects to delete too.
pub async fn enqueue(
    conn: &mut PgConnection,
    user: Uuid,
    scope: PurgeScope,
    cloudcasts: &[Uuid],
    s3_prefixes: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO analytics_purges (user_id, scope, cloudcast_ids, s3_prefixes, run_after)
         VALUES ($1, $2, $3, $4, now()),
                ($1, $2, $3, $4, now() + make_interval(secs => $5))",
    )
    .bind(user)
    .bind(scope)
    .bind(cloudcasts)
    .bind(s3_prefixes)
    .bind(REPEAT_AFTER.as_secs_f64())
    .execute(conn)
    .await?;
    Ok(())
}
