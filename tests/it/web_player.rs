//! The web player in headless Chromium (Playwright driving Debian's
//! chromium): hls.js plays a long mix through our byte-range playlists,
//! seeks to 2 h by clicking the waveform, keeps playing, and its per-second
//! heartbeats arrive in ClickHouse, sent a few seconds at a time, the last
//! of them by `sendBeacon` as the tab closes.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{TestSystem, ch_u64};

/// Seconds of the long mix: past the 2 h mark the test seeks to.
const MIX_SECS: u32 = 7500;
const SEEK_SECS: u32 = 7200;

/// A 2 h 5 min sine-tone MP3 at 8 kHz mono, 8 kb/s: about 7.5 MB, quick to
/// make and to transcode, yet as long as a real mix.
fn long_mix(dir: &Path) -> Vec<u8> {
    let path = dir.join("long.mp3");
    let status = Command::new("gst-launch-1.0")
        .args([
            "-q",
            "audiotestsrc",
            "wave=sine",
            "freq=330",
            "samplesperbuffer=800",
            &format!("num-buffers={}", MIX_SECS * 10),
            "!",
            "audio/x-raw,rate=8000,channels=1",
            "!",
            "lamemp3enc",
            "target=bitrate",
            "bitrate=8",
            "cbr=true",
            "!",
            "xingmux",
            "!",
            "filesink",
        ])
        .arg(format!("location={}", path.display()))
        .status()
        .expect("gst-launch-1.0");
    assert!(status.success(), "gst-launch failed");
    std::fs::read(path).expect("read long mix")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_player_plays_seeks_to_two_hours_and_reports_every_second() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // One light rendition keeps the 2-hour transcode to well under a minute.
    let sys = TestSystem::start_with("web_player", |c| {
        c.http.web_dir = root.join("web");
        c.transcode.sample_rate = 8000;
        c.transcode.ladder_kbps = vec![24];
    })
    .await;
    let token = sys.user("player_dj").await;
    let data = long_mix(sys.dir.path());
    let id = sys.upload(&token, &data, 2, "Two hours and more").await;
    let cc = sys.wait_processed(&id, Duration::from_secs(300)).await;
    assert_eq!(cc["status"], "ready", "{cc}");
    let tracks = serde_json::json!({"tracklist": [
        {"start_ms": 0, "artist": "Opening", "title": "Warm-up"},
        {"start_ms": 7_000_000, "artist": "Closing", "title": "Last light"},
    ]});
    let resp = sys
        .http
        .patch(sys.url(&format!("/api/v1/cloudcasts/{id}")))
        .bearer_auth(&token)
        .json(&tracks)
        .send()
        .await
        .expect("patch");
    assert_eq!(resp.status(), 200);

    let result = crate::support::run_page(
        "listen_page.mjs",
        vec![sys.base.clone(), id.clone(), SEEK_SECS.to_string()],
        &[("TIMEOUT_MS", "90000")],
    )
    .await;
    assert_eq!(result["engine"], "hls.js", "{result}");
    let landed = result["landedAt"].as_f64().expect("landedAt");
    assert!((landed - f64::from(SEEK_SECS)).abs() < 30.0, "{result}");
    assert!(
        result["finalTime"].as_f64().expect("finalTime") >= landed + 4.0,
        "{result}"
    );
    let acked = result["beatsAcked"].as_u64().expect("beatsAcked");
    assert!(acked >= 6, "{result}");
    let made = result["beatsMade"].as_u64().expect("beatsMade");
    let session = result["sessionId"].as_str().expect("sessionId").to_string();
    // Beats go a few seconds at a time, not a request a second.
    let requests = result["requests"].as_u64().expect("requests");
    assert!(requests * 2 <= made, "{requests} requests for {made} beats");
    // The tab closed with beats queued and its fetches failing: those
    // beats can only arrive by sendBeacon.
    assert!(
        result["queuedAtClose"].as_u64().unwrap_or(0) >= 2,
        "{result}"
    );

    // Every beat made is in ClickHouse, once: those acknowledged and those
    // the closing tab sent; one row per second of playback, numbered
    // without gaps, some of them past the 2 h mark.
    let deadline = Instant::now() + Duration::from_secs(30);
    let rows = loop {
        let rows = sys
            .clickhouse_rows(&format!(
                "SELECT seq, position_ms, browser, rendition FROM heartbeats \
                 WHERE cloudcast_id = '{id}' AND session_id = '{session}' ORDER BY seq"
            ))
            .await;
        if rows.len() as u64 >= made {
            break rows;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {made} beats arrived ({acked} acknowledged before the close)",
            rows.len()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    // Rows that landed late would be counted twice: give them a moment.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let again = sys
        .clickhouse_rows(&format!(
            "SELECT count() AS n FROM heartbeats \
             WHERE cloudcast_id = '{id}' AND session_id = '{session}'"
        ))
        .await;
    assert_eq!(
        again.first().map(|r| ch_u64(&r["n"])),
        Some(made),
        "each beat made, once"
    );
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(
            r["seq"].as_u64(),
            Some(i as u64),
            "seq without gaps: {rows:?}"
        );
        assert_eq!(r["browser"], "HeadlessChrome", "{r}");
        assert_eq!(r["rendition"], "aac_24k", "{r}");
    }
    let past_two_hours = rows
        .iter()
        .map(|r| ch_u64(&r["position_ms"]))
        .filter(|&p| p >= u64::from(SEEK_SECS) * 1000 - 30_000)
        .count();
    assert!(past_two_hours >= 3, "beats after the seek: {rows:?}");
    sys.stop().await;
}

/// A player people keep open (`web/tests/player.mjs`): the queue goes on
/// from the list a mix was started in, the lock screen shows the track
/// playing, keys play, pause and seek, and the volume and the place in the
/// mix survive a reload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_player_queues_resumes_remembers_and_shows_the_track() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sys = TestSystem::start_with("web_player_keep", |c| {
        c.http.web_dir = root.join("web");
        c.transcode.ladder_kbps = vec![64];
    })
    .await;
    let dj = sys.user("pl_dj").await;
    sys.user("pl_fan").await;
    // Newest first on the profile: the short opener, then the long one.
    let long = sys.ready_cloudcast(&dj, 60, "Long Haul").await;
    let tracks = serde_json::json!({"tracklist": [
        {"start_ms": 0, "artist": "A", "title": "One"},
        {"start_ms": 15000, "artist": "B", "title": "Two"},
    ]});
    let status = sys
        .http
        .patch(sys.url(&format!(
            "/api/v1/cloudcasts/{}",
            long["id"].as_str().unwrap_or_default()
        )))
        .bearer_auth(&dj)
        .json(&tracks)
        .send()
        .await
        .expect("patch")
        .status();
    assert_eq!(status, 200);
    sys.ready_cloudcast(&dj, 6, "Short Opener").await;

    let seen = crate::support::run_page(
        "player.mjs",
        vec![
            "keep".into(),
            sys.base.clone(),
            "pl_fan".into(),
            "correct horse battery".into(),
            "pl_dj".into(),
        ],
        &[("TIMEOUT_MS", "90000")],
    )
    .await;
    assert_eq!(
        seen["order"],
        serde_json::json!(["Short Opener", "Long Haul"]),
        "{seen}"
    );
    assert_eq!(seen["first"], "Short Opener", "{seen}");
    assert_eq!(seen["upNext"], "Next: Long Haul", "{seen}");
    assert_eq!(seen["second"], "Long Haul", "{seen}");
    // Twenty seconds in far less: the keys moved it, not the playing.
    assert!(
        seen["keysTookMs"].as_u64().is_some_and(|ms| ms < 8000),
        "{seen}"
    );
    assert_eq!(
        seen["lockScreen"],
        serde_json::json!({"title": "B – Two", "artist": "pl_dj", "album": "Long Haul", "artwork": ["100x100", "300x300", "600x600"]}),
        "{seen}"
    );
    assert_eq!(seen["volumeAfterReload"], 0.3, "{seen}");
    let volume = seen["audioVolume"].as_f64().unwrap_or(0.0);
    assert!((volume - 0.3).abs() < 0.01, "{seen}");
    let paused = seen["pausedAt"].as_f64().unwrap_or(0.0);
    let resumed = seen["resumedAt"].as_f64().unwrap_or(0.0);
    assert!(
        resumed >= 19.0 && resumed <= paused + 6.0,
        "paused at {paused}, resumed at {resumed}: {seen}"
    );
    assert!(
        seen["note"]
            .as_str()
            .is_some_and(|n| n.starts_with("Resumed at 0:2")),
        "{seen}"
    );
    sys.stop().await;
}
