//! Resumable uploads against the real stack: multi-part S3 uploads are
//! byte-identical, an interrupted PATCH keeps what arrived and resumes, and a
//! file that is not audio ends `failed` with a reason instead of crashing.

use std::time::Duration;

use crate::support::{TestSystem, noise as pseudo_random, noise_wav};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_upload_is_byte_identical() {
    let sys = TestSystem::start("multipart").await;
    let token = sys.user("big_uploader").await;
    // 21 MiB with a default 8 MiB part size: two full parts and a short last
    // one, sent in uneven chunks that straddle part boundaries.
    let data = noise_wav(21 * 1024 * 1024 + 12345, 7);
    let upload = sys.create_upload(&token, data.len() as u64, "noise").await;
    let cuts = [
        1usize,
        3 * 1024 * 1024,
        7 * 1024 * 1024 + 5,
        9 * 1024 * 1024,
        data.len(),
    ];
    let mut offset = 0usize;
    for &end in &cuts {
        let end = end.min(data.len());
        let resp = sys
            .patch(&token, &upload, offset as u64, data[offset..end].to_vec())
            .await;
        assert_eq!(resp.status(), 204, "{:?}", resp.text().await);
        offset = end;
    }
    let status = sys.upload_status(&upload, &token).await;
    assert_eq!(status["state"], "complete", "{status}");
    let id = status["cloudcast_id"].as_str().expect("id").to_string();
    let stored = sys.stored_original(&id);
    assert_eq!(stored.len(), data.len());
    assert!(
        stored == data,
        "the stored original differs from what was sent"
    );

    let pool = sqlx::PgPool::connect(&sys.pg_url).await.expect("pg");
    let parts: i64 = sqlx::query_scalar("SELECT count(*) FROM upload_parts")
        .fetch_one(&pool)
        .await
        .expect("parts");
    assert_eq!(parts, 3, "two full 8 MiB parts and the rest");

    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_patch_keeps_what_arrived_and_resumes() {
    let sys = TestSystem::start("resume").await;
    let token = sys.user("flaky_uploader").await;
    let data = noise_wav(10 * 1024 * 1024, 11);
    let upload = sys
        .create_upload(&token, data.len() as u64, "resumed")
        .await;

    // Send 6 MiB, then the connection dies.
    let sent = data[..6 * 1024 * 1024].to_vec();
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = sent
        .chunks(256 * 1024)
        .map(|c| Ok(c.to_vec()))
        .chain(std::iter::once(Err(std::io::Error::other(
            "connection lost",
        ))))
        .collect();
    let body = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
    let _ = sys
        .http
        .patch(&upload)
        .bearer_auth(&token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Offset", "0")
        .header("Content-Type", "application/offset+octet-stream")
        .body(body)
        .send()
        .await;

    // HEAD tells how much is durable; it may lag what was sent, never lead it.
    let mut offset = 0u64;
    for _ in 0..50 {
        let head = sys
            .http
            .head(&upload)
            .bearer_auth(&token)
            .header("Tus-Resumable", "1.0.0")
            .send()
            .await
            .expect("head");
        offset = head.headers()["upload-offset"]
            .to_str()
            .expect("offset")
            .parse()
            .expect("number");
        if offset > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        offset > 0 && offset <= 6 * 1024 * 1024,
        "offset after the cut: {offset}"
    );

    let resp = sys
        .patch(&token, &upload, offset, data[offset as usize..].to_vec())
        .await;
    assert_eq!(resp.status(), 204, "{:?}", resp.text().await);
    let status = sys.upload_status(&upload, &token).await;
    assert_eq!(status["state"], "complete");
    let id = status["cloudcast_id"].as_str().expect("id").to_string();
    assert!(sys.stored_original(&id) == data, "resumed upload differs");
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_is_not_audio_is_rejected_with_a_reason() {
    let sys = TestSystem::start("rejected").await;
    let token = sys.user("noise_maker").await;
    let data = pseudo_random(300 * 1024, 3);
    let id = sys.upload(&token, &data, 2, "not audio").await;
    let pool = sqlx::PgPool::connect(&sys.pg_url).await.expect("pg");
    // Random bytes are not audio: rejected at once with a reason, no job
    // queued, and the original deleted.
    let cc = sys.wait_processed(&id, Duration::from_secs(60)).await;
    assert_eq!(cc["status"], "rejected", "{cc}");
    let reason = cc["error"].as_str().expect("a reason");
    assert!(reason.contains("not audio"), "{reason}");
    assert!(cc["stream_url"].is_null());
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM transcode_jobs")
        .fetch_one(&pool)
        .await
        .expect("jobs");
    assert_eq!(jobs, 0, "nothing to transcode");
    let originals = sys.bucket_dir().join("originals").join(&id);
    let left = std::fs::read_dir(&originals)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().is_file())
                .count()
        })
        .unwrap_or(0);
    assert_eq!(left, 0, "the rejected original is deleted");
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_over_the_duration_limit_is_rejected() {
    let sys = TestSystem::start_with("too_long", |c| {
        c.uploads.max_duration = std::time::Duration::from_secs(10)
    })
    .await;
    let token = sys.user("long_player").await;
    let mp3 = crate::support::make_mp3(sys.dir.path(), 20);
    let id = sys
        .upload(&token, &std::fs::read(&mp3).expect("read"), 1, "too long")
        .await;
    let cc = sys.wait_processed(&id, Duration::from_secs(30)).await;
    assert_eq!(cc["status"], "rejected", "{cc}");
    let reason = cc["error"].as_str().expect("reason");
    assert!(reason.contains("limit"), "{reason}");
    sys.stop().await;
}
