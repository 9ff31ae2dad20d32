//! The analytics queries, one file each in `analytics/queries/`. The files
//! are also the documented starting points for analysts' own SQL; their `?`
//! placeholders are bound by the ClickHouse client (escaped), in the order
//! the file's `Binds:` comment lists.

use crate::AnalyticsError;
use crate::dates::DateRange;

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
pub const CHARTS: Query = query!("charts");

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
    CHARTS,
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

    /// The query with its placeholders bound, by name, from `b`; a name
    /// `b` has no value for is an error (a query file out of step).
    pub fn bound(
        &self,
        client: &clickhouse::Client,
        b: &Binds<'_>,
    ) -> Result<clickhouse::query::Query, AnalyticsError> {
        let mut q = client.query(&self.text());
        for name in self.bind_names() {
            let missing = || AnalyticsError::Encode(format!("{}: no value for {name}", self.name));
            q = match name {
                "play_min_seconds" => q.bind(b.play_min_seconds.ok_or_else(missing)?),
                // One cloudcast is the range [id, id]; all of them ("") is
                // every id. A range, unlike `? = '' OR ..`, keeps ClickHouse
                // on the primary key.
                "cloudcast_from" => q.bind(b.cloudcast_id.ok_or_else(missing)?),
                "cloudcast_to" => q.bind(match b.cloudcast_id.ok_or_else(missing)? {
                    "" => ALL_IDS_END,
                    id => id,
                }),
                "from" => q.bind(b.from.as_deref().ok_or_else(missing)?),
                "to" => q.bind(b.to.as_deref().ok_or_else(missing)?),
                "limit" => q.bind(b.limit.ok_or_else(missing)?),
                "user_id" => q.bind(b.user_id.as_deref().ok_or_else(missing)?),
                "min_audience" => q.bind(b.min_audience.ok_or_else(missing)?),
                _ => return Err(missing()),
            };
        }
        Ok(q)
    }

    /// The SQL with comment lines removed.
    pub fn text(&self) -> String {
        strip_comments(self.sql)
    }
}

/// Above every cloudcast id (ids are ASCII): the end of the "all" range.
pub const ALL_IDS_END: &str = "\u{7f}";

/// Values for a query's placeholders, by name.
#[derive(Debug, Default, Clone)]
pub struct Binds<'a> {
    pub play_min_seconds: Option<u32>,
    /// `""` means all cloudcasts where a query allows it.
    pub cloudcast_id: Option<&'a str>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: Option<u32>,
    pub user_id: Option<String>,
    pub min_audience: Option<u64>,
}

impl Binds<'_> {
    /// Just the date range.
    pub fn range(r: &DateRange) -> Self {
        let (from, to) = r.bounds();
        Binds {
            from: Some(from),
            to: Some(to),
            ..Binds::default()
        }
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
