//! The DJ upload page in headless Chromium (Playwright driving Debian's
//! chromium): sign in, upload with tus-js-client, reload mid-upload, resume,
//! and see the cloudcast become ready.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::support::TestSystem;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upload_page_resumes_after_a_reload() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sys = TestSystem::start_with("web_upload", |c| c.http.web_dir = root.join("web")).await;
    let token = sys.user("browser_dj").await;
    // 40 s of stereo 16-bit WAV: about 7 MB, several 1 MiB tus chunks.
    let wav = sys.dir.path().join("page.wav");
    let status = Command::new("gst-launch-1.0")
        .args([
            "-q",
            "audiotestsrc",
            "num-buffers=40",
            "samplesperbuffer=44100",
            "!",
            "audio/x-raw,rate=44100,channels=2",
            "!",
            "wavenc",
            "!",
            "filesink",
        ])
        .arg(format!("location={}", wav.display()))
        .status()
        .expect("gst-launch-1.0");
    assert!(status.success());

    let result = crate::support::run_page(
        "upload_page.mjs",
        vec![
            sys.base.clone(),
            wav.to_string_lossy().into_owned(),
            "browser_dj".into(),
            "correct horse battery".into(),
        ],
        &[],
    )
    .await;
    assert!(
        result["resumedFrom"].as_u64().is_some_and(|n| n > 0),
        "the reload resumed part-way: {result}"
    );
    let size = std::fs::metadata(&wav).expect("size").len();
    assert_eq!(result["bytesTotal"].as_u64(), Some(size));
    let id = result["cloudcastId"].as_str().expect("cloudcast id");
    // Uploaded from the page, it is a draft: its owner's alone until published.
    let cc = sys
        .wait_processed_as(id, Some(&token), Duration::from_secs(60))
        .await;
    assert_eq!(cc["status"], "ready", "{cc}");
    assert_eq!(cc["draft"], true, "{cc}");
    assert_eq!(sys.cloudcast(id).await["error"]["code"], "not_found");
    assert_eq!(result["cloudcastStatus"], "ready");
    let pool = sqlx::PgPool::connect(&sys.pg_url).await.expect("pg");
    let uploads: i64 = sqlx::query_scalar("SELECT count(*) FROM uploads")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(uploads, 1, "the reload continued the same upload");
    sys.stop().await;
}

/// The page scripts' pure rules (tracklists typed or pasted as a cue
/// sheet, purchase links, a mix's state in words), run in Node.
#[tokio::test]
async fn the_page_scripts_read_tracklists_and_cue_sheets() {
    let seen = crate::support::run_page("units.mjs", Vec::new(), &[]).await;
    assert_eq!(seen["passed"], 4, "{seen}");
}
