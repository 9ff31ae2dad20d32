//! The stream service against real PostgreSQL, ClickHouse and S3: RFC 9110
//! ranges and conditionals on the renditions, the chunk cache in front of
//! S3 (one S3 request for many concurrent misses; 503 + Retry-After while S3
//! is down or silent, recovery after), signed URLs bound to a listener,
//! private cloudcasts, CORS, gzip for playlists, stream-only nodes, and
//! heartbeat enrichment and rate limiting.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::{Node, TestSystem, ch_u64, free_port, wait_for_port};
use cloudcast::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

const CHROME_UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// The `stream_url` the API hands the signed-in `token` for `api`.
async fn owners_stream_url(sys: &TestSystem, api: &str, token: &str) -> String {
    let view: Value = sys
        .http
        .get(api)
        .bearer_auth(token)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    view["stream_url"].as_str().expect("stream_url").to_string()
}

/// `(status, error code)` of a JSON error response.
async fn error_of(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    (
        status,
        body["error"]["code"].as_str().unwrap_or("").to_string(),
    )
}

/// `{stream dir}/aac_128k.mp4?{signed query}` from a cloudcast's stream_url.
fn media_url(stream_url: &str, file: &str) -> String {
    let (path, query) = stream_url.split_once('?').expect("signed query");
    let dir = path.rsplit_once('/').expect("dir").0;
    format!("{dir}/{file}?{query}")
}

fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.filter_map(Result::ok) {
        let p = entry.path();
        if p.is_dir() {
            if let Some(found) = find_file(&p, name) {
                return Some(found);
            }
        } else if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
    }
    None
}

async fn metric(sys: &TestSystem, base: &str, name: &str) -> u64 {
    let text = sys
        .http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from {text}"))
}

async fn get_range(sys: &TestSystem, url: &str, range: &str) -> reqwest::Response {
    sys.http
        .get(url)
        .header("range", range)
        .send()
        .await
        .expect("range request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn renditions_are_served_as_rfc_9110_byte_ranges_through_the_chunk_cache() {
    // Small chunks so that ranges cross chunk boundaries.
    let sys = TestSystem::start_with("stream_ranges", |c| c.stream.chunk_bytes = 16 * 1024).await;
    let token = sys.user("dj_ranges").await;
    let cc = sys.ready_cloudcast(&token, 60, "Ranges").await;
    // A stream node of its own, so its metrics count this test's requests
    // alone (metrics are per process, and tests share one).
    let port = free_port();
    let mut cmd = sys.node_command("stream", &format!("127.0.0.1:{port}"));
    cmd.env("CLOUDCAST__STREAM__CHUNK_BYTES", (16 * 1024).to_string());
    let _node = Node::spawn(cmd);
    wait_for_port(port).await;
    let node = format!("http://127.0.0.1:{port}");
    let url = media_url(
        cc["stream_url"].as_str().expect("stream_url"),
        "aac_128k.mp4",
    )
    .replace(&sys.base, &node);
    let on_disk =
        std::fs::read(find_file(&sys.bucket_dir(), "aac_128k.mp4").expect("rendition in S3"))
            .expect("read rendition");
    let size = on_disk.len();
    assert!(size > 6 * 16 * 1024, "rendition is {size} bytes");

    // Many listeners miss the same chunk at once: one S3 request.
    assert_eq!(
        metric(&sys, &node, "cloudcast_stream_s3_fetches_total").await,
        0
    );
    let concurrent = (0..24).map(|_| get_range(&sys, &url, "bytes=100-10099"));
    for resp in futures::future::join_all(concurrent).await {
        assert_eq!(resp.status(), 206);
        assert_eq!(resp.bytes().await.expect("body")[..], on_disk[100..10100]);
    }
    assert_eq!(
        metric(&sys, &node, "cloudcast_stream_s3_fetches_total").await,
        1
    );
    let resp = get_range(&sys, &url, "bytes=0-99").await;
    assert_eq!(resp.status(), 206);
    assert_eq!(
        metric(&sys, &node, "cloudcast_stream_s3_fetches_total").await,
        1,
        "a hit"
    );

    // HEAD: headers only.
    let head = sys.http.head(&url).send().await.expect("head");
    assert_eq!(head.status(), 200);
    let h = head.headers().clone();
    assert_eq!(h["accept-ranges"], "bytes");
    assert_eq!(h["content-type"], "audio/mp4");
    assert_eq!(h["content-length"], size.to_string().as_str());
    assert!(
        h["cache-control"]
            .to_str()
            .expect("cc")
            .contains("immutable")
    );
    let etag = h["etag"].to_str().expect("etag").to_string();
    assert!(etag.starts_with('"'), "strong ETag: {etag}");
    let last_modified = h["last-modified"].to_str().expect("lm").to_string();
    assert!(last_modified.ends_with(" GMT"), "{last_modified}");
    assert!(head.bytes().await.expect("body").is_empty());

    // If-Modified-Since (RFC 9110 13.1.3): 304 from the Last-Modified date
    // on, the file before it or for a date that is not one, and ignored
    // beside If-None-Match.
    let since = |date: &str, inm: Option<&str>| {
        let mut req = sys.http.get(&url).header("if-modified-since", date);
        if let Some(tag) = inm {
            req = req.header("if-none-match", tag);
        }
        req.send()
    };
    let resp = since(&last_modified, None).await.expect("ims");
    assert_eq!(resp.status(), 304);
    assert_eq!(resp.headers()["etag"], etag.as_str());
    assert!(resp.bytes().await.expect("body").is_empty());
    let resp = since("Thu, 01 Jan 2015 00:00:00 GMT", None)
        .await
        .expect("ims");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.bytes().await.expect("body").len(), size);
    let resp = since("yesterday", None).await.expect("ims");
    assert_eq!(resp.status(), 200, "not a date: ignored");
    let resp = since(&last_modified, Some("\"other\"")).await.expect("ims");
    assert_eq!(
        resp.status(),
        200,
        "If-None-Match decides when both are sent"
    );

    // The whole file, byte for byte as stored.
    let full = sys.http.get(&url).send().await.expect("get");
    assert_eq!(full.status(), 200);
    assert!(
        full.headers().get("content-encoding").is_none(),
        "media is never re-encoded"
    );
    assert_eq!(full.bytes().await.expect("body")[..], on_disk[..]);

    // bytes=a-b across three chunks, a-, -n.
    let cases: [(&str, usize, usize); 4] = [
        ("bytes=20000-70000", 20000, 70000),
        ("bytes=1000-", 1000, size - 1),
        ("bytes=-500", size - 500, size - 1),
        ("bytes=0-99999999", 0, size - 1),
    ];
    for (range, first, last) in cases {
        let resp = get_range(&sys, &url, range).await;
        assert_eq!(resp.status(), 206, "{range}");
        assert_eq!(
            resp.headers()["content-range"],
            format!("bytes {first}-{last}/{size}").as_str(),
            "{range}"
        );
        assert_eq!(
            resp.headers()["content-length"],
            (last - first + 1).to_string().as_str()
        );
        assert_eq!(
            resp.bytes().await.expect("body")[..],
            on_disk[first..=last],
            "{range}"
        );
    }

    // Unsatisfiable: 416 with the length; malformed or several ranges: the whole body.
    for range in [
        format!("bytes={size}-"),
        format!("bytes={}-{}", size + 10, size + 20),
    ] {
        let resp = get_range(&sys, &url, &range).await;
        assert_eq!(resp.status(), 416, "{range}");
        assert_eq!(
            resp.headers()["content-range"],
            format!("bytes */{size}").as_str()
        );
    }
    for range in ["bytes=abc", "pages=1-2", "bytes=5-1", "bytes=0-1,10-20"] {
        let resp = get_range(&sys, &url, range).await;
        assert_eq!(resp.status(), 200, "{range}");
        assert_eq!(resp.bytes().await.expect("body").len(), size, "{range}");
    }

    // Conditionals: If-None-Match (weak comparison) and If-Range (strong).
    for tag in [etag.clone(), format!("W/{etag}"), "*".to_string()] {
        let resp = sys
            .http
            .get(&url)
            .header("if-none-match", &tag)
            .send()
            .await
            .expect("inm");
        assert_eq!(resp.status(), 304, "{tag}");
    }
    let resp = sys
        .http
        .get(&url)
        .header("if-none-match", "\"other\"")
        .send()
        .await
        .expect("inm");
    assert_eq!(resp.status(), 200);
    for (cond, expect) in [
        (etag.clone(), 206),
        (last_modified.clone(), 206),
        ("\"other\"".to_string(), 200),
        (format!("W/{etag}"), 200),
        ("Mon, 01 Jan 2001 00:00:00 GMT".to_string(), 200),
    ] {
        let resp = sys
            .http
            .get(&url)
            .header("range", "bytes=10-19")
            .header("if-range", &cond)
            .send()
            .await
            .expect("if-range");
        assert_eq!(resp.status().as_u16(), expect, "If-Range {cond}");
        let body = resp.bytes().await.expect("body");
        assert_eq!(body.len(), if expect == 206 { 10 } else { size });
    }

    // Playlists: HLS type, short cache lifetime, gzip when asked for.
    let master = cc["stream_url"].as_str().expect("stream_url");
    let resp = sys.http.get(master).send().await.expect("master");
    assert_eq!(
        resp.headers()["content-type"],
        "application/vnd.apple.mpegurl"
    );
    assert!(
        resp.headers()["cache-control"]
            .to_str()
            .expect("cc")
            .contains("max-age=30")
    );
    let playlist = media_url(master, "aac_128k.m3u8");
    let plain = sys.http.get(&playlist).send().await.expect("playlist");
    assert!(plain.headers().get("content-encoding").is_none());
    let plain = plain.text().await.expect("text");
    let gz = sys
        .http
        .get(&playlist)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("playlist");
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let packed = gz.bytes().await.expect("gzip body");
    assert!(
        packed.len() < plain.len() / 2,
        "{} vs {}",
        packed.len(),
        plain.len()
    );
    let media = get_range(&sys, &url, "bytes=0-99999").await;
    assert!(media.headers().get("content-encoding").is_none());
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn web_players_on_other_origins_may_read_ranges() {
    let sys = TestSystem::start("stream_cors").await;
    let token = sys.user("dj_cors").await;
    let cc = sys.ready_cloudcast(&token, 20, "CORS").await;
    let url = media_url(
        cc["stream_url"].as_str().expect("stream_url"),
        "aac_64k.mp4",
    );
    let origin = "https://player.example.net";

    let pre = sys
        .http
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", origin)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "range")
        .send()
        .await
        .expect("preflight");
    assert!(pre.status().is_success(), "{}", pre.status());
    let h = pre.headers();
    assert_eq!(h["access-control-allow-origin"], "*");
    assert!(
        h["access-control-allow-headers"]
            .to_str()
            .expect("ah")
            .to_ascii_lowercase()
            .contains("range")
    );
    assert!(
        h["access-control-allow-methods"]
            .to_str()
            .expect("am")
            .contains("GET")
    );

    let resp = sys
        .http
        .get(&url)
        .header("origin", origin)
        .header("range", "bytes=0-1023")
        .send()
        .await
        .expect("cors get");
    assert_eq!(resp.status(), 206);
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    let exposed = resp.headers()["access-control-expose-headers"]
        .to_str()
        .expect("expose")
        .to_ascii_lowercase();
    for name in ["content-range", "content-length", "accept-ranges"] {
        assert!(exposed.contains(name), "{name} not exposed: {exposed}");
    }
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stream_urls_are_bound_to_their_listener_and_private_mixes_to_their_owner() {
    let sys = TestSystem::start("stream_signing").await;
    let owner = sys.user("dj_signing").await;
    let other = sys.user("listener_signing").await;
    let cc = sys.ready_cloudcast(&owner, 20, "Signed").await;
    let id = cc["id"].as_str().expect("id").to_string();
    let api = sys.url(&format!("/api/v1/cloudcasts/{id}"));

    // A first visit without a cookie is given a signed one, and a URL bound
    // to the client itself: the same address and user agent play it without
    // a cookie (ffmpeg, an app); another user agent replaying it cannot.
    let first = sys.http.get(&api).send().await.expect("get");
    let set = first.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_string();
    assert!(
        set.starts_with("cc_listener=") && set.contains("HttpOnly"),
        "{set}"
    );
    let cookie_of = |set: &str| {
        set.split(';')
            .next()
            .and_then(|kv| kv.strip_prefix("cc_listener="))
            .expect("a listener cookie")
            .to_string()
    };
    let me = cookie_of(&set);
    let (me_id, me_sig) = me.split_once('.').expect("id.signature");
    assert_eq!((me_id.len(), me_sig.len()), (32, 16), "{me}");
    let first: Value = first.json().await.expect("json");
    let bare_url = first["stream_url"]
        .as_str()
        .expect("stream_url")
        .to_string();
    assert_eq!(
        sys.http.get(&bare_url).send().await.expect("get").status(),
        200
    );
    assert_eq!(
        error_of(
            sys.http
                .get(&bare_url)
                .header("user-agent", "another player/1.0")
                .send()
                .await
                .expect("get")
        )
        .await,
        (403, "other_listener".into())
    );

    // A browser's URL (bound to its cookie) works with that cookie only:
    // not without one, not with another browser's, not with a made-up one.
    let them = cookie_of(
        sys.http.get(&api).send().await.expect("get").headers()["set-cookie"]
            .to_str()
            .expect("cookie"),
    );
    assert_ne!(me, them);
    let mine: Value = sys
        .http
        .get(&api)
        .header("cookie", format!("cc_listener={me}"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let url = mine["stream_url"].as_str().expect("stream_url").to_string();
    assert_ne!(url, bare_url);
    let with_cookie = |c: String| {
        sys.http
            .get(&url)
            .header("cookie", format!("cc_listener={c}"))
            .send()
    };
    assert_eq!(with_cookie(me.clone()).await.expect("get").status(), 200);
    for replay in [
        sys.http.get(&url).send().await.expect("get"),
        with_cookie(them.clone()).await.expect("get"),
        with_cookie(me_id.to_string()).await.expect("get"),
        with_cookie(format!("{me_id}.0000000000000000"))
            .await
            .expect("get"),
    ] {
        assert_eq!(error_of(replay).await, (403, "other_listener".into()));
    }

    // A signed-in user's URL refuses another user.
    let owner_url = owners_stream_url(&sys, &api, &owner).await;
    assert_eq!(
        sys.http
            .get(&owner_url)
            .bearer_auth(&owner)
            .send()
            .await
            .expect("get")
            .status(),
        200
    );
    assert_eq!(
        error_of(
            sys.http
                .get(&owner_url)
                .bearer_auth(&other)
                .send()
                .await
                .expect("get")
        )
        .await,
        (403, "other_listener".into())
    );

    // Tampering: another expiry, another listener tag, another signature.
    let tampered = [
        owner_url.replace("exp=", "exp=1"),
        owner_url.replace("l=", "l=0"),
        format!("{}0", owner_url.trim_end_matches(char::is_alphanumeric)),
    ];
    for t in tampered {
        assert_eq!(
            error_of(sys.http.get(&t).send().await.expect("get")).await,
            (403, "bad_signature".into()),
            "{t}"
        );
    }

    // An expired URL, signed with the installation's key (kept in PostgreSQL).
    let pool = sqlx::PgPool::connect(&sys.pg_url).await.expect("pg");
    let key: Vec<u8> =
        sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = 'stream_url_key'")
            .fetch_one(&pool)
            .await
            .expect("generated key");
    let old = cloudcast_core::signing::UrlSigner::new(key, -60);
    let uuid = uuid::Uuid::parse_str(&id).expect("uuid");
    let listener = cloudcast_core::listener::Listener::anonymous(me_id);
    let expired = sys.url(&format!(
        "/stream/{id}/master.m3u8?{}",
        old.sign(uuid, &listener, cloudcast_core::signing::unix_now())
            .query()
    ));
    assert_eq!(
        error_of(sys.http.get(&expired).send().await.expect("get")).await,
        (403, "url_expired".into())
    );

    // Private: the API and the stream are for the owner only.
    let resp = sys
        .http
        .patch(&api)
        .bearer_auth(&owner)
        .json(&json!({"visibility": "private"}))
        .send()
        .await
        .expect("patch");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>().await.expect("json")["visibility"],
        "private"
    );
    assert_eq!(
        error_of(sys.http.get(&api).send().await.expect("get")).await,
        (404, "not_found".into())
    );
    assert_eq!(
        error_of(
            sys.http
                .get(&api)
                .bearer_auth(&other)
                .send()
                .await
                .expect("get")
        )
        .await,
        (404, "not_found".into())
    );
    let owner_url = owners_stream_url(&sys, &api, &owner).await;
    // Stream caches see the change within their 5 s lifetime.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = sys.http.get(&url).send().await.expect("get").status();
        if status == 404 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the private mix still streams to others: {status}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        sys.http
            .get(&owner_url)
            .bearer_auth(&owner)
            .send()
            .await
            .expect("get")
            .status(),
        200
    );
    assert_eq!(
        sys.http.get(&owner_url).send().await.expect("get").status(),
        404,
        "owner's URL without the owner"
    );
    let beat = json!({"cloudcast_id": id, "session_id": "s1", "seq": 0, "position_ms": 0});
    let (status, code) = error_of(
        sys.http
            .post(sys.url("/api/v1/heartbeats"))
            .json(&beat)
            .send()
            .await
            .expect("beat"),
    )
    .await;
    assert_eq!((status, code.as_str()), (422, "invalid_heartbeat"));
    let resp = sys
        .http
        .post(sys.url("/api/v1/heartbeats"))
        .bearer_auth(&owner)
        .json(&beat)
        .send()
        .await
        .expect("beat");
    assert_eq!(resp.status(), 202);
    sys.stop().await;
}

/// `cloudcast s3` as its own process, so the test can take it away.
fn spawn_s3(root: &Path, bucket: &str, port: u16) -> Node {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_cloudcast"));
    cmd.args(["s3", "--listen", &format!("127.0.0.1:{port}")])
        .env("CLOUDCAST__S3__EMBEDDED_ROOT", root)
        .env("CLOUDCAST__S3__BUCKET", bucket)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    Node::spawn(cmd)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_s3_outage_gives_a_prompt_503_and_service_resumes_by_itself() {
    let root = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let bucket = format!(
        "cc-outage-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let mut s3 = spawn_s3(root.path(), &bucket, port);
    wait_for_port(port).await;
    let timeout_ms = 1500;
    let sys = TestSystem::start_with("stream_outage", |c| {
        c.s3.endpoint = format!("http://127.0.0.1:{port}");
        c.s3.bucket = bucket.clone();
        c.stream.s3_timeout = Duration::from_millis(timeout_ms);
        c.stream.chunk_bytes = 16 * 1024;
    })
    .await;
    let token = sys.user("dj_outage").await;
    let cc = sys.ready_cloudcast(&token, 60, "Outage").await;
    let url = media_url(
        cc["stream_url"].as_str().expect("stream_url"),
        "aac_128k.mp4",
    );
    let head = sys.http.head(&url).send().await.expect("head");
    let size: usize = head.headers()["content-length"]
        .to_str()
        .expect("len")
        .parse()
        .expect("len");
    // Two cold ranges, far from the warm one and from each other.
    let cold = [
        format!("bytes={}-{}", size / 2, size / 2 + 999),
        format!("bytes={}-{}", size * 3 / 4, size * 3 / 4 + 999),
    ];
    let warm = get_range(&sys, &url, "bytes=0-9999").await;
    assert_eq!(warm.status(), 206);
    let warm = warm.bytes().await.expect("body");

    // S3 refuses connections: cached bytes still flow, cold ones get 503 fast.
    s3.kill_9();
    let started = Instant::now();
    let resp = get_range(&sys, &url, "bytes=0-9999").await;
    assert_eq!(resp.status(), 206, "cached chunk");
    assert_eq!(resp.bytes().await.expect("body"), warm);
    let resp = get_range(&sys, &url, &cold[0]).await;
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(resp.headers().contains_key("retry-after"));
    let request_id = resp.headers()["x-request-id"]
        .to_str()
        .expect("request id")
        .to_string();
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["error"]["code"], "storage_unavailable", "{body}");
    // The answer names no S3 detail: not the endpoint, not its error; the
    // request's id leads to the log line that has them.
    let text = body.to_string();
    for detail in [
        "S3",
        "s3",
        "127.0.0.1",
        &port.to_string(),
        "dispatch",
        "connect",
        "refused",
        "timeout",
        &bucket,
    ] {
        assert!(!text.contains(detail), "{detail:?} in {text}");
    }
    assert_eq!(body["error"]["request_id"], request_id.as_str(), "{body}");
    assert!(
        started.elapsed() < Duration::from_millis(timeout_ms + 2000),
        "{:?}",
        started.elapsed()
    );

    // S3 accepts connections but never answers: 503 after the time limit.
    let silent = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind");
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = silent.accept().await {
            held.push(sock);
        }
    });
    let started = Instant::now();
    let resp = get_range(&sys, &url, &cold[1]).await;
    let took = started.elapsed();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(resp.headers().contains_key("retry-after"));
    assert!(
        took >= Duration::from_millis(timeout_ms - 100)
            && took < Duration::from_millis(timeout_ms + 2000),
        "answered after {took:?}"
    );
    hold.abort();
    let _ = hold.await;

    // S3 comes back: the same request succeeds without any restart.
    let _s3 = spawn_s3(root.path(), &bucket, port);
    wait_for_port(port).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let resp = get_range(&sys, &url, &cold[0]).await;
        if resp.status() == 206 {
            assert_eq!(resp.bytes().await.expect("body").len(), 1000);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still {} after S3 returned",
            resp.status()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stream_only_nodes_serve_urls_signed_elsewhere_and_take_heartbeats() {
    let sys = TestSystem::start_roles(
        "stream_nodes",
        &[Role::Api, Role::Worker, Role::Analytics],
        |_| {},
    )
    .await;
    let ports = [free_port(), free_port()];
    let _nodes: Vec<Node> = ports
        .iter()
        .map(|p| Node::spawn(sys.node_command("stream", &format!("127.0.0.1:{p}"))))
        .collect();
    for p in ports {
        wait_for_port(p).await;
    }
    let token = sys.user("dj_nodes").await;
    let cc = sys.ready_cloudcast(&token, 20, "Nodes").await;
    let id = cc["id"].as_str().expect("id");
    let stream_url = cc["stream_url"].as_str().expect("stream_url");
    let on = |port: u16, url: &str| url.replacen(&sys.base, &format!("http://127.0.0.1:{port}"), 1);

    // The ingest node itself does not stream.
    assert_eq!(
        sys.http.get(stream_url).send().await.expect("get").status(),
        404
    );
    let master = sys
        .http
        .get(on(ports[0], stream_url))
        .send()
        .await
        .expect("master");
    assert_eq!(master.status(), 200);
    let playlist = media_url(&on(ports[1], stream_url), "aac_64k.m3u8");
    assert_eq!(
        sys.http
            .get(&playlist)
            .send()
            .await
            .expect("playlist")
            .status(),
        200
    );
    for port in ports {
        let resp = get_range(
            &sys,
            &media_url(&on(port, stream_url), "aac_64k.mp4"),
            "bytes=0-1999",
        )
        .await;
        assert_eq!(resp.status(), 206);
    }

    let beat =
        json!({"cloudcast_id": id, "session_id": "node-session", "seq": 0, "position_ms": 1000});
    let resp = sys
        .http
        .post(format!("http://127.0.0.1:{}/api/v1/heartbeats", ports[1]))
        .json(&beat)
        .send()
        .await
        .expect("beat");
    assert_eq!(resp.status(), 202);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let rows = sys
            .clickhouse_rows(&format!(
                "SELECT count() AS n FROM heartbeats WHERE cloudcast_id = '{id}'"
            ))
            .await;
        if rows.first().map(|r| ch_u64(&r["n"])) == Some(1) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the node's beat never reached ClickHouse: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn heartbeats_are_enriched_on_the_server_and_rate_limited_per_ip() {
    let sys = TestSystem::start_with("stream_enrich", |c| {
        c.stream.intake_per_ip_per_sec = 1;
        c.stream.intake_burst = 6;
    })
    .await;
    let dj = sys.user("dj_enrich").await;
    let fan = sys.user("fan_enrich").await;
    let shy = sys.user("shy_enrich").await;
    let cc = sys.ready_cloudcast(&dj, 20, "Enrich").await;
    let id = cc["id"].as_str().expect("id").to_string();
    // The fan consents to personalised ads; shy does not.
    sys.consent_to_ads(&fan).await;
    let beats = sys.url("/api/v1/heartbeats");
    let beat = |session: &str, referrer: Option<&str>| {
        let mut b =
            json!({"cloudcast_id": id, "session_id": session, "seq": 0, "position_ms": 5000});
        if let Some(r) = referrer {
            b["referrer"] = json!(r);
        }
        b
    };

    // A signed-in Chrome user, the page's referrer sent by the player.
    let resp = sys
        .http
        .post(&beats)
        .bearer_auth(&fan)
        .header("user-agent", CHROME_UA)
        .header("referer", "https://cloudcast.example/listen/x")
        .json(&beat(
            "fan",
            Some("https://www.DJ-Blog.example/posts/42?me=x@y.z"),
        ))
        .send()
        .await
        .expect("beat");
    assert_eq!(resp.status(), 202);
    // A user who opted out of personalised ads.
    let resp = sys
        .http
        .post(&beats)
        .bearer_auth(&shy)
        .header("user-agent", CHROME_UA)
        .json(&beat("shy", None))
        .send()
        .await
        .expect("beat");
    assert_eq!(resp.status(), 202);
    // An anonymous page leaving (sendBeacon: text/plain), referrer from the header.
    let resp = sys
        .http
        .post(&beats)
        .header("content-type", "text/plain;charset=UTF-8")
        .header("user-agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")
        .header("referer", "https://m.social.example/feed")
        .body(serde_json::to_string(&vec![beat("anon", None)]).expect("json"))
        .send()
        .await
        .expect("beacon");
    assert_eq!(resp.status(), 202);
    // Cookies come with stream URLs, not with beats.
    assert!(resp.headers().get("set-cookie").is_none());
    // A crawler.
    let resp = sys
        .http
        .post(&beats)
        .header(
            "user-agent",
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        )
        .json(&beat("bot", None))
        .send()
        .await
        .expect("beat");
    assert_eq!(resp.status(), 202);

    let deadline = Instant::now() + Duration::from_secs(15);
    let rows = loop {
        let rows = sys
            .clickhouse_rows(
                "SELECT session_id, user_id, listener_id, referrer_domain, ip_prefix, ip_hash, browser, \
                 browser_major, os, device, is_bot, ads_consent FROM heartbeats ORDER BY session_id",
            )
            .await;
        if rows.len() == 4 {
            break rows;
        }
        assert!(Instant::now() < deadline, "beats missing: {rows:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let by = |s: &str| {
        rows.iter()
            .find(|r| r["session_id"] == s)
            .cloned()
            .expect(s)
    };
    let (anon, bot, fan_row, shy_row) = (by("anon"), by("bot"), by("fan"), by("shy"));

    assert_eq!(fan_row["referrer_domain"], "dj-blog.example");
    assert_eq!(anon["referrer_domain"], "m.social.example");
    assert_eq!(
        (
            fan_row["browser"].as_str(),
            fan_row["browser_major"].as_str()
        ),
        (Some("Chrome"), Some("131"))
    );
    assert_eq!(
        (fan_row["os"].as_str(), fan_row["device"].as_str()),
        (Some("Windows"), Some("desktop"))
    );
    assert_eq!(
        (
            anon["browser"].as_str(),
            anon["os"].as_str(),
            anon["device"].as_str()
        ),
        (Some("Mobile Safari"), Some("iOS"), Some("mobile"))
    );
    assert_eq!(
        (bot["is_bot"].as_u64(), bot["device"].as_str()),
        (Some(1), Some("bot"))
    );
    assert_eq!(fan_row["is_bot"].as_u64(), Some(0));
    assert_eq!(fan_row["ads_consent"].as_u64(), Some(1), "consent given");
    assert_eq!(shy_row["ads_consent"].as_u64(), Some(0), "never given");
    assert_eq!(
        anon["ads_consent"].as_u64(),
        Some(0),
        "no account, no consent"
    );
    assert!(fan_row["user_id"].as_str().is_some_and(|u| u.len() == 36));
    assert_eq!(anon["user_id"], "");
    // Without an account or a cookie: the client, by its address and user
    // agent under the day's key (not its session, which is free to change).
    let client = anon["listener_id"].as_str().unwrap_or_default();
    assert!(client.starts_with("h:") && client.len() == 34, "{client}");
    assert_ne!(&client[2..], anon["ip_hash"].as_str().unwrap_or_default());
    for r in &rows {
        assert_eq!(r["ip_prefix"], "127.0.0.0/24");
        let hash = r["ip_hash"].as_str().expect("hash");
        assert_eq!(hash.len(), 32);
        assert_eq!(
            hash,
            fan_row["ip_hash"].as_str().expect("hash"),
            "one address, one day, one hash"
        );
        assert!(
            !r.to_string().contains("127.0.0.1"),
            "the whole address is never stored: {r}"
        );
    }

    // The burst of 6 is spent (4 above plus these); then 429 with Retry-After.
    let mut limited = None;
    for _ in 0..6 {
        let resp = sys
            .http
            .post(&beats)
            .json(&beat("more", None))
            .send()
            .await
            .expect("beat");
        if resp.status() == 429 {
            limited = Some(resp);
            break;
        }
    }
    let resp = limited.expect("the per-IP limit never applied");
    assert!(
        resp.headers()["retry-after"]
            .to_str()
            .expect("ra")
            .parse::<u64>()
            .expect("secs")
            >= 1
    );
    assert_eq!(error_of(resp).await.1, "rate_limited");
    sys.stop().await;
}
