//! The transcode queue and pipeline on real services: several worker
//! processes on one queue, a worker killed with -9 mid-job, retry and
//! delete, progress, and a corpus of awkward inputs generated here.

use std::process::Command;
use std::time::Duration;

use crate::support::{Node, TestSystem};
use cloudcast::Role;
use serde_json::Value;

/// Generates a file with a gst-launch pipeline ending in `! filesink`.
fn gst(dir: &std::path::Path, name: &str, pipeline: &str) -> Vec<u8> {
    let path = dir.join(name);
    let mut args: Vec<String> = vec!["-q".into()];
    args.extend(pipeline.split_whitespace().map(str::to_string));
    args.extend([
        "!".into(),
        "filesink".into(),
        format!("location={}", path.display()),
    ]);
    let status = Command::new("gst-launch-1.0")
        .args(&args)
        .status()
        .expect("gst-launch-1.0");
    assert!(status.success(), "gst-launch {pipeline}");
    std::fs::read(path).expect("read generated file")
}

/// A worker process on the test's stores.
fn spawn_worker(sys: &TestSystem, lease_secs: u32) -> Node {
    let mut cmd = sys.node_command("worker", "127.0.0.1:0");
    cmd.env(
        "CLOUDCAST__TRANSCODE__WORK_DIR",
        sys.dir
            .path()
            .join(format!("work-{}", uuid::Uuid::new_v4())),
    )
    .env("CLOUDCAST__TRANSCODE__LEASE_SECS", lease_secs.to_string());
    Node::spawn(cmd)
}

async fn job_row(pool: &sqlx::PgPool, cloudcast: &str) -> (String, i32, Option<String>) {
    let id = uuid::Uuid::parse_str(cloudcast).expect("uuid");
    sqlx::query_as("SELECT state, attempts, worker FROM transcode_jobs WHERE cloudcast_id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("job")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worker_processes_share_one_queue_without_running_a_job_twice() {
    let sys = TestSystem::start_roles(
        "two_workers",
        &[Role::Api, Role::Stream, Role::Analytics],
        |_| {},
    )
    .await;
    let token = sys.user("queue_dj").await;
    let workers = [spawn_worker(&sys, 30), spawn_worker(&sys, 30)];
    let clip = gst(
        sys.dir.path(),
        "clip.wav",
        "audiotestsrc num-buffers=8 samplesperbuffer=44100 ! audio/x-raw,rate=44100,channels=2 ! wavenc",
    );
    let mut ids = Vec::new();
    for n in 0..4 {
        ids.push(sys.upload(&token, &clip, 1, &format!("clip {n}")).await);
    }
    for id in &ids {
        let cc = sys.wait_processed(id, Duration::from_secs(90)).await;
        assert_eq!(cc["status"], "ready", "{cc}");
    }
    let pool = sqlx::PgPool::connect(&sys.pg_url).await.expect("pg");
    for id in &ids {
        let (state, attempts, _) = job_row(&pool, id).await;
        assert_eq!((state.as_str(), attempts), ("done", 1), "each job ran once");
        let versions: i64 = sqlx::query_scalar(
            "SELECT count(DISTINCT version) FROM renditions WHERE cloudcast_id = $1",
        )
        .bind(uuid::Uuid::parse_str(id).expect("uuid"))
        .fetch_one(&pool)
        .await
        .expect("versions");
        assert_eq!(versions, 1, "published once");
    }
    drop(workers);
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_worker_was_killed_runs_again_and_deleting_cancels() {
    let sys = TestSystem::start_roles(
        "kill_worker",
        &[Role::Api, Role::Stream, Role::Analytics],
        |_| {},
    )
    .await;
    let token = sys.user("kill_dj").await;
    // Ten minutes of audio: long enough to be caught mid-job.
    let long = gst(
        sys.dir.path(),
        "long.wav",
        "audiotestsrc num-buffers=600 samplesperbuffer=44100 ! audio/x-raw,rate=44100,channels=2 ! wavenc",
    );
    let id = sys.upload(&token, &long, 2, "ten minutes").await;
    let pool = sqlx::PgPool::connect(&sys.pg_url).await.expect("pg");

    let mut first = spawn_worker(&sys, 3);
    let mut progress_seen = None;
    for _ in 0..200 {
        let cc = sys.cloudcast(&id).await;
        if let Some(p) = cc["progress"].as_i64().filter(|p| *p > 0) {
            progress_seen = Some(p);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let progress = progress_seen.expect("progress is reported while the job runs");
    assert!((1..100).contains(&progress), "{progress}");
    first.kill_9(); // SIGKILL mid-job: no clean-up runs
    let (state, attempts, _) = job_row(&pool, &id).await;
    assert_eq!(
        (state.as_str(), attempts),
        ("running", 1),
        "the dead worker's lease is still held"
    );

    // Another worker takes the job once the lease runs out, and finishes it.
    let second = spawn_worker(&sys, 3);
    let cc = sys.wait_processed(&id, Duration::from_secs(120)).await;
    assert_eq!(cc["status"], "ready", "{cc}");
    let (state, attempts, _) = job_row(&pool, &id).await;
    assert_eq!((state.as_str(), attempts), ("done", 2));
    let ms = cc["duration_ms"].as_i64().expect("duration");
    assert!((ms - 600_000).abs() < 200, "{ms}");

    // Deleting a cloudcast whose job is running cancels the job.
    let other = sys.upload(&token, &long, 2, "to be deleted").await;
    for _ in 0..200 {
        if job_row(&pool, &other).await.0 == "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let resp = sys
        .http
        .delete(sys.url(&format!("/api/v1/cloudcasts/{other}")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), 204);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let media = sys.bucket_dir().join("media").join(&other);
    let files = std::fs::read_dir(&media).map(|d| d.count()).unwrap_or(0);
    assert_eq!(files, 0, "the cancelled job published nothing");
    let resp = sys
        .http
        .get(sys.url(&format!("/api/v1/cloudcasts/{other}")))
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), 404);
    // The worker is still alive and serves the queue.
    let again = sys
        .upload(&token, &long[..44 + 44100 * 4 * 5], 1, "after")
        .await;
    assert_eq!(
        sys.wait_processed(&again, Duration::from_secs(60)).await["status"],
        "ready"
    );
    drop(second);
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_over_its_time_limit_fails_with_a_reason_and_can_be_retried() {
    let sys = TestSystem::start_with("timeout", |c| {
        c.transcode.job_timeout = Duration::from_secs(2);
        c.transcode.max_attempts = 1;
    })
    .await;
    let token = sys.user("patient_dj").await;
    // Four hours of 8 kHz mono 8-bit PCM: cheap to make, slow to transcode.
    let seconds = 4 * 3600u32;
    let n = seconds * 8000;
    let mut wav = Vec::with_capacity(44 + n as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + n).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&8000u32.to_le_bytes());
    wav.extend_from_slice(&8000u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&8u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&n.to_le_bytes());
    wav.extend((0..n).map(|i| 128u8.wrapping_add(((i / 8) % 64) as u8)));
    let id = sys.upload(&token, &wav, 3, "four hours").await;
    let cc = sys.wait_processed(&id, Duration::from_secs(60)).await;
    assert_eq!(cc["status"], "failed", "{cc}");
    let reason = cc["error"].as_str().expect("reason");
    assert!(reason.contains("limit of 2 s"), "{reason}");

    // Retry: only the owner (or an admin), and only when failed.
    let url = sys.url(&format!("/api/v1/cloudcasts/{id}/retry"));
    let stranger = sys.user("stranger").await;
    assert_eq!(
        sys.http
            .post(&url)
            .bearer_auth(&stranger)
            .send()
            .await
            .expect("retry")
            .status(),
        403
    );
    let resp = sys
        .http
        .post(&url)
        .bearer_auth(&token)
        .send()
        .await
        .expect("retry");
    assert_eq!(resp.status(), 202);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["status"], "processing");
    assert!(body["error"].is_null());
    let cc = sys.wait_processed(&id, Duration::from_secs(60)).await;
    assert_eq!(
        cc["status"], "failed",
        "the same limit fails it again: {cc}"
    );
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn awkward_inputs_end_in_correct_output_or_a_readable_failure() {
    let sys = TestSystem::start("corpus").await;
    let token = sys.user("corpus_dj").await;
    let dir = sys.dir.path().to_path_buf();
    let mp3 = std::fs::read(crate::support::make_mp3(&dir, 30)).expect("mp3");
    let mut corrupt = mp3.clone();
    let mid = corrupt.len() / 2;
    for b in &mut corrupt[mid..mid + 20_000] {
        *b = 0x5A;
    }
    // A WAV header claiming ~4 GB of data in front of 5 s of audio.
    let mut liar = gst(
        &dir,
        "liar.wav",
        "audiotestsrc num-buffers=5 samplesperbuffer=44100 ! audio/x-raw,rate=44100,channels=2 ! wavenc",
    );
    liar[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    liar[40..44].copy_from_slice(&(u32::MAX - 64).to_le_bytes());
    // (name, bytes, expected seconds when it plays)
    let cases: Vec<(&str, Vec<u8>, Option<f64>)> = vec![
        (
            "silent",
            gst(
                &dir,
                "silent.wav",
                "audiotestsrc wave=silence num-buffers=10 samplesperbuffer=44100 ! audio/x-raw,rate=44100,channels=2 ! wavenc",
            ),
            Some(10.0),
        ),
        (
            "8 kHz mono",
            gst(
                &dir,
                "mono8k.wav",
                "audiotestsrc num-buffers=10 samplesperbuffer=8000 ! audio/x-raw,rate=8000,channels=1 ! wavenc",
            ),
            Some(10.0),
        ),
        (
            "96 kHz 24-bit",
            gst(
                &dir,
                "hires.flac",
                "audiotestsrc num-buffers=10 samplesperbuffer=96000 ! audio/x-raw,rate=96000,channels=2,format=S24LE ! audioconvert ! flacenc",
            ),
            Some(10.0),
        ),
        (
            "5.1",
            gst(
                &dir,
                "surround.wav",
                "audiotestsrc num-buffers=10 samplesperbuffer=48000 ! audio/x-raw,rate=48000,channels=6,channel-mask=(bitmask)0x3f ! wavenc",
            ),
            Some(10.0),
        ),
        ("truncated mp3", mp3[..mp3.len() / 2].to_vec(), None),
        ("corrupt mp3", corrupt, None),
        ("huge claimed duration", liar, None),
    ];
    let mut ids = Vec::new();
    for (name, bytes, _) in &cases {
        ids.push(sys.upload(&token, bytes, 1, name).await);
    }
    for ((name, _, expect), id) in cases.iter().zip(&ids) {
        let cc = sys.wait_processed(id, Duration::from_secs(120)).await;
        let status = cc["status"].as_str().unwrap_or_default();
        match expect {
            Some(secs) => {
                assert_eq!(status, "ready", "{name}: {cc}");
                let ms = cc["duration_ms"].as_f64().unwrap_or(0.0);
                assert!((ms / 1000.0 - secs).abs() < 0.2, "{name}: {ms} ms");
                // Every rendition decodes.
                let decoded =
                    crate::support::decoded_seconds(cc["stream_url"].as_str().expect("url"));
                assert!((decoded - secs).abs() < 0.2, "{name}: decoded {decoded}");
            }
            None => match status {
                "ready" => {
                    let decoded =
                        crate::support::decoded_seconds(cc["stream_url"].as_str().expect("url"));
                    assert!(
                        decoded > 1.0,
                        "{name}: plays what was readable ({decoded} s)"
                    );
                }
                "failed" | "rejected" => {
                    assert!(
                        cc["error"].as_str().is_some_and(|e| e.len() > 10),
                        "{name}: a readable reason: {cc}"
                    );
                }
                other => panic!("{name}: unexpected status {other}: {cc}"),
            },
        }
        if *name == "silent" {
            assert!(
                cc["loudness"]["integrated_lufs"].is_null(),
                "silence has no loudness: {cc}"
            );
        }
    }
    sys.stop().await;
}
