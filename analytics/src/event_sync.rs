//! Favourite, repost and follow events copied from PostgreSQL (the truth:
//! `favourite_events`, `repost_events`, `follow_events`) to the ClickHouse
//! tables of the same names for statistics, by id, and download requests
//! (`download_requests`, a buffer emptied as it is copied): a high-water mark read back from
//! ClickHouse, a look-back for late commits, and an advisory lock so one
//! node copies at a time. ClickHouse never decides what a user's
//! favourites, reposts or follows are.

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

/// The event tables copied, and the column naming what the event is
/// about; the same names and columns on both sides.
pub const TABLES: &[(&str, Subject)] = &[
    ("favourite_events", Subject::Cloudcast),
    ("repost_events", Subject::Cloudcast),
    ("follow_events", Subject::Followee),
];

/// What an event is about.
#[derive(Debug, Clone, Copy)]
pub enum Subject {
    Cloudcast,
    /// The account followed.
    Followee,
}

impl Subject {
    fn column(self) -> &'static str {
        match self {
            Subject::Cloudcast => "cloudcast_id",
            Subject::Followee => "followee_id",
        }
    }
}

#[derive(Debug, Serialize, clickhouse::Row)]
struct EventRow {
    event_id: u64,
    ts: u32,
    user_id: String,
    cloudcast_id: String,
    delta: i8,
}

#[derive(Debug, Serialize, clickhouse::Row)]
struct FollowRow {
    event_id: u64,
    ts: u32,
    user_id: String,
    followee_id: String,
    delta: i8,
}

/// One ClickHouse insert of `rows` into `table`.
async fn insert<R>(ch: &clickhouse::Client, table: &str, rows: Vec<R>) -> Result<(), AnalyticsError>
where
    R: clickhouse::RowOwned + clickhouse::RowWrite,
{
    let mut insert = ch.insert::<R>(table).await?;
    for row in &rows {
        insert.write(row).await?;
    }
    insert.end().await?;
    Ok(())
}

/// Takes the copiers' lock for the transaction; `false` when another node
/// holds it (that node copies this round).
async fn copy_lock(tx: &mut sqlx::PgConnection) -> Result<bool, sqlx::Error> {
    let (locked,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_xact_lock($1)")
        .bind(COPY_LOCK)
        .fetch_one(&mut *tx)
        .await?;
    Ok(locked)
}

/// One copy round of every table; returns the number of events copied.
pub async fn copy_once(
    pool: &sqlx::PgPool,
    ch: &clickhouse::Client,
) -> Result<usize, AnalyticsError> {
    let mut n = 0;
    for (table, subject) in TABLES {
        n += copy_table(pool, ch, table, *subject).await?;
    }
    n += copy_downloads(pool, ch).await?;
    Ok(n)
}

#[derive(Debug, Serialize, clickhouse::Row)]
struct DownloadRow {
    request_id: u64,
    ts: u32,
    cloudcast_id: String,
    client_hash: String,
    app: String,
    bytes: u64,
    minute_bytes: u64,
}

/// One round of download requests (`stream/src/downloads.rs` writes them
/// to PostgreSQL, a buffer): the oldest settled ones are copied unless
/// ClickHouse has them already (a round cut off before its delete), then
/// deleted from PostgreSQL. Only ids read this round are deleted, so a
/// request committed late is copied in a later round, never lost.
async fn copy_downloads(
    pool: &sqlx::PgPool,
    ch: &clickhouse::Client,
) -> Result<usize, AnalyticsError> {
    let mut tx = pool.begin().await?;
    if !copy_lock(&mut tx).await? {
        return Ok(0);
    }
    type Request = (i64, OffsetDateTime, Uuid, String, String, i64, i64);
    let rows: Vec<Request> = sqlx::query_as(&format!(
        "SELECT id, at, cloudcast_id, client_hash, app, bytes, minute_bytes FROM download_requests
          WHERE at < now() - interval '{SETTLE}'
          ORDER BY id LIMIT $1"
    ))
    .bind(COPY_BATCH)
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let (lowest, highest) = (ids[0], ids[ids.len() - 1]);
    let present: HashSet<u64> = crate::metrics::timed(
        "event_sync",
        ch.query(
            "SELECT request_id FROM download_requests WHERE request_id >= ? AND request_id <= ?",
        )
        .bind(lowest)
        .bind(highest)
        .fetch_all::<u64>(),
    )
    .await?
    .into_iter()
    .collect();
    let missing: Vec<DownloadRow> = rows
        .into_iter()
        .filter_map(
            |(id, at, cloudcast, client_hash, app, bytes, minute_bytes)| {
                let request_id = u64::try_from(id).ok()?;
                (!present.contains(&request_id)).then(|| DownloadRow {
                    request_id,
                    ts: u32::try_from(at.unix_timestamp()).unwrap_or(0),
                    cloudcast_id: cloudcast.to_string(),
                    client_hash,
                    app,
                    bytes: u64::try_from(bytes).unwrap_or(0),
                    minute_bytes: u64::try_from(minute_bytes).unwrap_or(0),
                })
            },
        )
        .collect();
    let n = missing.len();
    if n > 0 {
        insert(ch, "download_requests", missing).await?;
    }
    sqlx::query("DELETE FROM download_requests WHERE id = ANY($1)")
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(n)
}

/// One round of one table (a name from [`TABLES`], never input).
async fn copy_table(
    pool: &sqlx::PgPool,
    ch: &clickhouse::Client,
    table: &str,
    subject: Subject,
) -> Result<usize, AnalyticsError> {
    let mut tx = pool.begin().await?;
    if !copy_lock(&mut tx).await? {
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
        "SELECT id, user_id, {column}, delta, at FROM {table}
          WHERE id > $1 AND at < now() - interval '{SETTLE}'
          ORDER BY id LIMIT $2",
        column = subject.column()
    ))
    .bind(floor)
    .bind(COPY_BATCH)
    .fetch_all(&mut *tx)
    .await?;
    let missing: Vec<_> = rows
        .into_iter()
        .filter_map(|(id, user, about, delta, at)| {
            let event_id = u64::try_from(id).ok()?;
            (!present.contains(&event_id)).then(|| EventRow {
                event_id,
                ts: u32::try_from(at.unix_timestamp()).unwrap_or(0),
                user_id: user.to_string(),
                cloudcast_id: about.to_string(),
                delta: i8::try_from(delta).unwrap_or(0),
            })
        })
        .collect();
    let n = missing.len();
    if n == 0 {
        return Ok(0);
    }
    match subject {
        Subject::Cloudcast => insert(ch, table, missing).await?,
        Subject::Followee => {
            let rows = missing
                .into_iter()
                .map(|e| FollowRow {
                    event_id: e.event_id,
                    ts: e.ts,
                    user_id: e.user_id,
                    followee_id: e.cloudcast_id,
                    delta: e.delta,
                })
                .collect();
            insert(ch, table, rows).await?
        }
    }
    tx.commit().await?;
    Ok(n)
}

/// Copies favourite, repost and follow events to ClickHouse every `every` until shutdown.
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
                "favourite, repost and follow events copied to ClickHouse"
            );
        }
        Ok::<(), AnalyticsError>(())
    })
    .await
}
