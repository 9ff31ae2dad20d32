//! Rolls finished UTC days up into plain numbers in `listener_day_totals`
//! (migration 0005): the listening rule (queries/counted_live.sql) applied
//! to the day's sessions (`session_days`, migration 0008), one row per
//! counted listener. Plays, listeners and seconds over long ranges then read
//! one small row per listener-day instead of merging exact-distinct states
//! that hold one entry per beat.
//!
//! A day is rolled up once it is over, again whenever its beat count
//! (`day_beats`, kept by a materialized view) differs from the count recorded
//! at its last rollup (a late replay from a stream node's write-ahead log),
//! and again when it was counted under an older rule ([`RULE_VERSION`]) and
//! its sessions are still kept, so plays counted before the rule are counted
//! again under it. Until a day is rolled up, queries apply the rule to its
//! sessions directly, so answers are the same either way; only their cost
//! differs.
//!
//! A marked day (`rollup_days`, latest `rolled = 1`) holds exactly one row
//! per listener, so queries sum and count its rows as they are, with no
//! de-duplication of versions (that was four fifths of their cost). To keep
//! it so, a day rolled up again is first marked `rolled = 0` (queries go
//! back to its sessions), its old rows are deleted and the deletion waited
//! for; only then are the new rows written and the day marked again
//! (migration 0007).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use time::{Date, OffsetDateTime};
use tokio_util::sync::CancellationToken;

use crate::AnalyticsError;
use crate::dates::day_string;
use crate::ddl::DdlLock;
use crate::sql::{self, ALL_IDS_END, Rule};

/// The version of the listening rule (queries/counted_live.sql) that days
/// are rolled up under now. A day marked with an older one is counted
/// again while its sessions are kept (`session_days`); 0 is before the rule.
pub const RULE_VERSION: u8 = 1;

/// Writes one day's counted listeners: the listening rule over that day's
/// sessions. Binds: version, then the rule's (the session slack, all
/// cloudcasts, the day twice, the address cap).
pub fn roll_sql() -> String {
    format!(
        "INSERT INTO listener_day_totals
            (cloudcast_id, day, listener_id, user_id, is_bot, seconds, furthest_ms, version)
         SELECT cloudcast_id, day, listener_id, user_id, is_bot, seconds, furthest_ms, ?
         FROM ({})",
        sql::COUNTED_LIVE.text()
    )
}

/// Fills `session_days` from the raw beats kept, a day at a time (a day's
/// sessions fit in memory where a month's may not). Run once, by the
/// migration that made the table: a day's beats that the view also wrote
/// meanwhile count once, as the states hold distinct beats and first and
/// last times.
pub(crate) async fn fill_sessions(ch: &clickhouse::Client) -> Result<(), AnalyticsError> {
    let days: Vec<String> = ch
        .query("SELECT toString(day) AS day_text FROM day_beats GROUP BY day ORDER BY day")
        .fetch_all()
        .await?;
    for day in &days {
        ch.query(
            "INSERT INTO session_days
                (day, cloudcast_id, listener_id, session_id, user_id, is_bot,
                 address, first_ts, last_ts, seqs, furthest_ms)
             SELECT toDate(ts) AS d, cloudcast_id, listener_id, session_id, user_id, is_bot,
                    argMinState(ip_hash, ts), minState(ts), maxState(ts),
                    uniqExactState(seq), maxState(position_ms)
             FROM heartbeats
             WHERE ts >= toDateTime(toDate(?)) AND ts < toDateTime(toDate(?) + 1)
             GROUP BY d, cloudcast_id, listener_id, session_id, user_id, is_bot",
        )
        .bind(day)
        .bind(day)
        .execute()
        .await?;
    }
    if !days.is_empty() {
        tracing::info!(
            days = days.len(),
            "sessions filled in from the raw beats kept"
        );
    }
    Ok(())
}

/// Records a day as rolled up. Binds: day, beats, version, rule.
pub const MARK_SQL: &str =
    "INSERT INTO rollup_days (day, beats, version, rolled, rule) VALUES (toDate(?), ?, ?, 1, ?)";

/// Sends queries back to the live sessions for a day about to be rolled up
/// again. Binds: day, version.
const UNMARK_SQL: &str =
    "INSERT INTO rollup_days (day, beats, version, rolled, rule) VALUES (toDate(?), 0, ?, 0, 0)";

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
    rule: u8,
}

async fn beats_on(ch: &clickhouse::Client, day: &str) -> Result<u64, AnalyticsError> {
    Ok(ch
        .query("SELECT toUInt64(sum(beats)) FROM day_beats WHERE day = toDate(?)")
        .bind(day)
        .fetch_one()
        .await?)
}

/// What a due day needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Work {
    /// Counted from its sessions under the rule (its old rows, if any,
    /// cleared first).
    Roll,
    /// Marked before migration 0007 with this count, and its sessions no
    /// longer kept (it cannot be counted again): marked again as it is,
    /// once it holds one version of each row.
    Remark { rule: u8 },
}

/// A finished day that is due for a rollup.
#[derive(Debug)]
pub(crate) struct Due {
    pub day: String,
    /// Its beat count now.
    pub beats: u64,
    /// Its latest mark says rolled: queries read its rows until unmarked.
    marked: bool,
    work: Work,
}

/// Finished days whose beat count differs from the one at their last
/// rollup (or that were never rolled up, or were unmarked, or were counted
/// under an older rule and can be counted again), with their current counts.
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
                    argMax(rolled, version) AS rolled, argMax(rule, version) AS rule
               FROM rollup_days GROUP BY day",
        )
        .fetch_all::<DayMark>()
        .await?
        .into_iter()
        .map(|m| (m.day.clone(), m))
        .collect();
    // Which days still have their sessions: read only when some day was
    // counted under an older rule (once per upgrade, in practice).
    let older = counts.iter().any(|d| {
        marks
            .get(&d.day)
            .is_some_and(|m| m.beats == d.beats && m.rule < RULE_VERSION)
    });
    let with_sessions: HashSet<String> = if older {
        ch.query("SELECT toString(day) AS day_text FROM session_days GROUP BY day")
            .fetch_all::<String>()
            .await?
            .into_iter()
            .collect()
    } else {
        HashSet::new()
    };
    Ok(counts
        .into_iter()
        .filter_map(|d| {
            let mark = marks.get(&d.day);
            let marked = mark.is_some_and(|m| m.rolled == 1);
            // An unmark names no count (`beats = 0`): never a mark of this count.
            let same = mark.filter(|m| m.beats == d.beats && m.beats > 0);
            let work = match same {
                None => Work::Roll,
                Some(m) if m.rule < RULE_VERSION && with_sessions.contains(&d.day) => Work::Roll,
                Some(m) if m.rolled == 1 => return None,
                // Before migration 0007 every mark read `rolled = 0`.
                Some(m) => Work::Remark { rule: m.rule },
            };
            Some(Due {
                day: d.day,
                beats: d.beats,
                marked,
                work,
            })
        })
        .collect())
}

/// One round: rolls up every day that is due; returns those days.
pub async fn roll_once(
    ch: &clickhouse::Client,
    lock: &DdlLock,
    rule: Rule,
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
    let roll = roll_sql();
    let mut rolled = Vec::new();
    for d in due {
        // Versions only grow, however close two rounds come: the unmark
        // outranks every earlier mark, the mark outranks its unmark.
        let now = u32::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(u32::MAX);
        let unmark = now.max(latest.saturating_add(1));
        let version = unmark.saturating_add(1);
        latest = version;
        let mark_rule = match d.work {
            // A day marked before migration 0007, its count unchanged, is
            // whole once it holds one version of each row: marked again
            // without a rewrite (an earlier re-roll's older rows deleted).
            Work::Remark { rule } => {
                if !one_version_each(ch, &d.day).await? {
                    keep_newest(ch, lock, cluster.as_ref(), &d.day).await?;
                }
                rule
            }
            Work::Roll => {
                clear_day(ch, lock, cluster.as_ref(), &d.day, d.marked, unmark).await?;
                ch.query(&roll)
                    .bind(version)
                    .bind(rule.session_slack_secs)
                    .bind("")
                    .bind(ALL_IDS_END)
                    .bind(&d.day)
                    .bind(&d.day)
                    .bind(rule.listeners_per_address)
                    .execute()
                    .await?;
                // Beats that landed while the rollup ran change the count:
                // leave the day unmarked, so the next round rolls it again.
                if beats_on(ch, &d.day).await? != d.beats {
                    continue;
                }
                RULE_VERSION
            }
        };
        ch.query(MARK_SQL)
            .bind(&d.day)
            .bind(d.beats)
            .bind(version)
            .bind(mark_rule)
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

/// Deletes every row of `day` older than the day's newest rollup, and
/// waits for the deletion.
async fn keep_newest(
    ch: &clickhouse::Client,
    lock: &DdlLock,
    cluster: Option<&crate::cluster::Cluster>,
    day: &str,
) -> Result<(), AnalyticsError> {
    let newest: u32 = ch
        .query("SELECT toUInt32(max(version)) FROM listener_day_totals WHERE day = toDate(?)")
        .bind(day)
        .fetch_one()
        .await?;
    let target = crate::cluster::rows_of("listener_day_totals", cluster);
    let statement = ch
        .query(&format!(
            "ALTER TABLE {target} DELETE WHERE day = toDate(?) AND version < ?"
        ))
        .bind(day)
        .bind(newest);
    crate::ddl::execute(ch, lock, cluster, "rollup", statement).await?;
    crate::purge::wait_for_mutations(ch, cluster).await
}

/// Makes sure `day` holds no rows in `listener_day_totals` and is not
/// marked before it is rolled up: unmarks it (queries, and the rollup's own
/// reading of the rule, read its sessions meanwhile), deletes the rows of
/// earlier rollups and waits for the deletion. A day rolled up for the
/// first time has neither, and costs one count.
async fn clear_day(
    ch: &clickhouse::Client,
    lock: &DdlLock,
    cluster: Option<&crate::cluster::Cluster>,
    day: &str,
    marked: bool,
    version: u32,
) -> Result<(), AnalyticsError> {
    let rows: u64 = ch
        .query("SELECT count() FROM listener_day_totals WHERE day = toDate(?)")
        .bind(day)
        .fetch_one()
        .await?;
    if rows == 0 && !marked {
        return Ok(());
    }
    ch.query(UNMARK_SQL)
        .bind(day)
        .bind(version)
        .execute()
        .await?;
    if rows == 0 {
        return Ok(());
    }
    let target = crate::cluster::rows_of("listener_day_totals", cluster);
    let statement = ch
        .query(&format!(
            "ALTER TABLE {target} DELETE WHERE day = toDate(?)"
        ))
        .bind(day);
    crate::ddl::execute(ch, lock, cluster, "rollup", statement).await?;
    crate::purge::wait_for_mutations(ch, cluster).await
}

/// Rolls days up every `every` until shutdown, then drops the raw months
/// past `raw_months` that are rolled up (`lifecycle.rs`); a failed round
/// (ClickHouse away) is simply tried again, queries meanwhile read the live
/// views.
pub async fn run(
    ch: clickhouse::Client,
    lock: DdlLock,
    rule: Rule,
    every: Duration,
    raw_months: u32,
    shutdown: CancellationToken,
) {
    cloudcast_core::periodic::every("rollup", every, shutdown, || async {
        let today = OffsetDateTime::now_utc().date();
        let days = roll_once(&ch, &lock, rule, today).await?;
        if !days.is_empty() {
            tracing::info!(?days, "listener days rolled up");
        }
        // Raw months go once their days are rolled up (lifecycle.rs).
        crate::lifecycle::drop_expired(&ch, &lock, raw_months, today).await?;
        Ok::<(), AnalyticsError>(())
    })
    .await
}
