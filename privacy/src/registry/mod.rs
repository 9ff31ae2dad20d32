//! Every table the system keeps, and every other place that holds data
//! about a person, in one list: whether it names anyone, and if it does,
//! how it is exported (the columns: never a secret, so hashes, tokens and
//! keys are listed by their metadata only), how it is erased, and how long
//! it is kept. The export walks it (`export.rs`), the erasure runs its
//! statements (`erasure.rs`), and `docs/privacy.md`'s table of what each
//! store keeps is drawn from it ([`retention_markdown`]). A test lists the
//! live schemas of PostgreSQL and ClickHouse (one server and a cluster) and
//! fails naming any table not declared here, personal or not, and checks
//! the declared erasures against the foreign keys and columns themselves.

/// Where a table lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Postgres,
    /// A table of the analytics schema (in a cluster its `{name}_local`
    /// tables too; materialized views and plain views included).
    Clickhouse,
}

/// What a table holds.
#[derive(Debug, Clone, Copy)]
pub enum Data {
    /// About no one in particular, and why.
    Nobody(&'static str),
    /// About people.
    Personal {
        /// How a person gets their rows (every way, in order).
        export: &'static [Export],
        /// How their rows go when they leave.
        erase: Erase,
        /// How long rows are kept (the retention table's words).
        kept: &'static str,
    },
}

/// How a person's rows leave in their export.
#[derive(Debug, Clone, Copy)]
pub enum Export {
    /// A section of `account.json`: its name, one object or a list, and the
    /// SQL selecting the user's rows with `$1` = the user's id.
    Json {
        section: &'static str,
        one: bool,
        sql: &'static str,
    },
    /// A Parquet file: its name and the ClickHouse SQL with `?` = the
    /// user's id.
    Parquet {
        file: &'static str,
        sql: &'static str,
    },
    /// Every heartbeat, as `heartbeats.parquet`, a day range at a time
    /// (`export.rs::heartbeats_parquet`).
    Heartbeats,
    /// Through another table's section or file (which, and how).
    Through(&'static str),
    /// Not exported, and why (a secret, a key, nothing of the person).
    Withheld(&'static str),
}

/// How a person's rows go when the account is erased.
#[derive(Debug, Clone, Copy)]
pub enum Erase {
    /// With the account: a foreign key to `users` (or to a row that has
    /// one) with `ON DELETE CASCADE` (the test checks the live schema).
    Cascade,
    /// A statement of the erasure, in its transaction, with `$1` = the ids
    /// of the account's cloudcasts (`erasure.rs`).
    Statement(&'static str),
    /// A ClickHouse mutation by `user_id` or `cloudcast_id`
    /// (`analytics/src/purge.rs` finds the tables from their columns).
    Mutation,
    /// Kept, and why.
    Kept(&'static str),
}

/// One table.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub name: &'static str,
    pub store: Store,
    pub data: Data,
}

mod clickhouse;
mod postgres;

/// Every table of PostgreSQL and ClickHouse, PostgreSQL's first.
pub fn tables() -> impl Iterator<Item = &'static Table> {
    postgres::TABLES.iter().chain(clickhouse::TABLES.iter())
}

/// A place other than a table where data about a person lives.
#[derive(Debug, Clone, Copy)]
pub struct Place {
    pub what: &'static str,
    pub r#where: &'static str,
    pub kept: &'static str,
}

/// The other places: S3 (every prefix of an account in
/// `core/src/keys.rs::account_prefixes`), each stream node's log.
pub const PLACES: &[Place] = &[
    Place {
        what: "Originals, transcoded media, covers, avatars, unfinished uploads, export archives",
        r#where: "S3 (`core/src/keys.rs`: every account prefix)",
        kept: "while the account or cloudcast lives; deleted at once with it, and swept again",
    },
    Place {
        what: "Unshipped heartbeats",
        r#where: "each stream node's write-ahead log (`analytics.wal_dir`)",
        kept: "until ClickHouse confirms them, seconds normally; an erased account's are dropped",
    },
];

/// The table called `name` in `store`, a cluster's `{name}_local` included.
pub fn declared(store: Store, name: &str) -> Option<&'static Table> {
    let plain = name.strip_suffix("_local").unwrap_or(name);
    tables().find(|t| t.store == store && (t.name == name || t.name == plain))
}

/// The tables of a live schema not declared here.
pub fn undeclared(store: Store, live: &[String]) -> Vec<String> {
    live.iter()
        .filter(|t| declared(store, t).is_none())
        .cloned()
        .collect()
}

/// `account.json`'s sections, in order: (section, one row, SQL).
pub fn json_sections() -> impl Iterator<Item = (&'static str, bool, &'static str)> {
    exports().filter_map(|e| match e {
        Export::Json { section, one, sql } => Some((section, one, sql)),
        _ => None,
    })
}

/// The Parquet files of ClickHouse aggregates: (file, SQL).
pub fn parquet_files() -> impl Iterator<Item = (&'static str, &'static str)> {
    exports().filter_map(|e| match e {
        Export::Parquet { file, sql } => Some((file, sql)),
        _ => None,
    })
}

fn exports() -> impl Iterator<Item = Export> {
    tables().flat_map(|t| match t.data {
        Data::Personal { export, .. } => export.iter().copied(),
        Data::Nobody(_) => [].iter().copied(),
    })
}

/// The erasure's statements, in order (`$1` = the account's cloudcasts).
pub fn erasure_statements() -> impl Iterator<Item = &'static str> {
    tables().filter_map(|t| match t.data {
        Data::Personal {
            erase: Erase::Statement(sql),
            ..
        } => Some(sql),
        _ => None,
    })
}

/// `docs/privacy.md`'s table of what each store keeps about people, drawn
/// from the registry (a test holds the document to it).
pub fn retention_markdown() -> String {
    let mut out = String::from("| table or place | store | kept |\n|---|---|---|\n");
    for t in tables() {
        if let Data::Personal { kept, .. } = t.data {
            let store = match t.store {
                Store::Postgres => "PostgreSQL",
                Store::Clickhouse => "ClickHouse",
            };
            out.push_str(&format!("| `{}` | {store} | {kept} |\n", t.name));
        }
    }
    for p in PLACES {
        out.push_str(&format!("| {} | {} | {} |\n", p.what, p.r#where, p.kept));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_is_declared_once_and_sections_are_unique() {
        let mut names: Vec<(bool, &str)> = tables()
            .map(|t| (t.store == Store::Postgres, t.name))
            .collect();
        names.sort_unstable();
        let all = names.len();
        names.dedup();
        assert_eq!(names.len(), all, "a table declared twice");
        let mut sections: Vec<&str> = json_sections().map(|s| s.0).collect();
        let n = sections.len();
        sections.sort_unstable();
        sections.dedup();
        assert_eq!(sections.len(), n, "two sections of one name");
    }

    #[test]
    fn no_export_selects_a_secret() {
        for (section, _, sql) in json_sections() {
            for secret in ["password_hash", "token_hash", "key_hash", "SELECT *"] {
                assert!(!sql.contains(secret), "{section} selects {secret}");
            }
        }
    }

    #[test]
    fn undeclared_tables_are_named() {
        let live = [
            "users".to_string(),
            "heartbeats_local".to_string(),
            "a_new_table".to_string(),
        ];
        assert_eq!(
            undeclared(Store::Postgres, &live[..1]),
            Vec::<String>::new()
        );
        assert_eq!(
            undeclared(Store::Clickhouse, &live[1..]),
            vec!["a_new_table".to_string()]
        );
    }
}
