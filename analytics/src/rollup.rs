//! Rolls finished UTC days of `listener_days` up into plain numbers in
//! `listener_day_totals` (migration 0005), so plays, listeners and seconds
//! over long ranges read one small row per listener-day instead of merging
//! exact-distinct states that hold one entry per beat.
//!
//! A day is rolled up once it is over, and again whenever its beat count
//! (`day_beats`, kept by a materialized view) differs from the count recorded
//! at its last rollup (a late replay from a stream node's write-ahead log). Until a day is
//! rolled up, queries read it from `listener_days` directly, so answers are
//! the same either way; only their cost differs.
//!
//! A marked day (`rollup_days`, latest `rolled = 1`) holds exactly one row
//! per listener, so queries sum and count its rows as they are, with no
//! de-duplication of versions (that was four fifths of their cost). To keep
//! it so, a day rolled up again is first marked `rolled = 0` (queries go
//! back to `listener_days` for it), its old rows are deleted and the
//! deletion waited for; only then are the new rows written and the day
//! marked again (migration 0007).

use std::collections::HashMap;
use std::time::Duration;

use time::{Date, OffsetDateTime};
use tokio_util::sync::CancellationToken;

use crate::AnalyticsError;
use crate::dates::day_string;

/// Copies one day's listener totals. Binds: version, day.
pub const ROLL_SQL: &str = "INSERT INTO listener_day_totals
    (cloudcast_id, day, listener_id, user_id, is_bot, seconds, furthest_ms, version)
SELECT cloudcast_id, day, listener_id, user_id, is_bot,
       uniqExactMerge(seconds), maxMerge(furthest_ms), ?
FROM listener_days
WHERE day = toDate(?)
GROUP BY cloudcast_id, day, listener_id, user_id, is_bot";

/// Records a day as rolled up. Binds: day, beats, version.
pub const MARK_SQL: &str =
    "INSERT INTO rollup_days (day, beats, version, rolled) VALUES (toDate(?), ?, ?, 1)";

/// Sends queries back to `listener_days` for a day about to be rolled up
/// again. Binds: day, version.
const UNMARK_SQL: &str =
    "INSERT INTO rollup_days (day, beats, version, rolled) VALUES (toDate(?), 0, ?, 0)";

#[derive(Debug, serde::Deserialize, clickhouse::Row)]
struct DayCount {
    day: String,
    beats: u64,
}

#[derive(Debug, serde::Deserialize, clickhouse::Row)]
struct DayMark {
    day: String,
    beats: u64,
    rolled: u8,
}

async fn beats_on(ch: &clickhouse::Client, day: &str) -> Result<u64, AnalyticsError> {
    Ok(ch
        .query("SELECT toUInt64(sum(beats)) FROM day_beats WHERE day = toDate(?)")
        .bind(day)
        .fetch_one()
        .await?)
}

/// A finished day that is due for a rollup.
#[derive(Debug)]
pub(crate) struct Due {
    pub day: String,
    /// Its beat count now.
    pub beats: u64,
    /// Its latest mark was written before migration 0007 (`rolled = 0`
    /// with a real count) and names this count: its rows may be whole.
    old_mark: bool,
}

/// Finished days whose beat count differs from the one at their last
/// rollup (or that were never rolled up, or were unmarked), with their
/// current counts.
pub(crate) async fn due(ch: &clickhouse::Client, today: Date) -> Result<Vec<Due>, AnalyticsError> {
    let counts: Vec<DayCount> = ch
        .query(
            "SELECT toString(day) AS day_text, toUInt64(sum(beats)) AS beats FROM day_beats
              WHERE day < toDate(?) GROUP BY day ORDER BY day",
        )
        .bind(day_string(today))
        .fetch_all()
        .await?;
    let marks: HashMap<String, DayMark> = ch
        .query(
            "SELECT toString(day) AS day_text, argMax(beats, version) AS beats,
                    argMax(rolled, version) AS rolled
               FROM rollup_days GROUP BY day",
        )
        .fetch_all::<DayMark>()
        .await?
        .into_iter()
        .map(|m| (m.day.clone(), m))
        .collect();
    Ok(counts
        .into_iter()
        .filter_map(|d| {
            // An unmark names no count (`beats = 0`): never an old mark.
            let same = marks
                .get(&d.day)
                .filter(|m| m.beats == d.beats && m.beats > 0);
            match same.map(|m| m.rolled) {
                Some(1) => None,
                rolled => Some(Due {
                    day: d.day,
                    beats: d.beats,
                    old_mark: rolled == Some(0),
                }),
            }
        })
        .collect())
}

/// One round: rolls up every day that is due; returns those days.
pub async fn roll_once(
    ch: &clickhouse::Client,
    today: Date,
) -> Result<Vec<String>, AnalyticsError> {
    let due = due(ch, today).await?;
    if due.is_empty() {
        return Ok(Vec::new());
    }
    let cluster = crate::cluster::detect(ch).await?;
    let mut latest: u32 = ch
        .query("SELECT toUInt32(max(version)) FROM rollup_days")
        .fetch_one()
        .await?;
    let mut rolled = Vec::new();
    for d in due {
        // Versions only grow, however close two rounds come: the unmark
        // outranks every earlier mark, the mark outranks its unmark.
        let now = u32::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(u32::MAX);
        let unmark = now.max(latest.saturating_add(1));
        let version = unmark.saturating_add(1);
        latest = version;
        // A day marked before migration 0007, its count unchanged and one
        // version of each row (never rolled up again), is whole as it is:
        // marked again without a rewrite, so an upgrade does not delete and
        // roll up every day there is.
        let whole = d.old_mark && one_version_each(ch, &d.day).await?;
        if !whole {
            clear_day(ch, cluster.as_ref(), &d.day, unmark).await?;
            ch.query(ROLL_SQL)
                .bind(version)
                .bind(&d.day)
                .execute()
                .await?;
            // Beats that landed while the rollup ran change the count: leave
            // the day unmarked, so the next round clears it and rolls it again.
            if beats_on(ch, &d.day).await? != d.beats {
                continue;
            }
        }
        ch.query(MARK_SQL)
            .bind(&d.day)
            .bind(d.beats)
            .bind(version)
            .execute()
            .await?;
        rolled.push(d.day);
    }
    Ok(rolled)
}

/// Does `day` hold at most one row per listener in `listener_day_totals`?
async fn one_version_each(ch: &clickhouse::Client, day: &str) -> Result<bool, AnalyticsError> {
    let one: u8 = ch
        .query(
            "SELECT toUInt8(count() = uniqExact(cloudcast_id, listener_id, user_id, is_bot))
               FROM listener_day_totals WHERE day = toDate(?)",
        )
        .bind(day)
        .fetch_one()
        .await?;
    Ok(one == 1)
}

/// Makes sure `day` holds no rows in `listener_day_totals` before it is
/// rolled up: unmarks it (queries read `listener_days` meanwhile), deletes
/// the rows of earlier rollups and waits for the deletion. A day rolled up
/// for the first time has none, and costs one count.
async fn clear_day(
    ch: &clickhouse::Client,
    cluster: Option<&crate::cluster::Cluster>,
    day: &str,
    version: u32,
) -> Result<(), AnalyticsError> {
    let rows: u64 = ch
        .query("SELECT count() FROM listener_day_totals WHERE day = toDate(?)")
        .bind(day)
        .fetch_one()
        .await?;
    if rows == 0 {
        return Ok(());
    }
    ch.query(UNMARK_SQL)
        .bind(day)
        .bind(version)
        .execute()
        .await?;
    let target = crate::cluster::rows_of("listener_day_totals", cluster);
    ch.query(&format!(
        "ALTER TABLE {target} DELETE WHERE day = toDate(?)"
    ))
    .bind(day)
    .execute()
    .await?;
    crate::purge::wait_for_mutations(ch, cluster).await
}

/// Rolls days up every `every` until shutdown, then drops the raw months
/// past `raw_months` that are rolled up (`lifecycle.rs`); a failed round
/// (ClickHouse away) is simply tried again, queries meanwhile read the live
/// views.
pub async fn run(
    ch: clickhouse::Client,
    every: Duration,
    raw_months: u32,
    shutdown: CancellationToken,
) {
    loop {
        let today = OffsetDateTime::now_utc().date();
        match roll_once(&ch, today).await {
            Ok(days) if days.is_empty() => {}
            Ok(days) => tracing::info!(?days, "listener days rolled up"),
            Err(e) => tracing::warn!(error = %e, "rolling up listener days failed; will retry"),
        }
        if let Err(e) = crate::lifecycle::drop_expired(&ch, raw_months, today).await {
            tracing::warn!(error = %e, "dropping expired raw heartbeats failed; will retry");
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}
