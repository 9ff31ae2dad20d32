//! Access to one's data: a user's export holds everything kept about them, built
//! at once when small and in the background when large.

use std::io::Read;
use std::time::Duration;

use crate::support::{TestSystem, json_of};
use serde_json::{Value, json};

/// The archive's files, by name.
fn unzip(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip archive");
    let mut out = std::collections::BTreeMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).expect("entry");
        let mut data = Vec::new();
        f.read_to_end(&mut data).expect("read entry");
        out.insert(f.name().to_string(), data);
    }
    out
}

/// Rows of a Parquet file.
fn parquet_rows(bytes: &[u8]) -> usize {
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        bytes::Bytes::copy_from_slice(bytes),
    )
    .expect("parquet")
    .build()
    .expect("reader");
    reader.map(|b| b.expect("batch").num_rows()).sum()
}

/// A user with something in every section; returns (token, cloudcast id).
async fn busy_user(sys: &TestSystem, name: &str) -> (String, String) {
    let http = &sys.http;
    let token = sys.user(name).await;
    let cc = sys.ready_cloudcast(&token, 10, "Export mix").await;
    let id = cc["id"].as_str().expect("id").to_string();
    let resp = http
        .put(sys.url("/api/v1/me/profile"))
        .bearer_auth(&token)
        .json(&json!({"real_name": "Alex Export", "city": "York"}))
        .send()
        .await
        .expect("profile");
    assert_eq!(resp.status(), 200);
    assert_eq!(sys.put_avatar(&token).await, 204);
    for (method, path, body) in [
        (
            "PUT",
            format!("/api/v1/cloudcasts/{id}/favourite"),
            Value::Null,
        ),
        (
            "POST",
            format!("/api/v1/cloudcasts/{id}/comments"),
            json!({"body": "Track 3 is the one"}),
        ),
        // Consent given, then withdrawn: both are in the history.
        (
            "PUT",
            "/api/v1/me/consents".to_string(),
            json!({"personalised_ads": true}),
        ),
        (
            "PUT",
            "/api/v1/me/consents".to_string(),
            json!({"personalised_ads": false}),
        ),
        (
            "POST",
            "/api/v1/me/api-keys".to_string(),
            json!({"name": "export app"}),
        ),
    ] {
        let req = match method {
            "PUT" => http.put(sys.url(&path)),
            _ => http.post(sys.url(&path)),
        };
        let req = if body.is_null() { req } else { req.json(&body) };
        let resp = req.bearer_auth(&token).send().await.expect("request");
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
    }
    (token, id)
}

/// Waits until both the raw beats and the session rollup the export's size
/// check reads hold `n` beats: the materialized view is written after the
/// raw table, so seeing the raw rows alone is not enough.
async fn wait_beats(sys: &TestSystem, user: &str, n: u64) {
    let raw = format!("SELECT count() AS n FROM heartbeats WHERE user_id = '{user}'");
    let rolled = format!(
        "SELECT toUInt64(sum(s)) AS n FROM (SELECT uniqExactMerge(seconds) AS s \
         FROM listen_sessions WHERE user_id = '{user}' \
         GROUP BY cloudcast_id, session_id, listener_id)"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while crate::support::ch_u64(&sys.clickhouse_rows(&raw).await[0]["n"]) != n
        || crate::support::ch_u64(&sys.clickhouse_rows(&rolled).await[0]["n"]) != n
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "beats never arrived"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn text_of(v: &[Value]) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Checks an archive against what `busy_user` and `beats` beats made.
fn check_archive(bytes: &[u8], name: &str, beats: usize) {
    let files = unzip(bytes);
    for f in [
        "README.txt",
        "account.json",
        "play_history.parquet",
        "listening_by_day.parquet",
        "ad_interest.parquet",
        "heartbeats.parquet",
        "avatar.jpeg",
    ] {
        assert!(files.contains_key(f), "{f} missing from {:?}", files.keys());
    }
    let doc: Value = serde_json::from_slice(&files["account.json"]).expect("json");
    assert_eq!(doc["account"]["username"], name);
    assert_eq!(doc["account"]["email"], format!("{name}@example.org"));
    assert_eq!(doc["profile"]["real_name"], "Alex Export");
    assert_eq!(doc["consents"]["personalised_ads"], false);
    assert_eq!(doc["consent_history"].as_array().map(Vec::len), Some(4));
    assert_eq!(doc["cloudcasts"][0]["title"], "Export mix");
    assert_eq!(doc["uploads"].as_array().map(Vec::len), Some(1));
    assert_eq!(doc["comments"][0]["body"], "Track 3 is the one");
    assert_eq!(doc["favourites"].as_array().map(Vec::len), Some(1));
    assert!(!doc["sign_ins"].as_array().expect("sign-ins").is_empty());
    let mail = doc["mail"].as_array().expect("mail");
    assert!(mail.iter().any(|m| m["kind"] == "verify_email"), "{doc}");
    // The verification link still works: it stays out of the archive.
    assert!(!text_of(mail).contains("token="), "{doc}");
    assert_eq!(doc["email_verifications"].as_array().map(Vec::len), Some(1));
    assert_eq!(doc["api_keys"][0]["name"], "export app");
    let text = String::from_utf8_lossy(&files["account.json"]);
    for secret in ["password_hash", "argon2", "key_hash", "token_hash"] {
        assert!(!text.contains(secret), "the export holds {secret}");
    }
    // The key's first characters, to recognise it; never the key.
    assert_eq!(
        doc["api_keys"][0]["prefix"].as_str().map(str::len),
        Some(10)
    );
    assert_eq!(parquet_rows(&files["heartbeats.parquet"]), beats);
    assert_eq!(parquet_rows(&files["play_history.parquet"]), 1);
    assert_eq!(parquet_rows(&files["listening_by_day.parquet"]), 1);
    // The avatar as it is kept: made again from the upload's pixels.
    let avatar = image::load_from_memory(&files["avatar.jpeg"]).expect("a JPEG");
    assert_eq!((avatar.width(), avatar.height()), (300, 300));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_export_is_the_whole_archive_at_once() {
    let sys = TestSystem::start("export_inline").await;
    let (token, id) = busy_user(&sys, "ex_small").await;
    let user = sys.me(&token).await["id"].as_str().expect("id").to_string();
    // Someone else's words and listening on this user's cloudcast are not
    // this user's data.
    let other = sys.user("ex_neighbour").await;
    let resp = sys
        .http
        .post(sys.url(&format!("/api/v1/cloudcasts/{id}/comments")))
        .bearer_auth(&other)
        .json(&serde_json::json!({"body": "Neighbourly remark"}))
        .send()
        .await
        .expect("comment");
    assert_eq!(resp.status(), 201);
    assert_eq!(sys.beats(&other, &id, "ex-n", 9).await, 202);
    assert_eq!(sys.beats(&token, &id, "ex-1", 25).await, 202);
    wait_beats(&sys, &user, 25).await;

    let resp = sys
        .http
        .get(sys.url("/api/v1/me/export"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("export");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/zip");
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .expect("text")
            .starts_with("attachment")
    );
    let bytes = resp.bytes().await.expect("body");
    check_archive(&bytes, "ex_small", 25);
    let text = String::from_utf8_lossy(&unzip(&bytes)["account.json"]).to_string();
    assert!(
        !text.contains("Neighbourly") && !text.contains("ex_neighbour"),
        "{text}"
    );

    let resp = sys
        .http
        .get(sys.url("/api/v1/me/export"))
        .send()
        .await
        .expect("anonymous");
    assert_eq!(resp.status(), 401);
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_export_is_built_in_the_background_for_its_owner_only() {
    // Every export counts as large here.
    let sys = TestSystem::start_with("export_background", |c| {
        c.privacy.export_inline_beats = 0;
    })
    .await;
    let (token, id) = busy_user(&sys, "ex_large").await;
    let other = sys.user("ex_other").await;
    let user = sys.me(&token).await["id"].as_str().expect("id").to_string();
    assert_eq!(sys.beats(&token, &id, "ex-2", 40).await, 202);
    wait_beats(&sys, &user, 40).await;

    let resp = sys
        .http
        .get(sys.url("/api/v1/me/export"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("export");
    assert_eq!(resp.status(), 202);
    let location = resp.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let (status, body) = json_of(
        sys.http
            .get(sys.url(&location))
            .bearer_auth(&other)
            .send()
            .await
            .expect("other"),
    )
    .await;
    assert_eq!(status, 404, "another user cannot see it: {body}");
    let ready = sys.wait_export(&token, &location).await;
    assert_eq!(ready["status"], "ready", "{ready}");
    let download = ready["download_url"].as_str().expect("download url");
    let resp = sys
        .http
        .get(sys.url(download))
        .bearer_auth(&other)
        .send()
        .await
        .expect("other download");
    assert_eq!(resp.status(), 404);
    let resp = sys
        .http
        .get(sys.url(download))
        .bearer_auth(&token)
        .send()
        .await
        .expect("download");
    assert_eq!(resp.status(), 200);
    let bytes = resp.bytes().await.expect("body");
    assert_eq!(Some(bytes.len() as u64), ready["size_bytes"].as_u64());
    check_archive(&bytes, "ex_large", 40);
    let (status, list) = json_of(
        sys.http
            .get(sys.url("/api/v1/me/exports"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("list"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    let (status, body) = json_of(
        sys.http
            .get(sys.url("/api/v1/me/exports/not-a-uuid"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("bad id"),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    sys.stop().await;
}

/// Polls a background export until it is no longer building (bounded).
async fn settled_export(sys: &TestSystem, token: &str, location: &str, within: Duration) -> Value {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let (_, body) = json_of(
            sys.http
                .get(sys.url(location))
                .bearer_auth(token)
                .send()
                .await
                .expect("export status"),
        )
        .await;
        if body["status"] != "building" {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still building after {within:?}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_cut_off_by_a_restart_is_built_at_once_or_failed_after_its_attempts() {
    use crate::support::{Node, free_port, wait_for_port};
    // This process builds no export: the node started below does.
    let sys = TestSystem::start_with("export_restart", |c| {
        c.privacy.export_builders = 0;
    })
    .await;
    let token = sys.user("ex_restart").await;
    let port = free_port();
    // Leases far longer than the test: only the restart can explain a build.
    let node = |failpoint: bool, attempts: u32| {
        let mut cmd = sys.node_command("api", &format!("127.0.0.1:{port}"));
        cmd.env("CLOUDCAST__PRIVACY__EXPORT_LEASE_SECS", "3600")
            .env("CLOUDCAST__PRIVACY__EXPORT_ATTEMPTS", attempts.to_string());
        if failpoint {
            cmd.env("CLOUDCAST_FAILPOINT", "export-build");
        }
        Node::spawn(cmd)
    };
    let start_export = || async {
        let resp = sys
            .http
            .post(sys.url("/api/v1/me/exports"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("export");
        assert_eq!(resp.status(), 202);
        resp.headers()["location"]
            .to_str()
            .expect("location")
            .to_string()
    };
    let crash = |mut n: Node| async move {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while n.0.try_wait().expect("wait").is_none() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the failpoint never fired"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };

    // A node leases the export and dies in the middle of the build.
    let first = start_export().await;
    crash(node(true, 3)).await;
    let (_, body) = json_of(
        sys.http
            .get(sys.url(&first))
            .bearer_auth(&token)
            .send()
            .await
            .expect("status"),
    )
    .await;
    assert_eq!(body["status"], "building", "{body}");
    // Started again, it takes its export back at once, lease or not.
    let again = node(false, 3);
    wait_for_port(port).await;
    let ready = settled_export(&sys, &token, &first, Duration::from_secs(30)).await;
    assert_eq!(ready["status"], "ready", "{ready}");
    let archive = sys
        .http
        .get(sys.url(ready["download_url"].as_str().expect("download url")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("download");
    assert_eq!(archive.status(), 200);
    assert!(unzip(&archive.bytes().await.expect("body")).contains_key("account.json"));
    drop(again);

    // Cut off once more where one build is all an export may have: it is
    // failed at once, with a reason, and another can be started.
    let second = start_export().await;
    assert_ne!(second, first);
    crash(node(true, 3)).await;
    let _third = node(false, 1);
    let failed = settled_export(&sys, &token, &second, Duration::from_secs(30)).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(
        failed["error"],
        cloudcast_privacy::export_jobs::INTERRUPTED,
        "{failed}"
    );
    assert_ne!(start_export().await, second);
    sys.stop().await;
}
