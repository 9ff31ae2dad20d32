//! Privacy rules end to end (consents and their withdrawal, partners, logs): consents with their proof,
//! and a withdrawal of ad consent reaching ClickHouse.

use std::time::Duration;

use crate::support::{TestSystem, terms};
use serde_json::{Value, json};

async fn consents(sys: &TestSystem, token: &str, body: Option<Value>) -> (u16, Value) {
    let url = sys.url("/api/v1/me/consents");
    let req = match body {
        Some(b) => sys.http.put(url).json(&b),
        None => sys.http.get(url),
    };
    let resp = req.bearer_auth(token).send().await.expect("consents");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The user's seconds in the ad-interest aggregate.
async fn ad_seconds(sys: &TestSystem, user: &str) -> u64 {
    let sql =
        format!("SELECT toUInt64(sum(seconds)) AS s FROM ad_interest WHERE user_id = '{user}'");
    crate::support::ch_u64(&sys.clickhouse_rows(&sql).await[0]["s"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consents_are_recorded_and_a_withdrawal_empties_ad_interest() {
    let sys = TestSystem::start("privacy_consents").await;
    let dj = sys.user("pc_dj").await;
    let fan = sys.user("pc_fan").await;

    // Defaults: both off until given (consent is not presumed), on record.
    let (status, c) = consents(&sys, &fan, None).await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(
        (
            c["personalised_ads"].as_bool(),
            c["third_party_contact"].as_bool()
        ),
        (Some(false), Some(false))
    );
    let history = c["history"].as_array().expect("history");
    assert_eq!(history.len(), 2, "{c}");
    assert!(
        history
            .iter()
            .all(|e| e["source"] == "signup" && e["at"].is_string())
    );

    // Bad updates are named and change nothing.
    for bad in [
        json!({}),
        json!({"ads": false}),
        json!({"personalised_ads": "no"}),
    ] {
        let (status, body) = consents(&sys, &fan, Some(bad.clone())).await;
        assert!((400..500).contains(&status), "{bad} -> {status} {body}");
        assert!(body["error"]["code"].is_string(), "{body}");
    }
    let resp = sys
        .http
        .get(sys.url("/api/v1/me/consents"))
        .send()
        .await
        .expect("anon");
    assert_eq!(resp.status(), 401);

    // Opt in to third-party contact: recorded once, even when repeated.
    for _ in 0..2 {
        let (status, c) = consents(&sys, &fan, Some(json!({"third_party_contact": true}))).await;
        assert_eq!(status, 200, "{c}");
        assert_eq!(c["third_party_contact"], true);
        assert_eq!(c["history"].as_array().map(Vec::len), Some(3), "{c}");
    }

    // The fan gives ad consent; the DJ never does.
    let (status, c) = consents(&sys, &fan, Some(json!({"personalised_ads": true}))).await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["history"].as_array().map(Vec::len), Some(4), "{c}");

    // Listening with ad consent on fills the ad-interest aggregate; the
    // same listening without it leaves nothing there.
    let cc = sys.ready_cloudcast(&dj, 30, "Consent mix").await;
    let id = cc["id"].as_str().expect("id").to_string();
    let resp = sys
        .http
        .patch(sys.url(&format!("/api/v1/cloudcasts/{id}")))
        .bearer_auth(&dj)
        .json(&json!({"tags": ["ambient"]}))
        .send()
        .await
        .expect("tags");
    assert_eq!(resp.status(), 200);
    tokio::time::sleep(Duration::from_secs(6)).await; // the stream's cloudcast cache
    let beats: Vec<Value> = (0..20)
        .map(|s| json!({"cloudcast_id": id, "session_id": "pc-1", "seq": s, "position_ms": s * 1000}))
        .collect();
    let resp = sys
        .http
        .post(sys.url("/api/v1/heartbeats"))
        .bearer_auth(&fan)
        .json(&beats)
        .send()
        .await
        .expect("beats");
    assert_eq!(resp.status(), 202);
    assert_eq!(sys.beats(&dj, &id, "pc-dj", 20).await, 202);
    let dj_id = sys.me(&dj).await["id"].as_str().expect("id").to_string();
    let me: Value = sys
        .http
        .get(sys.url("/api/v1/me"))
        .bearer_auth(&fan)
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("json");
    let user_id = me["id"].as_str().expect("id").to_string();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while ad_seconds(&sys, &user_id).await != 20 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "ad interest never arrived"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The DJ's beats arrived with the fan's (the same log, the same
    // shipment): none of them is an ad-interest row.
    let sessions = format!("SELECT count() AS n FROM heartbeats WHERE user_id = '{dj_id}'");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while crate::support::ch_u64(&sys.clickhouse_rows(&sessions).await[0]["n"]) < 20 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the DJ's beats never arrived"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(
        ad_seconds(&sys, &dj_id).await,
        0,
        "no consent, no ad interest"
    );

    // Withdrawal: recorded as proof, and the user's ad-interest rows go.
    let (status, c) = consents(&sys, &fan, Some(json!({"personalised_ads": false}))).await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["personalised_ads"], false);
    let last = c["history"]
        .as_array()
        .and_then(|h| h.last())
        .cloned()
        .expect("event");
    assert_eq!(
        (
            last["kind"].as_str(),
            last["granted"].as_bool(),
            last["source"].as_str()
        ),
        (Some("personalised_ads"), Some(false), Some("user"))
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while ad_seconds(&sys, &user_id).await != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "ad interest still there after a withdrawal"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breach_notices_reach_the_chosen_users_through_smtp() {
    let (sys, mails) = TestSystem::start_with_smtp("privacy_breach").await;
    let mut tokens = std::collections::HashMap::new();
    for name in ["pb_a", "pb_b", "pb_c"] {
        tokens.insert(name, sys.user(name).await);
    }
    // pb_b would also hear of security matters at another address; pb_c
    // by phone, which the operator is told to use by hand.
    for (name, contact) in [
        ("pb_b", "pb.b.other@example.net"),
        ("pb_c", "+44 20 7946 0000"),
    ] {
        let (status, body) = crate::support::call(
            &sys,
            reqwest::Method::PUT,
            "/api/v1/me/preferences",
            Some(&tokens[name]),
            Some(json!({"security_contact": contact})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["security_contact"], contact);
    }
    let run = |args: &[&str]| sys.cli(args);
    let notice = "We found that a backup of our user database was exposed on 2026-11-28.";
    let out = run(&[
        "admin",
        "notify-breach",
        "--users",
        "pb_a,PB_B@example.org",
        "--message",
        notice,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("for 2 account(s)"));
    // An unknown recipient queues nothing at all.
    let out = run(&[
        "admin",
        "notify-breach",
        "--users",
        "pb_c,nobody",
        "--message",
        notice,
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nobody"));

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let notices = loop {
        let notices: Vec<String> = mails
            .lock()
            .map(|m| {
                m.iter()
                    .filter(|d| d.contains("Security notice"))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        if notices.len() >= 3 || tokio::time::Instant::now() > deadline {
            break notices;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(notices.len(), 3, "{notices:?}");
    let mut to: Vec<&str> = notices
        .iter()
        .filter_map(|m| m.lines().find(|l| l.starts_with("To: ")))
        .collect();
    to.sort_unstable();
    assert_eq!(
        to,
        vec![
            "To: pb.b.other@example.net",
            "To: pb_a@example.org",
            "To: pb_b@example.org"
        ]
    );
    assert!(
        notices
            .iter()
            .all(|m| m.contains("backup of our user database"))
    );

    // --all reaches every account (through the outbox).
    let out = run(&["admin", "notify-breach", "--all", "--message", notice]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The phone number is for the operator to use.
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("tell pb_c by hand as well: +44 20 7946 0000"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let pool = sqlx::PgPool::connect(&sys.pg_url).await.expect("pg");
    let queued: i64 =
        sqlx::query_scalar("SELECT count(*) FROM email_outbox WHERE kind = 'security_notice'")
            .fetch_one(&pool)
            .await
            .expect("count");
    // Two (pb_a, pb_b at both addresses), then one per account and pb_b's other.
    assert_eq!(queued, 3 + 4);
    sys.stop().await;
}

/// A node's request log keeps the client's /24 only, never the
/// address, an email, or a query string (signatures, tokens).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_logs_keep_the_truncated_ip_and_no_email() {
    let sys = TestSystem::start("privacy_logs").await;
    let port = crate::support::free_port();
    let listen = format!("127.0.0.1:{port}");
    let log_path = sys.dir.path().join("node.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut cmd = sys.node_command("api", &listen);
    cmd.env("RUST_LOG", "info").stderr(log);
    let mut node = crate::support::Node::spawn(cmd);
    crate::support::wait_for_port(port).await;
    let base = format!("http://{listen}");
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{base}/api/v1/accounts"))
        .json(
            &json!({"email": "logged.person@example.org", "username": "logged_person",
                      "password": "correct horse battery", "birth_date": "1990-01-01", "terms": terms()}),
        )
        .send()
        .await
        .expect("register");
    assert_eq!(resp.status(), 202);
    sys.confirm_at(&base, "logged.person@example.org").await;
    let resp = http
        .post(format!("{base}/api/v1/sessions"))
        .json(&json!({"login": "logged.person@example.org", "password": "correct horse battery"}))
        .send()
        .await
        .expect("sign in");
    assert_eq!(resp.status(), 200);
    // An email in a path and a secret in a query string.
    for path in [
        "/api/v1/users/logged.person@example.org",
        "/api/v1/me?token=s3cr3t-token",
    ] {
        http.get(format!("{base}{path}")).send().await.expect("get");
    }
    node.kill_9();
    let text = std::fs::read_to_string(&log_path).expect("read log");
    let requests: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("cloudcast::access"))
        .collect();
    assert!(requests.len() >= 4, "no request log lines:\n{text}");
    assert!(
        requests.iter().all(|l| l.contains("client=127.0.0.0/24")),
        "{requests:#?}"
    );
    for secret in ["logged.person@example.org", "s3cr3t-token", "127.0.0.1:"] {
        assert!(
            !requests.iter().any(|l| l.contains(secret)),
            "{secret} in the request log: {requests:#?}"
        );
    }
    assert!(
        !text.contains("logged.person@example.org"),
        "email in the log:\n{text}"
    );
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partners_get_only_verified_adults_who_opted_in() {
    let sys = TestSystem::start("privacy_partners").await;
    let opted = sys.user("pp_opted").await;
    let _silent = sys.user("pp_silent").await;
    let unverified = sys.unverified_user("pp_unverified").await;
    let teen = sys.user_born("pp_teen", "2011-02-03").await;
    for t in [&opted, &unverified, &teen] {
        let (status, c) = consents(&sys, t, Some(json!({"third_party_contact": true}))).await;
        assert_eq!(status, 200, "{c}");
    }
    sys.pg_exec("UPDATE users SET email_verified_at = now() WHERE username <> 'pp_unverified'")
        .await;
    let list = |sys: &TestSystem| {
        let out = sys.cli(&["admin", "partner-contacts"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    assert_eq!(
        list(&sys),
        "username,email\npp_opted,pp_opted@example.org\n"
    );
    // A withdrawal takes the user off the next list.
    let (status, _) = consents(&sys, &opted, Some(json!({"third_party_contact": false}))).await;
    assert_eq!(status, 200);
    assert_eq!(list(&sys), "username,email\n");
    sys.stop().await;
}
