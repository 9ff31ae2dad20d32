//! The shipper: sends sealed log segments to ClickHouse, oldest first, and
//! deletes each only after ClickHouse has confirmed its rows.
//!
//! Replays never count twice. Every row carries its segment's id
//! (`wal_segment`). Before re-sending a segment that may already have
//! arrived (one found at start-up, or one whose insert failed or timed out),
//! the shipper counts that segment's rows in ClickHouse, narrowed by the
//! primary key (cloudcast ids, time range), and skips what is there. Each
//! insert covers one monthly partition, so on one server it lands whole or
//! not at all. In a cluster the Distributed table splits it by shard, so a
//! segment found at start-up may have some shards with their rows and
//! others without: then the rows already there are read back and only the
//! others are sent.
//!
//! A failed insert in a cluster is different: it is sent again exactly as
//! it was (same rows, same order, so the same block on each shard), never
//! counted. A replica that loses ZooKeeper while committing keeps the part
//! and answers "unknown status": a count would see those rows, yet if the
//! commit never reached ZooKeeper the replica discards the part minutes
//! later. The identical block is dropped by a shard whose commit did land
//! (replicated block de-duplication) and inserted by one whose did not.
//! On one server nothing de-duplicates, so there what arrived is counted.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;

use cloudcast_beats::{HeartbeatRow, Segments, WalError};
use cloudcast_core::error::Chain;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::metrics::{self, timed};
use crate::tombstones::Tombstones;

/// Test hook: with `CLOUDCAST_FAILPOINT=after-ship` the process aborts right
/// after a segment's insert and before its deletion, the window a replay
/// must survive.
const FAILPOINT: &str = "after-ship";

/// Most cloudcast ids listed in a replay check (each ~40 bytes of SQL).
const MAX_IN_LIST: usize = 1000;

#[derive(Debug, thiserror::Error)]
enum ShipError {
    #[error("ClickHouse failed")]
    Clickhouse(#[from] clickhouse::error::Error),
    #[error(transparent)]
    Wal(#[from] WalError),
}

/// What to do with one month of a segment that may already have arrived,
/// given how many of its rows ClickHouse holds.
#[derive(Debug, PartialEq, Eq)]
enum Replay {
    /// None arrived: send them.
    Send,
    /// All arrived (the earlier insert succeeded before a crash or timeout).
    AlreadyThere,
    /// Some arrived (in a cluster, the shards that took their part of a
    /// failed insert): only the rows not there are sent.
    Partial,
}

fn replay(present: u64, rows: usize) -> Replay {
    match present {
        0 => Replay::Send,
        n if n == rows as u64 => Replay::AlreadyThere,
        _ => Replay::Partial,
    }
}

/// How segments are shipped.
#[derive(Clone, Copy)]
struct How {
    /// ClickHouse is a cluster of replicated tables: a failed insert is
    /// sent again as it was.
    replicated: bool,
    /// The `after-ship` failpoint.
    abort_after_ship: bool,
}

/// `replicated`: ClickHouse is a cluster of replicated tables (the
/// configured `clickhouse.cluster`).
pub async fn run(
    segments: Segments,
    client: clickhouse::Client,
    pool: sqlx::PgPool,
    replicated: bool,
    shutdown: CancellationToken,
) {
    let mut tombstones = Tombstones::default();
    let how = How {
        replicated,
        abort_after_ship: cloudcast_core::failpoint(FAILPOINT),
    };
    // Segments from a previous run may have reached ClickHouse already.
    let mut suspect: HashSet<u64> = list(&segments).await.into_iter().collect();
    loop {
        let sealed = list(&segments).await;
        metrics::pending(sealed.len());
        // Erased accounts are read before each round, after its segments
        // were sealed: an erasure committed before then loses these beats
        // here; one committed later has its own removal queued behind them.
        if !sealed.is_empty()
            && let Err(e) = tombstones.refresh(&pool).await
        {
            tracing::warn!(error = %Chain(&e), "reading erased accounts failed");
        }
        if !sealed.is_empty() && !tombstones.loaded() {
            // Not known even once (PostgreSQL away since start-up): the
            // beats wait on disk rather than risk bringing one back.
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                _ = shutdown.cancelled() => return,
            }
        }
        for seq in sealed {
            let span = tracing::info_span!("ship", segment = %segments.segment_id(seq));
            let shipped = ship_segment(
                &segments,
                &client,
                &tombstones,
                seq,
                &mut suspect,
                how,
                &shutdown,
            )
            .instrument(span)
            .await;
            if !shipped {
                return;
            }
        }
        tokio::select! {
            _ = segments.wait_sealed() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

async fn list(segments: &Segments) -> Vec<u64> {
    let segments = segments.clone();
    match tokio::task::spawn_blocking(move || segments.sealed()).await {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "listing heartbeat segments failed");
            Vec::new()
        }
        Err(e) => {
            tracing::error!(error = %e, "listing heartbeat segments panicked");
            Vec::new()
        }
    }
}

/// Ships one segment, retrying until ClickHouse takes it; false when
/// shutting down first.
async fn ship_segment(
    segments: &Segments,
    client: &clickhouse::Client,
    tombstones: &Tombstones,
    seq: u64,
    suspect: &mut HashSet<u64>,
    how: How,
    shutdown: &CancellationToken,
) -> bool {
    let id = segments.segment_id(seq);
    let reader = segments.clone();
    let mut rows = match tokio::task::spawn_blocking(move || reader.read(seq)).await {
        Ok(Ok(rows)) => rows,
        Ok(Err(e)) => {
            // Unreadable from its first byte: nothing in it was acknowledged.
            tracing::error!(error = %Chain(&e), "unreadable heartbeat segment; set aside");
            if let Err(e) = segments.set_aside(seq) {
                tracing::error!(error = %e, "setting the segment aside failed");
            }
            return true;
        }
        Err(e) => {
            tracing::error!(error = %e, "reading a heartbeat segment panicked");
            return true;
        }
    };
    let dropped = tombstones.drop_erased(&mut rows);
    if dropped > 0 {
        tracing::info!(rows = dropped, "beats of erased accounts dropped");
    }
    let mut delay = Duration::from_millis(200);
    let mut check = suspect.contains(&seq);
    let mut planned: Option<Vec<Vec<&HeartbeatRow>>> = None;
    loop {
        let attempt = async {
            if planned.is_none() {
                planned = Some(plan(client, &id, &rows, check).await?);
            }
            let groups = planned.as_deref().unwrap_or_default();
            send(client, &id, groups).await
        };
        match attempt.await {
            Ok(sent) => {
                tracing::debug!(rows = rows.len(), sent, "segment shipped");
                let oldest = rows.iter().map(|r| r.ts).min().unwrap_or(0);
                metrics::shipped(sent, oldest);
                break;
            }
            Err(e) => {
                // It may have landed anyway (a timeout after the write). In
                // a cluster the same plan goes again as it was (see the
                // module's comment); on one server what arrived is counted.
                if !how.replicated {
                    check = true;
                    planned = None;
                }
                tracing::warn!(error = %Chain(&e), retry_in_ms = delay.as_millis() as u64, "shipping heartbeats failed; they wait on disk");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = shutdown.cancelled() => return false,
                }
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
    if how.abort_after_ship {
        tracing::error!("failpoint after-ship: aborting before the segment is deleted");
        std::process::abort();
    }
    let remover = segments.clone();
    let removed = tokio::task::spawn_blocking(move || remover.remove(seq))
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)));
    if let Err(e) = removed {
        // Next round must count before sending again: the rows are in.
        suspect.insert(seq);
        tracing::error!(error = %e, "deleting a shipped segment failed");
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = shutdown.cancelled() => return false,
        }
        return true;
    }
    suspect.remove(&seq);
    true
}

/// `YYYYMM` of a Unix time: the partition a row lands in.
fn month(ts: u32) -> u32 {
    time::OffsetDateTime::from_unix_timestamp(i64::from(ts))
        .map(|t| t.year() as u32 * 100 + u32::from(u8::from(t.month())))
        .unwrap_or(0)
}

/// The inserts that ship `rows`: one per month (its partition), each of
/// the rows ClickHouse does not have yet when `check` (a segment that may
/// have arrived), else all of them. Empty groups are left out.
async fn plan<'a>(
    client: &clickhouse::Client,
    segment: &str,
    rows: &'a [HeartbeatRow],
    check: bool,
) -> Result<Vec<Vec<&'a HeartbeatRow>>, ShipError> {
    let mut by_month: BTreeMap<u32, Vec<&HeartbeatRow>> = BTreeMap::new();
    for r in rows {
        by_month.entry(month(r.ts)).or_default().push(r);
    }
    let mut groups = Vec::new();
    for group in by_month.into_values() {
        if !check {
            groups.push(group);
            continue;
        }
        let present = count_present(client, segment, &group).await?;
        match replay(present, group.len()) {
            Replay::Send => groups.push(group),
            Replay::AlreadyThere => {
                tracing::info!(
                    rows = present,
                    "replay: these rows already arrived; not sent again"
                );
            }
            Replay::Partial => {
                let there = present_keys(client, segment, &group).await?;
                let missing = missing(&group, there);
                tracing::warn!(
                    present,
                    rows = group.len(),
                    sending = missing.len(),
                    "replay: part of these rows arrived; sending the rest"
                );
                if !missing.is_empty() {
                    groups.push(missing);
                }
            }
        }
    }
    Ok(groups)
}

/// Sends each planned insert; returns the rows sent.
async fn send(
    client: &clickhouse::Client,
    segment: &str,
    groups: &[Vec<&HeartbeatRow>],
) -> Result<usize, ShipError> {
    let mut sent = 0;
    for group in groups {
        timed("ship_insert", insert(client, segment, group)).await?;
        sent += group.len();
    }
    Ok(sent)
}

/// What tells one beat of a segment from another.
type BeatKey = (String, String, u32, u32);

fn key_of(r: &HeartbeatRow) -> BeatKey {
    (r.cloudcast_id.clone(), r.session_id.clone(), r.seq, r.ts)
}

/// The rows of `group` not among `there`, counting duplicates: a beat a
/// player sent twice is in the segment twice, and each copy arrives once.
fn missing<'a>(group: &[&'a HeartbeatRow], there: Vec<BeatKey>) -> Vec<&'a HeartbeatRow> {
    let mut there: BTreeMap<BeatKey, usize> =
        there.into_iter().fold(BTreeMap::new(), |mut m, k| {
            *m.entry(k).or_default() += 1;
            m
        });
    group
        .iter()
        .filter(|r| match there.get_mut(&key_of(r)) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        })
        .copied()
        .collect()
}

/// The beats of `segment` in `group`'s time range that ClickHouse holds.
async fn present_keys(
    client: &clickhouse::Client,
    segment: &str,
    group: &[&HeartbeatRow],
) -> Result<Vec<BeatKey>, ShipError> {
    #[derive(clickhouse::Row, serde::Deserialize)]
    struct K {
        cloudcast_id: String,
        session_id: String,
        seq: u32,
        ts: u32,
    }
    let (min, max) = time_range(group);
    let rows: Vec<K> = client
        .query(
            "SELECT cloudcast_id, session_id, seq, toUInt32(ts) AS ts FROM heartbeats
              WHERE ts >= toDateTime(?) AND ts <= toDateTime(?) AND wal_segment = ?",
        )
        .bind(min)
        .bind(max)
        .bind(segment)
        .fetch_all()
        .await?;
    Ok(rows
        .into_iter()
        .map(|k| (k.cloudcast_id, k.session_id, k.seq, k.ts))
        .collect())
}

fn time_range(group: &[&HeartbeatRow]) -> (u32, u32) {
    group
        .iter()
        .fold((u32::MAX, 0), |(lo, hi), r| (lo.min(r.ts), hi.max(r.ts)))
}

/// One insert of one month's rows, each stamped with its segment's id.
async fn insert(
    client: &clickhouse::Client,
    segment: &str,
    group: &[&HeartbeatRow],
) -> Result<(), clickhouse::error::Error> {
    let mut insert = client.insert::<HeartbeatRow>("heartbeats").await?;
    for r in group {
        let mut row = (*r).clone();
        row.wal_segment = segment.to_string();
        insert.write(&row).await?;
    }
    insert.end().await
}

/// Rows of `segment` already in ClickHouse among `group` (one month).
async fn count_present(
    client: &clickhouse::Client,
    segment: &str,
    group: &[&HeartbeatRow],
) -> Result<u64, ShipError> {
    let ids: BTreeSet<&str> = group.iter().map(|r| r.cloudcast_id.as_str()).collect();
    let (min, max) = time_range(group);
    // The primary key (cloudcast_id, ts) narrows the scan to these rows;
    // with very many cloudcasts the list would outgrow max_query_size, and
    // the time range (partition pruning) has to do.
    let by_id = ids.len() <= MAX_IN_LIST;
    let filter = if by_id {
        format!("cloudcast_id IN ({}) AND ", vec!["?"; ids.len()].join(","))
    } else {
        String::new()
    };
    let sql = format!(
        "SELECT count() FROM heartbeats WHERE {filter}\
         ts >= toDateTime(?) AND ts <= toDateTime(?) AND wal_segment = ?"
    );
    let mut q = client.query(&sql);
    if by_id {
        for id in ids {
            q = q.bind(id);
        }
    }
    Ok(timed(
        "ship_replay_check",
        q.bind(min).bind(max).bind(segment).fetch_one::<u64>(),
    )
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replay_sends_only_what_never_arrived() {
        assert_eq!(replay(0, 10), Replay::Send);
        assert_eq!(replay(10, 10), Replay::AlreadyThere);
        assert_eq!(replay(3, 10), Replay::Partial);
        assert_eq!(replay(11, 10), Replay::Partial);
    }

    #[test]
    fn a_partial_replay_sends_each_missing_copy_once() {
        let beat = |session: &str, seq: u32| HeartbeatRow {
            cloudcast_id: "c".into(),
            session_id: session.into(),
            seq,
            ts: 1000 + seq,
            ..HeartbeatRow::default()
        };
        // s/1 was sent twice by the player; one copy of it and s/0 arrived.
        let rows = [beat("s", 0), beat("s", 1), beat("s", 1), beat("t", 0)];
        let group: Vec<&HeartbeatRow> = rows.iter().collect();
        let there = vec![key_of(&rows[0]), key_of(&rows[1])];
        let send: Vec<BeatKey> = missing(&group, there).into_iter().map(key_of).collect();
        assert_eq!(send, vec![key_of(&rows[1]), key_of(&rows[3])]);
        assert!(missing(&group, group.iter().map(|r| key_of(r)).collect()).is_empty());
    }

    #[test]
    fn months_follow_the_calendar() {
        assert_eq!(month(1_795_928_400), 202611); // 2026-11-29
        assert_eq!(month(1_798_761_599), 202612); // 2026-12-31 23:59:59
        assert_eq!(month(1_798_761_600), 202701); // 2027-01-01
    }
}
