//! Query-string parameters shared by the statistics endpoints: a date range
//! of UTC days, a row limit and a download format.

use serde::Deserialize;
use time::{
    Date, Duration, OffsetDateTime, format_description::FormatItem, macros::format_description,
};

use crate::AnalyticsError;

const DAY: &[FormatItem<'static>] = format_description!("[year]-[month]-[day]");
/// Days covered when the range is not given: the last 30, today included.
const DEFAULT_DAYS: i64 = 30;
/// Largest `limit` a top-N list may ask for.
pub const MAX_LIMIT: u32 = 1000;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Params {
    /// First day, `YYYY-MM-DD` (UTC), included; by default 29 days before `to`.
    #[param(format = Date)]
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (UTC), included; by default today. The range
    /// may cover at most `analytics.max_range_days` (366).
    #[param(format = Date)]
    pub to: Option<String>,
    /// Rows in top-N lists and histories.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// The query of a list that takes a length only.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LimitParams {
    /// Entries at most.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

impl LimitParams {
    /// `limit`, or `default` when none is given; 400 outside 1..=1000.
    pub fn limit(&self, default: u32) -> Result<u32, AnalyticsError> {
        bounded_limit(self.limit, default)
    }
}

/// `limit` within 1..=[`MAX_LIMIT`], else a 400 saying so.
fn bounded_limit(limit: Option<u32>, default: u32) -> Result<u32, AnalyticsError> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(AnalyticsError::BadQuery(format!(
            "`limit` must be between 1 and {MAX_LIMIT}, not {n}"
        ))),
    }
}

/// An inclusive range of UTC days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub from: Date,
    pub to: Date,
}

impl DateRange {
    /// Validates `from`/`to`: real dates, in order, at most `max_days` long.
    pub fn from_params(
        p: &Params,
        today: Date,
        max_days: u32,
    ) -> Result<DateRange, AnalyticsError> {
        let to = match &p.to {
            Some(s) => parse_day("to", s)?,
            None => today,
        };
        let from = match &p.from {
            Some(s) => parse_day("from", s)?,
            None => to - Duration::days(DEFAULT_DAYS - 1),
        };
        if from > to {
            return Err(AnalyticsError::BadQuery(format!(
                "`from` ({from}) is after `to` ({to})"
            )));
        }
        let days = (to - from).whole_days() + 1;
        if days > i64::from(max_days) {
            return Err(AnalyticsError::BadQuery(format!(
                "the range covers {days} days; at most {max_days} are allowed"
            )));
        }
        Ok(DateRange { from, to })
    }

    pub fn today() -> Date {
        OffsetDateTime::now_utc().date()
    }

    /// `from` and `to` as `YYYY-MM-DD`, the form the queries bind.
    pub fn bounds(&self) -> (String, String) {
        (day_string(self.from), day_string(self.to))
    }
}

pub fn day_string(d: Date) -> String {
    d.format(DAY).unwrap_or_default()
}

fn parse_day(field: &str, s: &str) -> Result<Date, AnalyticsError> {
    Date::parse(s, DAY).map_err(|_| {
        AnalyticsError::BadQuery(format!("`{field}` must be a date as YYYY-MM-DD, not {s:?}"))
    })
}

impl Params {
    /// `limit`, defaulted and checked against [`MAX_LIMIT`].
    pub fn limit(&self, default: u32) -> Result<u32, AnalyticsError> {
        bounded_limit(self.limit, default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn params(from: Option<&str>, to: Option<&str>) -> Params {
        Params {
            from: from.map(str::to_string),
            to: to.map(str::to_string),
            ..Params::default()
        }
    }

    #[test]
    fn defaults_to_the_last_thirty_days() {
        let r = DateRange::from_params(&params(None, None), date!(2026 - 11 - 29), 366);
        assert_eq!(
            r.ok(),
            Some(DateRange {
                from: date!(2026 - 10 - 31),
                to: date!(2026 - 11 - 29)
            })
        );
    }

    #[test]
    fn rejects_bad_dates_reversed_and_long_ranges() {
        let today = date!(2026 - 11 - 29);
        for (from, to) in [
            (Some("2026-13-01"), None),
            (Some("yesterday"), None),
            (Some("2026-11-20"), Some("2026-11-10")),
            (Some("2020-01-01"), Some("2026-01-01")),
        ] {
            assert!(
                matches!(
                    DateRange::from_params(&params(from, to), today, 366),
                    Err(AnalyticsError::BadQuery(_))
                ),
                "{from:?}..{to:?}"
            );
        }
        let one_day =
            DateRange::from_params(&params(Some("2026-11-01"), Some("2026-11-01")), today, 1);
        assert!(one_day.is_ok());
    }

    #[test]
    fn limit_is_bounded() {
        let mut p = Params::default();
        assert_eq!(p.limit(20).ok(), Some(20));
        p.limit = Some(0);
        assert!(p.limit(20).is_err());
        p.limit = Some(MAX_LIMIT + 1);
        assert!(p.limit(20).is_err());
    }
}
