//! Several nodes behind a load balancer: the limits that must hold across
//! nodes (sign-in per login and per address, open-API keys) are one
//! allowance whichever node answers, and behind a trusted proxy the client
//! is the address it forwards, not the proxy's.

use std::time::Duration;

use serde_json::json;

use crate::support::{Node, TestSystem, free_port, json_of, wait_for_port};

/// One sign-in attempt with a wrong password at `base`, as `forwarded`
/// (an `X-Forwarded-For` value) when given; returns the status.
async fn wrong_password(sys: &TestSystem, base: &str, login: &str, forwarded: Option<&str>) -> u16 {
    let mut req = sys
        .http
        .post(format!("{base}/api/v1/sessions"))
        .json(&json!({"login": login, "password": "wrong password!"}));
    if let Some(f) = forwarded {
        req = req.header("x-forwarded-for", f);
    }
    req.send().await.expect("attempt").status().as_u16()
}

/// A second all-in-one node beside `sys` (its API and pages), on the same
/// stores, with these settings.
async fn second_node(sys: &TestSystem, env: &[(&str, &str)]) -> (Node, String) {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut cmd = sys.node_command("api", &listen);
    cmd.envs(env.iter().copied());
    let node = Node::spawn(cmd);
    wait_for_port(port).await;
    (node, format!("http://{listen}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_and_api_key_limits_hold_across_nodes() {
    let sys = TestSystem::start_with("shared_limits", |c| {
        c.auth.login_per_minute_per_account = 3;
        c.auth.login_per_minute_per_ip = 100;
        c.privacy.api_key_per_minute = 4;
    })
    .await;
    let (_b, b) = second_node(
        &sys,
        &[
            ("CLOUDCAST__AUTH__LOGIN_PER_MINUTE_PER_ACCOUNT", "3"),
            ("CLOUDCAST__AUTH__LOGIN_PER_MINUTE_PER_IP", "100"),
            ("CLOUDCAST__PRIVACY__API_KEY_PER_MINUTE", "4"),
        ],
    )
    .await;
    let a = sys.base.clone();
    let token = sys.user("shared_dj").await;
    assert_eq!(sys.sign_in_at(&a, "shared_dj").await, 200); // one sign-in, on a
    let mut codes = Vec::new();
    for base in [&b, &a, &b, &a] {
        codes.push(wrong_password(&sys, base, "Shared_DJ", None).await);
    }
    assert_eq!(
        codes,
        vec![401, 401, 429, 429],
        "3 attempts a minute between both nodes, whatever the spelling"
    );

    let (status, created) = json_of(
        sys.http
            .post(sys.url("/api/v1/me/api-keys"))
            .bearer_auth(&token)
            .json(&json!({"name": "two nodes"}))
            .send()
            .await
            .expect("key"),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let key = created["key"].as_str().expect("key");
    let mut codes = Vec::new();
    for base in [&a, &b, &a, &b, &a, &b] {
        let resp = sys
            .http
            .get(format!("{base}/api/v1/users/shared_dj"))
            .header("x-api-key", key)
            .send()
            .await
            .expect("with key");
        codes.push(resp.status().as_u16());
    }
    assert_eq!(
        codes,
        vec![200, 200, 200, 200, 429, 429],
        "4 a minute in all"
    );
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_the_client_is_the_forwarded_address() {
    let sys = TestSystem::start_with("trusted_proxy", |c| {
        c.http.trusted_proxies = vec!["127.0.0.1".parse().expect("network")];
        c.auth.login_per_minute_per_ip = 2;
        c.auth.login_per_minute_per_account = 100;
    })
    .await;
    // The same stores, without a trusted proxy: the header is ignored.
    let (_plain, plain) =
        second_node(&sys, &[("CLOUDCAST__AUTH__LOGIN_PER_MINUTE_PER_IP", "2")]).await;
    let a = sys.base.clone();
    let listener = "203.0.113.9";
    let mut codes = Vec::new();
    for login in ["nobody_1", "nobody_2", "nobody_3"] {
        codes.push(wrong_password(&sys, &a, login, Some(listener)).await);
    }
    assert_eq!(codes, vec![401, 401, 429], "two a minute from one listener");
    // Another listener behind the same proxy has its own allowance, and a
    // forged entry to the left of the proxy's own proves nothing.
    assert_eq!(
        wrong_password(&sys, &a, "nobody_4", Some("203.0.113.9, 198.51.100.1")).await,
        401
    );
    // Not trusted there: the proxy's address is the client, a fresh one.
    assert_eq!(
        wrong_password(&sys, &plain, "nobody_5", Some(listener)).await,
        401
    );

    // Heartbeats keep the forwarded listener's /24.
    let token = sys.user("proxied_dj").await;
    let cc = sys.ready_cloudcast(&token, 4, "Behind nginx").await;
    let id = cc["id"].as_str().expect("id");
    let resp = sys
        .http
        .post(sys.url("/api/v1/heartbeats"))
        .bearer_auth(&token)
        .header("x-forwarded-for", listener)
        .json(&json!([{"cloudcast_id": id, "session_id": "xff", "seq": 0, "position_ms": 0}]))
        .send()
        .await
        .expect("beat");
    assert_eq!(resp.status(), 202);
    let sql = "SELECT ip_prefix FROM heartbeats WHERE session_id = 'xff'";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let rows = loop {
        let rows = sys.clickhouse_rows(sql).await;
        if !rows.is_empty() {
            break rows;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the beat never arrived"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(rows[0]["ip_prefix"], "203.0.113.0/24");
    sys.stop().await;
}
