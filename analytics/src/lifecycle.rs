//! How long raw heartbeats stay (`analytics.raw_months`). They are the
//! most detailed personal record the system holds (one row per second of
//! listening, with the user, the listener and the truncated address) and
//! the largest: about 864 M rows a day at 10 k listeners. Statistics never
//! read them (they read the views' aggregates and the rollups), so once a
//! month is old enough and every day in it is rolled up, its partition is
//! dropped whole (`DROP PARTITION`, instant, unlike a mutation), and the
//! same month of `session_days` with it (its states hold one entry per
//! beat too; the rolled-up days hold the counted numbers). What stays: the
//! other aggregates and rollups; what goes with it: the raw beats in exports.

use time::Date;

use crate::AnalyticsError;
use crate::cluster::{self, Cluster, LOCAL};
use crate::dates::day_string;

/// Months since year 0 of a `YYYYMM` partition or a date.
fn month_index(yyyymm: u32) -> u32 {
    (yyyymm / 100) * 12 + (yyyymm % 100).saturating_sub(1)
}

fn yyyymm(d: Date) -> u32 {
    d.year().max(0) as u32 * 100 + u32::from(u8::from(d.month()))
}

/// Whether the month `partition` (YYYYMM) is past keeping on `today`: more
/// than `raw_months` whole months lie between it and this month. With 13,
/// December 2026 keeps November 2025 onwards.
pub fn expired(partition: u32, raw_months: u32, today: Date) -> bool {
    raw_months > 0 && month_index(partition) + raw_months < month_index(yyyymm(today))
}

/// The monthly partitions `heartbeats` holds, on this server or on every
/// replica of the cluster.
async fn partitions(
    ch: &clickhouse::Client,
    cluster: Option<&Cluster>,
) -> Result<Vec<u32>, AnalyticsError> {
    let (source, table, database) = match cluster {
        None => ("system.parts".to_string(), "heartbeats".to_string(), None),
        Some(c) => (
            format!(
                "remote('{}', system.parts)",
                cluster::replicas(ch, c).await?
            ),
            format!("heartbeats{LOCAL}"),
            Some(c.database.clone()),
        ),
    };
    let sql = format!(
        "SELECT DISTINCT toUInt32(partition) FROM {source}
          WHERE database = {} AND table = ? AND active",
        if database.is_some() {
            "?"
        } else {
            "currentDatabase()"
        }
    );
    let mut q = ch.query(&sql);
    if let Some(db) = &database {
        q = q.bind(db);
    }
    Ok(q.bind(table).fetch_all().await?)
}

/// Drops each expired month of raw heartbeats whose days are all rolled
/// up (a day still due keeps its month: the rollup must read it first);
/// returns the months dropped.
pub async fn drop_expired(
    ch: &clickhouse::Client,
    lock: &crate::ddl::DdlLock,
    raw_months: u32,
    today: Date,
) -> Result<Vec<u32>, AnalyticsError> {
    if raw_months == 0 {
        return Ok(Vec::new());
    }
    let cluster = cluster::detect(ch).await?;
    let expired: Vec<u32> = partitions(ch, cluster.as_ref())
        .await?
        .into_iter()
        .filter(|p| expired(*p, raw_months, today))
        .collect();
    if expired.is_empty() {
        return Ok(expired);
    }
    let due: Vec<u32> = crate::rollup::due(ch, today)
        .await?
        .iter()
        .filter_map(|d| d.day.get(..7)?.replace('-', "").parse().ok())
        .collect();
    let tables = ["heartbeats", "session_days"].map(|t| cluster::rows_of(t, cluster.as_ref()));
    let mut dropped = Vec::new();
    for month in expired {
        if due.contains(&month) {
            tracing::info!(month, "raw heartbeats kept until their days are rolled up");
            continue;
        }
        // Sessions first: a month whose sessions are gone is never counted again.
        for table in tables.iter().rev() {
            let statement = ch.query(&format!("ALTER TABLE {table} DROP PARTITION {month}"));
            crate::ddl::execute(ch, lock, cluster.as_ref(), "raw month drop", statement).await?;
        }
        tracing::info!(month, today = %day_string(today), "raw heartbeats of the month dropped");
        dropped.push(month);
    }
    Ok(dropped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn months_are_kept_for_whole_months() {
        let today = date!(2026 - 12 - 02);
        assert!(!expired(202612, 13, today));
        assert!(!expired(202511, 13, today));
        assert!(expired(202510, 13, today));
        assert!(expired(202412, 13, today));
        // One month: November stays through December, goes in January.
        assert!(!expired(202611, 1, today));
        assert!(expired(202611, 1, date!(2027 - 01 - 01)));
        // 0 keeps everything.
        assert!(!expired(199001, 0, today));
    }
}
