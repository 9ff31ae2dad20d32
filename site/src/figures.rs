//! The figures the statistics page draws, worked out from the API's rows:
//! pure functions, so their arithmetic is tested without a browser.

use crate::shown::TrackShown;
use crate::templates::{Mark, Retention, TrackRetention};
use crate::views::{RetentionRow, Track};

const WIDTH: u32 = 800;
const HEIGHT: u32 = 200;

/// The API's retention step: listeners per 10 s of the mix. A step no one
/// heard is left out of its rows.
const STEP_S: u64 = 10;

/// Listeners who heard the 10 s of the mix that hold `ms`.
fn listeners_at(rows: &[RetentionRow], ms: u64) -> u64 {
    let step = ms / 1000 / STEP_S * STEP_S;
    rows.iter()
        .find(|r| r.position_s == step)
        .map_or(0, |r| r.listeners)
}

/// The curve over the mix's length, each track's start marked, and for
/// each track how many listeners reached it and how many left during it.
pub fn retention(rows: &[RetentionRow], duration_ms: u64, tracks: &[Track]) -> Option<Retention> {
    if rows.is_empty() {
        return None;
    }
    let last_s = rows.iter().map(|r| r.position_s).max().unwrap_or(0);
    let span_s = (duration_ms / 1000).max(last_s).max(1) as f64;
    let top = rows.iter().map(|r| r.listeners).max().unwrap_or(0).max(1) as f64;
    let x = |s: f64| (s / span_s * f64::from(WIDTH)).round() as u32;
    let y = |n: u64| (f64::from(HEIGHT) - n as f64 / top * f64::from(HEIGHT - 4)).round() as u32;
    // Every step from the start to the end, the unheard ones at zero, each
    // drawn as a level from its start to the next.
    let steps = (span_s as u64).div_ceil(STEP_S);
    let points = (0..steps)
        .flat_map(|i| {
            let n = listeners_at(rows, i * STEP_S * 1000);
            let from = x((i * STEP_S) as f64);
            let to = x((((i + 1) * STEP_S) as f64).min(span_s));
            [format!("{from},{}", y(n)), format!("{to},{}", y(n))]
        })
        .collect::<Vec<_>>()
        .join(" ");
    let mut sorted: Vec<&Track> = tracks.iter().collect();
    sorted.sort_by_key(|t| t.start_ms);
    // The last step of the mix: who heard it stayed to the end.
    let end_ms = duration_ms.max((last_s + 1) * 1000).saturating_sub(1);
    let marks = sorted
        .iter()
        .enumerate()
        .map(|(i, t)| Mark {
            x: x(t.start_ms as f64 / 1000.0),
            n: i + 1,
        })
        .collect();
    let tracks = sorted
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let reached = listeners_at(rows, t.start_ms);
            let next = sorted.get(i + 1).map(|n| n.start_ms);
            let after = match next {
                Some(ms) => listeners_at(rows, ms),
                // The last track: those still there at the very end stayed.
                None => listeners_at(rows, end_ms),
            };
            TrackRetention {
                n: i + 1,
                name: t.name(),
                reached,
                left: reached.saturating_sub(after),
            }
        })
        .collect();
    // The axes: positions in the mix along the bottom, listeners up the side.
    let x_labels = (0..=4)
        .map(|q| {
            let s = span_s * f64::from(q) / 4.0;
            (x(s), crate::shown::clock((s * 1000.0) as u64))
        })
        .collect();
    Some(Retention {
        width: WIDTH,
        height: HEIGHT,
        points,
        marks,
        tracks,
        x_labels,
        y_top: top as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(position_s: u64, listeners: u64) -> RetentionRow {
        RetentionRow {
            position_s,
            listeners,
        }
    }

    fn track(start_ms: u64, title: &str) -> Track {
        Track {
            start_ms,
            artist: "A".into(),
            title: title.into(),
        }
    }

    #[test]
    fn each_track_shows_who_reached_it_and_who_left_during_it() {
        let rows = vec![
            row(0, 10),
            row(60, 8),
            row(120, 5),
            row(180, 5),
            row(240, 2),
        ];
        let tracks = vec![track(120_000, "second"), track(0, "first")];
        let r = retention(&rows, 300_000, &tracks).expect("curve");
        assert_eq!(r.tracks.len(), 2);
        assert_eq!(r.tracks[0].name, "A – first");
        assert_eq!((r.tracks[0].reached, r.tracks[0].left), (10, 5));
        assert_eq!(
            (r.tracks[1].reached, r.tracks[1].left),
            (5, 5),
            "no one heard the last 10 s"
        );
        assert_eq!(r.marks[1].x, 320);
        assert_eq!(r.y_top, 10);
        let ends: Vec<&str> = r.x_labels.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(ends, ["0:00", "1:15", "2:30", "3:45", "5:00"]);
        assert_eq!(r.x_labels[4].0, 800);
        assert!(r.points.starts_with("0,4 27,4 27,200 "), "{}", r.points);
    }

    #[test]
    fn a_step_no_one_heard_counts_no_one() {
        // Everyone left in the first 10 s: the second track reached no one.
        let rows = vec![row(0, 3)];
        let tracks = vec![track(0, "first"), track(20_000, "second")];
        let r = retention(&rows, 45_000, &tracks).expect("curve");
        assert_eq!((r.tracks[0].reached, r.tracks[0].left), (3, 3));
        assert_eq!((r.tracks[1].reached, r.tracks[1].left), (0, 0));
    }

    #[test]
    fn no_rows_no_curve() {
        assert!(retention(&[], 1000, &[]).is_none());
    }
}
