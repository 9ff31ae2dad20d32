//! The heartbeat log on a real file system: group commit, sealing, reading
//! back after a restart, a torn tail, and the size bound.

// Test code throughout: its helpers may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::{Duration, Instant};

use cloudcast_beats::HeartbeatRow;
use cloudcast_beats::wal::{self, WalConfig, WalError};

fn beat(i: u32) -> HeartbeatRow {
    HeartbeatRow {
        ts: 1_795_900_000 + i,
        cloudcast_id: "0191f3a4-0000-7000-8000-000000000000".into(),
        tags: vec!["house".into()],
        session_id: format!("s{}", i % 7),
        seq: i,
        position_ms: u64::from(i) * 1000,
        listener_id: "a:0123".into(),
        user_id: String::new(),
        rendition: "aac_128k".into(),
        referrer_domain: "example.org".into(),
        ip_prefix: "10.1.2.0/24".into(),
        ip_hash: "ab".into(),
        browser: "Firefox".into(),
        browser_major: "133".into(),
        os: "Linux".into(),
        device: "desktop".into(),
        is_bot: 0,
        ads_consent: 1,
        wal_segment: String::new(),
    }
}

fn config(dir: &Path, max_bytes: u64) -> WalConfig {
    WalConfig {
        dir: dir.to_path_buf(),
        max_bytes,
        segment_rows: 1000,
        seal_after: Duration::from_millis(100),
        queue: 64,
    }
}

/// Reopens the log once the previous appender thread has let go of it.
fn reopen(dir: &Path) -> wal::BeatSender {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match wal::open(config(dir, 1 << 30)) {
            Ok((s, _)) => return s,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("reopen: {e}"),
        }
    }
}

fn all_rows(dir: &Path) -> Vec<HeartbeatRow> {
    let mut rows = Vec::new();
    for seq in wal::segments(dir, "seg").expect("list") {
        rows.extend(wal::read_segment(&wal::sealed_path(dir, seq)).expect("read"));
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_are_durable_sealed_and_read_back_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (sender, _shared) = wal::open(config(dir.path(), 1 << 30)).expect("open");
    // A second process may not share the folder.
    assert!(
        matches!(wal::open(config(dir.path(), 1 << 30)), Err(e @ WalError::Locked { .. }) if e.to_string().contains("in use"))
    );

    // 40 concurrent requests of 5 beats, committed in groups.
    let tasks: Vec<_> = (0..40u32)
        .map(|r| {
            let s = sender.clone();
            tokio::spawn(async move { s.append((0..5).map(|i| beat(r * 5 + i)).collect()).await })
        })
        .collect();
    for t in tasks {
        t.await.expect("join").expect("appended");
    }
    // Sealed after flush_ms.
    let deadline = Instant::now() + Duration::from_secs(5);
    while wal::segments(dir.path(), "seg").expect("list").is_empty() {
        assert!(Instant::now() < deadline, "never sealed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut rows = all_rows(dir.path());
    assert_eq!(rows.len(), 200);
    rows.sort_by_key(|r| r.seq);
    assert_eq!(rows, (0..200).map(beat).collect::<Vec<_>>());

    // A restart finds the segments and numbers new ones after them.
    drop(sender);
    let sender = reopen(dir.path());
    sender
        .append(vec![beat(500)])
        .await
        .expect("append after restart");
    drop(sender);
    let deadline = Instant::now() + Duration::from_secs(5);
    while all_rows(dir.path()).len() < 201 {
        assert!(
            Instant::now() < deadline,
            "the last segment was not sealed at close"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_tail_keeps_the_complete_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (sender, _shared) = wal::open(config(dir.path(), 1 << 30)).expect("open");
    sender
        .append((0..10).map(beat).collect())
        .await
        .expect("first");
    sender
        .append((10..20).map(beat).collect())
        .await
        .expect("second");
    drop(sender);
    let sender = reopen(dir.path());
    drop(sender);
    let seqs = wal::segments(dir.path(), "seg").expect("list");
    let path = wal::sealed_path(dir.path(), seqs[0]);
    let len = std::fs::metadata(&path).expect("meta").len();
    // Cut into the second batch, as a crash mid-write would.
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open");
    file.set_len(len - 200).expect("truncate");
    let rows = wal::read_segment(&path).expect("read");
    assert_eq!(rows, (0..10).map(beat).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_log_refuses_instead_of_dropping() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (sender, _shared) = wal::open(config(dir.path(), 2048)).expect("open");
    sender
        .append((0..50).map(beat).collect())
        .await
        .expect("first fits");
    let refused = sender.append(vec![beat(99)]).await;
    assert!(matches!(refused, Err(WalError::Full)), "{refused:?}");
    drop(sender);
    let _ = reopen(dir.path());
    assert_eq!(
        all_rows(dir.path()).len(),
        50,
        "nothing refused was written"
    );
}
