//! Two-step sign-in with codes from pyotp (a TOTP implementation nobody
//! here wrote): enrolment, sign-in through the API, on the page with and
//! without scripts, a code never taken twice, recovery codes once each,
//! the sensitive changes asking for a code, and removal.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::support::{TestSystem, json_of, run_page};

const PASSWORD: &str = "correct horse battery";

/// pyotp's code for `secret`, `ahead` steps of 30 s from now.
fn pyotp(secret: &str, ahead: i64) -> String {
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/var/venv/bin/python");
    let out = Command::new(python)
        .args([
            "-c",
            "import pyotp, sys, time; print(pyotp.TOTP(sys.argv[1]).at(time.time() + 30 * int(sys.argv[2])))",
            secret,
            &ahead.to_string(),
        ])
        .output()
        .expect("var/venv (infra/dev makes it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// What pyotp reads from the otpauth URL: `[issuer, name]`.
fn parse_uri(url: &str) -> Value {
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/var/venv/bin/python");
    let out = Command::new(python)
        .args([
            "-c",
            "import json, pyotp, sys; t = pyotp.parse_uri(sys.argv[1]); print(json.dumps([t.issuer, t.name, t.secret]))",
            url,
        ])
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

async fn call(
    sys: &TestSystem,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = sys.http.request(method, sys.url(path)).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    json_of(req.send().await.expect("request")).await
}

/// Signs `login` in with the password: the challenge the answer names.
async fn challenge(sys: &TestSystem, login: &str) -> String {
    let resp = reqwest::Client::new()
        .post(sys.url("/api/v1/sessions"))
        .json(&json!({"login": login, "password": PASSWORD}))
        .send()
        .await
        .expect("sign in");
    assert!(
        resp.headers().get("set-cookie").is_none(),
        "no session before the code"
    );
    let (status, v) = json_of(resp).await;
    assert_eq!(status, 401, "{v}");
    assert_eq!(v["error"]["code"], "second_factor_required");
    v["error"]["challenge"]
        .as_str()
        .expect("challenge")
        .to_string()
}

/// Enrols an authenticator app for `token`'s account: its secret.
async fn enrol(sys: &TestSystem, token: &str) -> String {
    let (status, e) = call(
        sys,
        "POST",
        "/api/v1/me/second-factor/totp",
        Some(token),
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{e}");
    let secret = e["secret"].as_str().expect("secret").to_string();
    let (status, r) = call(
        sys,
        "POST",
        "/api/v1/me/second-factor/totp/confirm",
        Some(token),
        json!({"code": pyotp(&secret, 0)}),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    secret
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stolen_password_alone_no_longer_opens_an_account() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sys = TestSystem::start_with("second_factor", |c| {
        c.http.web_dir = root.join("web");
        // This journey tries more codes a minute than a person would.
        c.auth.login_per_minute_per_account = 100;
        c.auth.login_per_minute_per_ip = 100;
    })
    .await;
    let token = sys.user("tf_user").await;
    let (_, s) = call(
        &sys,
        "GET",
        "/api/v1/me/second-factor",
        Some(&token),
        json!({}),
    )
    .await;
    assert_eq!(s["totp"], false);

    // Enrolment: the password again, a secret pyotp reads, a first code.
    let (status, v) = call(
        &sys,
        "POST",
        "/api/v1/me/second-factor/totp",
        Some(&token),
        json!({"password": "wrong one"}),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (403, Some("wrong_password"))
    );
    let (status, e) = call(
        &sys,
        "POST",
        "/api/v1/me/second-factor/totp",
        Some(&token),
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{e}");
    let secret = e["secret"].as_str().expect("secret").to_string();
    assert_eq!(
        parse_uri(e["otpauth_url"].as_str().expect("url")),
        json!(["Cloudcast", "tf_user", secret])
    );
    assert!(e["qr_svg"].as_str().unwrap_or("").contains("<svg"));
    // Not on until confirmed: the password alone still signs in.
    let (status, _) = call(
        &sys,
        "POST",
        "/api/v1/sessions",
        None,
        json!({"login": "tf_user", "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, v) = call(
        &sys,
        "POST",
        "/api/v1/me/second-factor/totp/confirm",
        Some(&token),
        json!({"code": "12345"}),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (403, Some("wrong_code"))
    );
    let first = pyotp(&secret, 0);
    let (status, r) = call(
        &sys,
        "POST",
        "/api/v1/me/second-factor/totp/confirm",
        Some(&token),
        json!({"code": first}),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    let codes: Vec<String> = r["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .filter_map(|c| c.as_str().map(str::to_string))
        .collect();
    assert_eq!(codes.len(), 10);
    let (status, v) = call(
        &sys,
        "POST",
        "/api/v1/me/second-factor/totp",
        Some(&token),
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (409, Some("already_enrolled"))
    );

    // The password alone opens nothing; the code taken at enrolment is not
    // taken again; the next one is.
    let ch = challenge(&sys, "tf_user").await;
    let (status, _) = call(
        &sys,
        "POST",
        "/api/v1/sessions/second-factor",
        None,
        json!({"challenge": ch, "code": first}),
    )
    .await;
    assert_eq!(status, 401, "a code works once");
    let (status, v) = call(
        &sys,
        "POST",
        "/api/v1/sessions/second-factor",
        None,
        json!({"challenge": "made-up", "code": pyotp(&secret, 1)}),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (401, Some("invalid_credentials"))
    );
    let (status, session) = call(
        &sys,
        "POST",
        "/api/v1/sessions/second-factor",
        None,
        json!({"challenge": ch, "code": pyotp(&secret, 1)}),
    )
    .await;
    assert_eq!(status, 200, "{session}");
    let (status, _) = call(
        &sys,
        "GET",
        "/api/v1/me",
        session["token"].as_str(),
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    // The challenge was spent with it.
    let (status, _) = call(
        &sys,
        "POST",
        "/api/v1/sessions/second-factor",
        None,
        json!({"challenge": ch, "code": codes[0]}),
    )
    .await;
    assert_eq!(status, 401);

    // A recovery code signs in once.
    let ch = challenge(&sys, "tf_user").await;
    let (status, _) = call(
        &sys,
        "POST",
        "/api/v1/sessions/second-factor",
        None,
        json!({"challenge": ch, "code": codes[0].to_uppercase()}),
    )
    .await;
    assert_eq!(status, 200, "recovery codes are read in any case");
    let ch = challenge(&sys, "tf_user").await;
    let (status, _) = call(
        &sys,
        "POST",
        "/api/v1/sessions/second-factor",
        None,
        json!({"challenge": ch, "code": codes[0]}),
    )
    .await;
    assert_eq!(status, 401, "once");

    // A mailed confirmation link left over confirms, but opens no session.
    let token_value = "a-leftover-confirmation-link-token-000000000";
    sys.pg_exec(&format!(
        "INSERT INTO email_verifications (token_hash, user_id, expires_at)
         SELECT sha256('{token_value}'::bytea), id, now() + interval '1 day' FROM users WHERE username = 'tf_user'"
    ))
    .await;
    let resp = reqwest::Client::new()
        .post(sys.url("/api/v1/accounts/confirm"))
        .json(&json!({"token": token_value}))
        .send()
        .await
        .expect("confirm");
    assert!(
        resp.headers().get("set-cookie").is_none(),
        "no session from a mailed link"
    );
    let (status, v) = json_of(resp).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (403, Some("second_factor_required")),
        "{v}"
    );

    // Wrong codes across fresh challenges lock the code step for a while,
    // and the owner is told.
    let locker = sys.user("tf_locked").await;
    let locker_secret = enrol(&sys, &locker).await;
    for _ in 0..10 {
        let ch = challenge(&sys, "tf_locked").await;
        let (status, _) = call(
            &sys,
            "POST",
            "/api/v1/sessions/second-factor",
            None,
            json!({"challenge": ch, "code": "000000"}),
        )
        .await;
        assert_eq!(status, 401);
    }
    let ch = challenge(&sys, "tf_locked").await;
    let (status, v) = call(
        &sys,
        "POST",
        "/api/v1/sessions/second-factor",
        None,
        json!({"challenge": ch, "code": pyotp(&locker_secret, 1)}),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (429, Some("rate_limited")),
        "even the right code waits: {v}"
    );
    let told = sys
        .pg_strings("SELECT o.kind FROM email_outbox o JOIN users u ON u.id = o.user_id WHERE u.username = 'tf_locked' AND o.kind = 'second_factor_locked'")
        .await;
    assert_eq!(told.len(), 1);

    // What asks for the password again asks for a code too.
    let change = json!({"current_password": PASSWORD, "new_password": PASSWORD});
    let (status, v) = call(
        &sys,
        "PUT",
        "/api/v1/me/password",
        Some(&token),
        change.clone(),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (403, Some("second_factor_required"))
    );
    let mut with_code = change.clone();
    with_code["code"] = json!("000000");
    let (status, v) = call(
        &sys,
        "PUT",
        "/api/v1/me/password",
        Some(&token),
        with_code.clone(),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (403, Some("wrong_code"))
    );
    with_code["code"] = json!(codes[1]);
    let (status, _) = call(&sys, "PUT", "/api/v1/me/password", Some(&token), with_code).await;
    assert_eq!(status, 204);
    let (status, v) = call(
        &sys,
        "DELETE",
        "/api/v1/me",
        Some(&token),
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (403, Some("second_factor_required")),
        "{v}"
    );

    // The export says what is enrolled, never the secret or a code.
    let account = sys.exported_account(&token).await;
    assert!(
        account["second_factor"]["confirmed_at"].is_string(),
        "{}",
        account["second_factor"]
    );
    assert_eq!(account["recovery_codes"], json!({"unused": 8, "used": 2}));
    let text = account.to_string();
    assert!(!text.contains(&secret) && !codes.iter().any(|c| text.contains(c.as_str())));
    // Enrolment was mailed to the account's address.
    let mailed = sys
        .pg_strings(
            "SELECT o.kind FROM email_outbox o JOIN users u ON u.id = o.user_id
              WHERE u.username = 'tf_user'
                AND o.kind IN ('second_factor_added', 'second_factor_removed', 'recovery_code_used')
              ORDER BY o.created_at, o.kind",
        )
        .await;
    assert_eq!(
        mailed,
        [
            "second_factor_added",
            "recovery_code_used",
            "recovery_code_used"
        ]
    );

    // The page: the password, then the code field, then the code.
    let page = run_page(
        "second_factor.mjs",
        vec![
            "signin".into(),
            sys.url(""),
            "tf_user".into(),
            PASSWORD.into(),
            codes[2].clone(),
        ],
        &[],
    )
    .await;
    assert_eq!(page["hiddenBefore"], true, "{page}");
    assert_eq!(page["signedInEarly"], false);
    assert!(
        page["asked"]
            .as_str()
            .unwrap_or("")
            .contains("authenticator")
    );

    // Without scripts: the form comes back asking for the code, with the challenge.
    let form = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let origin = sys.url("");
    let first_post = form
        .post(sys.url("/sign-in"))
        .header("Origin", origin.as_str())
        .form(&[
            ("login", "tf_user"),
            ("password", PASSWORD),
            ("next", "/settings"),
        ])
        .send()
        .await
        .expect("form");
    assert_eq!(first_post.status(), 401);
    let html = first_post.text().await.expect("page");
    let challenge_value = html
        .split("name=\"challenge\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("the challenge in the form")
        .to_string();
    assert!(!challenge_value.is_empty());
    let second_post = form
        .post(sys.url("/sign-in"))
        .header("Origin", origin.as_str())
        .form(&[
            ("login", "tf_user"),
            ("challenge", challenge_value.as_str()),
            ("code", codes[3].as_str()),
            ("next", "/settings"),
        ])
        .send()
        .await
        .expect("form");
    assert_eq!(second_post.status(), 303);
    assert_eq!(second_post.headers()["location"], "/settings");
    assert!(second_post.headers().get("set-cookie").is_some());

    // Removal: the password and a code; the password alone signs in again.
    let (status, v) = call(
        &sys,
        "DELETE",
        "/api/v1/me/second-factor/totp",
        Some(&token),
        json!({"password": PASSWORD, "code": "000000"}),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (403, Some("wrong_code"))
    );
    let (status, _) = call(
        &sys,
        "DELETE",
        "/api/v1/me/second-factor/totp",
        Some(&token),
        json!({"password": PASSWORD, "code": codes[4]}),
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = call(
        &sys,
        "POST",
        "/api/v1/sessions",
        None,
        json!({"login": "tf_user", "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200);
    let (_, s) = call(
        &sys,
        "GET",
        "/api/v1/me/second-factor",
        Some(&token),
        json!({}),
    )
    .await;
    assert_eq!(
        s,
        json!({"totp": false, "passkeys": 0, "recovery_codes_left": 0})
    );
    let mailed = sys
        .pg_strings(
            "SELECT o.kind FROM email_outbox o JOIN users u ON u.id = o.user_id
              WHERE u.username = 'tf_user' AND o.kind LIKE 'second_factor%' ORDER BY o.created_at",
        )
        .await;
    assert_eq!(mailed, ["second_factor_added", "second_factor_removed"]);

    // Enrolment in Settings, in Chromium.
    sys.user("tf_page").await;
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/var/venv/bin/python");
    let page = run_page(
        "second_factor.mjs",
        vec![
            "enrol".into(),
            sys.url(""),
            "tf_page".into(),
            PASSWORD.into(),
            python.into(),
        ],
        &[],
    )
    .await;
    assert!(
        page["before"].as_str().unwrap_or("").starts_with("Off"),
        "{page}"
    );
    assert!(
        page["after"].as_str().unwrap_or("").starts_with("On"),
        "{page}"
    );
    assert_eq!(page["codes"].as_array().map(Vec::len), Some(10));
    assert_eq!(page["codeFieldShown"], true, "changes now ask for a code");
    let page_secret = page["secret"].as_str().expect("secret").to_string();
    let ch = challenge(&sys, "tf_page").await;
    let (status, _) = call(
        &sys,
        "POST",
        "/api/v1/sessions/second-factor",
        None,
        json!({"challenge": ch, "code": pyotp(&page_secret, 1)}),
    )
    .await;
    assert_eq!(status, 200, "the app enrolled on the page signs in");

    // A second account, enrolled through the helper, is asked on erasure too.
    let other = sys.user("tf_other").await;
    let other_secret = enrol(&sys, &other).await;
    let (status, _) = call(
        &sys,
        "DELETE",
        "/api/v1/me",
        Some(&other),
        json!({"password": PASSWORD, "code": pyotp(&other_secret, 1)}),
    )
    .await;
    assert_eq!(status, 200, "erased with its code");
    sys.stop().await;
}
