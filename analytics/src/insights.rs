//! Insights across a DJ's catalogue: totals and trends over all their mixes
//! (plays, hours, listeners, followers over time), top mixes, where
//! listeners came from, devices and browsers, returning listeners by
//! monthly cohort, and countries, read from the rollups (never raw beats)
//! and counted under the listening rule as each mix's statistics are, so
//! the totals are the sums of the per-mix figures.
//!
//! Figures about groups of people (cohorts, countries) show only from
//! `analytics.min_audience` people up. A country is only ever one a
//! listener chose to show on their public profile (no address is
//! geolocated), and minors and people who keep their activity private are
//! left out of it; everyone counts in the totals.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use time::{Date, Duration as Days};
use uuid::Uuid;

use cloudcast_catalog::cards;
use cloudcast_core::auth::AuthUser;
use cloudcast_core::extract::ApiQuery;
use cloudcast_core::states::Visibility;
use cloudcast_core::visibility;

use crate::dates::{DateRange, Params, day_string};
use crate::metrics::timed;
use crate::sql::{self, Binds, Rule};
use crate::stats::{DayRow, ReferrerRow};
use crate::{AnalyticsError, AnalyticsState};

/// Rows in the top lists unless `limit` says otherwise.
const TOP_N: u32 = 10;
/// ClickHouse's `max_query_size` for the insights' queries, which carry
/// the DJ's ids (about 40 bytes each, twice): 4 MiB holds 50,000 mixes.
const MAX_QUERY_BYTES: u32 = 4 << 20;

/// The totals of the range over every mix.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Totals {
    pub plays: u64,
    pub listened_seconds: u64,
    /// Distinct listeners of any of the mixes over the range.
    pub listeners: u64,
    /// Followers now.
    pub followers: i64,
    /// Followers gained in the range, less those lost.
    pub followers_change: i64,
}

/// One UTC day over every mix.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct InsightDay {
    pub day: String,
    pub plays: u64,
    pub listened_seconds: u64,
    pub listeners: u64,
    /// Followers at the end of the day.
    pub followers: i64,
}

/// One mix's figures over the range.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct MixFigures {
    pub cloudcast_id: Uuid,
    pub title: String,
    /// Its page.
    pub url: String,
    pub plays: u64,
    pub listened_seconds: u64,
    pub listeners: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, clickhouse::Row, utoipa::ToSchema)]
pub struct DeviceRow {
    /// `desktop`, `mobile`, `tablet`... as the user agent says; empty when unknown.
    pub device: String,
    pub browser: String,
    pub listeners: u64,
    pub listened_seconds: u64,
}

/// Listeners who first heard one of the mixes in a month, and how many of
/// them listened again in each later month.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Cohort {
    /// The month, `YYYY-MM-01`.
    pub month: String,
    pub listeners: u64,
    /// Listeners of the cohort who listened again 1, 2, .. months later;
    /// `null` where fewer than `min_audience` did.
    pub returned: Vec<Option<u64>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Country {
    /// ISO 3166-1 alpha-2, as people show it on their public profile.
    pub country: String,
    pub listeners: i64,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Insights {
    pub from: String,
    pub to: String,
    pub totals: Totals,
    /// Every day of the range.
    pub by_day: Vec<InsightDay>,
    /// Mixes by plays, then seconds.
    pub top: Vec<MixFigures>,
    pub referrers: Vec<ReferrerRow>,
    pub devices: Vec<DeviceRow>,
    /// Cohorts of at least `min_audience` listeners, oldest first.
    pub cohorts: Vec<Cohort>,
    /// Countries of at least `min_audience` listeners.
    pub countries: Vec<Country>,
    /// The floor of every figure about a group of people.
    pub min_audience: u64,
}

/// One of the DJ's mixes, to name it.
#[derive(sqlx::FromRow)]
struct Mix {
    id: Uuid,
    title: String,
    slug: Option<String>,
    visibility: Visibility,
    secret: String,
    owner: String,
}

#[derive(Debug, Deserialize, clickhouse::Row)]
struct MixRow {
    cloudcast_id: String,
    plays: u64,
    listened_seconds: u64,
    listeners: u64,
}

#[derive(Debug, Deserialize, clickhouse::Row)]
struct CohortRow {
    cohort: String,
    months_later: u32,
    listeners: u64,
}

/// Cohorts from their rows: each cohort's size (months later 0) and who
/// came back after; the total is every cohort's size, floor or not.
pub fn cohorts(rows: &[(String, u32, u64)], floor: u64) -> (Vec<Cohort>, u64) {
    let mut by_month: BTreeMap<&str, Vec<(u32, u64)>> = BTreeMap::new();
    for (month, later, n) in rows {
        by_month.entry(month).or_default().push((*later, *n));
    }
    let mut total = 0;
    let mut out = Vec::new();
    for (month, rows) in by_month {
        let size = rows.iter().find(|(l, _)| *l == 0).map_or(0, |(_, n)| *n);
        total += size;
        if size < floor {
            continue;
        }
        let last = rows.iter().map(|(l, _)| *l).max().unwrap_or(0);
        let returned = (1..=last)
            .map(|l| {
                let n = rows.iter().find(|(x, _)| *x == l).map_or(0, |(_, n)| *n);
                (n >= floor).then_some(n)
            })
            .collect();
        out.push(Cohort {
            month: month.to_string(),
            listeners: size,
            returned,
        });
    }
    (out, total)
}

/// Followers at the end of each day of `range`, walking back from `now`
/// through each day's net change (days after the range included).
pub fn followers_by_day(
    range: &DateRange,
    now: i64,
    changes: &[(String, i64)],
) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    let mut day: Date = range.to;
    let after = |d: &str| -> i64 {
        changes
            .iter()
            .filter(|(x, _)| x.as_str() > d)
            .map(|(_, n)| n)
            .sum()
    };
    loop {
        let d = day_string(day);
        out.push((d.clone(), now - after(&d)));
        if day <= range.from {
            break;
        }
        day -= Days::days(1);
    }
    out.reverse();
    out
}

/// Every day of the follower curve (the range's) with the figures of the
/// days that have some.
fn calendar(days: Vec<DayRow>, followers: Vec<(String, i64)>) -> Vec<InsightDay> {
    let mut by_day: BTreeMap<String, DayRow> =
        days.into_iter().map(|d| (d.day.clone(), d)).collect();
    followers
        .into_iter()
        .map(|(day, followers)| {
            let d = by_day.remove(&day);
            InsightDay {
                plays: d.as_ref().map_or(0, |d| d.plays),
                listened_seconds: d.as_ref().map_or(0, |d| d.listened_seconds),
                listeners: d.as_ref().map_or(0, |d| d.listeners),
                followers,
                day,
            }
        })
        .collect()
}

/// The insights of `owner`'s catalogue over `range`.
pub async fn of_owner(
    state: &AnalyticsState,
    owner: Uuid,
    range: &DateRange,
    limit: u32,
) -> Result<Insights, AnalyticsError> {
    let ch = &state.clickhouse;
    let floor = state.config.min_audience.max(1);
    let mixes: Vec<Mix> = sqlx::query_as(
        "SELECT c.id, c.title, c.slug, c.visibility, c.secret, u.username AS owner
           FROM cloudcasts c JOIN users u ON u.id = c.owner_id WHERE c.owner_id = $1",
    )
    .bind(owner)
    .fetch_all(&state.pool)
    .await?;
    let mut ids: Vec<String> = mixes.iter().map(|m| m.id.to_string()).collect();
    if ids.is_empty() {
        // An empty array literal has no element type on 18.16 (`has([], x)`
        // fails); an id no cloudcast has matches nothing the same.
        ids.push(String::new());
    }
    ids.sort_unstable();
    let lowest = ids.first().cloned().unwrap_or_default();
    let highest = ids.last().cloned().unwrap_or_default();
    let b = Binds {
        cloudcast_ids: Some(&ids),
        cloudcast_range: Some((&lowest, &highest)),
        limit: Some(limit),
        ..Binds::ruled(range, Rule::of(&state.config))
    };
    // A DJ's ids are inlined twice in a query: room for thousands of mixes
    // beyond ClickHouse's default 256 KiB.
    let run = |q: sql::Query| -> Result<clickhouse::query::Query, AnalyticsError> {
        Ok(q.bound(ch, &b)?
            .with_setting("max_query_size", MAX_QUERY_BYTES.to_string()))
    };
    // The queries are independent: run together, the page waits for the slowest.
    let (per_mix, days, cohort_rows, referrers, devices, accounts) = tokio::try_join!(
        timed(
            sql::CATALOGUE_MIXES.name,
            run(sql::CATALOGUE_MIXES)?.fetch_all::<MixRow>()
        ),
        timed(
            sql::CATALOGUE_DAILY.name,
            run(sql::CATALOGUE_DAILY)?.fetch_all::<DayRow>()
        ),
        timed(
            sql::RETURNING.name,
            run(sql::RETURNING)?.fetch_all::<CohortRow>()
        ),
        timed(
            sql::CATALOGUE_REFERRERS.name,
            run(sql::CATALOGUE_REFERRERS)?.fetch_all::<ReferrerRow>()
        ),
        timed(
            sql::CATALOGUE_DEVICES.name,
            run(sql::CATALOGUE_DEVICES)?.fetch_all::<DeviceRow>()
        ),
        timed(
            sql::CATALOGUE_ACCOUNTS.name,
            run(sql::CATALOGUE_ACCOUNTS)?.fetch_all::<String>()
        ),
    )?;

    let accounts: Vec<Uuid> = accounts
        .iter()
        .filter_map(|a| Uuid::parse_str(a).ok())
        .collect();
    let public = visibility::sql_public_activity("u");
    let countries: Vec<(String, i64)> = sqlx::query_as(&format!(
        "SELECT p.country, count(*) FROM profiles p JOIN users u ON u.id = p.user_id
          WHERE p.user_id = ANY($1) AND p.country IS NOT NULL
            AND p.visibility ->> 'country' = 'public' AND {public}
          GROUP BY p.country HAVING count(*) >= $2
          ORDER BY count(*) DESC, p.country"
    ))
    .bind(&accounts)
    .bind(i64::try_from(floor).unwrap_or(i64::MAX))
    .fetch_all(&state.pool)
    .await?;
    // Followers as the profile counts them: only those whose activity may
    // be public (never a minor, nor someone who keeps it private), so the
    // curve cannot tell when a hidden follower came or went. PostgreSQL
    // knows whose activity is public; ClickHouse's copy of the events is
    // the analysts' (follower_days.sql).
    let (followers,): (i64,) = sqlx::query_as(&format!(
        "SELECT count(*) FROM follows f JOIN users u ON u.id = f.follower_id
          WHERE f.followee_id = $1 AND {public}"
    ))
    .bind(owner)
    .fetch_one(&state.pool)
    .await?;
    let changes: Vec<(String, i64)> = sqlx::query_as(&format!(
        "SELECT to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, sum(e.delta)::bigint
           FROM follow_events e JOIN users u ON u.id = e.user_id
          WHERE e.followee_id = $1 AND e.at >= $2 AND {public}
          GROUP BY 1 ORDER BY 1"
    ))
    .bind(owner)
    .bind(range.from.midnight().assume_utc())
    .fetch_all(&state.pool)
    .await?;
    let by_followers = followers_by_day(range, followers, &changes);
    // `changes` starts with the range: before it, today's count less them all.
    let before = followers - changes.iter().map(|(_, n)| n).sum::<i64>();
    let at_end = by_followers.last().map_or(followers, |(_, n)| *n);
    let rows: Vec<(String, u32, u64)> = cohort_rows
        .into_iter()
        .map(|r| (r.cohort, r.months_later, r.listeners))
        .collect();
    let (cohorts, listeners) = cohorts(&rows, floor);
    let titles: BTreeMap<String, &Mix> = mixes.iter().map(|m| (m.id.to_string(), m)).collect();
    let totals = Totals {
        plays: per_mix.iter().map(|m| m.plays).sum(),
        listened_seconds: per_mix.iter().map(|m| m.listened_seconds).sum(),
        listeners,
        followers,
        followers_change: at_end - before,
    };
    let top = per_mix
        .into_iter()
        .filter_map(|m| {
            let mix = titles.get(&m.cloudcast_id)?;
            Some(MixFigures {
                cloudcast_id: mix.id,
                title: mix.title.clone(),
                url: cards::url(
                    &mix.owner,
                    mix.slug.as_deref(),
                    mix.id,
                    mix.visibility,
                    &mix.secret,
                ),
                plays: m.plays,
                listened_seconds: m.listened_seconds,
                listeners: m.listeners,
            })
        })
        .take(limit as usize)
        .collect();
    Ok(Insights {
        from: range.bounds().0,
        to: range.bounds().1,
        totals,
        by_day: calendar(days, by_followers),
        top,
        referrers,
        devices,
        cohorts,
        countries: countries
            .into_iter()
            .map(|(country, listeners)| Country { country, listeners })
            .collect(),
        min_audience: floor,
    })
}

/// `GET /api/v1/me/insights?from=&to=&limit=`
#[utoipa::path(get, path = "/api/v1/me/insights", tag = "analytics", operation_id = "my_insights",
    summary = "Insights across all my mixes: totals and trends, top mixes, sources, devices, returning listeners, countries",
    description = "Counted as each mix's statistics are (the totals are the sums of the per-mix figures), from the rollups. \
        Followers over time from follow events. Cohorts: listeners by the month they first heard one of my mixes within the range, \
        and how many listened again each later month. Countries: only those people show on their public profile (no address is \
        geolocated), never minors' or private activity. Cohorts, returns and countries of fewer than `min_audience` people are left out.",
    params(Params),
    responses(
        (status = 200, description = "Insights for the range", body = Insights),
        (status = 400, description = "A bad range or limit (`bad_query`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 503, description = "Analytics unavailable", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn mine(
    State(state): State<AnalyticsState>,
    AuthUser(user): AuthUser,
    ApiQuery(params): ApiQuery<Params>,
) -> Result<Json<Insights>, AnalyticsError> {
    let range = DateRange::from_params(&params, DateRange::today(), state.config.max_range_days)?;
    let limit = params.limit(TOP_N)?;
    Ok(Json(of_owner(&state, user, &range, limit).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn cohorts_below_the_floor_are_left_out_but_counted() {
        let rows = vec![
            ("2026-10-01".to_string(), 0, 5),
            ("2026-10-01".to_string(), 1, 3),
            ("2026-10-01".to_string(), 2, 1),
            ("2026-11-01".to_string(), 0, 1),
        ];
        let (shown, total) = cohorts(&rows, 2);
        assert_eq!(total, 6);
        assert_eq!(
            shown,
            vec![Cohort {
                month: "2026-10-01".into(),
                listeners: 5,
                returned: vec![Some(3), None],
            }]
        );
    }

    #[test]
    fn followers_walk_back_from_today() {
        let range = DateRange {
            from: date!(2026 - 11 - 01),
            to: date!(2026 - 11 - 03),
        };
        // +2 on the 1st, -1 on the 3rd, +4 on the 5th (after the range).
        let changes = vec![
            ("2026-11-01".to_string(), 2),
            ("2026-11-03".to_string(), -1),
            ("2026-11-05".to_string(), 4),
        ];
        assert_eq!(
            followers_by_day(&range, 10, &changes),
            vec![
                ("2026-11-01".to_string(), 7),
                ("2026-11-02".to_string(), 7),
                ("2026-11-03".to_string(), 6),
            ]
        );
    }
}
