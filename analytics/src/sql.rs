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
pub const CO_LISTENING: Query = query!("co_listening");
pub const CATALOGUE_MIXES: Query = query!("catalogue_mixes");
pub const CATALOGUE_DAILY: Query = query!("catalogue_daily");
pub const RETURNING: Query = query!("returning");
pub const CATALOGUE_REFERRERS: Query = query!("catalogue_referrers");
pub const CATALOGUE_DEVICES: Query = query!("catalogue_devices");
pub const CATALOGUE_ACCOUNTS: Query = query!("catalogue_accounts");
pub const FOLLOWER_DAYS: Query = query!("follower_days");
pub const SESSION_POSITIONS: Query = query!("session_positions");
pub const DOWNLOADS: Query = query!("downloads");
/// The listening rule on days not rolled up yet: not a query of its own,
/// but the text the others include where they say `{counted_live}`, with
/// its binds where their `Binds:` say `counted_live`.
pub const COUNTED_LIVE: Query = query!("counted_live");

/// Where a query includes [`COUNTED_LIVE`].
const COUNTED_LIVE_MARK: &str = "{counted_live}";

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
    CO_LISTENING,
    CATALOGUE_MIXES,
    CATALOGUE_DAILY,
    RETURNING,
    CATALOGUE_REFERRERS,
    CATALOGUE_DEVICES,
    CATALOGUE_ACCOUNTS,
    FOLLOWER_DAYS,
    SESSION_POSITIONS,
    DOWNLOADS,
];

impl Query {
    /// The names in the file's `-- Binds:` comment, in order (an included
    /// `counted_live` stands for that file's own).
    pub fn bind_names(&self) -> Vec<&'static str> {
        self.sql
            .lines()
            .filter_map(|l| l.trim().strip_prefix("-- Binds:"))
            .flat_map(|l| l.trim().trim_end_matches('.').split(','))
            .map(|n| n.trim().trim_end_matches(" (dates)"))
            .filter(|n| !n.is_empty())
            .flat_map(|n| match n {
                "counted_live" => COUNTED_LIVE.bind_names(),
                n => vec![n],
            })
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
                "cloudcast_from" => match b.cloudcast_range {
                    Some((lowest, _)) => q.bind(lowest),
                    None => q.bind(b.cloudcast_id.ok_or_else(missing)?),
                },
                "cloudcast_to" => match b.cloudcast_range {
                    Some((_, highest)) => q.bind(highest),
                    None => q.bind(match b.cloudcast_id.ok_or_else(missing)? {
                        "" => ALL_IDS_END,
                        id => id,
                    }),
                },
                "from" => q.bind(b.from.as_deref().ok_or_else(missing)?),
                "to" => q.bind(b.to.as_deref().ok_or_else(missing)?),
                "limit" => q.bind(b.limit.ok_or_else(missing)?),
                "user_id" => q.bind(b.user_id.as_deref().ok_or_else(missing)?),
                "min_audience" => q.bind(b.min_audience.ok_or_else(missing)?),
                "listeners_per_address" => q.bind(b.listeners_per_address.ok_or_else(missing)?),
                "session_slack_secs" => q.bind(b.session_slack_secs.ok_or_else(missing)?),
                "listen_min_seconds" => q.bind(b.listen_min_seconds.ok_or_else(missing)?),
                "cloudcast_ids" => q.bind(b.cloudcast_ids.ok_or_else(missing)?),
                _ => return Err(missing()),
            };
        }
        Ok(q)
    }

    /// The SQL with comment lines removed, and [`COUNTED_LIVE`] included
    /// where it is named.
    pub fn text(&self) -> String {
        let text = strip_comments(self.sql);
        if text.contains(COUNTED_LIVE_MARK) {
            text.replace(COUNTED_LIVE_MARK, &strip_comments(COUNTED_LIVE.sql))
        } else {
            text
        }
    }
}

/// Above every cloudcast id (ids are ASCII): the end of the "all" range.
pub const ALL_IDS_END: &str = "\u{7f}";

/// The listening rule's numbers (counted_live.sql and the rollup apply it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// `analytics.play_min_seconds`: seconds in a UTC day that make a play.
    pub play_min_seconds: u32,
    /// `analytics.listeners_per_address`: anonymous listeners of one
    /// cloudcast counted from one address in a day, at most.
    pub listeners_per_address: u32,
    /// `analytics.session_slack_secs`: what a session counts past its span.
    pub session_slack_secs: u32,
}

impl Rule {
    pub fn of(cfg: &crate::config::AnalyticsConfig) -> Rule {
        Rule {
            play_min_seconds: cfg.play_min_seconds,
            listeners_per_address: cfg.listeners_per_address,
            session_slack_secs: cfg.session_slack_secs,
        }
    }

    /// The default rule with another play threshold.
    pub fn with_play_min(play_min_seconds: u32) -> Rule {
        Rule {
            play_min_seconds,
            ..Rule::of(&Default::default())
        }
    }
}

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
    /// `analytics.listeners_per_address`, for the listening rule.
    pub listeners_per_address: Option<u32>,
    /// `analytics.session_slack_secs`, for the listening rule.
    pub session_slack_secs: Option<u32>,
    /// Counted seconds of one cloudcast that make a listener one of its
    /// audience for co-listening.
    pub listen_min_seconds: Option<u64>,
    /// A set of cloudcasts (a DJ's), for the insights.
    pub cloudcast_ids: Option<&'a [String]>,
    /// The lowest and highest id of that set: the primary-key range its
    /// queries read (in place of `cloudcast_id`'s).
    pub cloudcast_range: Option<(&'a str, &'a str)>,
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

    /// The date range, counted under `rule`, over all cloudcasts.
    pub fn ruled(r: &DateRange, rule: Rule) -> Self {
        Binds {
            play_min_seconds: Some(rule.play_min_seconds),
            listeners_per_address: Some(rule.listeners_per_address),
            session_slack_secs: Some(rule.session_slack_secs),
            cloudcast_id: Some(""),
            ..Binds::range(r)
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
    fn the_rule_is_included_with_its_binds() {
        let text = DAILY.text();
        assert!(!text.contains(COUNTED_LIVE_MARK));
        assert!(text.contains("FROM session_days"));
        let names = DAILY.bind_names();
        assert_eq!(names.last(), Some(&"listeners_per_address"));
        assert_eq!(text.matches('?').count(), names.len());
    }

    #[test]
    fn comments_are_stripped() {
        assert_eq!(strip_comments("-- a; b?\nSELECT 1\n  -- c\n"), "SELECT 1");
    }
}
