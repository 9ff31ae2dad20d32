//! Applies the removals that PostgreSQL queues in `analytics_purges` to
//! ClickHouse: today, a user's ad-interest rows once their ad consent is
//! withdrawn. Removals are `ALTER TABLE .. DELETE` mutations (ClickHouse
//! applies them in the background, in seconds for these small tables); a
//! removal that fails stays queued and is tried again.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::AnalyticsError;

/// Removals applied per round.
const BATCH: i64 = 100;

/// Applies the due removals; returns how many were done.
pub async fn purge_once(
    pool: &sqlx::PgPool,
    ch: &clickhouse::Client,
) -> Result<usize, AnalyticsError> {
    let due: Vec<(i64, Uuid, String)> = sqlx::query_as(
        "SELECT id, user_id, scope FROM analytics_purges
          WHERE done_at IS NULL AND run_after <= now()
          ORDER BY run_after LIMIT $1",
    )
    .bind(BATCH)
    .fetch_all(pool)
    .await?;
    let mut done = 0;
    for (id, user, scope) in due {
        let table = match scope.as_str() {
            "ad_interest" => "ad_interest",
            other => {
                tracing::error!(scope = other, "unknown purge scope; left queued");
                continue;
            }
        };
        ch.query(&format!("ALTER TABLE {table} DELETE WHERE user_id = ?"))
            .bind(user.to_string())
            .execute()
            .await?;
        sqlx::query("UPDATE analytics_purges SET done_at = now() WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await?;
        tracing::info!(user_id = %user, table, "analytics rows removed");
        done += 1;
    }
    Ok(done)
}

/// Runs [`purge_once`] every `every` until shutdown.
pub async fn run(
    pool: sqlx::PgPool,
    ch: clickhouse::Client,
    every: Duration,
    shutdown: CancellationToken,
) {
    loop {
        if let Err(e) = purge_once(&pool, &ch).await {
            tracing::warn!(error = %e, "applying analytics removals failed; will retry");
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}
