//! DDL that reaches every replica (`ON CLUSTER`: migrations, mutations,
//! partition drops) is issued by one node at a time, and a replica that does
//! not run it is named.
//!
//! ClickHouse runs `ON CLUSTER` statements through a task queue in ZooKeeper
//! that each server's DDL worker executes. Two initiators racing on that
//! queue wedged a worker on 18.16 ("Node exists ... /executed"): it stopped
//! executing tasks, and every later statement waited out
//! `distributed_ddl_task_timeout` and failed until that server restarted.
//! [`DdlLock`] queues issuers instead: within a process always, and across
//! the nodes of an installation (which share one PostgreSQL database) under
//! an advisory lock whose holder is named while others wait.
//! [`stuck_replicas`] reads the queue itself (`system.zookeeper`): a replica
//! missing from a task's `finished` list has not run it; the errors of a
//! statement that timed out name them, and the analytics role reports them
//! on `/healthz` and `/metrics` ([`watch`]).

use std::sync::{Arc, LazyLock, RwLock};
use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::AnalyticsError;

/// Where every server of the cluster reads its DDL tasks (ClickHouse's
/// default `distributed_ddl.path`).
pub const DDL_QUEUE: &str = "/clickhouse/task_queue/ddl";
/// A task this old that a replica has not finished is stuck there (tasks
/// run in well under a second; a mutation's task ends once it is queued).
pub const GRACE_SECS: u32 = 60;
/// How many of the newest tasks are read for a replica missing from them.
const TASKS_READ: u32 = 5;
/// Longest a node waits for another to finish its DDL.
pub const LOCK_WAIT: Duration = Duration::from_secs(600);
/// The advisory lock's key (any fixed number of ours).
const LOCK_KEY: i64 = 0x0c4a_dd1d;

/// One issuer per process: tests run many systems in one process, each
/// with a database of its own, on one cluster.
static IN_PROCESS: LazyLock<tokio::sync::Mutex<()>> = LazyLock::new(|| tokio::sync::Mutex::new(()));

/// Serialises DDL sent to ClickHouse. Without a pool, within this process
/// only (tests, `cloudcast rollup`); with one, across every node using that
/// PostgreSQL database too.
#[derive(Clone, Default)]
pub struct DdlLock {
    pool: Option<PgPool>,
}

impl std::fmt::Debug for DdlLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DdlLock")
            .field("shared", &self.pool.is_some())
            .finish()
    }
}

impl DdlLock {
    /// Shared by every node on `pool`'s database.
    pub fn shared(pool: PgPool) -> DdlLock {
        DdlLock { pool: Some(pool) }
    }

    /// This process only.
    pub fn local() -> DdlLock {
        DdlLock::default()
    }

    /// Runs `work` holding the lock; `what` names the holder to waiters.
    pub async fn hold<T, F>(&self, what: &str, work: F) -> Result<T, AnalyticsError>
    where
        F: std::future::Future<Output = Result<T, AnalyticsError>>,
    {
        let _here = IN_PROCESS.lock().await;
        let held = match &self.pool {
            Some(pool) => Some(acquire(pool, what).await?),
            None => None,
        };
        let out = work.await;
        // The transaction ends, and the lock with it, however `work` went.
        if let Some(tx) = held {
            tx.rollback().await?;
        }
        out
    }
}

/// The advisory lock in a transaction of its own (released when it ends,
/// even if this process dies), waiting at most [`LOCK_WAIT`] and saying
/// who holds it meanwhile.
async fn acquire(
    pool: &PgPool,
    what: &str,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, AnalyticsError> {
    let mut tx = pool.begin().await?;
    let me = format!(
        "cloudcast {what} on {} (pid {})",
        cloudcast_core::hostname().unwrap_or_else(|| "an unnamed host".into()),
        std::process::id()
    );
    sqlx::query("SELECT set_config('application_name', $1, true)")
        .bind(&me)
        .execute(&mut *tx)
        .await?;
    let started = tokio::time::Instant::now();
    let mut said = started;
    loop {
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(LOCK_KEY)
            .fetch_one(&mut *tx)
            .await?;
        if got {
            return Ok(tx);
        }
        let waited = started.elapsed();
        if waited > LOCK_WAIT || said.elapsed() >= Duration::from_secs(10) {
            let holder = holder(pool)
                .await
                .unwrap_or_else(|e| format!("unknown ({e})"));
            if waited > LOCK_WAIT {
                return Err(AnalyticsError::DdlBusy {
                    holder,
                    waited_secs: waited.as_secs(),
                });
            }
            tracing::warn!(%holder, waited_secs = waited.as_secs(), "waiting for another node's ClickHouse DDL to finish");
            said = tokio::time::Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Who holds the lock: the holder's application name and since when.
async fn holder(pool: &PgPool) -> Result<String, sqlx::Error> {
    let row: Option<(String, i32, String)> = sqlx::query_as(
        "SELECT coalesce(a.application_name, ''), a.pid, coalesce(a.xact_start::text, '')
           FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE l.locktype = 'advisory' AND l.granted
            AND l.classid = 0 AND l.objid = $1
            AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .bind(LOCK_KEY)
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        Some((name, pid, since)) => format!("{name} (backend {pid}, since {since})"),
        None => "nobody now".into(),
    })
}

/// A replica that has not run a DDL task.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct StuckReplica {
    /// `host:port` as the cluster's configuration names it.
    pub host: String,
    /// The oldest task read that it has not finished.
    pub task: String,
    /// When that task was queued (UTC).
    pub since: String,
}

#[derive(Debug, serde::Deserialize, clickhouse::Row)]
struct Task {
    name: String,
    value: String,
    ctime: String,
}

/// The replicas missing from the `finished` list of one of the newest DDL
/// tasks at least `min_age_secs` old.
pub async fn stuck_replicas(
    ch: &clickhouse::Client,
    min_age_secs: u32,
) -> Result<Vec<StuckReplica>, AnalyticsError> {
    let tasks: Vec<Task> = ch
        .query(
            "SELECT name, value, toString(ctime) FROM system.zookeeper
              WHERE path = ? AND ctime <= now() - ?
              ORDER BY name DESC LIMIT ?",
        )
        .bind(DDL_QUEUE)
        .bind(min_age_secs)
        .bind(TASKS_READ)
        .fetch_all()
        .await?;
    let mut stuck: Vec<StuckReplica> = Vec::new();
    for task in tasks {
        let finished: Vec<String> = ch
            .query("SELECT name FROM system.zookeeper WHERE path = ?")
            .bind(format!("{DDL_QUEUE}/{}/finished", task.name))
            .fetch_all()
            .await?;
        let finished: Vec<String> = finished.iter().map(|h| unescape(h)).collect();
        for host in task_hosts(&task.value) {
            if finished.contains(&host) {
                continue;
            }
            // Tasks come newest first: the last one read is the oldest.
            let entry = StuckReplica {
                host: host.clone(),
                task: task.name.clone(),
                since: task.ctime.clone(),
            };
            match stuck.iter_mut().find(|s| s.host == host) {
                Some(s) => *s = entry,
                None => stuck.push(entry),
            }
        }
    }
    stuck.sort_by(|a, b| a.host.cmp(&b.host));
    Ok(stuck)
}

/// The hosts a task's text names (`hosts: ['a%2Eb:1','c:2']`), unescaped.
fn task_hosts(value: &str) -> Vec<String> {
    value
        .lines()
        .find_map(|l| l.strip_prefix("hosts:"))
        .map(|list| {
            list.trim()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .split(',')
                .map(|h| unescape(h.trim().trim_matches('\'')))
                .filter(|h| !h.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// ClickHouse escapes a host id's dots and other signs as `%XX`.
fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `err` from a DDL statement, with the replicas that have not run the
/// newest tasks named (when the queue can be read).
pub async fn named(ch: &clickhouse::Client, err: AnalyticsError) -> AnalyticsError {
    match stuck_replicas(ch, 0).await {
        Ok(stuck) if !stuck.is_empty() => AnalyticsError::DdlStuck {
            replicas: stuck
                .iter()
                .map(|s| s.host.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            source: Box::new(err),
        },
        _ => err,
    }
}

/// Executes a statement that reaches every replica: on a cluster under
/// `lock` (`what` names it to waiting nodes), its error naming a replica
/// that did not run it; on one server, as it is.
pub async fn execute(
    ch: &clickhouse::Client,
    lock: &DdlLock,
    cluster: Option<&crate::cluster::Cluster>,
    what: &str,
    statement: clickhouse::query::Query,
) -> Result<(), AnalyticsError> {
    if cluster.is_none() {
        return Ok(statement.execute().await?);
    }
    lock.hold(what, async {
        match statement.execute().await {
            Ok(()) => Ok(()),
            Err(e) => Err(named(ch, e.into()).await),
        }
    })
    .await
}

/// The replicas found stuck at the last look (`None`: not looked yet, or
/// the queue could not be read), for `/healthz`.
pub type Health = Arc<RwLock<Option<Vec<StuckReplica>>>>;

/// Looks at the DDL queue every `every` until shutdown, keeping the answer
/// in `health` and the count in the `cloudcast_clickhouse_ddl_stuck_replicas`
/// gauge; a replica found stuck is logged once a look.
pub async fn watch(
    ch: clickhouse::Client,
    health: Health,
    every: Duration,
    shutdown: CancellationToken,
) {
    cloudcast_core::periodic::every("ddl_watch", every, shutdown, || async {
        let seen = stuck_replicas(&ch, GRACE_SECS).await;
        if let Ok(stuck) = &seen {
            if !stuck.is_empty() {
                tracing::error!(
                    ?stuck,
                    "ClickHouse replicas are not running DDL tasks; see docs/deploy.md"
                );
            }
            crate::metrics::ddl_stuck(stuck.len());
        }
        // Unknown (None) while the queue cannot be read.
        if let Ok(mut h) = health.write() {
            *h = seen.as_ref().ok().cloned();
        }
        seen.map(|_| ())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tasks_hosts_are_read_and_unescaped() {
        let value = "version: 1\nquery: DROP DATABASE x ON CLUSTER c\nhosts: ['127%2E0%2E0%2E1:19101','127%2E0%2E0%2E1:19102']\ninitiator: vm:19101\n";
        assert_eq!(
            task_hosts(value),
            vec!["127.0.0.1:19101".to_string(), "127.0.0.1:19102".to_string()]
        );
        assert_eq!(unescape("ch%2Dthree:9000"), "ch-three:9000");
        assert_eq!(unescape("bad%zz"), "bad%zz");
        assert!(task_hosts("version: 1\n").is_empty());
    }
}
