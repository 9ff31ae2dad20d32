//! The registry of every table (`privacy/src/registry.rs`) against the live
//! schemas: PostgreSQL and ClickHouse, on one server and on the cluster. A
//! table nobody declared fails the test by name (a new table holding a
//! person's data cannot be left out of the export and the erasure
//! unnoticed), and so does a declaration that the schema contradicts.

use cloudcast_analytics::ddl::DdlLock;
use cloudcast_privacy::registry::{self, Data, Erase, Store};

use crate::analytics_views::{CLUSTER, cluster_url};
use crate::support::TestSystem;

/// The tables of this test's PostgreSQL database.
async fn pg_tables(sys: &TestSystem) -> Vec<String> {
    sys.pg_strings(
        "SELECT table_name::text FROM information_schema.tables
          WHERE table_schema = 'public' ORDER BY 1",
    )
    .await
}

/// The tables (views included) of a ClickHouse database.
async fn ch_tables(ch: &clickhouse::Client) -> Vec<String> {
    ch.query("SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name")
        .fetch_all()
        .await
        .unwrap_or_else(|e| panic!("system.tables: {e}"))
}

/// Does `table`'s every row go when its user does: a foreign key with ON
/// DELETE CASCADE to `users`, or to a table whose rows do?
async fn cascades_to_users(sys: &TestSystem, table: &str) -> bool {
    let edges = sys
        .pg_strings(
            "SELECT tc.table_name || ' ' || ccu.table_name
               FROM information_schema.table_constraints tc
               JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = tc.constraint_name
               JOIN information_schema.referential_constraints rc ON rc.constraint_name = tc.constraint_name
              WHERE tc.constraint_type = 'FOREIGN KEY' AND rc.delete_rule = 'CASCADE'",
        )
        .await;
    let mut reach = vec![table.to_string()];
    for _ in 0..4 {
        if reach.iter().any(|t| t == "users") {
            return true;
        }
        let next: Vec<String> = edges
            .iter()
            .filter_map(|e| e.split_once(' '))
            .filter(|(from, _)| reach.iter().any(|t| t == from))
            .map(|(_, to)| to.to_string())
            .collect();
        reach.extend(next);
    }
    reach.iter().any(|t| t == "users")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_table_is_in_the_registry_and_the_schema_agrees() {
    let sys = TestSystem::start("registry").await;
    let config = sys
        .running
        .as_ref()
        .map(|r| r.config.clickhouse.clone())
        .unwrap_or_else(|| panic!("running"));
    let ch = cloudcast_analytics::client(&config);

    // Every live table is declared, on both stores.
    let pg = pg_tables(&sys).await;
    assert!(pg.len() > 30, "{pg:?}");
    assert_eq!(
        registry::undeclared(Store::Postgres, &pg),
        Vec::<String>::new()
    );
    let single = ch_tables(&ch).await;
    assert!(single.len() > 20, "{single:?}");
    assert_eq!(
        registry::undeclared(Store::Clickhouse, &single),
        Vec::<String>::new()
    );
    // ...and every declared table is live (no stale declaration).
    for t in registry::tables() {
        let live = match t.store {
            Store::Postgres => &pg,
            Store::Clickhouse => &single,
        };
        assert!(
            live.iter().any(|l| l == t.name),
            "{} is declared but not in the schema",
            t.name
        );
    }

    // Declared erasures hold in the schema itself.
    let columns = |table: &str| {
        let ch = ch.clone();
        let table = table.to_string();
        async move {
            ch.query(
                "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = ?",
            )
            .bind(table)
            .fetch_all::<String>()
            .await
            .unwrap_or_default()
        }
    };
    for t in registry::tables() {
        let Data::Personal { erase, .. } = t.data else {
            continue;
        };
        match (t.store, erase) {
            (Store::Postgres, Erase::Cascade) => {
                assert!(
                    cascades_to_users(&sys, t.name).await,
                    "{} does not cascade from users",
                    t.name
                )
            }
            (Store::Clickhouse, Erase::Mutation) => {
                let cols = columns(t.name).await;
                assert!(
                    cols.iter().any(|c| c == "user_id" || c == "cloudcast_id"),
                    "{} has neither user_id nor cloudcast_id to be erased by: {cols:?}",
                    t.name
                )
            }
            (Store::Clickhouse, Erase::Cascade | Erase::Statement(_)) => {
                panic!("{}: ClickHouse rows go by mutation", t.name)
            }
            _ => {}
        }
    }

    // A table added without a declaration is named.
    sys.pg_exec("CREATE TABLE a_new_table (user_id uuid)").await;
    ch.query("CREATE TABLE a_new_ch_table (user_id String) ENGINE = Memory")
        .execute()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        registry::undeclared(Store::Postgres, &pg_tables(&sys).await),
        vec!["a_new_table".to_string()]
    );
    assert_eq!(
        registry::undeclared(Store::Clickhouse, &ch_tables(&ch).await),
        vec!["a_new_ch_table".to_string()]
    );

    // The cluster's schema: `_local` tables and Distributed ones.
    let on_cluster = cloudcast_analytics::config::ClickhouseConfig {
        url: cluster_url(),
        database: format!("{}_registry", config.database),
        cluster: CLUSTER.into(),
        ..Default::default()
    };
    cloudcast_analytics::schema::migrate(&on_cluster, &DdlLock::local())
        .await
        .unwrap_or_else(|e| panic!("migrations on the cluster: {e}"));
    let many = ch_tables(&cloudcast_analytics::client(&on_cluster)).await;
    assert!(many.iter().any(|t| t == "heartbeats_local"), "{many:?}");
    assert_eq!(
        registry::undeclared(Store::Clickhouse, &many),
        Vec::<String>::new()
    );
    let _ = cloudcast_analytics::server_client(&on_cluster)
        .query(&format!(
            "DROP DATABASE IF EXISTS `{}` ON CLUSTER `{CLUSTER}`",
            on_cluster.database
        ))
        .execute()
        .await;
    sys.stop().await;
}

/// `docs/privacy.md`'s table of what each store keeps is the registry's.
#[test]
fn the_privacy_document_shows_the_registry() {
    let doc = include_str!("../../docs/privacy.md");
    let table = registry::retention_markdown();
    let start = "<!-- registry: privacy/src/registry.rs::retention_markdown -->\n";
    let block = doc
        .split(start)
        .nth(1)
        .and_then(|rest| rest.split("<!-- /registry -->").next())
        .unwrap_or_else(|| panic!("docs/privacy.md has no registry block"));
    assert_eq!(
        block, table,
        "docs/privacy.md is out of step with the registry; its block should read:\n{table}"
    );
}
