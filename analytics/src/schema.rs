//! ClickHouse migrations: numbered SQL files in `analytics/migrations/`,
//! compiled in, applied in order and recorded in `schema_migrations`.
//! Every statement must run on ClickHouse 18.16 and on current releases.

use crate::AnalyticsError;
use crate::cluster::{self, Cluster};
use cloudcast_core::config::ClickhouseConfig;

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
];

/// Applies the migrations not applied yet. With `clickhouse.cluster` set
/// the database and every statement go `ON CLUSTER` in the cluster's form
/// (`cluster.rs`).
pub async fn migrate(cfg: &ClickhouseConfig) -> Result<(), AnalyticsError> {
    let cluster = Cluster::new(&cfg.cluster, &cfg.database);
    let on = cluster.as_ref().map(Cluster::on).unwrap_or_default();
    let server = crate::server_client(cfg);
    // The database name comes from our own config, not from a client, but
    // quote it anyway so an odd name cannot break the statement.
    let db = cfg.database.replace('`', "");
    server
        .query(&format!("CREATE DATABASE IF NOT EXISTS `{db}`{on}"))
        .execute()
        .await?;
    let client = crate::client(cfg);
    client
        .query(&cluster::migrations_table(cluster.as_ref()))
        .execute()
        .await?;
    let applied: Vec<u32> = client
        .query("SELECT version FROM schema_migrations")
        .fetch_all()
        .await?;
    for (version, name, sql) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        let sql = crate::sql::strip_comments(sql);
        for stmt in statements(&sql) {
            let forms = cluster::statements_for(stmt, cluster.as_ref())
                .map_err(|why| AnalyticsError::ClusterForm { name, why })?;
            for stmt in forms {
                client
                    .query(&stmt)
                    .execute()
                    .await
                    .map_err(|source| AnalyticsError::Migration { name, source })?;
            }
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

/// The statements of a migration (comments already stripped).
pub fn statements(sql: &str) -> impl Iterator<Item = &str> {
    sql.split(';').map(str::trim).filter(|s| !s.is_empty())
}
