//! Statistics of one cloudcast over a date range, read from the
//! materialized views (never from raw heartbeats): plays, listeners and
//! seconds by day; for its owner also the retention curve, referrer domains,
//! browsers and purchase-link counts.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use cloudcast_catalog::purchase_links::{self, LinkCount};
use cloudcast_core::auth::MaybeUser;
use cloudcast_core::extract::{ApiPath, ApiQuery};
use cloudcast_core::visibility;

use crate::dates::{DateRange, Params};
use crate::metrics::timed;
use crate::sql::{self, Binds, Rule};
use crate::{AnalyticsError, AnalyticsState};

/// Rows in the referrer and browser lists unless `limit` says otherwise.
const TOP_N: u32 = 20;

#[derive(Debug, Clone, Serialize, Deserialize, clickhouse::Row, PartialEq, utoipa::ToSchema)]
pub struct DayRow {
    pub day: String,
    pub listeners: u64,
    pub listened_seconds: u64,
    pub plays: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, clickhouse::Row, PartialEq, utoipa::ToSchema)]
pub struct RetentionRow {
    /// Start of the 10 s slice of the mix.
    pub position_s: u64,
    pub listeners: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, clickhouse::Row, PartialEq, utoipa::ToSchema)]
pub struct ReferrerRow {
    /// The referring domain; empty for direct traffic.
    pub domain: String,
    pub listeners: u64,
    pub listened_seconds: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, clickhouse::Row, PartialEq, utoipa::ToSchema)]
pub struct BrowserRow {
    pub browser: String,
    pub listeners: u64,
    pub listened_seconds: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, clickhouse::Row, PartialEq)]
pub struct ListenersRow {
    pub listeners: u64,
}

/// Per-day rows for one cloudcast, or all with `cloudcast = ""`.
pub async fn daily(
    client: &clickhouse::Client,
    rule: Rule,
    cloudcast: &str,
    r: &DateRange,
) -> Result<Vec<DayRow>, AnalyticsError> {
    let b = Binds {
        cloudcast_id: Some(cloudcast),
        ..Binds::ruled(r, rule)
    };
    Ok(timed(sql::DAILY.name, sql::DAILY.bound(client, &b)?.fetch_all()).await?)
}

/// Distinct listeners over the whole range.
pub async fn listeners(
    client: &clickhouse::Client,
    rule: Rule,
    cloudcast: &str,
    r: &DateRange,
) -> Result<u64, AnalyticsError> {
    let b = Binds {
        cloudcast_id: Some(cloudcast),
        ..Binds::ruled(r, rule)
    };
    let row: ListenersRow = timed(
        sql::LISTENERS.name,
        sql::LISTENERS.bound(client, &b)?.fetch_one(),
    )
    .await?;
    Ok(row.listeners)
}

pub async fn retention(
    client: &clickhouse::Client,
    cloudcast: &str,
    r: &DateRange,
) -> Result<Vec<RetentionRow>, AnalyticsError> {
    let b = Binds {
        cloudcast_id: Some(cloudcast),
        ..Binds::range(r)
    };
    Ok(timed(
        sql::RETENTION.name,
        sql::RETENTION.bound(client, &b)?.fetch_all(),
    )
    .await?)
}

pub async fn referrers(
    client: &clickhouse::Client,
    cloudcast: &str,
    r: &DateRange,
    limit: u32,
) -> Result<Vec<ReferrerRow>, AnalyticsError> {
    let b = Binds {
        cloudcast_id: Some(cloudcast),
        limit: Some(limit),
        ..Binds::range(r)
    };
    Ok(timed(
        sql::REFERRERS.name,
        sql::REFERRERS.bound(client, &b)?.fetch_all(),
    )
    .await?)
}

pub async fn browsers(
    client: &clickhouse::Client,
    cloudcast: &str,
    r: &DateRange,
    limit: u32,
) -> Result<Vec<BrowserRow>, AnalyticsError> {
    let b = Binds {
        cloudcast_id: Some(cloudcast),
        limit: Some(limit),
        ..Binds::range(r)
    };
    Ok(timed(
        sql::BROWSERS.name,
        sql::BROWSERS.bound(client, &b)?.fetch_all(),
    )
    .await?)
}

/// Downloads on one day by one app (`queries/downloads.sql`).
#[derive(Debug, Clone, Serialize, Deserialize, clickhouse::Row, utoipa::ToSchema)]
pub struct DownloadRow {
    pub day: String,
    /// As the OPAWG user-agent list names it (`Other` when unlisted).
    pub app: String,
    pub downloads: u64,
}

/// A mix's downloads, counted by the IAB Podcast Measurement Technical
/// Guidelines 2.1.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DownloadStats {
    pub total: u64,
    pub by_day: Vec<DayCount>,
    pub by_app: Vec<AppCount>,
    /// How they are counted, in words.
    pub rule: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DayCount {
    pub day: String,
    pub downloads: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AppCount {
    pub app: String,
    pub downloads: u64,
}

/// The rule as the statistics page and the API state it.
pub const DOWNLOAD_RULE: &str = "Counted as the IAB Podcast Measurement Technical Guidelines \
    (v2.1) say: one download per listener's address (IPv6 by its /64) and app per episode per \
    UTC day, once at least one minute of audio has been delivered; bots and agents that do not \
    listen (the OPAWG list) are not counted.";

pub async fn downloads(
    client: &clickhouse::Client,
    cloudcast: &str,
    r: &DateRange,
) -> Result<DownloadStats, AnalyticsError> {
    let b = Binds {
        cloudcast_id: Some(cloudcast),
        ..Binds::range(r)
    };
    let rows: Vec<DownloadRow> = timed(
        sql::DOWNLOADS.name,
        sql::DOWNLOADS.bound(client, &b)?.fetch_all(),
    )
    .await?;
    Ok(summarise_downloads(&rows))
}

/// Totals by day (in order) and by app (most first).
pub fn summarise_downloads(rows: &[DownloadRow]) -> DownloadStats {
    let mut by_day: Vec<DayCount> = Vec::new();
    let mut apps: std::collections::BTreeMap<&str, u64> = Default::default();
    for r in rows {
        match by_day.last_mut() {
            Some(d) if d.day == r.day => d.downloads += r.downloads,
            _ => by_day.push(DayCount {
                day: r.day.clone(),
                downloads: r.downloads,
            }),
        }
        *apps.entry(&r.app).or_default() += r.downloads;
    }
    let mut by_app: Vec<AppCount> = apps
        .into_iter()
        .map(|(app, downloads)| AppCount {
            app: app.to_string(),
            downloads,
        })
        .collect();
    by_app.sort_by(|a, b| b.downloads.cmp(&a.downloads).then(a.app.cmp(&b.app)));
    DownloadStats {
        total: by_day.iter().map(|d| d.downloads).sum(),
        by_day,
        by_app,
        rule: DOWNLOAD_RULE.into(),
    }
}

/// Sums of the daily rows: plays and seconds add up across days; listeners
/// do not (one listener on two days is one listener), so they are counted
/// separately.
pub fn totals(days: &[DayRow]) -> (u64, u64) {
    days.iter()
        .fold((0, 0), |(p, s), d| (p + d.plays, s + d.listened_seconds))
}

#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Stats {
    pub cloudcast_id: Uuid,
    pub from: String,
    pub to: String,
    pub plays: u64,
    pub listeners: u64,
    pub listened_seconds: u64,
    pub favourites: i64,
    pub by_day: Vec<DayRow>,
    /// Only for the owner and administrators.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub retention: Option<Vec<RetentionRow>>,
    /// Only for the owner and administrators.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub referrers: Option<Vec<ReferrerRow>>,
    /// Only for the owner and administrators.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub browsers: Option<Vec<BrowserRow>>,
    /// Only for the owner and administrators.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub purchase_links: Option<Vec<LinkCount>>,
    /// Only for the owner and administrators: per tracklist entry, who
    /// skipped past it, who went back to hear it again, and the change of
    /// loudness where it starts (`tracks.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub tracks: Option<Vec<crate::tracks::TrackRead>>,
    /// Only for the owner and administrators: downloads (podcast apps and
    /// the page's download), by day and by app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub downloads: Option<DownloadStats>,
}

/// A cloudcast as the statistics endpoints see it.
pub(crate) struct Subject {
    pub owner_id: Uuid,
    /// The caller owns it or is an admin: the detailed view.
    pub full: bool,
}

/// The cloudcast `id` if `user` may see its statistics: whoever may see it,
/// or manage it (its owner or an admin, who also get the detailed view);
/// others get the same 404 as for an unknown id.
pub(crate) async fn subject(
    state: &AnalyticsState,
    id: Uuid,
    user: Option<Uuid>,
) -> Result<Subject, AnalyticsError> {
    let viewed = visibility::load_for(&state.pool, id, user)
        .await?
        .ok_or(AnalyticsError::NotFound("cloudcast"))?;
    let full = viewed.manageable_by(user);
    if !viewed.access.visible_to(user) && !full {
        return Err(AnalyticsError::NotFound("cloudcast"));
    }
    if !viewed.stats_visible_to(user) {
        return Err(AnalyticsError::StatsHidden);
    }
    Ok(Subject {
        owner_id: viewed.access.owner_id,
        full,
    })
}

/// `GET /api/v1/cloudcasts/{id}/stats?from=YYYY-MM-DD&to=YYYY-MM-DD`
#[utoipa::path(get, path = "/api/v1/cloudcasts/{id}/stats", tag = "analytics",
    summary = "A cloudcast's listening statistics",
    description = "Plays, listeners and seconds by day. Its owner (or an administrator) \
        also gets the retention curve, referrers, browsers, purchase-link counts and, per track \
        of the tracklist, who skipped past it, who went back to hear it again and the change \
        of loudness where it starts (flagged past 3 LU), and downloads by day and by app \
        (counted by the IAB Podcast Measurement Technical Guidelines 2.1).",
    params(("id" = Uuid, Path, description = "The cloudcast"), Params),
    responses(
        (status = 200, description = "Statistics for the range", body = Stats),
        (status = 400, description = "Bad range, limit or query", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "The token is unknown or expired", body = cloudcast_core::apidoc::ErrorBody),
        (status = 403, description = "Its owner hides its statistics (`stats_hidden`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such cloudcast, or a private one", body = cloudcast_core::apidoc::ErrorBody),
        (status = 503, description = "Analytics unavailable", body = cloudcast_core::apidoc::ErrorBody)),
    security((), ("session" = [])))]
pub async fn cloudcast_stats(
    State(state): State<AnalyticsState>,
    MaybeUser(user): MaybeUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(params): ApiQuery<Params>,
) -> Result<Json<Stats>, AnalyticsError> {
    let range = DateRange::from_params(&params, DateRange::today(), state.config.max_range_days)?;
    let limit = params.limit(TOP_N)?;
    let who = subject(&state, id, user).await?;
    tracing::debug!(cloudcast = %id, owner = %who.owner_id, full = who.full, "stats");
    let ch = &state.clickhouse;
    let cc = id.to_string();
    let rule = Rule::of(&state.config);
    let by_day = daily(ch, rule, &cc, &range).await?;
    let (plays, listened_seconds) = totals(&by_day);
    let favourites: (i64,) =
        sqlx::query_as("SELECT count(*) FROM favourites WHERE cloudcast_id = $1")
            .bind(id)
            .fetch_one(&state.pool)
            .await?;
    let mut stats = Stats {
        cloudcast_id: id,
        from: range.bounds().0,
        to: range.bounds().1,
        plays,
        listeners: listeners(ch, rule, &cc, &range).await?,
        listened_seconds,
        favourites: favourites.0,
        by_day,
        retention: None,
        referrers: None,
        browsers: None,
        purchase_links: None,
        tracks: None,
        downloads: None,
    };
    if who.full {
        stats.retention = Some(retention(ch, &cc, &range).await?);
        stats.referrers = Some(referrers(ch, &cc, &range, limit).await?);
        stats.browsers = Some(browsers(ch, &cc, &range, limit).await?);
        stats.purchase_links = Some(purchase_links::counts(&state.pool, id).await?);
        stats.downloads = Some(downloads(ch, &cc, &range).await?);
        let (tracklist, duration_ms): (serde_json::Value, Option<i64>) =
            sqlx::query_as("SELECT tracklist, duration_ms FROM cloudcasts WHERE id = $1")
                .bind(id)
                .fetch_one(&state.pool)
                .await?;
        let entries: Vec<crate::rights::Entry> =
            serde_json::from_value(tracklist).unwrap_or_default();
        // The room read is a part of the page, not the page: when it cannot
        // be read (raw beats too many for ClickHouse's limits), the rest shows.
        stats.tracks = match crate::tracks::read(ch, &state.pool, id, &entries, duration_ms, &range)
            .await
        {
            Ok(tracks) => Some(tracks),
            Err(e) => {
                tracing::warn!(cloudcast = %id, error = %cloudcast_core::error::Chain(&e), "the room read failed");
                None
            }
        };
    }
    Ok(Json(stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downloads_add_up_by_day_and_app() {
        let row = |day: &str, app: &str, downloads| DownloadRow {
            day: day.into(),
            app: app.into(),
            downloads,
        };
        let s = summarise_downloads(&[
            row("2026-12-06", "AntennaPod", 2),
            row("2026-12-06", "Overcast", 1),
            row("2026-12-07", "Overcast", 3),
        ]);
        assert_eq!(s.total, 6);
        assert_eq!(
            s.by_day
                .iter()
                .map(|d| (d.day.as_str(), d.downloads))
                .collect::<Vec<_>>(),
            [("2026-12-06", 3), ("2026-12-07", 3)]
        );
        assert_eq!(
            s.by_app
                .iter()
                .map(|a| (a.app.as_str(), a.downloads))
                .collect::<Vec<_>>(),
            [("Overcast", 4), ("AntennaPod", 2)]
        );
    }

    #[test]
    fn totals_add_plays_and_seconds() {
        let day = |plays, secs| DayRow {
            day: String::new(),
            listeners: 9,
            listened_seconds: secs,
            plays,
        };
        assert_eq!(totals(&[day(2, 100), day(3, 50)]), (5, 150));
        assert_eq!(totals(&[]), (0, 0));
    }
}
