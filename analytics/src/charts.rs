//! The charts, computed from ClickHouse on a schedule into PostgreSQL
//! (`cloudcast_charts`, and copies on `cloudcast_tags` for tag pages), so
//! a chart page is one PostgreSQL index range and no request waits on a
//! ClickHouse scan.
//!
//! - popular: plays in the last 30 UTC days (today included);
//! - trending: `ln(1 + plays_7d) * (plays_7d + 1) / (plays_prev_7d + 1)`,
//!   the last 7 days against the 7 before: growth, weighted by this week's
//!   volume so one play more than nothing does not top the chart.
//!
//! A play is the statistics' play (`analytics.play_min_seconds`, bots left
//! out). Tag counts (`catalog/src/tags.rs`) are recounted in the same round.

use std::time::Duration;

use time::Duration as Days;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::AnalyticsError;
use crate::dates::DateRange;
use crate::metrics::timed;
use crate::sql::{self, Binds, Rule};

/// Lock id (arbitrary, fixed) so one analytics node computes at a time.
const CHARTS_LOCK: i64 = 0x0c4a_475c;

#[derive(Debug, serde::Deserialize, clickhouse::Row)]
struct Plays {
    cloudcast_id: String,
    plays_30d: u64,
    plays_7d: u64,
    plays_prev_7d: u64,
}

/// The published trending formula.
pub fn trending(plays_7d: u64, plays_prev_7d: u64) -> f64 {
    let (now, before) = (plays_7d as f64, plays_prev_7d as f64);
    (1.0 + now).ln() * (now + 1.0) / (before + 1.0)
}

/// One round: returns the number of charted cloudcasts.
pub async fn compute_once(
    pool: &sqlx::PgPool,
    ch: &clickhouse::Client,
    rule: Rule,
) -> Result<usize, AnalyticsError> {
    // One node computes; the others skip the ClickHouse scan.
    let mut tx = pool.begin().await?;
    let (locked,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_xact_lock($1)")
        .bind(CHARTS_LOCK)
        .fetch_one(&mut *tx)
        .await?;
    if !locked {
        return Ok(0);
    }
    let today = DateRange::today();
    let range = DateRange {
        from: today - Days::days(29),
        to: today,
    };
    let b = Binds::ruled(&range, rule);
    let rows: Vec<Plays> = timed(sql::CHARTS.name, sql::CHARTS.bound(ch, &b)?.fetch_all()).await?;
    let mut ids = Vec::with_capacity(rows.len());
    let (mut p30, mut p7, mut prev, mut trend) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in &rows {
        let Ok(id) = Uuid::parse_str(&r.cloudcast_id) else {
            continue;
        };
        ids.push(id);
        p30.push(i64::try_from(r.plays_30d).unwrap_or(i64::MAX));
        p7.push(i64::try_from(r.plays_7d).unwrap_or(i64::MAX));
        prev.push(i64::try_from(r.plays_prev_7d).unwrap_or(i64::MAX));
        trend.push(trending(r.plays_7d, r.plays_prev_7d));
    }
    // Only cloudcasts that still exist (ClickHouse keeps rows of deleted
    // ones until their removal runs).
    sqlx::query(
        "INSERT INTO cloudcast_charts (cloudcast_id, plays_30d, plays_7d, plays_prev_7d, trending, computed_at)
         SELECT v.id, v.p30, v.p7, v.prev, v.trend, now()
           FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[], $5::float8[])
                AS v(id, p30, p7, prev, trend)
           JOIN cloudcasts c ON c.id = v.id
         ON CONFLICT (cloudcast_id) DO UPDATE SET
            plays_30d = EXCLUDED.plays_30d, plays_7d = EXCLUDED.plays_7d,
            plays_prev_7d = EXCLUDED.plays_prev_7d, trending = EXCLUDED.trending,
            computed_at = EXCLUDED.computed_at",
    )
    .bind(&ids)
    .bind(&p30)
    .bind(&p7)
    .bind(&prev)
    .bind(&trend)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM cloudcast_charts WHERE NOT (cloudcast_id = ANY($1))")
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
    // Tag pages read their copies; only rows that changed are written.
    sqlx::query(
        "UPDATE cloudcast_tags t SET plays_30d = COALESCE(k.plays_30d, 0),
                                     trending = COALESCE(k.trending, 0)
           FROM cloudcast_tags t2 LEFT JOIN cloudcast_charts k ON k.cloudcast_id = t2.cloudcast_id
          WHERE t.tag = t2.tag AND t.cloudcast_id = t2.cloudcast_id
            AND (t.plays_30d, t.trending) IS DISTINCT FROM (COALESCE(k.plays_30d, 0), COALESCE(k.trending, 0))",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ids.len())
}

/// Computes the charts, recounts tags and finds related cloudcasts
/// (`related.rs`, floored at `min_audience`) every `every` until shutdown.
pub async fn run(
    pool: sqlx::PgPool,
    ch: clickhouse::Client,
    rule: Rule,
    min_audience: u64,
    every: Duration,
    shutdown: CancellationToken,
) {
    let chain = |e: AnalyticsError| cloudcast_core::error::Chain(&e).to_string();
    cloudcast_core::periodic::every("charts", every, shutdown, || async {
        // Tags are recounted even when the charts cannot be computed.
        let charted = compute_once(&pool, &ch, rule).await;
        cloudcast_catalog::tags::recount(&pool)
            .await
            .map_err(|e| e.to_string())?;
        let related = crate::related::compute_once(&pool, &ch, rule, min_audience).await;
        let n = charted.map_err(chain)?;
        let pairs = related.map_err(chain)?;
        tracing::debug!(charted = n, related = pairs, "charts computed");
        Ok::<(), String>(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trending_rewards_growth_weighted_by_volume() {
        assert_eq!(trending(0, 0), 0.0);
        assert_eq!(trending(0, 50), 0.0);
        // Growing beats steady, and more volume at the same growth ranks higher.
        assert!(trending(20, 5) > trending(20, 20));
        assert!(trending(200, 100) > trending(2, 1));
        // One new play is not a hit.
        assert!(trending(1, 0) < trending(30, 30));
    }
}
