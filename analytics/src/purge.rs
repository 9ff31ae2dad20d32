//! Applies the removals that PostgreSQL queues in `analytics_purges`
//! (`core/src/purges.rs`): a user's ad-interest rows once their ad consent
//! is withdrawn, an erased account's ClickHouse rows and S3 objects, and a
//! deleted cloudcast's rows. ClickHouse removals are
//! `ALTER TABLE .. DELETE` mutations, which ClickHouse applies in the
//! background by rewriting the parts that hold matching rows; an erasure is
//! done only once they are applied and a count finds nothing left (see
//! BENCHMARKS.md for the time on a large `heartbeats`). A removal that fails
//! stays queued and is tried again. In a cluster the mutations run on the
//! local tables `ON CLUSTER` (replication carries them to every replica)
//! and the wait covers every replica of every shard.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use cloudcast_core::states::PurgeScope;
use cloudcast_core::storage::Storage;

use crate::AnalyticsError;
use crate::cluster::{self, Cluster, LOCAL};

/// Removals applied per round.
const BATCH: i64 = 100;

/// One queued removal.
#[derive(sqlx::FromRow)]
struct Due {
    id: i64,
    user_id: Uuid,
    scope: PurgeScope,
    cloudcast_ids: Vec<Uuid>,
    s3_prefixes: Vec<String>,
}

/// Applies the due removals; returns how many were done.
pub async fn purge_once(
    pool: &sqlx::PgPool,
    ch: &clickhouse::Client,
    storage: &Storage,
) -> Result<usize, AnalyticsError> {
    let due: Vec<Due> = sqlx::query_as(
        "SELECT id, user_id, scope, cloudcast_ids, s3_prefixes FROM analytics_purges
          WHERE done_at IS NULL AND run_after <= now()
          ORDER BY run_after LIMIT $1",
    )
    .bind(BATCH)
    .fetch_all(pool)
    .await?;
    let mut done = 0;
    for Due {
        id,
        user_id: user,
        scope,
        cloudcast_ids: cloudcasts,
        s3_prefixes: prefixes,
    } in due
    {
        match scope {
            PurgeScope::AdInterest => {
                let table = cluster::rows_of("ad_interest", cluster::detect(ch).await?.as_ref());
                ch.query(&format!("ALTER TABLE {table} DELETE WHERE user_id = ?"))
                    .bind(user.to_string())
                    .execute()
                    .await?;
            }
            PurgeScope::Account => {
                erase(ch, Some(user), &cloudcasts).await?;
                for p in &prefixes {
                    storage.delete_prefix(p).await?;
                }
            }
            PurgeScope::Cloudcast => {
                erase(ch, None, &cloudcasts).await?;
                for p in &prefixes {
                    storage.delete_prefix(p).await?;
                }
            }
        }
        sqlx::query("UPDATE analytics_purges SET done_at = now() WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await?;
        tracing::info!(user_id = %user, %scope, "analytics rows removed");
        done += 1;
    }
    // Erasures are complete once their last repeat ran; the ids they kept to
    // stop late beats go after `tombstones::KEEP_DAYS`.
    sqlx::query("DELETE FROM erased_accounts WHERE erased_at < now() - make_interval(days => $1)")
        .bind(crate::tombstones::KEEP_DAYS)
        .execute(pool)
        .await?;
    sqlx::query(
        "DELETE FROM analytics_purges
          WHERE done_at < now() - make_interval(days => $1)",
    )
    .bind(crate::tombstones::KEEP_DAYS)
    .execute(pool)
    .await?;
    Ok(done)
}

/// The tables an erasure must visit: every MergeTree-family table of the
/// database with a `user_id` or `cloudcast_id` column. Read from the schema,
/// so a table added later is covered without a change here.
async fn erasable_tables(
    ch: &clickhouse::Client,
) -> Result<Vec<(String, bool, bool)>, AnalyticsError> {
    #[derive(clickhouse::Row, serde::Deserialize)]
    struct T {
        table: String,
        has_user: u8,
        has_cloudcast: u8,
    }
    let rows: Vec<T> = ch
        .query(
            "SELECT table,
                    max(name = 'user_id') AS has_user,
                    max(name = 'cloudcast_id') AS has_cloudcast
               FROM system.columns
              WHERE database = currentDatabase()
                AND name IN ('user_id', 'cloudcast_id')
                AND table IN (SELECT name FROM system.tables
                               WHERE database = currentDatabase()
                                 AND engine LIKE '%MergeTree')
              GROUP BY table
              ORDER BY table",
        )
        .fetch_all()
        .await?;
    Ok(rows
        .into_iter()
        .map(|t| (t.table, t.has_user == 1, t.has_cloudcast == 1))
        .collect())
}

/// Passes over the tables an erasure makes at most: the first removes the
/// rows; a second catches rows a derived table regained meanwhile (the
/// minute rollup re-reading `listener_days` before its own removal applied).
const ERASE_PASSES: usize = 3;

/// Longest wait for ClickHouse to apply one pass's mutations; past it the
/// removal stays queued and is tried again.
const MUTATION_WAIT: Duration = Duration::from_secs(600);

/// Removes from ClickHouse the rows carrying `user`'s id (an erased
/// account; None for a deleted cloudcast) and every row of `cloudcasts`,
/// waiting until ClickHouse has applied the mutations and no row is left.
/// Aggregates keyed by neither (day totals of all cloudcasts) cannot name
/// the user or the cloudcast and stay.
pub async fn erase(
    ch: &clickhouse::Client,
    user: Option<Uuid>,
    cloudcasts: &[Uuid],
) -> Result<(), AnalyticsError> {
    let who = user.map_or_else(|| format!("{cloudcasts:?}"), |u| u.to_string());
    let cloudcasts: Vec<String> = cloudcasts.iter().map(Uuid::to_string).collect();
    let cluster = cluster::detect(ch).await?;
    let mut tables = erasable_tables(ch).await?;
    if cluster.is_some() {
        // The rows live in the local tables; counts read the whole cluster
        // through the Distributed table of the plain name.
        tables.retain_mut(|(t, _, _)| match t.strip_suffix(LOCAL) {
            Some(plain) => {
                *t = plain.to_string();
                true
            }
            None => false,
        });
    }
    for _ in 0..ERASE_PASSES {
        let mut issued = 0;
        for (table, has_user, has_cloudcast) in &tables {
            let by_user = *has_user && user.is_some();
            let by_cloudcast = *has_cloudcast && !cloudcasts.is_empty();
            let cond = match (by_user, by_cloudcast) {
                (true, true) => "user_id = ? OR has(?, cloudcast_id)",
                (true, false) => "user_id = ?",
                (false, true) => "has(?, cloudcast_id)",
                (false, false) => continue,
            };
            let bind = |sql: &str| {
                let mut q = ch.query(sql);
                if let Some(u) = user.filter(|_| by_user) {
                    q = q.bind(u.to_string());
                }
                if by_cloudcast {
                    q = q.bind(&cloudcasts);
                }
                q
            };
            // A mutation rewrites every part it touches: only where needed.
            let left: u64 = bind(&format!("SELECT count() FROM `{table}` WHERE {cond}"))
                .fetch_one()
                .await?;
            if left > 0 {
                let target = cluster::rows_of(table, cluster.as_ref());
                bind(&format!("ALTER TABLE {target} DELETE WHERE {cond}"))
                    .execute()
                    .await?;
                issued += 1;
            }
        }
        if issued == 0 {
            return Ok(());
        }
        wait_for_mutations(ch, cluster.as_ref()).await?;
    }
    Err(AnalyticsError::Pending(format!(
        "rows of {who} keep coming back after {ERASE_PASSES} passes; will retry"
    )))
}

/// Waits until ClickHouse has applied every mutation of this database: on
/// this server, or in a cluster on every replica of every shard.
async fn wait_for_mutations(
    ch: &clickhouse::Client,
    cluster: Option<&Cluster>,
) -> Result<(), AnalyticsError> {
    // The database by name: on another server currentDatabase() is not ours.
    let (source, database) = match cluster {
        None => ("system.mutations".to_string(), None),
        Some(c) => (
            format!(
                "remote('{}', system.mutations)",
                cluster::replicas(ch, c).await?
            ),
            Some(c.database.as_str()),
        ),
    };
    let sql = format!(
        "SELECT count() FROM {source} WHERE database = {} AND is_done = 0",
        if database.is_some() {
            "?"
        } else {
            "currentDatabase()"
        }
    );
    let started = tokio::time::Instant::now();
    loop {
        let mut q = ch.query(&sql);
        if let Some(db) = database {
            q = q.bind(db);
        }
        let pending: u64 = q.fetch_one().await?;
        if pending == 0 {
            return Ok(());
        }
        if started.elapsed() > MUTATION_WAIT {
            return Err(AnalyticsError::Pending(format!(
                "{pending} ClickHouse mutations still running after {} s; will retry",
                MUTATION_WAIT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Runs [`purge_once`] every `every` until shutdown.
pub async fn run(
    pool: sqlx::PgPool,
    ch: clickhouse::Client,
    storage: Storage,
    every: Duration,
    shutdown: CancellationToken,
) {
    loop {
        if let Err(e) = purge_once(&pool, &ch, &storage).await {
            tracing::warn!(error = %cloudcast_core::error::Chain(&e), "applying analytics removals failed; will retry");
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}
