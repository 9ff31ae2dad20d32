//! The room read track by track, for a mix's DJ: per tracklist entry, the
//! listeners who skipped past it and who went back to hear it again (from
//! the jumps sessions made, read from the raw beats), and the change of
//! loudness where it starts (from the short-term loudness series the
//! transcode keeps, `cloudcast_loudness`), flagged past [`FLAG_LU`] beside
//! the drop-off it may explain. Who reached a track and who left during it
//! come from the retention curve, as before.
//!
//! - **Skipped past**: a session's position jumped forward from inside or
//!   before the track to after its end, and the session heard less than
//!   [`SKIP_HEARD_MS`] of it.
//! - **Heard again**: a backward jump of more than [`REPLAY_MIN_MS`] landed
//!   in it.
//!
//! A jump is a position that differs from where playing on would have
//! taken it (one second a beat) by more than [`JUMP_SLACK_MS`]: seeking,
//! not a late or lost beat.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::AnalyticsError;
use crate::dates::DateRange;
use crate::metrics::timed;
use crate::rights::Entry;
use crate::sql::{self, Binds};

/// Heard less than this of a track before jumping past it: a skip.
pub const SKIP_HEARD_MS: u64 = 10_000;
/// A backward jump longer than this, landing in a track: heard again.
pub const REPLAY_MIN_MS: u64 = 10_000;
/// Forward movement beyond playing on by more than this is a jump.
pub const JUMP_SLACK_MS: u64 = 5_000;
/// The jumps are read from raw beats over at most the range's last days:
/// a bound on the beats one statistics page may read.
pub const MAX_DAYS: i64 = 31;
/// A change of loudness larger than this between two tracks is flagged.
pub const FLAG_LU: f32 = 3.0;
/// Seconds of loudness averaged on each side of a transition. After it the
/// window starts 3 s in, once the short-term meter (3 s) holds only the new
/// track.
const LOUDNESS_WINDOW_S: usize = 10;
const METER_S: usize = 3;

/// One tracklist entry as the room read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrackRead {
    /// 1, 2, 3... in tracklist order.
    pub number: usize,
    pub start_ms: u64,
    /// Listeners who jumped past it having heard less than 10 s of it (in
    /// the range's last 31 days at most: read from raw beats).
    pub skipped: u64,
    /// Listeners who jumped back more than 10 s into it.
    pub replayed: u64,
    /// Mean short-term loudness (LUFS) over the 10 s before it starts;
    /// `null` for the first track, silence, or a mix measured before the
    /// series was kept (a backfill measures those).
    pub loudness_before: Option<f32>,
    /// The same over its first seconds (3 to 13 s in).
    pub loudness_after: Option<f32>,
    /// `loudness_after - loudness_before`, LU.
    pub loudness_jump_lu: Option<f32>,
    /// The jump is larger than 3 LU either way.
    pub loudness_flag: bool,
}

#[derive(Debug, Deserialize, clickhouse::Row)]
struct Position {
    listener_id: String,
    session_id: String,
    seq: u32,
    position_ms: u64,
}

/// The tracks' start and end (ms), sorted by start; the last ends with the
/// mix, or never when its length is unknown.
fn bounds(tracks: &[Entry], duration_ms: Option<u64>) -> Vec<(u64, u64)> {
    let mut starts: Vec<u64> = tracks.iter().map(|t| t.start_ms).collect();
    starts.sort_unstable();
    let end = duration_ms.unwrap_or(u64::MAX);
    starts
        .iter()
        .enumerate()
        .map(|(i, &s)| (s, starts.get(i + 1).copied().unwrap_or(end)))
        .collect()
}

/// One session's beats, (seq, position_ms) in seq order, judged against
/// the tracks: the tracks it skipped past and those it heard again.
pub fn session_moves(beats: &[(u32, u64)], tracks: &[(u64, u64)]) -> (Vec<usize>, Vec<usize>) {
    let mut heard = vec![0u64; tracks.len()];
    let mut last_seq = None;
    for &(seq, pos) in beats {
        if last_seq == Some(seq) {
            continue; // a beat sent again
        }
        last_seq = Some(seq);
        if let Some(t) = tracks.iter().position(|&(s, e)| pos >= s && pos < e) {
            heard[t] += 1000;
        }
    }
    let (mut skipped, mut replayed) = (Vec::new(), Vec::new());
    for pair in beats.windows(2) {
        let ((s1, a), (s2, b)) = (pair[0], pair[1]);
        if s2 <= s1 {
            continue;
        }
        let played_on = a + u64::from(s2 - s1) * 1000;
        if b > played_on + JUMP_SLACK_MS {
            for (t, &(_, end)) in tracks.iter().enumerate() {
                if a < end && b >= end && heard[t] < SKIP_HEARD_MS && !skipped.contains(&t) {
                    skipped.push(t);
                }
            }
        } else if a > b + REPLAY_MIN_MS
            && let Some(t) = tracks.iter().position(|&(s, e)| b >= s && b < e)
            && !replayed.contains(&t)
        {
            replayed.push(t);
        }
    }
    (skipped, replayed)
}

/// The mean of the series' non-silent values whose 1 s ends fall in
/// `(from_s, to_s]` (value `i` ends at `i + 1` s).
fn mean(series: &[Option<f32>], from_s: usize, to_s: usize) -> Option<f32> {
    let values: Vec<f32> = (from_s..to_s)
        .filter_map(|i| series.get(i).copied().flatten())
        .collect();
    (!values.is_empty()).then(|| values.iter().sum::<f32>() / values.len() as f32)
}

/// Loudness before and after the start of each track (none for the first).
pub fn transitions(
    series: &[Option<f32>],
    tracks: &[(u64, u64)],
) -> Vec<(Option<f32>, Option<f32>)> {
    tracks
        .iter()
        .enumerate()
        .map(|(i, &(start, _))| {
            if i == 0 || series.is_empty() {
                return (None, None);
            }
            let t = usize::try_from(start / 1000).unwrap_or(usize::MAX);
            // The meter's first values hold less than its 3 s: left out.
            let from = t.saturating_sub(LOUDNESS_WINDOW_S).max(METER_S - 1);
            let before = mean(series, from, t);
            let after = mean(series, t + METER_S, t + METER_S + LOUDNESS_WINDOW_S);
            (before, after)
        })
        .collect()
}

/// The room read of one mix over `range`.
pub async fn read(
    ch: &clickhouse::Client,
    pool: &sqlx::PgPool,
    cloudcast: uuid::Uuid,
    entries: &[Entry],
    duration_ms: Option<i64>,
    range: &DateRange,
) -> Result<Vec<TrackRead>, AnalyticsError> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let tracks = bounds(entries, duration_ms.and_then(|d| u64::try_from(d).ok()));
    let id = cloudcast.to_string();
    let recent = DateRange {
        from: range
            .from
            .max(range.to - time::Duration::days(MAX_DAYS - 1)),
        to: range.to,
    };
    let b = Binds {
        cloudcast_id: Some(&id),
        ..Binds::range(&recent)
    };
    let (mut skipped, mut replayed): (Vec<HashSet<String>>, Vec<HashSet<String>>) = (
        vec![HashSet::new(); tracks.len()],
        vec![HashSet::new(); tracks.len()],
    );
    let scan = async {
        let mut cursor = sql::SESSION_POSITIONS.bound(ch, &b)?.fetch::<Position>()?;
        // Rows come ordered by listener and session: one session at a time.
        let mut current: Option<(String, String)> = None;
        let mut beats: Vec<(u32, u64)> = Vec::new();
        let mut judge = |listener: &str, beats: &[(u32, u64)]| {
            let (s, r) = session_moves(beats, &tracks);
            for t in s {
                skipped[t].insert(listener.to_string());
            }
            for t in r {
                replayed[t].insert(listener.to_string());
            }
        };
        while let Some(p) = cursor.next().await? {
            let key = (p.listener_id, p.session_id);
            if current.as_ref() != Some(&key) {
                if let Some((listener, _)) = &current {
                    judge(listener, &beats);
                }
                beats.clear();
                current = Some(key);
            }
            beats.push((p.seq, p.position_ms));
        }
        if let Some((listener, _)) = &current {
            judge(listener, &beats);
        }
        Ok::<(), AnalyticsError>(())
    };
    timed(sql::SESSION_POSITIONS.name, scan).await?;
    let series: Option<(Vec<Option<f32>>,)> =
        sqlx::query_as("SELECT short_term FROM cloudcast_loudness WHERE cloudcast_id = $1")
            .bind(cloudcast)
            .fetch_optional(pool)
            .await?;
    let series = series.map(|(s,)| s).unwrap_or_default();
    Ok(transitions(&series, &tracks)
        .into_iter()
        .enumerate()
        .map(|(i, (before, after))| {
            let jump = before.zip(after).map(|(b, a)| a - b);
            TrackRead {
                number: i + 1,
                start_ms: tracks[i].0,
                skipped: skipped[i].len() as u64,
                replayed: replayed[i].len() as u64,
                loudness_before: before,
                loudness_after: after,
                loudness_jump_lu: jump,
                loudness_flag: jump.is_some_and(|j| j.abs() > FLAG_LU),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tracks at 0, 60 and 120 s of a 180 s mix.
    const TRACKS: [(u64, u64); 3] = [(0, 60_000), (60_000, 120_000), (120_000, 180_000)];

    /// Beats one a second from `from_s` for `n` seconds, continuing `seq`.
    fn play(beats: &mut Vec<(u32, u64)>, from_s: u64, n: u32) {
        let seq = beats.last().map_or(0, |b| b.0 + 1);
        beats.extend((0..n).map(|i| (seq + i, (from_s + u64::from(i)) * 1000)));
    }

    #[test]
    fn a_jump_past_a_barely_heard_track_is_a_skip() {
        // 20 s of track 1, 5 s of track 2, then on to track 3.
        let mut b = Vec::new();
        play(&mut b, 40, 25);
        play(&mut b, 125, 10);
        assert_eq!(session_moves(&b, &TRACKS), (vec![1], vec![]));
        // From 5 s in, straight to track 3: both skipped.
        let mut b = Vec::new();
        play(&mut b, 0, 5);
        play(&mut b, 130, 5);
        assert_eq!(session_moves(&b, &TRACKS), (vec![0, 1], vec![]));
    }

    #[test]
    fn playing_on_or_a_late_beat_is_no_jump() {
        let mut b = Vec::new();
        play(&mut b, 55, 10);
        // Two beats lost: seq and position move on together.
        b.push((12, 67_000));
        b.push((12, 67_000)); // and one sent twice
        assert_eq!(session_moves(&b, &TRACKS), (vec![], vec![]));
    }

    #[test]
    fn going_back_more_than_ten_seconds_is_hearing_again() {
        // Track 2 from 70 s to 100 s, back to 65 s: heard again; back 8 s: not.
        let mut b = Vec::new();
        play(&mut b, 70, 30);
        play(&mut b, 65, 10);
        play(&mut b, 67, 3);
        assert_eq!(session_moves(&b, &TRACKS), (vec![], vec![1]));
        // Back from track 3 into track 1.
        let mut b = Vec::new();
        play(&mut b, 130, 5);
        play(&mut b, 10, 5);
        assert_eq!(session_moves(&b, &TRACKS), (vec![], vec![0]));
    }

    #[test]
    fn a_louder_next_track_is_flagged() {
        // -20 LUFS for 60 s, then -14.
        let mut series = vec![Some(-20.0f32); 60];
        series.extend(vec![Some(-14.0f32); 60]);
        let t = transitions(&series, &TRACKS[..2]);
        assert_eq!(t[0], (None, None));
        assert_eq!(t[1], (Some(-20.0), Some(-14.0)));
        // A track 10 s in: the meter's first two values (under 3 s) are not read.
        let mut early = vec![Some(-40.0f32), Some(-30.0)];
        early.extend(vec![Some(-20.0f32); 8]);
        early.extend(vec![Some(-14.0f32); 20]);
        let t = transitions(&early, &[(0, 10_000), (10_000, 30_000)]);
        assert_eq!(t[1], (Some(-20.0), Some(-14.0)));
        assert!(transitions(&[], &TRACKS).iter().all(|x| *x == (None, None)));
    }

    #[test]
    fn tracks_end_where_the_next_starts() {
        let e = |s| Entry {
            start_ms: s,
            artist: String::new(),
            title: String::new(),
        };
        assert_eq!(
            bounds(&[e(60_000), e(0)], Some(90_000)),
            vec![(0, 60_000), (60_000, 90_000)]
        );
    }
}
