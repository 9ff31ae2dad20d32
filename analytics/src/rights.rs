//! The rights report: for each entry of a mix's tracklist, the seconds
//! listeners actually heard of it, as CSV for collecting societies and
//! labels: one mix over a date range, or a DJ's whole catalogue for a
//! month. For the DJ and administrators only.
//!
//! It is the retention curve (distinct listeners per 10 s slice of the mix,
//! `queries/retention.sql`) laid over the tracklist: a slice's listeners
//! count for the part of the slice that lies within the track, so a slice
//! that two tracks share is split between them, and the tracks' seconds
//! add up to the curve's whole.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use time::{Date, Month};
use uuid::Uuid;

use cloudcast_core::auth::{AdminUser, AuthUser};
use cloudcast_core::extract::{ApiPath, ApiQuery};

use crate::dates::{DateRange, Params};
use crate::stats::{RetentionRow, retention, subject};
use crate::{AnalyticsError, AnalyticsState};

/// Width of a retention slice, in seconds (`queries/retention.sql`).
const SLICE_S: u64 = 10;
/// Mixes one month's report covers at most (a bound on its queries: one
/// retention query each; past it, the newest are left out).
const MAX_MIXES: i64 = 2000;

/// One tracklist entry and what was heard of it.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackHeard {
    /// 1, 2, 3... in tracklist order.
    pub number: usize,
    pub start_s: u64,
    /// The next entry's start, or the mix's end.
    pub end_s: u64,
    pub artist: String,
    pub title: String,
    /// Listener-seconds heard within [start_s, end_s).
    pub heard_seconds: u64,
}

/// A tracklist entry as stored (`catalog/src/metadata.rs::Track`).
#[derive(Debug, Clone, Deserialize)]
pub struct Entry {
    pub start_ms: u64,
    pub artist: String,
    pub title: String,
}

/// The retention curve laid over the tracklist (sorted by start). The last
/// entry ends with the mix (`duration_ms`), or with the curve's last slice.
pub fn per_track(
    curve: &[RetentionRow],
    tracks: &[Entry],
    duration_ms: Option<i64>,
) -> Vec<TrackHeard> {
    let curve_end = curve
        .iter()
        .map(|r| r.position_s + SLICE_S)
        .max()
        .unwrap_or(0);
    let mix_end = duration_ms
        .and_then(|d| u64::try_from(d).ok())
        .map_or(curve_end, |d| d.div_ceil(1000));
    let mut sorted: Vec<&Entry> = tracks.iter().collect();
    sorted.sort_by_key(|t| t.start_ms);
    sorted
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let start_s = t.start_ms / 1000;
            let end_s = sorted
                .get(i + 1)
                .map_or(mix_end, |n| n.start_ms / 1000)
                .max(start_s);
            let heard_seconds = curve
                .iter()
                .map(|r| {
                    let (from, to) = (
                        r.position_s.max(start_s),
                        (r.position_s + SLICE_S).min(end_s),
                    );
                    r.listeners * to.saturating_sub(from)
                })
                .sum();
            TrackHeard {
                number: i + 1,
                start_s,
                end_s,
                artist: t.artist.clone(),
                title: t.title.clone(),
                heard_seconds,
            }
        })
        .collect()
}

/// One mix's rows for the report.
struct MixRows {
    id: Uuid,
    title: String,
    tracks: Vec<TrackHeard>,
}

const HEADER: [&str; 10] = [
    "from",
    "to",
    "cloudcast_id",
    "cloudcast_title",
    "track",
    "start_s",
    "end_s",
    "artist",
    "title",
    "heard_seconds",
];

/// The CSV text of `mixes` over `range` (RFC 4180 quoting).
fn csv_of(range: &DateRange, mixes: &[MixRows]) -> Result<Vec<u8>, AnalyticsError> {
    let encode = |e: csv::Error| AnalyticsError::Encode(e.to_string());
    let (from, to) = range.bounds();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(HEADER).map_err(encode)?;
    for m in mixes {
        for t in &m.tracks {
            w.write_record([
                from.as_str(),
                to.as_str(),
                &m.id.to_string(),
                &m.title,
                &t.number.to_string(),
                &t.start_s.to_string(),
                &t.end_s.to_string(),
                &t.artist,
                &t.title,
                &t.heard_seconds.to_string(),
            ])
            .map_err(encode)?;
        }
    }
    w.into_inner()
        .map_err(|e| AnalyticsError::Encode(e.to_string()))
}

/// What the reports are served as.
const CSV: &str = "text/csv; charset=utf-8";

#[derive(sqlx::FromRow)]
struct MixRow {
    id: Uuid,
    title: String,
    duration_ms: Option<i64>,
    tracklist: serde_json::Value,
}

/// A mix's report rows over `range`.
async fn rows_of(
    state: &AnalyticsState,
    m: MixRow,
    range: &DateRange,
) -> Result<MixRows, AnalyticsError> {
    let entries: Vec<Entry> = serde_json::from_value(m.tracklist).unwrap_or_default();
    let curve = if entries.is_empty() {
        Vec::new()
    } else {
        retention(&state.clickhouse, &m.id.to_string(), range).await?
    };
    Ok(MixRows {
        id: m.id,
        title: m.title,
        tracks: per_track(&curve, &entries, m.duration_ms),
    })
}

/// `GET /api/v1/cloudcasts/{id}/rights-report?from=&to=`
#[utoipa::path(get, path = "/api/v1/cloudcasts/{id}/rights-report", tag = "analytics",
    summary = "Seconds heard of each tracklist entry, as CSV (the mix's owner or an administrator)",
    description = "The retention curve (listeners per 10 s slice) laid over the tracklist: \
        `from, to, cloudcast_id, cloudcast_title, track, start_s, end_s, artist, title, heard_seconds`.",
    params(("id" = Uuid, Path, description = "The cloudcast"), Params),
    responses(
        (status = 200, description = "The report", content_type = "text/csv", body = String),
        (status = 400, description = "Bad range", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 403, description = "Not the mix's owner nor an administrator (`not_owner`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such cloudcast, or a private one", body = cloudcast_core::apidoc::ErrorBody),
        (status = 503, description = "Analytics unavailable", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn of_cloudcast(
    State(state): State<AnalyticsState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(params): ApiQuery<Params>,
) -> Result<Response, AnalyticsError> {
    let range = DateRange::from_params(&params, DateRange::today(), state.config.max_range_days)?;
    if !subject(&state, id, Some(user)).await?.full {
        return Err(AnalyticsError::NotOwner);
    }
    let m: MixRow =
        sqlx::query_as("SELECT id, title, duration_ms, tracklist FROM cloudcasts WHERE id = $1")
            .bind(id)
            .fetch_optional(&state.pool)
            .await?
            .ok_or(AnalyticsError::NotFound("cloudcast"))?;
    let rows = rows_of(&state, m, &range).await?;
    let (from, to) = range.bounds();
    crate::columnar::attachment(
        CSV,
        &format!("rights_{id}_{from}_{to}.csv"),
        csv_of(&range, std::slice::from_ref(&rows))?,
    )
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MonthParams {
    /// `YYYY-MM` (UTC); by default the month before this one.
    #[param(pattern = r"^\d{4}-\d{2}$")]
    pub month: Option<String>,
}

/// The days of `month` (`YYYY-MM`) up to `today`; by default last month.
fn month_range(month: Option<&str>, today: Date) -> Result<DateRange, AnalyticsError> {
    let bad = || AnalyticsError::BadQuery("month: use YYYY-MM, not after this month".into());
    let first = match month {
        None => {
            let this = today.replace_day(1).map_err(|_| bad())?;
            this.previous_day()
                .ok_or_else(bad)?
                .replace_day(1)
                .map_err(|_| bad())?
        }
        Some(m) => {
            let (y, mo) = m.split_once('-').ok_or_else(bad)?;
            let (y, mo): (i32, u8) = (
                y.parse().map_err(|_| bad())?,
                mo.parse().map_err(|_| bad())?,
            );
            if y.to_string().len() != 4 || m.len() != 7 {
                return Err(bad());
            }
            Date::from_calendar_date(y, Month::try_from(mo).map_err(|_| bad())?, 1)
                .map_err(|_| bad())?
        }
    };
    if first > today {
        return Err(bad());
    }
    let last = first
        .replace_day(first.month().length(first.year()))
        .map_err(|_| bad())?;
    Ok(DateRange {
        from: first,
        to: last.min(today),
    })
}

/// `GET /api/v1/me/rights-report?month=YYYY-MM`
#[utoipa::path(get, path = "/api/v1/me/rights-report", tag = "analytics",
    summary = "My catalogue's rights report for a month, as CSV",
    description = "Every mix of mine with a tracklist: the seconds heard of each entry in the month \
        (the columns of a mix's report).",
    params(MonthParams),
    responses(
        (status = 200, description = "The report", content_type = "text/csv", body = String),
        (status = 400, description = "A bad month (`bad_query`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 503, description = "Analytics unavailable", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn mine(
    State(state): State<AnalyticsState>,
    AuthUser(user): AuthUser,
    ApiQuery(q): ApiQuery<MonthParams>,
) -> Result<Response, AnalyticsError> {
    month_report(&state, Some(user), q.month.as_deref()).await
}

/// `GET /api/v1/admin/rights-report?month=YYYY-MM`
#[utoipa::path(get, path = "/api/v1/admin/rights-report", tag = "analytics",
    summary = "The whole catalogue's rights report for a month, as CSV (administrators only)",
    description = "Every mix with a tracklist, of every DJ (the columns of a mix's report).",
    params(MonthParams),
    responses(
        (status = 200, description = "The report", content_type = "text/csv", body = String),
        (status = 400, description = "A bad month (`bad_query`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 403, description = "Not an administrator", body = cloudcast_core::apidoc::ErrorBody),
        (status = 503, description = "Analytics unavailable", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn all(
    State(state): State<AnalyticsState>,
    AdminUser(_admin): AdminUser,
    ApiQuery(q): ApiQuery<MonthParams>,
) -> Result<Response, AnalyticsError> {
    month_report(&state, None, q.month.as_deref()).await
}

/// The month's report for `owner`'s mixes, or every DJ's.
async fn month_report(
    state: &AnalyticsState,
    owner: Option<Uuid>,
    month: Option<&str>,
) -> Result<Response, AnalyticsError> {
    let range = month_range(month, DateRange::today())?;
    let mixes: Vec<MixRow> = sqlx::query_as(
        "SELECT id, title, duration_ms, tracklist FROM cloudcasts
          WHERE ($1::uuid IS NULL OR owner_id = $1) AND jsonb_array_length(tracklist) > 0
          ORDER BY created_at, id LIMIT $2",
    )
    .bind(owner)
    .bind(MAX_MIXES)
    .fetch_all(&state.pool)
    .await?;
    let mut rows = Vec::with_capacity(mixes.len());
    for m in mixes {
        rows.push(rows_of(state, m, &range).await?);
    }
    let (from, _) = range.bounds();
    crate::columnar::attachment(
        CSV,
        &format!("rights_{}.csv", &from[..7]),
        csv_of(&range, &rows)?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn track(start_s: u64, title: &str) -> Entry {
        Entry {
            start_ms: start_s * 1000,
            artist: "A".into(),
            title: title.into(),
        }
    }

    fn slice(position_s: u64, listeners: u64) -> RetentionRow {
        RetentionRow {
            position_s,
            listeners,
        }
    }

    #[test]
    fn a_slice_counts_for_the_part_within_each_track() {
        // 3 listeners through the first 30 s, 1 through the next 30 s.
        let curve = [
            slice(0, 3),
            slice(10, 3),
            slice(20, 3),
            slice(30, 1),
            slice(40, 1),
            slice(50, 1),
        ];
        // The second track starts mid-slice, at 25 s; the mix is 60 s.
        let heard = per_track(&curve, &[track(25, "Two"), track(0, "One")], Some(60_000));
        assert_eq!(
            heard
                .iter()
                .map(|t| (
                    t.number,
                    t.title.as_str(),
                    t.start_s,
                    t.end_s,
                    t.heard_seconds
                ))
                .collect::<Vec<_>>(),
            [(1, "One", 0, 25, 75), (2, "Two", 25, 60, 15 + 30)]
        );
        // The tracks add up to the whole curve.
        let whole: u64 = curve.iter().map(|r| r.listeners * SLICE_S).sum();
        assert_eq!(heard.iter().map(|t| t.heard_seconds).sum::<u64>(), whole);
    }

    #[test]
    fn no_tracklist_no_rows_and_no_listening_zero_seconds() {
        assert!(per_track(&[slice(0, 5)], &[], Some(10_000)).is_empty());
        let t = per_track(&[], &[track(0, "Only")], Some(10_000));
        assert_eq!((t[0].end_s, t[0].heard_seconds), (10, 0));
    }

    #[test]
    fn months_are_whole_and_not_in_the_future() {
        let today = date!(2026 - 12 - 07);
        let r = month_range(Some("2026-11"), today).expect("november");
        assert_eq!(
            (r.from, r.to),
            (date!(2026 - 11 - 01), date!(2026 - 11 - 30))
        );
        let r = month_range(None, today).expect("last month");
        assert_eq!(r.from, date!(2026 - 11 - 01));
        let r = month_range(Some("2026-12"), today).expect("this month so far");
        assert_eq!(r.to, today);
        for bad in ["2027-01", "2026-13", "26-11", "2026-1", "november"] {
            assert!(month_range(Some(bad), today).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_csv_quotes_what_needs_quoting() {
        let range = DateRange {
            from: date!(2026 - 11 - 01),
            to: date!(2026 - 11 - 30),
        };
        let rows = MixRows {
            id: Uuid::nil(),
            title: "Live, \"at\" dawn".into(),
            tracks: per_track(&[slice(0, 2)], &[track(0, "Intro")], Some(10_000)),
        };
        let text = String::from_utf8(csv_of(&range, &[rows]).expect("csv")).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], HEADER.join(","));
        assert_eq!(
            lines[1],
            format!(
                "2026-11-01,2026-11-30,{},\"Live, \"\"at\"\" dawn\",1,0,10,A,Intro,20",
                Uuid::nil()
            )
        );
    }
}
