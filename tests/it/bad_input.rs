//! Bad input on every route gets a 4xx with a JSON body naming the problem;
//! nothing a client sends produces a 500.

use crate::support::{TestSystem, terms};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn expect_error(resp: reqwest::Response, status: u16, code: &str) -> Value {
    let got = resp.status();
    let text = resp.text().await.expect("body");
    assert_eq!(got.as_u16(), status, "body: {text}");
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    assert_eq!(v["error"]["code"], code, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{v}"
    );
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_and_sessions_reject_bad_input() {
    let sys = TestSystem::start("bad_accounts").await;
    let http = &sys.http;
    let accounts = sys.url("/api/v1/accounts");
    let post = |body: Value| http.post(&accounts).json(&body).send();
    let ok = json!({"email": "a@example.org", "username": "alice", "password": "long enough pw", "birth_date": "1990-01-01", "terms": terms()});

    expect_error(
        http.post(&accounts)
            .body("{nope")
            .header("content-type", "application/json")
            .send()
            .await
            .expect("send"),
        400,
        "malformed_json",
    )
    .await;
    expect_error(
        http.post(&accounts).body("{}").send().await.expect("send"),
        415,
        "unsupported_media_type",
    )
    .await;
    expect_error(
        post(json!({"email": "a@example.org"})).await.expect("send"),
        422,
        "invalid_fields",
    )
    .await;
    let mut wrong_type = ok.clone();
    wrong_type["birth_date"] = json!(19900101);
    expect_error(post(wrong_type).await.expect("send"), 422, "invalid_fields").await;
    let mut bad = ok.clone();
    bad["email"] = json!("not-an-email");
    expect_error(post(bad).await.expect("send"), 422, "invalid_field").await;
    let mut bad = ok.clone();
    bad["username"] = json!("alice@example.org");
    expect_error(post(bad).await.expect("send"), 422, "invalid_field").await;
    let mut bad = ok.clone();
    bad["password"] = json!("short");
    expect_error(post(bad).await.expect("send"), 422, "invalid_field").await;
    let mut bad = ok.clone();
    bad["birth_date"] = json!("1990-02-30");
    expect_error(post(bad).await.expect("send"), 422, "invalid_field").await;

    // Under 13 today: refused, and nothing is stored.
    let today = time::OffsetDateTime::now_utc().date();
    let child = today.replace_year(today.year() - 12).unwrap_or(today);
    let mut kid = ok.clone();
    kid["birth_date"] = json!(child.to_string());
    kid["email"] = json!("kid@example.org");
    kid["username"] = json!("kiddo");
    expect_error(post(kid).await.expect("send"), 422, "under_13").await;
    let pool = sqlx::PgPool::connect(&sys.pg_url).await.expect("pg");
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM users WHERE email = 'kid@example.org' OR username = 'kiddo'",
    )
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(stored, 0);

    let resp = post(ok.clone()).await.expect("send");
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    sys.confirm_from_mail("a@example.org").await;
    let mut dup = ok.clone();
    dup["username"] = json!("ALICE");
    dup["email"] = json!("other@example.org");
    expect_error(post(dup).await.expect("send"), 409, "username_taken").await;
    // An address in use answers as a new one (its owner is mailed instead).
    let mut dup = ok.clone();
    dup["username"] = json!("alice2");
    dup["email"] = json!("A@EXAMPLE.ORG");
    assert_eq!(
        post(dup).await.expect("send").status(),
        StatusCode::ACCEPTED
    );
    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE username = 'alice'")
            .fetch_one(&pool)
            .await
            .expect("hash");
    assert!(hash.starts_with("$argon2id$"), "{hash}");

    let sessions = sys.url("/api/v1/sessions");
    expect_error(
        http.post(&sessions)
            .json(&json!({"login": "alice", "password": "wrong password"}))
            .send()
            .await
            .expect("send"),
        401,
        "invalid_credentials",
    )
    .await;
    expect_error(
        http.post(&sessions)
            .json(&json!({"login": "nobody", "password": "whatever123"}))
            .send()
            .await
            .expect("send"),
        401,
        "invalid_credentials",
    )
    .await;
    let resp = http
        .post(&sessions)
        .json(&json!({"login": "A@example.org", "password": "long enough pw"}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200, "sign-in by email, case-insensitive");

    // A huge body is refused before it is read.
    let huge = "x".repeat(2 * 1024 * 1024);
    expect_error(
        http.post(&accounts)
            .header("content-type", "application/json")
            // Answered before the body is read, then the server closes the
            // connection: it must not go back to the client's pool.
            .header("connection", "close")
            .body(huge)
            .send()
            .await
            .expect("send"),
        413,
        "body_too_large",
    )
    .await;
    // Unknown routes and methods.
    expect_error(
        http.get(sys.url("/api/v1/nope"))
            .send()
            .await
            .expect("send"),
        404,
        "not_found",
    )
    .await;
    expect_error(
        http.request(Method::PUT, &accounts)
            .send()
            .await
            .expect("send"),
        405,
        "method_not_allowed",
    )
    .await;
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_reject_bad_input() {
    let sys = TestSystem::start("bad_uploads").await;
    let http = &sys.http;
    let token = sys.user("uploader").await;
    let uploads = sys.url("/api/v1/uploads");

    // OPTIONS advertises the protocol.
    let resp = http
        .request(Method::OPTIONS, &uploads)
        .send()
        .await
        .expect("options");
    assert_eq!(resp.status(), 204);
    assert_eq!(resp.headers()["tus-version"], "1.0.0");
    assert!(
        resp.headers()["tus-extension"]
            .to_str()
            .unwrap_or_default()
            .contains("creation")
    );
    assert!(resp.headers().contains_key("tus-max-size"));

    let create = |len: &str| {
        http.post(&uploads)
            .bearer_auth(&token)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", len.to_string())
            .send()
    };
    expect_error(
        http.post(&uploads)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", "10")
            .send()
            .await
            .expect("send"),
        401,
        "unauthorized",
    )
    .await;
    expect_error(
        http.post(&uploads)
            .bearer_auth("forged")
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", "10")
            .send()
            .await
            .expect("send"),
        401,
        "unauthorized",
    )
    .await;
    expect_error(
        http.post(&uploads)
            .bearer_auth(&token)
            .header("Upload-Length", "10")
            .send()
            .await
            .expect("send"),
        412,
        "tus_version",
    )
    .await;
    expect_error(create("-5").await.expect("send"), 400, "bad_tus_request").await;
    expect_error(create("0").await.expect("send"), 400, "bad_tus_request").await;
    expect_error(
        create("99999999999999").await.expect("send"),
        413,
        "too_large",
    )
    .await;
    expect_error(
        http.post(&uploads)
            .bearer_auth(&token)
            .header("Tus-Resumable", "1.0.0")
            .send()
            .await
            .expect("send"),
        400,
        "bad_tus_request",
    )
    .await;
    expect_error(
        http.post(&uploads)
            .bearer_auth(&token)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", "10")
            .header("Upload-Metadata", "title %%%notbase64")
            .send()
            .await
            .expect("send"),
        400,
        "bad_tus_request",
    )
    .await;

    let upload = sys.create_upload(&token, 10, "ten bytes").await;
    let patch = |offset: &str, ct: &str, body: &'static [u8]| {
        http.patch(&upload)
            .bearer_auth(&token)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Offset", offset.to_string())
            .header("Content-Type", ct.to_string())
            .body(body)
            .send()
    };
    expect_error(
        patch("0", "application/json", b"12345")
            .await
            .expect("send"),
        415,
        "unsupported_media_type",
    )
    .await;
    expect_error(
        patch("3", "application/offset+octet-stream", b"12345")
            .await
            .expect("send"),
        409,
        "offset_mismatch",
    )
    .await;
    expect_error(
        patch("x", "application/offset+octet-stream", b"12345")
            .await
            .expect("send"),
        400,
        "bad_tus_request",
    )
    .await;
    expect_error(
        patch("0", "application/offset+octet-stream", b"0123456789ABC")
            .await
            .expect("send"),
        400,
        "bad_tus_request",
    )
    .await;
    // Nothing was stored by the refused PATCHes.
    let head = http
        .head(&upload)
        .bearer_auth(&token)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .expect("head");
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["upload-offset"], "0");
    assert_eq!(head.headers()["upload-length"], "10");
    assert_eq!(head.headers()["cache-control"], "no-store");

    // Another user cannot see or write the upload.
    let other = sys.user("someone_else").await;
    expect_error(
        http.get(&upload)
            .bearer_auth(&other)
            .send()
            .await
            .expect("send"),
        404,
        "not_found",
    )
    .await;
    expect_error(
        http.patch(&upload)
            .bearer_auth(&other)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Offset", "0")
            .header("Content-Type", "application/offset+octet-stream")
            .body("x")
            .send()
            .await
            .expect("send"),
        404,
        "not_found",
    )
    .await;
    expect_error(
        http.get(sys.url("/api/v1/uploads/not-a-uuid"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("send"),
        400,
        "invalid_path",
    )
    .await;
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_stream_and_heartbeats_reject_bad_input() {
    let sys = TestSystem::start("bad_stream").await;
    let http = &sys.http;
    let missing = uuid::Uuid::new_v4();
    expect_error(
        http.get(sys.url(&format!("/api/v1/cloudcasts/{missing}")))
            .send()
            .await
            .expect("send"),
        404,
        "not_found",
    )
    .await;
    expect_error(
        http.get(sys.url("/api/v1/cloudcasts/123"))
            .send()
            .await
            .expect("send"),
        400,
        "invalid_path",
    )
    .await;
    expect_error(
        http.get(sys.url(&format!("/api/v1/cloudcasts/{missing}/stats")))
            .send()
            .await
            .expect("send"),
        404,
        "not_found",
    )
    .await;
    expect_error(
        http.get(sys.url(&format!("/stream/{missing}/master.m3u8")))
            .send()
            .await
            .expect("send"),
        403,
        "unsigned_url",
    )
    .await;
    expect_error(
        http.get(sys.url(&format!(
            "/stream/{missing}/master.m3u8?l=0123456789abcdef&exp=99999999999&sig=abcd"
        )))
        .send()
        .await
        .expect("send"),
        403,
        "bad_signature",
    )
    .await;

    let beats = sys.url("/api/v1/heartbeats");
    let beat = json!({"cloudcast_id": missing, "session_id": "s", "seq": 0, "position_ms": 0});
    expect_error(
        http.post(&beats).json(&beat).send().await.expect("send"),
        422,
        "invalid_heartbeat",
    )
    .await;
    expect_error(
        http.post(&beats)
            .header("content-type", "text/plain")
            .body("{nope")
            .send()
            .await
            .expect("send"),
        422,
        "invalid_heartbeat",
    )
    .await;
    expect_error(
        http.post(&beats)
            .header("content-type", "image/png")
            .body("{}")
            .send()
            .await
            .expect("send"),
        415,
        "unsupported_media_type",
    )
    .await;
    let wrong = json!({"cloudcast_id": missing, "session_id": "s", "seq": -1, "position_ms": 0});
    expect_error(
        http.post(&beats).json(&wrong).send().await.expect("send"),
        422,
        "invalid_heartbeat",
    )
    .await;
    let extra = json!({"cloudcast_id": missing, "session_id": "s", "seq": 0, "position_ms": 0, "email": "x@y.z"});
    expect_error(
        http.post(&beats).json(&extra).send().await.expect("send"),
        422,
        "invalid_heartbeat",
    )
    .await;
    let future = json!({"cloudcast_id": missing, "session_id": "s", "seq": 0, "position_ms": 0, "client_ts": 99_999_999_999_999i64});
    expect_error(
        http.post(&beats).json(&future).send().await.expect("send"),
        422,
        "invalid_heartbeat",
    )
    .await;
    let batch: Vec<Value> = (0..101).map(|_| beat.clone()).collect();
    expect_error(
        http.post(&beats).json(&batch).send().await.expect("send"),
        422,
        "invalid_heartbeat",
    )
    .await;
    let huge = format!("[{}]", vec!["1"; 200_000].join(","));
    expect_error(
        http.post(&beats)
            .header("content-type", "application/json")
            .header("connection", "close")
            .body(huge)
            .send()
            .await
            .expect("send"),
        413,
        "body_too_large",
    )
    .await;
    sys.stop().await;
}

#[test]
fn a_bad_configuration_stops_the_start_and_names_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |vars: &[(&str, &str)]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_cloudcast"));
        cmd.current_dir(dir.path())
            .args(["serve", "--listen", "127.0.0.1:0"]);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd.output().expect("run cloudcast")
    };
    for (key, value, named) in [
        ("CLOUDCAST__ANALYTICS__FLUSH_MS", "0", "analytics.flush_ms"),
        ("CLOUDCAST__S3__BUCKET", "Not_A_Bucket", "s3.bucket"),
        ("CLOUDCAST__STREAM__CHUNK_BYTES", "12", "stream.chunk_bytes"),
        ("CLOUDCAST__SMTP__SECURITY", "tls", "smtp.security"),
        ("CLOUDCAST__HTTP__LISEN", "127.0.0.1:1", "lisen"),
    ] {
        let out = run(&[(key, value)]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{key}={value} was accepted");
        assert!(stderr.contains(named), "{key}={value}: {stderr}");
    }
    // Nothing was started or written before the refusal.
    assert_eq!(
        std::fs::read_dir(dir.path()).map(|d| d.count()).ok(),
        Some(0)
    );
}
