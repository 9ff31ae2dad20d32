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
use crate::ddl::DdlLock;

/// Most removals applied together: the arrays of ids in one mutation stay
/// well under ClickHouse's query size limit (1000 x 2 UUIDs ~ 80 KiB).
const BATCH: i64 = 1000;

/// One queued removal.
#[derive(sqlx::FromRow)]
struct Due {
    id: i64,
    user_id: Uuid,
    scope: PurgeScope,
    cloudcast_ids: Vec<Uuid>,
    s3_prefixes: Vec<String>,
}

/// The removals of one window, merged: whose ad-interest rows go, whose
/// rows go everywhere, which cloudcasts' rows go, and which S3 prefixes.
#[derive(Debug, Default, PartialEq)]
struct Batch {
    ids: Vec<i64>,
    ad_interest: Vec<Uuid>,
    users: Vec<Uuid>,
    cloudcasts: Vec<Uuid>,
    prefixes: Vec<String>,
}

impl Batch {
    fn of(due: Vec<Due>) -> Batch {
        let mut b = Batch::default();
        for d in due {
            b.ids.push(d.id);
            match d.scope {
                PurgeScope::AdInterest => b.ad_interest.push(d.user_id),
                // A deleted cloudcast's owner keeps their other rows.
                PurgeScope::Account => b.users.push(d.user_id),
                PurgeScope::Cloudcast => {}
            }
            if d.scope != PurgeScope::AdInterest {
                b.cloudcasts.extend(d.cloudcast_ids);
                b.prefixes.extend(d.s3_prefixes);
            }
        }
        for v in [&mut b.ad_interest, &mut b.users, &mut b.cloudcasts] {
            v.sort_unstable();
            v.dedup();
        }
        b.prefixes.sort_unstable();
        b.prefixes.dedup();
        b
    }
}

/// Applies the due removals, every one due within `window` of the oldest
/// together: one mutation per table for all of them (a mutation rewrites
/// every part it touches, so a thousand erasures must not mean a thousand
/// rewrites of a large table). Nothing is applied until the oldest has
/// waited `window`. Returns how many were done.
pub async fn purge_once(
    pool: &sqlx::PgPool,
    ch: &clickhouse::Client,
    storage: &Storage,
    window: Duration,
) -> Result<usize, AnalyticsError> {
    let due: Vec<Due> = sqlx::query_as(
        "SELECT id, user_id, scope, cloudcast_ids, s3_prefixes FROM analytics_purges
          WHERE done_at IS NULL AND run_after <= now()
            AND EXISTS (SELECT 1 FROM analytics_purges
                         WHERE done_at IS NULL
                           AND run_after <= now() - make_interval(secs => $2))
          ORDER BY run_after LIMIT $1",
    )
    .bind(BATCH)
    .bind(window.as_secs_f64())
    .fetch_all(pool)
    .await?;
    let done = due.len();
    if done > 0 {
        let batch = Batch::of(due);
        let lock = DdlLock::shared(pool.clone());
        if !batch.ad_interest.is_empty() {
            let cluster = cluster::detect(ch).await?;
            let table = cluster::rows_of("ad_interest", cluster.as_ref());
            let users: Vec<String> = batch.ad_interest.iter().map(Uuid::to_string).collect();
            let statement = ch
                .query(&format!("ALTER TABLE {table} DELETE WHERE has(?, user_id)"))
                .bind(users);
            crate::ddl::execute(
                ch,
                &lock,
                cluster.as_ref(),
                "ad-interest removal",
                statement,
            )
            .await?;
        }
        if !batch.users.is_empty() || !batch.cloudcasts.is_empty() {
            erase(ch, &lock, &batch.users, &batch.cloudcasts).await?;
        }
        for p in &batch.prefixes {
            storage.delete_prefix(p).await?;
        }
        sqlx::query("UPDATE analytics_purges SET done_at = now() WHERE id = ANY($1)")
            .bind(&batch.ids)
            .execute(pool)
            .await?;
        tracing::info!(
            removals = done,
            users = batch.users.len(),
            cloudcasts = batch.cloudcasts.len(),
            ad_interest = batch.ad_interest.len(),
            "analytics rows removed"
        );
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
/// database with a `user_id`, `followee_id` (a followed account: follow
/// events) or `cloudcast_id` column. Read from the schema, so a table added
/// later is covered without a change here.
async fn erasable_tables(ch: &clickhouse::Client) -> Result<Vec<Erasable>, AnalyticsError> {
    #[derive(clickhouse::Row, serde::Deserialize)]
    struct T {
        table: String,
        has_user: u8,
        has_cloudcast: u8,
        has_followee: u8,
    }
    let rows: Vec<T> = ch
        .query(
            "SELECT table,
                    max(name = 'user_id') AS has_user,
                    max(name = 'cloudcast_id') AS has_cloudcast,
                    max(name = 'followee_id') AS has_followee
               FROM system.columns
              WHERE database = currentDatabase()
                AND name IN ('user_id', 'cloudcast_id', 'followee_id')
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
        .map(|t| Erasable {
            table: t.table,
            user: t.has_user == 1,
            cloudcast: t.has_cloudcast == 1,
            followee: t.has_followee == 1,
        })
        .collect())
}

/// A table an erasure visits, and the columns that name what it erases.
struct Erasable {
    table: String,
    user: bool,
    cloudcast: bool,
    followee: bool,
}

impl Erasable {
    /// The condition on its rows, with its binds in order (users' ids for
    /// user columns, cloudcasts' for the cloudcast column); `None` when
    /// nothing here names what is erased.
    fn condition<'a>(
        &self,
        users: &'a Vec<String>,
        cloudcasts: &'a Vec<String>,
    ) -> Option<(String, Vec<&'a Vec<String>>)> {
        let mut parts = Vec::new();
        let mut binds = Vec::new();
        for (has, column, ids) in [
            (self.user, "user_id", users),
            (self.followee, "followee_id", users),
            (self.cloudcast, "cloudcast_id", cloudcasts),
        ] {
            if has && !ids.is_empty() {
                parts.push(format!("has(?, {column})"));
                binds.push(ids);
            }
        }
        (!parts.is_empty()).then(|| (parts.join(" OR "), binds))
    }
}

/// Passes over the tables an erasure makes at most: the first removes the
/// rows; a second catches rows a derived table regained meanwhile (the
/// minute rollup re-reading `listener_days` before its own removal applied).
const ERASE_PASSES: usize = 3;

/// Longest wait for ClickHouse to apply one pass's mutations; past it the
/// removal stays queued and is tried again.
const MUTATION_WAIT: Duration = Duration::from_secs(600);

/// Removes from ClickHouse the rows carrying one of `users`' ids (erased
/// accounts) and every row of `cloudcasts` (theirs, and deleted ones),
/// waiting until ClickHouse has applied the mutations and no row is left.
/// Aggregates keyed by neither (day totals of all cloudcasts) cannot name
/// a user or a cloudcast and stay.
pub async fn erase(
    ch: &clickhouse::Client,
    lock: &DdlLock,
    users: &[Uuid],
    cloudcasts: &[Uuid],
) -> Result<(), AnalyticsError> {
    let users: Vec<String> = users.iter().map(Uuid::to_string).collect();
    let cloudcasts: Vec<String> = cloudcasts.iter().map(Uuid::to_string).collect();
    let cluster = cluster::detect(ch).await?;
    let mut tables = erasable_tables(ch).await?;
    if cluster.is_some() {
        // The rows live in the local tables; counts read the whole cluster
        // through the Distributed table of the plain name.
        tables.retain_mut(|t| match t.table.strip_suffix(LOCAL) {
            Some(plain) => {
                t.table = plain.to_string();
                true
            }
            None => false,
        });
    }
    for _ in 0..ERASE_PASSES {
        let mut issued = 0;
        for t in &tables {
            let table = &t.table;
            let Some((cond, ids)) = t.condition(&users, &cloudcasts) else {
                continue;
            };
            let bind = |sql: &str| {
                ids.iter()
                    .fold(ch.query(sql), |q, ids| q.bind(ids.as_slice()))
            };
            // A mutation rewrites every part it touches: only where needed.
            let left: u64 = bind(&format!("SELECT count() FROM `{table}` WHERE {cond}"))
                .fetch_one()
                .await?;
            if left > 0 {
                let target = cluster::rows_of(table, cluster.as_ref());
                let statement = bind(&format!("ALTER TABLE {target} DELETE WHERE {cond}"));
                crate::ddl::execute(ch, lock, cluster.as_ref(), "erasure", statement).await?;
                issued += 1;
            }
        }
        if issued == 0 {
            return Ok(());
        }
        wait_for_mutations(ch, cluster.as_ref()).await?;
    }
    Err(AnalyticsError::Pending(format!(
        "rows of {} users and {} cloudcasts keep coming back after {ERASE_PASSES} passes; will retry",
        users.len(),
        cloudcasts.len()
    )))
}

/// Waits until ClickHouse has applied every mutation of this database: on
/// this server, or in a cluster on every replica of every shard.
pub(crate) async fn wait_for_mutations(
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
    window: Duration,
    shutdown: CancellationToken,
) {
    cloudcast_core::periodic::every("analytics_removals", every, shutdown, || async {
        purge_once(&pool, &ch, &storage, window)
            .await
            .map(|_| ())
            .map_err(|e| cloudcast_core::error::Chain(&e).to_string())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_of_removals_merges_into_one_batch() {
        let (u1, u2, c1, c2) = (
            Uuid::from_u128(1),
            Uuid::from_u128(2),
            Uuid::from_u128(11),
            Uuid::from_u128(12),
        );
        let due = |id, user_id, scope, cloudcast_ids: Vec<Uuid>, prefix: &str| Due {
            id,
            user_id,
            scope,
            cloudcast_ids,
            s3_prefixes: vec![prefix.to_string()],
        };
        let b = Batch::of(vec![
            due(1, u1, PurgeScope::Account, vec![c1], "users/1/"),
            // The repeat of the same erasure, and a deleted cloudcast of u2's.
            due(2, u1, PurgeScope::Account, vec![c1], "users/1/"),
            due(3, u2, PurgeScope::Cloudcast, vec![c2], "cloudcasts/12/"),
            due(4, u2, PurgeScope::AdInterest, vec![], ""),
        ]);
        assert_eq!(
            b,
            Batch {
                ids: vec![1, 2, 3, 4],
                ad_interest: vec![u2],
                // u2 keeps the rows of their other cloudcasts.
                users: vec![u1],
                cloudcasts: vec![c1, c2],
                prefixes: vec!["cloudcasts/12/".into(), "users/1/".into()],
            }
        );
    }
}
