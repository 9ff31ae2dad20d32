//! Passkeys with Chromium's virtual authenticator (WebAuthn through the
//! DevTools protocol, from playwright-core) on `localhost`: added in
//! Settings, then signing in without a password; the password alone no
//! longer opens the account; removal; and no passkeys where the public URL
//! is an IP address.

use std::path::Path;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestSystem, call, free_port, json_of, run_page};

const PASSWORD: &str = "correct horse battery";

async fn password_sign_in(sys: &TestSystem, login: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(sys.url("/api/v1/sessions"))
        .json(&json!({"login": login, "password": PASSWORD}))
        .send()
        .await
        .expect("sign in");
    json_of(resp).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_signs_in_without_a_password_and_the_password_alone_no_longer_does() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let port = free_port();
    let public = format!("http://localhost:{port}");
    let sys = TestSystem::start_with("passkeys", |c| {
        c.http.web_dir = root.join("web");
        c.http.listen = format!("127.0.0.1:{port}").parse().expect("addr");
        c.http.public_url = public.clone();
        // This journey signs in more often a minute than a person would.
        c.auth.login_per_minute_per_account = 100;
        c.auth.login_per_minute_per_ip = 100;
    })
    .await;
    let token = sys.user("pk_user").await;

    let seen = run_page(
        "passkeys.mjs",
        vec![
            "journey".into(),
            public.clone(),
            "pk_user".into(),
            PASSWORD.into(),
        ],
        &[],
    )
    .await;
    assert_eq!(seen["before"], 0, "{seen}");
    assert_eq!(seen["codes"].as_array().map(Vec::len), Some(10), "{seen}");
    assert!(
        seen["listed"]
            .as_str()
            .is_some_and(|l| l.contains("Test laptop"))
    );
    assert_eq!(seen["resident"], json!([true]), "a discoverable key");
    assert_eq!(seen["rpId"], json!(["localhost"]));
    assert_eq!(seen["signedInByPassword"], false);
    assert!(
        seen["asked"]
            .as_str()
            .is_some_and(|m| m.contains("passkey")),
        "{seen}"
    );
    assert_eq!(seen["signedInByPasskey"], true);
    assert!(seen["signCount"][0].as_u64().is_some_and(|n| n >= 1));
    // New recovery codes, confirmed by the passkey; the first ten are void.
    assert_eq!(seen["renewed"].as_array().map(Vec::len), Some(10), "{seen}");
    assert_ne!(seen["renewed"][0], seen["codes"][0]);
    let codes = &seen["renewed"];

    // Through the API too: the password opens only a challenge, and names
    // what finishes it; a recovery code from the page does.
    let (status, v) = password_sign_in(&sys, "pk_user").await;
    assert_eq!(status, 401, "{v}");
    assert_eq!(v["error"]["code"], "second_factor_required");
    assert_eq!(v["error"]["methods"], json!(["passkey", "recovery_code"]));
    let code = codes[0].as_str().expect("code").to_string();
    let (status, session) = call(
        &sys,
        Method::POST,
        "/api/v1/sessions/second-factor",
        None,
        Some(json!({"challenge": v["error"]["challenge"], "code": code})),
    )
    .await;
    assert_eq!(status, 200, "{session}");

    // Mailed and notified; listed; in the export (never its key).
    let mailed = sys
        .pg_strings(
            "SELECT o.kind FROM email_outbox o JOIN users u ON u.id = o.user_id
              WHERE u.username = 'pk_user' AND o.kind LIKE 'passkey%' ORDER BY o.created_at",
        )
        .await;
    assert_eq!(mailed, ["passkey_added"]);
    // The first factor ended the sessions opened before it.
    let (status, _) = call(&sys, Method::GET, "/api/v1/me", Some(&token), None).await;
    assert_eq!(status, 401, "the session from before the passkey ended");
    let token = session["token"].as_str().expect("token").to_string();
    let (_, notes) = call(
        &sys,
        Method::GET,
        "/api/v1/me/notifications",
        Some(&token),
        None,
    )
    .await;
    assert!(notes.to_string().contains("A passkey was added"), "{notes}");
    let (_, keys) = call(&sys, Method::GET, "/api/v1/me/passkeys", Some(&token), None).await;
    let id = keys[0]["id"].as_str().expect("id").to_string();
    assert!(keys[0]["last_used_at"].is_string(), "{keys}");
    let account = sys.exported_account(&token).await;
    assert_eq!(account["passkeys"][0]["name"], "Test laptop", "{account}");
    assert!(!account.to_string().contains("cred_id"));

    // A ceremony is taken once: a refused answer spends it.
    let (_, started) = call(
        &sys,
        Method::POST,
        "/api/v1/sessions/passkey/challenge",
        None,
        None,
    )
    .await;
    let forged = json!({"ceremony": started["ceremony"], "credential": {"id": "eA", "rawId": "eA", "type": "public-key",
        "response": {"authenticatorData": "eA", "clientDataJSON": "eA", "signature": "eA", "userHandle": "eA"}}});
    for _ in 0..2 {
        let (status, v) = call(
            &sys,
            Method::POST,
            "/api/v1/sessions/passkey",
            None,
            Some(forged.clone()),
        )
        .await;
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (401, Some("invalid_credentials"))
        );
    }

    // With only a passkey, the actions that ask for the person again want
    // more than the password: a recovery code (or the passkey's own
    // one-time code, as the settings page gets it).
    let (status, v) = call(
        &sys,
        Method::DELETE,
        &format!("/api/v1/me/passkeys/{id}"),
        Some(&token),
        Some(json!({"password": PASSWORD})),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (403, Some("second_factor_required")),
        "{v}"
    );
    let (status, v) = call(
        &sys,
        Method::POST,
        "/api/v1/me/second-factor/totp",
        Some(&token),
        Some(json!({"password": PASSWORD})),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (403, Some("second_factor_required")),
        "no authenticator app of a thief's on the password alone: {v}"
    );
    let (status, v) = call(
        &sys,
        Method::DELETE,
        &format!("/api/v1/me/passkeys/{id}"),
        Some(&token),
        Some(json!({"password": "wrong one", "code": codes[1]})),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (403, Some("wrong_password"))
    );
    let (status, v) = call(
        &sys,
        Method::DELETE,
        &format!("/api/v1/me/passkeys/{id}"),
        Some(&token),
        Some(json!({"password": PASSWORD, "code": codes[2]})),
    )
    .await;
    assert_eq!(status, 204, "{v}");
    let (status, _) = password_sign_in(&sys, "pk_user").await;
    assert_eq!(status, 200);
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkeys_are_unavailable_where_the_public_url_is_an_address() {
    let sys = TestSystem::start("passkeys_ip").await;
    let (status, v) = call(
        &sys,
        Method::POST,
        "/api/v1/sessions/passkey/challenge",
        None,
        None,
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (409, Some("passkeys_unavailable")),
        "{v}"
    );
    sys.stop().await;
}
