//! ClickHouse migrations: numbered SQL files in `analytics/migrations/`,
//! compiled in, applied in order and recorded in `schema_migrations`.
//! Every statement must run on ClickHouse 18.16 and on current releases.

use crate::AnalyticsError;
use crate::cluster::{self, Cluster};
use crate::config::ClickhouseConfig;
use crate::ddl::DdlLock;

pub const MIGRATIONS: &[(u32, &str, &str)] = &[
    (
        1,
        "heartbeats",
        include_str!("../migrations/0001_heartbeats.sql"),
    ),
    (
        2,
        "heartbeat_enrichment",
        include_str!("../migrations/0002_heartbeat_enrichment.sql"),
    ),
    (
        3,
        "wal_segment",
        include_str!("../migrations/0003_wal_segment.sql"),
    ),
    (4, "views", include_str!("../migrations/0004_views.sql")),
    (5, "rollups", include_str!("../migrations/0005_rollups.sql")),
    (6, "reposts", include_str!("../migrations/0006_reposts.sql")),
    (
        7,
        "rollup_marks",
        include_str!("../migrations/0007_rollup_marks.sql"),
    ),
    (
        8,
        "listening_rule",
        include_str!("../migrations/0008_listening_rule.sql"),
    ),
    (
        9,
        "follow_events",
        include_str!("../migrations/0009_follow_events.sql"),
    ),
    (
        10,
        "download_requests",
        include_str!("../migrations/0010_download_requests.sql"),
    ),
];

/// The migration that brought the listening rule: once applied, the
/// sessions of the raw beats kept are filled in, so earlier days can be
/// counted again under the rule.
const LISTENING_RULE: u32 = 8;

/// What a migration names `{counted_live_defaults}`: the rule's text with
/// its default numbers in place of its binds, over every cloudcast and day
/// (a view takes no binds).
fn counted_live_defaults() -> String {
    let rule = crate::sql::Rule::of(&Default::default());
    let values = [
        rule.session_slack_secs.to_string(),
        "''".to_string(),
        "'~'".to_string(),
        "'1970-01-01'".to_string(),
        "'2105-12-31'".to_string(),
        rule.listeners_per_address.to_string(),
    ];
    let text = crate::sql::COUNTED_LIVE.text();
    let mut out = String::with_capacity(text.len());
    let mut values = values.iter();
    for (i, part) in text.split('?').enumerate() {
        if i > 0 {
            out.push_str(values.next().map_or("NULL", String::as_str));
        }
        out.push_str(part);
    }
    out
}

/// Applies the migrations not applied yet, one node at a time (`lock`). With
/// `clickhouse.cluster` set the database and every statement go `ON
/// CLUSTER` in the cluster's form (`cluster.rs`); a statement some replica
/// did not run fails naming it (`ddl.rs`).
pub async fn migrate(cfg: &ClickhouseConfig, lock: &DdlLock) -> Result<(), AnalyticsError> {
    lock.hold("ClickHouse migrations", apply(cfg)).await
}

async fn apply(cfg: &ClickhouseConfig) -> Result<(), AnalyticsError> {
    let cluster = Cluster::new(&cfg.cluster, &cfg.database);
    let on = cluster.as_ref().map(Cluster::on).unwrap_or_default();
    let server = crate::server_client(cfg);
    // The database name comes from our own config, not from a client, but
    // quote it anyway so an odd name cannot break the statement.
    let db = cfg.database.replace('`', "");
    let named = |err: AnalyticsError| async {
        match &cluster {
            Some(_) => crate::ddl::named(&server, err).await,
            None => err,
        }
    };
    if let Err(e) = server
        .query(&format!("CREATE DATABASE IF NOT EXISTS `{db}`{on}"))
        .execute()
        .await
    {
        return Err(named(e.into()).await);
    }
    let client = crate::client(cfg);
    if let Err(e) = client
        .query(&cluster::migrations_table(cluster.as_ref()))
        .execute()
        .await
    {
        return Err(named(e.into()).await);
    }
    let applied: Vec<u32> = client
        .query("SELECT version FROM schema_migrations")
        .fetch_all()
        .await?;
    for (version, name, sql) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        let sql = text_of(sql);
        for stmt in statements(&sql) {
            let forms = cluster::statements_for(stmt, cluster.as_ref())
                .map_err(|why| AnalyticsError::ClusterForm { name, why })?;
            for stmt in forms {
                if let Err(source) = client.query(&stmt).execute().await {
                    return Err(named(AnalyticsError::Migration { name, source }).await);
                }
            }
        }
        if *version == LISTENING_RULE {
            crate::rollup::fill_sessions(&client).await?;
        }
        client
            .query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, now())")
            .bind(*version)
            .bind(*name)
            .execute()
            .await?;
        tracing::info!(version, name, "ClickHouse migration applied");
    }
    Ok(())
}

/// A migration's text as it runs: comments stripped, the rule put in.
pub fn text_of(sql: &str) -> String {
    crate::sql::strip_comments(sql).replace("{counted_live_defaults}", &counted_live_defaults())
}

/// The statements of a migration (comments already stripped).
pub fn statements(sql: &str) -> impl Iterator<Item = &str> {
    sql.split(';').map(str::trim).filter(|s| !s.is_empty())
}
