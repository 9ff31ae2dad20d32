//! The edges that hold against abuse: slow and silent clients are cut off
//! while others are served, connections are capped, bodies have deadlines
//! (but an upload's PATCH).

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use serde_json::json;

use crate::support::{TestSystem, json_of, terms};

fn addr(sys: &TestSystem) -> String {
    sys.base.trim_start_matches("http://").to_string()
}

/// Reads until the server closes the connection (or `limit` passes);
/// returns what was read and when the close came.
async fn until_closed(conn: &mut TcpStream, limit: Duration) -> (Vec<u8>, Option<Duration>) {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, conn.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (got, Some(started.elapsed())),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (got, None),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_while_others_are_served() {
    let sys = TestSystem::start_with("edges_slow", |c| {
        c.http.header_timeout = Duration::from_secs(2);
        c.http.body_timeout = Duration::from_secs(2);
    })
    .await;
    let target = addr(&sys);

    // 300 clients send half a request head, then nothing (slowloris).
    let mut slow = Vec::new();
    for _ in 0..300 {
        let mut c = TcpStream::connect(&target).await.expect("connect");
        c.write_all(b"GET /api/v1/tags HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .expect("write");
        slow.push(c);
    }
    // Meanwhile everyone else is served, and quickly.
    for _ in 0..20 {
        let started = Instant::now();
        let resp = sys.http.get(sys.url("/healthz")).send().await.expect("get");
        assert_eq!(resp.status(), 200);
        assert!(started.elapsed() < Duration::from_secs(1), "served late");
    }
    // Each slow client is cut off once the head's deadline passes.
    let mut cut = 0;
    for c in &mut slow {
        let (_, closed) = until_closed(c, Duration::from_secs(6)).await;
        if closed.is_some() {
            cut += 1;
        }
    }
    assert_eq!(cut, slow.len(), "every slow client was cut off");

    // A kept-alive connection idle between requests is closed too.
    let mut idle = TcpStream::connect(&target).await.expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let (answer, closed) = until_closed(&mut idle, Duration::from_secs(6)).await;
    assert!(answer.starts_with(b"HTTP/1.1 200"), "answered first");
    let closed = closed.expect("the idle connection is closed");
    assert!(
        closed >= Duration::from_millis(1500),
        "not before its time: {closed:?}"
    );

    // A body trickled slower than its deadline: 408 in the API's shape.
    let mut trickle = TcpStream::connect(&target).await.expect("connect");
    trickle
        .write_all(
            b"POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 60\r\n\r\n{\"login\":",
        )
        .await
        .expect("write");
    let started = Instant::now();
    let (answer, closed) = until_closed(&mut trickle, Duration::from_secs(8)).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"body_timeout\""), "{text}");
    assert!(closed.is_some() && started.elapsed() >= Duration::from_millis(1500));

    // An upload's PATCH keeps its own rules: a chunk slower than the body
    // deadline still lands (half the upload, so no probe follows).
    let token = sys.user("slow_uploader").await;
    let upload = sys.create_upload(&token, 2000, "Slow line").await;
    let path = upload
        .split_once("/api/")
        .map(|(_, p)| format!("/api/{p}"))
        .expect("upload path");
    let mut patch = TcpStream::connect(&target).await.expect("connect");
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nTus-Resumable: 1.0.0\r\n\
         Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: 1000\r\n\r\n"
    );
    patch.write_all(head.as_bytes()).await.expect("head");
    patch.write_all(&[7u8; 400]).await.expect("first bytes");
    tokio::time::sleep(Duration::from_secs(3)).await;
    patch.write_all(&[7u8; 600]).await.expect("the rest");
    let mut buf = vec![0u8; 2048];
    let n = tokio::time::timeout(Duration::from_secs(10), patch.read(&mut buf))
        .await
        .expect("an answer")
        .expect("read");
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 204"), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("upload-offset: 1000"),
        "{text}"
    );
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_wait_their_turn() {
    let sys = TestSystem::start_with("edges_cap", |c| {
        c.http.header_timeout = Duration::from_secs(2);
        c.http.max_connections = 16;
    })
    .await;
    let target = addr(&sys);
    // Sixteen silent connections fill every slot.
    let mut held = Vec::new();
    for _ in 0..16 {
        held.push(TcpStream::connect(&target).await.expect("connect"));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The next request waits until the silent ones are cut off, then is served.
    let started = Instant::now();
    let resp = reqwest::Client::new()
        .get(sys.url("/healthz"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("served in the end");
    assert_eq!(resp.status(), 200);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1200),
        "past the cap it waited for a slot: {waited:?}"
    );
    drop(held);
    sys.stop().await;
}

/// A refusal of a limit: 429, `Retry-After`, the API's error body.
async fn assert_limited(resp: reqwest::Response, what: &str) -> u64 {
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let (_, body) = json_of(resp).await;
    assert_eq!(status, 429, "{what}: {body}");
    assert_eq!(body["error"]["code"], "rate_limited", "{what}: {body}");
    retry.unwrap_or_else(|| panic!("{what}: a Retry-After"))
}

fn ok(status: u16, what: &str) {
    assert!((200..300).contains(&status), "{what}: {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_write_limit_trips_at_its_number_and_resets() {
    let sys = TestSystem::start_with("edges_limits", |c| {
        let l = &mut c.limits;
        l.signups_per_hour_per_address = 3;
        l.comments_per_minute_per_account = 20;
        l.marks_per_minute_per_account = 2;
        l.api_keys_per_hour_per_account = 2;
        l.reports_per_hour_per_account = 2;
        l.exports_per_hour_per_account = 1;
        l.uploads_per_hour_per_account = 2;
    })
    .await;
    let http = &sys.http;
    // Sign-ups from one address: these two and one more, then no more.
    let dj = sys.user("lim_dj").await;
    let fan = sys.user("lim_fan").await;
    let signup = |name: &str| {
        http.post(sys.url("/api/v1/accounts")).json(&json!({
            "email": format!("{name}@example.org"), "username": name,
            "password": "correct horse battery", "birth_date": "1990-01-01", "terms": terms()}))
    };
    ok(
        signup("lim_third")
            .send()
            .await
            .expect("signup")
            .status()
            .as_u16(),
        "third",
    );
    sys.confirm_from_mail("lim_third@example.org").await;
    assert_limited(
        signup("lim_fourth").send().await.expect("signup"),
        "sign-up",
    )
    .await;
    assert!(
        sys.pg_strings("SELECT username FROM users WHERE username = 'lim_fourth'")
            .await
            .is_empty(),
        "a refused sign-up stores nothing"
    );
    // The page's own form counts against the same allowance.
    let page = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .post(sys.url("/sign-up"))
        .form(&[
            ("username", "lim_page"),
            ("email", "lim_page@example.org"),
            ("password", "a long pass phrase"),
            ("birth_date", "1990-01-01"),
            ("terms", &terms()),
        ])
        .send()
        .await
        .expect("form");
    assert_eq!(page.status(), 429);

    let cc = sys.ready_cloudcast(&dj, 3, "Limited Edition").await;
    let id = cc["id"].as_str().expect("id").to_string();

    // Comments: twenty in a row, the next refused; once its wait is over
    // the allowance is back.
    let comment = |n: usize| {
        http.post(sys.url(&format!("/api/v1/cloudcasts/{id}/comments")))
            .bearer_auth(&fan)
            .json(&json!({"body": format!("nice one {n}")}))
    };
    let mut comment_ids = Vec::new();
    for n in 0..20 {
        let (status, c) = json_of(comment(n).send().await.expect("comment")).await;
        ok(status, "comment");
        comment_ids.push(c["id"].as_str().expect("id").to_string());
    }
    let wait = assert_limited(comment(20).send().await.expect("comment"), "comments").await;
    assert!(wait <= 5, "one comment's interval: {wait}");
    tokio::time::sleep(Duration::from_secs(wait)).await;
    ok(
        comment(21).send().await.expect("comment").status().as_u16(),
        "after the wait",
    );
    // Another account is not held back by this one's allowance.
    let (status, _) = json_of(
        http.post(sys.url(&format!("/api/v1/cloudcasts/{id}/comments")))
            .bearer_auth(&dj)
            .json(&json!({"body": "thanks"}))
            .send()
            .await
            .expect("comment"),
    )
    .await;
    ok(status, "the DJ's own comment");

    // Favourites (and follows and reposts alike): two a minute here.
    let fav = || {
        http.put(sys.url(&format!("/api/v1/cloudcasts/{id}/favourite")))
            .bearer_auth(&fan)
    };
    let unfav = || {
        http.delete(sys.url(&format!("/api/v1/cloudcasts/{id}/favourite")))
            .bearer_auth(&fan)
    };
    ok(
        fav().send().await.expect("fav").status().as_u16(),
        "favourite 1",
    );
    ok(
        unfav().send().await.expect("unfav").status().as_u16(),
        "unfavourite",
    );
    ok(
        fav().send().await.expect("fav").status().as_u16(),
        "favourite 2",
    );
    ok(
        unfav().send().await.expect("unfav").status().as_u16(),
        "unfavourite",
    );
    assert_limited(fav().send().await.expect("fav"), "favourites").await;
    let follow = |who: &str| {
        http.put(sys.url(&format!("/api/v1/users/{who}/follow")))
            .bearer_auth(&fan)
    };
    ok(
        follow("lim_dj")
            .send()
            .await
            .expect("follow")
            .status()
            .as_u16(),
        "follow 1",
    );
    ok(
        follow("lim_third")
            .send()
            .await
            .expect("follow")
            .status()
            .as_u16(),
        "follow 2",
    );
    assert_limited(follow("lim_dj").send().await.expect("follow"), "follows").await;

    // Reports: two an hour here.
    for (n, comment) in comment_ids.iter().enumerate() {
        let resp = http
            .post(sys.url(&format!("/api/v1/comments/{comment}/report")))
            .bearer_auth(&dj)
            .json(&json!({"reason": "spam"}))
            .send()
            .await
            .expect("report");
        if n < 2 {
            ok(resp.status().as_u16(), "report");
        } else {
            assert_limited(resp, "reports").await;
            break;
        }
    }

    // API keys: two an hour.
    for n in 0..3 {
        let resp = http
            .post(sys.url("/api/v1/me/api-keys"))
            .bearer_auth(&fan)
            .json(&json!({"name": format!("key {n}")}))
            .send()
            .await
            .expect("key");
        if n < 2 {
            ok(resp.status().as_u16(), "key");
        } else {
            assert_limited(resp, "API keys").await;
        }
    }

    // Exports: one an hour.
    let export = || http.get(sys.url("/api/v1/me/export")).bearer_auth(&fan);
    ok(
        export().send().await.expect("export").status().as_u16(),
        "export",
    );
    assert_limited(export().send().await.expect("export"), "exports").await;

    // Uploads started: two an hour.
    sys.create_upload(&fan, 5000, "one").await;
    sys.create_upload(&fan, 5000, "two").await;
    let third = sys.upload_request(&fan, 5000).send().await.expect("create");
    assert_limited(third, "uploads").await;
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotas_refuse_report_usage_and_operators_raise_them() {
    let sys = TestSystem::start_with("edges_quotas", |c| {
        let q = &mut c.quotas;
        q.open_uploads = 2;
        q.storage_bytes = 10_000;
        q.daily_upload_bytes = 20_000;
        q.unverified_open_uploads = 1;
        q.unverified_storage_bytes = 3_000;
        q.unverified_daily_upload_bytes = 3_000;
        c.limits.anonymous_reads_per_minute_per_address = 5;
    })
    .await;
    let http = &sys.http;
    let dj = sys.user("quota_dj").await;
    let create = |token: &str, length: u64| sys.upload_request(token, length);
    // tus termination of one of the DJ's uploads.
    let terminate = async |url: String| {
        http.delete(url)
            .bearer_auth(&dj)
            .header("Tus-Resumable", "1.0.0")
            .send()
            .await
            .expect("terminate")
            .status()
    };
    let refused = |code: &'static str, status: u16| {
        async move |resp: reqwest::Response| {
            let (got, body) = json_of(resp).await;
            assert_eq!(
                (got, body["error"]["code"].as_str()),
                (status, Some(code)),
                "{body}"
            );
        }
    };
    let me = || async {
        let (_, me) = json_of(
            http.get(sys.url("/api/v1/me"))
                .bearer_auth(&dj)
                .send()
                .await
                .expect("me"),
        )
        .await;
        me["quota"].clone()
    };

    // Two unfinished uploads at most.
    let first = sys.create_upload(&dj, 4000, "a").await;
    sys.create_upload(&dj, 4000, "b").await;
    refused("too_many_open_uploads", 403)(create(&dj, 10).send().await.expect("create")).await;
    let q = me().await;
    assert_eq!(q["used"]["open_uploads"], 2, "{q}");
    assert_eq!(q["used"]["storage_bytes"], 8000, "{q}");
    assert_eq!(q["limits"]["storage_bytes"], 10_000, "{q}");
    // Ending one frees its place and its bytes; bytes held are capped.
    assert_eq!(terminate(first).await, 204);
    refused("storage_quota_exceeded", 403)(create(&dj, 6001).send().await.expect("create")).await;
    ok(
        create(&dj, 6000)
            .send()
            .await
            .expect("create")
            .status()
            .as_u16(),
        "fits exactly",
    );
    assert_eq!(me().await["used"]["storage_bytes"], 10_000);
    // Today's volume: 14,000 started; 7,000 more is past 20,000, whatever
    // was ended since.
    for upload in sys
        .pg_strings("SELECT id::text FROM uploads WHERE state = 'receiving'")
        .await
    {
        let url = sys.url(&format!("/api/v1/uploads/{upload}"));
        assert_eq!(terminate(url).await, 204);
    }
    let resp = create(&dj, 7000).send().await.expect("create");
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .expect("retry")
        .parse()
        .expect("secs");
    assert!((1..=86_400).contains(&retry), "until midnight UTC: {retry}");
    refused("daily_upload_volume_exceeded", 429)(resp).await;

    // An operator raises this account's allowances.
    // (The command reads the same configuration as the server.)
    let out = sys
        .command()
        .args([
            "admin",
            "quota",
            "--user",
            "quota_dj",
            "--daily-gib",
            "1",
            "--open-uploads",
            "5",
            "--reason",
            "a label's archive",
            "--operator",
            "ops",
            "--json",
        ])
        .env("CLOUDCAST__QUOTAS__OPEN_UPLOADS", "2")
        .env("CLOUDCAST__QUOTAS__STORAGE_BYTES", "10000")
        .env("CLOUDCAST__QUOTAS__DAILY_UPLOAD_BYTES", "20000")
        .output()
        .expect("cloudcast admin quota");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        shown["quota"]["limits"]["daily_upload_bytes"],
        1u64 << 30,
        "{shown}"
    );
    assert_eq!(shown["quota"]["limits"]["storage_bytes"], 10_000, "{shown}");
    ok(
        create(&dj, 7000)
            .send()
            .await
            .expect("create")
            .status()
            .as_u16(),
        "raised",
    );
    // The change is the account's data: in its export.
    let doc = sys.exported_account(&dj).await;
    assert_eq!(
        doc["quota_set_by_an_operator"]["reason"], "a label's archive",
        "{doc}"
    );

    // An account whose email is not confirmed: one small upload, no
    // comments, no API keys, until the mailed link is opened.
    let new = sys.unverified_user("quota_new").await;
    let q = json_of(
        http.get(sys.url("/api/v1/me"))
            .bearer_auth(&new)
            .send()
            .await
            .expect("me"),
    )
    .await
    .1;
    assert_eq!(q["quota"]["limits"]["storage_bytes"], 3000, "{q}");
    refused("storage_quota_exceeded", 403)(create(&new, 3001).send().await.expect("create")).await;
    ok(
        create(&new, 2000)
            .send()
            .await
            .expect("create")
            .status()
            .as_u16(),
        "the allowance",
    );
    refused("too_many_open_uploads", 403)(create(&new, 10).send().await.expect("create")).await;
    let cc: Vec<String> = sys
        .pg_strings("SELECT id::text FROM cloudcasts LIMIT 1")
        .await;
    let target = cc
        .first()
        .cloned()
        .unwrap_or_else(|| "0191f3a4-0000-7000-8000-000000000000".into());
    let resp = http
        .post(sys.url(&format!("/api/v1/cloudcasts/{target}/comments")))
        .bearer_auth(&new)
        .json(&json!({"body": "first!"}))
        .send()
        .await
        .expect("comment");
    refused("email_unverified", 403)(resp).await;
    let resp = http
        .post(sys.url("/api/v1/me/api-keys"))
        .bearer_auth(&new)
        .json(&json!({"name": "scraper"}))
        .send()
        .await
        .expect("key");
    refused("email_unverified", 403)(resp).await;

    // A new link on request; the account is confirmed from it, and then
    // there is nothing more to confirm.
    let resend = || {
        http.post(sys.url("/api/v1/me/verification"))
            .bearer_auth(&new)
    };
    let (status, sent) = json_of(resend().send().await.expect("resend")).await;
    assert_eq!(
        (status, sent["sent_to"].as_str()),
        (202, Some("quota_new@example.org"))
    );
    assert_eq!(
        sys.pg_strings(
            "SELECT count(*)::text FROM email_outbox WHERE kind = 'verify_email' AND to_address = 'quota_new@example.org'"
        )
        .await,
        vec!["2".to_string()],
        "the sign-up's link and the new one"
    );
    sys.pg_exec("UPDATE users SET email_verified_at = now() WHERE username = 'quota_new'")
        .await;
    refused("already_verified", 409)(resend().send().await.expect("resend")).await;

    // Anonymous reads: five a minute here, per address; a signed-in
    // reader is not counted.
    for _ in 0..5 {
        ok(
            http.get(sys.url("/api/v1/tags"))
                .send()
                .await
                .expect("read")
                .status()
                .as_u16(),
            "read",
        );
    }
    assert_limited(
        http.get(sys.url("/api/v1/tags"))
            .send()
            .await
            .expect("read"),
        "reads",
    )
    .await;
    ok(
        http.get(sys.url("/api/v1/tags"))
            .bearer_auth(&dj)
            .send()
            .await
            .expect("read")
            .status()
            .as_u16(),
        "signed in",
    );
    sys.stop().await;
}
