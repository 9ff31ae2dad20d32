//! Favourite and repost events copied from PostgreSQL (the truth:
//! `favourite_events`, `repost_events`) to the ClickHouse tables of the same
//! names for statistics, by id: a high-water mark read back from
//! ClickHouse, a look-back for late commits, and an advisory lock so one
//! node copies at a time. ClickHouse never decides what a user's
//! favourites or reposts are.

use std::collections::HashSet;
use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::AnalyticsError;

/// Events copied per round; one ClickHouse insert.
const COPY_BATCH: i64 = 10_000;
/// Ids below the copied maximum that are checked again, for events whose
/// transaction took an id early but committed after a later one was copied.
const LOOKBACK_IDS: i64 = 1000;
/// Events younger than this wait for the next round, for the same reason.
const SETTLE: &str = "2 seconds";
/// Lock id (arbitrary, fixed) so only one node copies at a time.
const COPY_LOCK: i64 = 0x0c10_dca5_7fa7;

/// The event tables copied; the same name and columns on both sides.
pub const TABLES: &[&str] = &["favourite_events", "repost_events"];

#[derive(Debug, Serialize, clickhouse::Row)]
struct EventRow {
    event_id: u64,
    ts: u32,
    user_id: String,
    cloudcast_id: String,
    delta: i8,
}

/// One copy round of every table; returns the number of events copied.
pub async fn copy_once(
    pool: &sqlx::PgPool,
    ch: &clickhouse::Client,
) -> Result<usize, AnalyticsError> {
    let mut n = 0;
    for table in TABLES {
        n += copy_table(pool, ch, table).await?;
    }
    Ok(n)
}

/// One round of one table (a name from [`TABLES`], never input).
async fn copy_table(
    pool: &sqlx::PgPool,
    ch: &clickhouse::Client,
    table: &str,
) -> Result<usize, AnalyticsError> {
    let mut tx = pool.begin().await?;
    let (locked,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_xact_lock($1)")
        .bind(COPY_LOCK)
        .fetch_one(&mut *tx)
        .await?;
    if !locked {
        return Ok(0);
    }
    let copied: u64 = crate::metrics::timed(
        "event_sync",
        ch.query(&format!("SELECT toUInt64(max(event_id)) FROM {table}"))
            .fetch_one(),
    )
    .await?;
    let floor = i64::try_from(copied)
        .unwrap_or(i64::MAX)
        .saturating_sub(LOOKBACK_IDS)
        .max(0);
    let present: HashSet<u64> = ch
        .query(&format!("SELECT event_id FROM {table} WHERE event_id > ?"))
        .bind(floor)
        .fetch_all::<u64>()
        .await?
        .into_iter()
        .collect();
    let rows: Vec<(i64, Uuid, Uuid, i16, OffsetDateTime)> = sqlx::query_as(&format!(
        "SELECT id, user_id, cloudcast_id, delta, at FROM {table}
          WHERE id > $1 AND at < now() - interval '{SETTLE}'
          ORDER BY id LIMIT $2"
    ))
    .bind(floor)
    .bind(COPY_BATCH)
    .fetch_all(&mut *tx)
    .await?;
    let missing: Vec<EventRow> = rows
        .into_iter()
        .filter_map(|(id, user, cc, delta, at)| {
            let event_id = u64::try_from(id).ok()?;
            (!present.contains(&event_id)).then(|| EventRow {
                event_id,
                ts: u32::try_from(at.unix_timestamp()).unwrap_or(0),
                user_id: user.to_string(),
                cloudcast_id: cc.to_string(),
                delta: i8::try_from(delta).unwrap_or(0),
            })
        })
        .collect();
    if missing.is_empty() {
        return Ok(0);
    }
    let mut insert = ch.insert::<EventRow>(table).await?;
    for row in &missing {
        insert.write(row).await?;
    }
    insert.end().await?;
    tx.commit().await?;
    Ok(missing.len())
}

/// Copies favourite and repost events to ClickHouse every `every` until shutdown.
/// Failures (ClickHouse down) are retried on the next round; nothing is lost
/// because PostgreSQL keeps every event.
pub async fn run_copier(
    pool: sqlx::PgPool,
    ch: clickhouse::Client,
    every: Duration,
    shutdown: CancellationToken,
) {
    cloudcast_core::periodic::every("event_copy", every, shutdown, || async {
        let n = copy_once(&pool, &ch).await?;
        if n > 0 {
            tracing::debug!(
                events = n,
                "favourite and repost events copied to ClickHouse"
            );
        }
        Ok::<(), AnalyticsError>(())
    })
    .await
}
