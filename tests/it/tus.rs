//! tus 1.0.0 behaviour beyond the happy path: creation-with-upload,
//! termination, expiration, concurrent PATCHes, a server killed with -9
//! mid-upload, and the command-line uploader resuming after interruption.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::{TestSystem, noise, noise_wav as wav};

async fn head_offset(sys: &TestSystem, url: &str, token: &str) -> (u16, Option<u64>) {
    let resp = sys
        .http
        .head(url)
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .expect("head");
    let off = resp
        .headers()
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (resp.status().as_u16(), off)
}

/// A PATCH body that trickles `data` in 256 KiB pieces with a pause between.
fn slow_body(data: Vec<u8>, pause: Duration) -> reqwest::Body {
    let chunks: Vec<Vec<u8>> = data.chunks(256 * 1024).map(<[u8]>::to_vec).collect();
    let stream = futures::stream::unfold(chunks.into_iter(), move |mut it| async move {
        let next = it.next()?;
        tokio::time::sleep(pause).await;
        Some((Ok::<_, std::io::Error>(next), it))
    });
    reqwest::Body::wrap_stream(stream)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creation_with_upload_termination_and_locking() {
    let sys = TestSystem::start("tus_ext").await;
    let token = sys.user("tus_user").await;
    let data = wav(3 * 1024 * 1024, 5);

    // creation-with-upload: the first bytes ride on the POST.
    let resp = sys
        .http
        .post(sys.url("/api/v1/uploads"))
        .bearer_auth(&token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", data.len().to_string())
        .header("Content-Type", "application/offset+octet-stream")
        .body(data[..1_000_000].to_vec())
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers()["upload-offset"], "1000000");
    assert!(
        resp.headers()["upload-expires"]
            .to_str()
            .unwrap_or_default()
            .ends_with("GMT")
    );
    let url = sys.url(resp.headers()["location"].to_str().expect("location"));
    assert_eq!(
        head_offset(&sys, &url, &token).await,
        (200, Some(1_000_000))
    );

    // A second PATCH while one is running is refused, and changes nothing.
    let slow = sys
        .http
        .patch(&url)
        .bearer_auth(&token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Offset", "1000000")
        .header("Content-Type", "application/offset+octet-stream")
        .body(slow_body(
            data[1_000_000..2_000_000].to_vec(),
            Duration::from_millis(150),
        ))
        .send();
    let slow = tokio::spawn(slow);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = sys
        .patch(&token, &url, 1_000_000, data[1_000_000..1_000_100].to_vec())
        .await;
    assert_eq!(second.status(), 423, "{:?}", second.text().await);
    let first = slow.await.expect("join").expect("slow patch");
    assert_eq!(first.status(), 204);
    assert_eq!(first.headers()["upload-offset"], "2000000");

    // Termination frees the upload; afterwards it is gone.
    let resp = sys
        .http
        .delete(&url)
        .bearer_auth(&token)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), 204);
    assert_eq!(head_offset(&sys, &url, &token).await.0, 410);
    let resp = sys
        .patch(&token, &url, 2_000_000, data[2_000_000..].to_vec())
        .await;
    assert_eq!(resp.status(), 410);
    let pool = sqlx::PgPool::connect(&sys.pg_url).await.expect("pg");
    let (state, tail): (String, Option<String>) =
        sqlx::query_as("SELECT state, tail_key FROM uploads")
            .fetch_one(&pool)
            .await
            .expect("row");
    assert_eq!((state.as_str(), tail), ("terminated", None));
    let cloudcasts: i64 = sqlx::query_scalar("SELECT count(*) FROM cloudcasts")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(cloudcasts, 0);
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfinished_uploads_expire() {
    let sys = TestSystem::start_with("tus_expire", |c| {
        c.uploads.expiry = Duration::from_secs(1);
        c.uploads.sweep = Duration::from_secs(1);
    })
    .await;
    let token = sys.user("slowpoke").await;
    let url = sys.create_upload(&token, 1_000_000, "never finished").await;
    let resp = sys.patch(&token, &url, 0, noise(1000, 1)).await;
    assert_eq!(resp.status(), 204);
    let mut status = 0;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        status = head_offset(&sys, &url, &token).await.0;
        if status == 410 {
            break;
        }
    }
    assert_eq!(status, 410, "an expired upload is gone");
    let pool = sqlx::PgPool::connect(&sys.pg_url).await.expect("pg");
    let state: String = sqlx::query_scalar("SELECT state FROM uploads")
        .fetch_one(&pool)
        .await
        .expect("state");
    assert_eq!(state, "expired");
    sys.stop().await;
}

struct Server {
    child: Child,
    base: String,
}

/// Runs `cloudcast serve` as its own process on the test's stores.
fn spawn_server(sys: &TestSystem, bucket: &str) -> Server {
    let mut child = sys
        .command()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("CLOUDCAST__S3__EMBEDDED_ROOT", sys.dir.path().join("s3"))
        .env("CLOUDCAST__S3__BUCKET", bucket)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn cloudcast");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("banner");
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .map(|w| w.trim_end_matches('/').to_string())
        .unwrap_or_else(|| panic!("no URL in {line:?}"));
    Server { child, base }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_survives_kill_9_of_the_server() {
    let sys = TestSystem::start("tus_kill").await;
    let token = sys.user("survivor").await;
    let bucket = sys
        .bucket_dir()
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .expect("bucket");
    let data = wav(20 * 1024 * 1024, 9);

    let server = spawn_server(&sys, &bucket);
    let url = {
        let resp = sys
            .http
            .post(format!("{}/api/v1/uploads", server.base))
            .bearer_auth(&token)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", data.len().to_string())
            .send()
            .await
            .expect("create");
        assert_eq!(resp.status(), 201);
        resp.headers()["location"]
            .to_str()
            .expect("location")
            .to_string()
    };
    // Trickle the first 14 MiB; kill -9 the server once a part is durable.
    let patch = sys
        .http
        .patch(format!("{}{url}", server.base))
        .bearer_auth(&token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Offset", "0")
        .header("Content-Type", "application/offset+octet-stream")
        .body(slow_body(
            data[..14 * 1024 * 1024].to_vec(),
            Duration::from_millis(20),
        ))
        .send();
    let patch = tokio::spawn(patch);
    let pool = sqlx::PgPool::connect(&sys.pg_url).await.expect("pg");
    let mut durable = 0i64;
    for _ in 0..200 {
        durable = sqlx::query_scalar("SELECT offset_bytes FROM uploads")
            .fetch_one(&pool)
            .await
            .expect("offset");
        if durable > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        durable,
        8 * 1024 * 1024,
        "one full part is durable before the kill"
    );
    let mut server = server;
    server.child.kill().expect("kill -9"); // SIGKILL: no clean-up runs
    let _ = server.child.wait();
    let _ = patch.await;

    // After a restart, HEAD returns the durable offset and the upload finishes.
    let mut server = spawn_server(&sys, &bucket);
    let full = format!("{}{url}", server.base);
    let (status, offset) = head_offset(&sys, &full, &token).await;
    assert_eq!(status, 200);
    let offset = offset.expect("offset");
    assert_eq!(offset, 8 * 1024 * 1024);
    let resp = sys
        .patch(&token, &full, offset, data[offset as usize..].to_vec())
        .await;
    assert_eq!(resp.status(), 204, "{:?}", resp.text().await);
    let status = sys.upload_status(&full, &token).await;
    assert_eq!(status["state"], "complete");
    let id = status["cloudcast_id"].as_str().expect("id");
    assert!(
        sys.stored_original(id) == data,
        "the original is byte-identical after kill -9 and resume"
    );
    let _ = server.child.kill();
    let _ = server.child.wait();
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_uploader_resumes_an_interrupted_upload() {
    let sys = TestSystem::start("tus_cli").await;
    let token = sys.user("cli_dj").await;
    let file = sys.dir.path().join("mix.wav");
    let data = wav(12 * 1024 * 1024, 13);
    std::fs::write(&file, &data).expect("write");
    let state_home = sys.dir.path().join("state");
    let cli = |extra: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cloudcast"));
        cmd.args(["upload"])
            .arg(&file)
            .args([
                "--title",
                "From the shell",
                "--server",
                &sys.base,
                "--chunk-mib",
                "1",
            ])
            .args(extra)
            .env("CLOUDCAST_TOKEN", &token)
            .env("XDG_STATE_HOME", &state_home);
        cmd
    };
    // First run: interrupted (killed) once a few MiB are in.
    let mut first = cli(&[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let pool = sqlx::PgPool::connect(&sys.pg_url).await.expect("pg");
    let mut offset = 0i64;
    for _ in 0..400 {
        offset = sqlx::query_scalar("SELECT COALESCE(max(offset_bytes), 0)::bigint FROM uploads")
            .fetch_one(&pool)
            .await
            .expect("offset");
        if offset >= 3 * 1024 * 1024 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    first.kill().expect("kill");
    let _ = first.wait();
    assert!(offset > 0, "the first run made progress");

    // Second run: resumes, does not start over.
    let out = cli(&[]).output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("resuming at byte"), "{stderr}");
    let uploads: i64 = sqlx::query_scalar("SELECT count(*) FROM uploads")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(uploads, 1, "the same upload was continued");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let id = stdout
        .split_whitespace()
        .last()
        .expect("cloudcast id")
        .to_string();
    assert!(sys.stored_original(&id) == data, "byte-identical");
    sys.stop().await;
}

/// The Python interpreter of the project's test venv (made by `infra/dev`).
fn venv_python() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("var/venv/bin/python")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tuspy_an_unmodified_tus_client_uploads() {
    let sys = TestSystem::start("tuspy").await;
    let token = sys.user("py_dj").await;
    let file = sys.dir.path().join("py.wav");
    let data = wav(7 * 1024 * 1024, 17);
    std::fs::write(&file, &data).expect("write");
    let out = Command::new(venv_python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/clients/tuspy_upload.py"
        ))
        .arg(&sys.base)
        .arg(&token)
        .arg(&file)
        .arg("From tuspy")
        .output()
        .expect("python with tuspy must exist: infra/dev installs it into var/venv");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let url = if url.starts_with("http") {
        url
    } else {
        sys.url(&url)
    };
    let status = sys.upload_status(&url, &token).await;
    assert_eq!(status["state"], "complete", "{status}");
    let id = status["cloudcast_id"].as_str().expect("id");
    assert!(sys.stored_original(id) == data);
    let cc = sys.cloudcast(id).await;
    assert_eq!(cc["title"], "From tuspy");
    sys.stop().await;
}
