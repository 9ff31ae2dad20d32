//! The analytics queries, one file each in `analytics/queries/`. The files
//! are also the documented starting points for analysts' own SQL; their `?`
//! placeholders are bound by the ClickHouse client (escaped), in the order
//! the file's `Binds:` comment lists.

/// One query: its file name (without `.sql`) and text.
#[derive(Debug, Clone, Copy)]
pub struct Query {
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! query {
    ($name:literal) => {
        Query {
            name: $name,
            sql: include_str!(concat!("../queries/", $name, ".sql")),
        }
    };
}

pub const DAILY: Query = query!("daily");
pub const LISTENERS: Query = query!("listeners");
pub const RETENTION: Query = query!("retention");
pub const REFERRERS: Query = query!("referrers");
pub const BROWSERS: Query = query!("browsers");
pub const TOP_CLOUDCASTS: Query = query!("top_cloudcasts");
pub const HISTORY: Query = query!("history");
pub const AD_AUDIENCES: Query = query!("ad_audiences");
pub const FAVOURITES: Query = query!("favourites");

/// Every query, for checks that run them all (the modern-engine test).
pub const ALL: &[Query] = &[
    DAILY,
    LISTENERS,
    RETENTION,
    REFERRERS,
    BROWSERS,
    TOP_CLOUDCASTS,
    HISTORY,
    AD_AUDIENCES,
    FAVOURITES,
];

impl Query {
    /// The names in the file's `-- Binds:` comment, in order.
    pub fn bind_names(&self) -> Vec<&'static str> {
        self.sql
            .lines()
            .filter_map(|l| l.trim().strip_prefix("-- Binds:"))
            .flat_map(|l| l.trim().trim_end_matches('.').split(','))
            .map(|n| n.trim().trim_end_matches(" (dates)"))
            .filter(|n| !n.is_empty())
            .collect()
    }

    /// The SQL with comment lines removed.
    pub fn text(&self) -> String {
        strip_comments(self.sql)
    }
}

/// Removes `--` comment lines (the client appends `FORMAT ..` to the text,
/// and migration files are split on `;`, which comments must not disturb).
pub fn strip_comments(sql: &str) -> String {
    sql.lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_documented() {
        for q in ALL {
            let placeholders = q.text().matches('?').count();
            assert_eq!(
                placeholders,
                q.bind_names().len(),
                "{}: {:?}",
                q.name,
                q.bind_names()
            );
        }
    }

    #[test]
    fn comments_are_stripped() {
        assert_eq!(strip_comments("-- a; b?\nSELECT 1\n  -- c\n"), "SELECT 1");
    }
}
