//! Cluster mode (`clickhouse.cluster`): where each table lives and how a
//! statement reaches every shard and replica. One home for the layout:
//!
//! - every table is a `Replicated*MergeTree` named `{table}_local` on each
//!   shard (ZooKeeper path `/clickhouse/tables/{shard}/{database}/{table}`,
//!   so each database, a test's too, has its own), with a `Distributed`
//!   table of the plain name in front: the queries and inserts name the
//!   plain table and read or write the whole cluster;
//! - the materialized views run on each shard, from the local `heartbeats`
//!   into the local aggregates: a beat's aggregates land on the shard of
//!   the beat, so per-listener states stay on one shard;
//! - DDL and mutations run `ON CLUSTER`, so every replica of every shard
//!   has them.
//!
//! The migrations are written for one server; [`statements_for`] rewrites
//! each statement for a cluster, so there is one schema, not two.

use crate::AnalyticsError;

/// The suffix of the tables that hold rows on each shard.
pub const LOCAL: &str = "_local";

/// Each table's sharding key: where a row written through the Distributed
/// table goes. Tables with a listener are sharded by listener, so one
/// listener's beats, days and sessions sit on one shard (and a listener's
/// distinct seconds are counted where all of them are). Tables fed only by
/// the views land on the shard of the beats that made them; their key
/// routes nothing today and names the natural one. Replacing tables are
/// sharded by their whole replacing key, so every version of a row meets
/// the others on one shard (`FINAL` and background merges work per shard).
pub const SHARDING: &[(&str, &str)] = &[
    ("heartbeats", "cityHash64(listener_id)"),
    ("listener_days", "cityHash64(listener_id)"),
    ("session_days", "cityHash64(listener_id)"),
    ("listen_sessions", "cityHash64(listener_id)"),
    ("listener_day_totals", "cityHash64(listener_id)"),
    ("referrer_days", "cityHash64(cloudcast_id)"),
    ("browser_days", "cityHash64(cloudcast_id)"),
    ("retention_days", "cityHash64(cloudcast_id)"),
    ("ad_interest", "cityHash64(user_id)"),
    ("favourite_events", "event_id"),
    ("repost_events", "event_id"),
    ("follow_events", "event_id"),
    ("download_requests", "cityHash64(cloudcast_id)"),
    ("rollup_days", "toUInt32(toRelativeDayNum(day))"),
    ("day_beats", "toUInt32(toRelativeDayNum(day))"),
];

/// A cluster by name, for a database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    pub name: String,
    pub database: String,
}

impl Cluster {
    /// `None` for one server (an empty name).
    pub fn new(name: &str, database: &str) -> Option<Cluster> {
        (!name.is_empty()).then(|| Cluster {
            name: name.to_string(),
            database: database.to_string(),
        })
    }

    /// ` ON CLUSTER name` for DDL.
    pub fn on(&self) -> String {
        format!(" ON CLUSTER `{}`", self.name)
    }

    /// `db`.`table`: DDL on the cluster runs on the other servers in their
    /// default database, so every name in it says its database.
    pub fn table(&self, name: &str) -> String {
        format!("`{}`.`{name}`", self.database)
    }
}

/// The table a mutation or partition drop must name, and the clause that
/// sends it to every replica: `heartbeats_local ON CLUSTER c` in a cluster
/// (a Distributed table holds no rows to mutate), the table itself on one
/// server.
pub fn rows_of(table: &str, cluster: Option<&Cluster>) -> String {
    match cluster {
        Some(c) => format!("{}{}", c.table(&format!("{table}{LOCAL}")), c.on()),
        None => format!("`{table}`"),
    }
}

/// The cluster the database is spread over, read from the schema (the
/// Distributed `heartbeats` names it), so code holding only a client knows.
pub async fn detect(ch: &clickhouse::Client) -> Result<Option<Cluster>, AnalyticsError> {
    #[derive(clickhouse::Row, serde::Deserialize)]
    struct T {
        engine_full: String,
        database: String,
    }
    let rows: Vec<T> = ch
        .query(
            "SELECT engine_full, database FROM system.tables
              WHERE database = currentDatabase() AND name = 'heartbeats'
                AND engine = 'Distributed'",
        )
        .fetch_all()
        .await?;
    Ok(rows.into_iter().next().and_then(|t| {
        let name = distributed_cluster(&t.engine_full)?;
        Cluster::new(&name, &t.database)
    }))
}

/// The cluster named by `Distributed(cluster, db, table, key)`.
fn distributed_cluster(engine_full: &str) -> Option<String> {
    let args = engine_full.strip_prefix("Distributed(")?;
    let name = args
        .split(',')
        .next()?
        .trim()
        .trim_matches(['\'', '`', '"']);
    (!name.is_empty()).then(|| name.to_string())
}

/// Every replica of the cluster as `remote()` addresses (`host:port,...`:
/// each one asked, as shards are).
pub async fn replicas(ch: &clickhouse::Client, c: &Cluster) -> Result<String, AnalyticsError> {
    #[derive(clickhouse::Row, serde::Deserialize)]
    struct R {
        host_address: String,
        port: u16,
    }
    let rows: Vec<R> = ch
        .query("SELECT host_address, port FROM system.clusters WHERE cluster = ?")
        .bind(&c.name)
        .fetch_all()
        .await?;
    Ok(rows
        .iter()
        .map(|r| format!("{}:{}", r.host_address.replace('\'', ""), r.port))
        .collect::<Vec<_>>()
        .join(","))
}

/// The statements that create the migrations' bookkeeping table: on every
/// replica of the cluster, one copy for all (its ZooKeeper path has no
/// shard), so any node sees which migrations ran.
pub fn migrations_table(cluster: Option<&Cluster>) -> String {
    match cluster {
        None => "CREATE TABLE IF NOT EXISTS schema_migrations \
                 (version UInt32, name String, applied_at DateTime) ENGINE = TinyLog"
            .into(),
        Some(c) => format!(
            "CREATE TABLE IF NOT EXISTS {}{} \
             (version UInt32, name String, applied_at DateTime) \
             ENGINE = ReplicatedMergeTree('/clickhouse/tables/all/{}/schema_migrations', '{{replica}}') \
             ORDER BY version",
            c.table("schema_migrations"),
            c.on(),
            c.database
        ),
    }
}

/// One migration statement as it runs: unchanged on one server; in a
/// cluster, rewritten for the layout above (a table becomes its replicated
/// local table and a Distributed one, an ALTER reaches both, a view reads
/// and writes the local tables). A statement of a shape not known here is
/// an error, so a new migration cannot slip past the cluster unnoticed.
pub fn statements_for(stmt: &str, cluster: Option<&Cluster>) -> Result<Vec<String>, String> {
    let Some(c) = cluster else {
        return Ok(vec![stmt.to_string()]);
    };
    let on = c.on();
    if let Some(rest) = stmt.strip_prefix("CREATE TABLE IF NOT EXISTS ") {
        let (name, body) = ident(rest)?;
        let body = replicated_engine(body, &c.database, name)?;
        let local = c.table(&format!("{name}{LOCAL}"));
        return Ok(vec![
            format!("CREATE TABLE IF NOT EXISTS {local}{on}{body}"),
            distributed(c, name)?,
        ]);
    }
    if let Some(rest) = stmt.strip_prefix("ALTER TABLE ") {
        let (name, body) = ident(rest)?;
        // ClickHouse runs an ALTER ON CLUSTER on one replica per shard and
        // lets replication carry it, which a Distributed table (no
        // replication, no rows) refuses: it is made again from the altered
        // local table instead.
        let local = c.table(&format!("{name}{LOCAL}"));
        return Ok(vec![
            format!("ALTER TABLE {local}{on}{body}"),
            format!("DROP TABLE IF EXISTS {}{on}", c.table(name)),
            distributed(c, name)?,
        ]);
    }
    if let Some(rest) = stmt.strip_prefix("CREATE MATERIALIZED VIEW IF NOT EXISTS ") {
        let (name, body) = ident(rest)?;
        let body = body
            .trim_start()
            .strip_prefix("TO ")
            .ok_or_else(|| format!("view {name}: only the TO form is known"))?;
        let (target, select) = ident(body)?;
        sharding_key(target)?;
        let select = sources(c, select, LOCAL)?;
        return Ok(vec![format!(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS {}{on} TO {}{select}",
            c.table(name),
            c.table(&format!("{target}{LOCAL}"))
        )]);
    }
    if let Some(rest) = stmt.strip_prefix("DROP TABLE IF EXISTS ") {
        // A plain view, to be made again (a table with rows is never
        // dropped by a migration): it exists once per server.
        let (name, rest) = ident(rest)?;
        if !rest.trim().is_empty() {
            return Err(format!("drop {name}: nothing may follow the name"));
        }
        return Ok(vec![format!("DROP TABLE IF EXISTS {}{on}", c.table(name))]);
    }
    if let Some(rest) = stmt.strip_prefix("CREATE VIEW IF NOT EXISTS ") {
        // A plain view reads the Distributed tables: the whole cluster.
        let (name, body) = ident(rest)?;
        let body = sources(c, body, "")?;
        return Ok(vec![format!(
            "CREATE VIEW IF NOT EXISTS {}{on}{body}",
            c.table(name)
        )]);
    }
    Err(format!(
        "no cluster form for the statement starting {:?}",
        stmt.chars().take(60).collect::<String>()
    ))
}

/// The Distributed table in front of `{name}_local`, with its columns.
fn distributed(c: &Cluster, name: &str) -> Result<String, String> {
    let key = sharding_key(name)?;
    Ok(format!(
        "CREATE TABLE IF NOT EXISTS {}{} AS {} \
         ENGINE = Distributed(`{}`, '{}', '{name}{LOCAL}', {key})",
        c.table(name),
        c.on(),
        c.table(&format!("{name}{LOCAL}")),
        c.name,
        c.database
    ))
}

/// The name at the start of `s` and what follows it.
fn ident(s: &str) -> Result<(&str, &str), String> {
    let s = s.trim_start();
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    if end == 0 {
        return Err(format!("expected a name at {:?}", &s[..s.len().min(30)]));
    }
    Ok((&s[..end], &s[end..]))
}

fn sharding_key(table: &str) -> Result<&'static str, String> {
    SHARDING
        .iter()
        .find(|(t, _)| *t == table)
        .map(|(_, k)| *k)
        .ok_or_else(|| format!("table {table} has no sharding key in cluster::SHARDING"))
}

/// `ENGINE = XMergeTree(args)` as `ReplicatedXMergeTree(path, replica, args)`.
fn replicated_engine(body: &str, database: &str, table: &str) -> Result<String, String> {
    let at = body
        .find("ENGINE = ")
        .ok_or_else(|| format!("table {table}: no `ENGINE = `"))?;
    let after = &body[at + "ENGINE = ".len()..];
    let (engine, rest) = ident(after)?;
    if !engine.ends_with("MergeTree") {
        return Err(format!(
            "table {table}: engine {engine} cannot be replicated"
        ));
    }
    let rest = rest
        .strip_prefix('(')
        .ok_or_else(|| format!("table {table}: engine without arguments"))?;
    let close = rest
        .find(')')
        .ok_or_else(|| format!("table {table}: unclosed engine arguments"))?;
    let args = rest[..close].trim();
    let path = format!("'/clickhouse/tables/{{shard}}/{database}/{table}', '{{replica}}'");
    let args = if args.is_empty() {
        path
    } else {
        format!("{path}, {args}")
    };
    Ok(format!(
        "{}ENGINE = Replicated{engine}({args}){}",
        &body[..at],
        &rest[close + 1..]
    ))
}

/// A view's SELECT with each `FROM t` naming `db`.`t{suffix}`: the local
/// tables for a materialized view, the Distributed ones for a plain view.
fn sources(c: &Cluster, select: &str, suffix: &str) -> Result<String, String> {
    let mut out = String::with_capacity(select.len() + 16);
    let mut rest = select;
    let mut found = false;
    while let Some(at) = rest.find("FROM ") {
        let (head, tail) = rest.split_at(at + "FROM ".len());
        out.push_str(head);
        if tail.starts_with('(') {
            // A subquery: its own FROM comes next.
            rest = tail;
            continue;
        }
        let (name, after) = ident(tail)?;
        sharding_key(name)?;
        out.push_str(&c.table(&format!("{name}{suffix}")));
        rest = after;
        found = true;
    }
    out.push_str(rest);
    if found {
        Ok(out)
    } else {
        Err("a view without FROM".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{MIGRATIONS, statements};

    fn cluster() -> Cluster {
        Cluster {
            name: "cc".into(),
            database: "db1".into(),
        }
    }

    fn one(stmt: &str) -> Vec<String> {
        statements_for(stmt, Some(&cluster())).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn one_server_runs_the_statements_as_written() {
        let s = "ALTER TABLE heartbeats ADD COLUMN x String";
        assert_eq!(statements_for(s, None), Ok(vec![s.to_string()]));
    }

    #[test]
    fn a_table_becomes_a_replicated_local_table_behind_a_distributed_one() {
        let out = one("CREATE TABLE IF NOT EXISTS rollup_days\n(\n day Date\n)\n\
             ENGINE = ReplacingMergeTree(version)\nORDER BY day");
        assert_eq!(
            out[0],
            "CREATE TABLE IF NOT EXISTS `db1`.`rollup_days_local` ON CLUSTER `cc`\n(\n day Date\n)\n\
             ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db1/rollup_days', \
             '{replica}', version)\nORDER BY day"
        );
        assert_eq!(
            out[1],
            "CREATE TABLE IF NOT EXISTS `db1`.`rollup_days` ON CLUSTER `cc` AS `db1`.`rollup_days_local` \
             ENGINE = Distributed(`cc`, 'db1', 'rollup_days_local', toUInt32(toRelativeDayNum(day)))"
        );
        let plain = one(
            "CREATE TABLE IF NOT EXISTS heartbeats (ts DateTime) ENGINE = MergeTree() ORDER BY ts",
        );
        assert!(
            plain[0].contains("ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/db1/heartbeats', '{replica}') ORDER BY ts"),
            "{}",
            plain[0]
        );
    }

    #[test]
    fn views_read_and_write_the_local_tables() {
        let out = one(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS day_beats_mv TO day_beats AS\n\
             SELECT toDate(ts) AS day, count() AS beats\nFROM heartbeats\nGROUP BY day",
        );
        assert_eq!(
            out,
            vec![
                "CREATE MATERIALIZED VIEW IF NOT EXISTS `db1`.`day_beats_mv` ON CLUSTER `cc` \
                 TO `db1`.`day_beats_local` AS\n\
                 SELECT toDate(ts) AS day, count() AS beats\nFROM `db1`.`heartbeats_local`\nGROUP BY day"
                    .to_string()
            ]
        );
        let alter = one("ALTER TABLE heartbeats ADD COLUMN wal_segment String");
        assert_eq!(
            alter[..2],
            [
                "ALTER TABLE `db1`.`heartbeats_local` ON CLUSTER `cc` ADD COLUMN wal_segment String",
                "DROP TABLE IF EXISTS `db1`.`heartbeats` ON CLUSTER `cc`",
            ]
        );
        assert!(alter[2].starts_with(
            "CREATE TABLE IF NOT EXISTS `db1`.`heartbeats` ON CLUSTER `cc` AS `db1`.`heartbeats_local` ENGINE = Distributed"
        ));
        let view = one(
            "CREATE VIEW IF NOT EXISTS cloudcast_days AS\nSELECT x FROM\n(\n SELECT x FROM listener_days\n)",
        );
        assert_eq!(
            view,
            vec![
                "CREATE VIEW IF NOT EXISTS `db1`.`cloudcast_days` ON CLUSTER `cc` AS\n\
                 SELECT x FROM\n(\n SELECT x FROM `db1`.`listener_days`\n)"
                    .to_string()
            ]
        );
    }

    #[test]
    fn every_migration_has_a_cluster_form_and_every_table_a_sharding_key() {
        for (_, name, sql) in MIGRATIONS {
            for stmt in statements(&crate::schema::text_of(sql)) {
                let out = statements_for(stmt, Some(&cluster()))
                    .unwrap_or_else(|e| panic!("migration {name}: {e}"));
                for s in out {
                    assert!(s.contains("ON CLUSTER `cc`"), "{name}: {s}");
                }
            }
        }
        assert!(statements_for("DROP TABLE x", Some(&cluster())).is_err());
        assert!(
            statements_for(
                "CREATE TABLE IF NOT EXISTS unknown (x UInt8) ENGINE = MergeTree() ORDER BY x",
                Some(&cluster())
            )
            .is_err()
        );
    }

    #[test]
    fn mutations_name_the_local_tables_on_the_cluster() {
        assert_eq!(rows_of("heartbeats", None), "`heartbeats`");
        assert_eq!(
            rows_of("heartbeats", Some(&cluster())),
            "`db1`.`heartbeats_local` ON CLUSTER `cc`"
        );
        assert_eq!(
            distributed_cluster(
                "Distributed(cc, 'db1', 'heartbeats_local', cityHash64(listener_id))"
            ),
            Some("cc".into())
        );
        assert_eq!(distributed_cluster("MergeTree() ORDER BY x"), None);
    }
}
