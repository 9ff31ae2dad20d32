//! Third-party apps (OAuth 2.0) with clients nobody here wrote: Authlib
//! (PyPI) and oauth4webapi (npm) drive the authorization code flow with
//! PKCE, the consent is given in Chromium, and tuspy uploads with the
//! app's token. The refusals (a wrong redirect URI, a reused code, a wrong
//! or missing verifier, an out-of-scope call, a revoked token, a reused
//! refresh token) are asked of the server directly.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestSystem, call, json_of, run_page, tones_wav};

const PASSWORD: &str = "correct horse battery";

async fn start() -> TestSystem {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    TestSystem::start_with("oauth", |c| {
        c.http.web_dir = root.join("web");
    })
    .await
}

/// A form post to the token or revocation endpoint: `(status, body)`.
async fn form(sys: &TestSystem, path: &str, fields: &[(&str, &str)]) -> (u16, Value) {
    let resp = sys
        .http
        .post(sys.url(path))
        .form(fields)
        .send()
        .await
        .expect("form");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The person (`token`) answers an authorization request through the
/// consent step's API; the redirect it names.
async fn allow(sys: &TestSystem, token: &str, params: Value) -> String {
    let mut body = params;
    body["approve"] = json!(true);
    let (status, v) = call(
        sys,
        Method::POST,
        "/api/v1/oauth/authorization",
        Some(token),
        Some(body),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    v["redirect"].as_str().expect("redirect").to_string()
}

fn query(url: &str, name: &str) -> Option<String> {
    let url = reqwest::Url::parse(url).expect("url");
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_a_person_allowed_acts_for_them_until_disconnected() {
    let sys = start().await;
    let base = sys.url("");
    sys.user("app_dev").await;
    let dj = sys.user("app_dj").await;
    let fan = sys.user("app_fan").await;
    let mix = sys.ready_cloudcast(&dj, 3, "Warm Up").await["id"]
        .as_str()
        .expect("id")
        .to_string();

    // The developer registers a public app on the developer page.
    let reg = run_page(
        "oauth.mjs",
        vec![
            "register".into(),
            base.clone(),
            "app_dev".into(),
            PASSWORD.into(),
        ],
        &[],
    )
    .await;
    let client_id = reg["clientId"].as_str().expect("client id").to_string();
    assert_eq!(
        reg["signedOut"], true,
        "signed out, the page says to sign in"
    );
    assert_eq!(reg["secretShown"], false, "a public app has no secret");
    assert_eq!(reg["noneBefore"], true);
    assert!(
        reg["listed"]
            .as_str()
            .is_some_and(|l| l.contains("Mix Sync"))
    );

    // The server's metadata (RFC 8414).
    let (status, meta) = call(
        &sys,
        Method::GET,
        "/.well-known/oauth-authorization-server",
        None,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(meta["issuer"], base.trim_end_matches('/'));
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        meta["scopes_supported"],
        json!(["read", "write", "upload", "stats"])
    );

    // Authlib asks; the fan allows in Chromium (signing in on the way);
    // Authlib trades the code, and the token favourites, uploads (tuspy)
    // and is refused past its scopes; a refresh rotates, a reuse kills.
    let dir = tempfile::tempdir().expect("tempdir");
    let wav = dir.path().join("app-upload.wav");
    std::fs::write(&wav, tones_wav(3, &[0.4])).expect("wav");
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/var/venv/bin/python");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/oauth_authlib.py");
    let mut child = Command::new(python)
        .arg(script)
        .args([&base, &client_id, wav.to_str().expect("path"), &mix])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("var/venv (infra/dev makes it)");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let auth_url = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        out.read_line(&mut line).expect("authorization url");
        (line.trim().to_string(), out)
    })
    .await
    .expect("join");
    let (auth_url, mut out) = auth_url;
    assert!(
        auth_url.starts_with(&format!("{}/oauth/authorize?", base.trim_end_matches('/'))),
        "{auth_url}"
    );
    assert_eq!(
        query(&auth_url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    let seen = run_page(
        "oauth.mjs",
        vec![
            "consent".into(),
            base.clone(),
            "app_fan".into(),
            PASSWORD.into(),
            auth_url.clone(),
        ],
        &[],
    )
    .await;
    assert_eq!(seen["askedToSignIn"], true, "{seen}");
    assert_eq!(seen["heading"], "Allow Mix Sync to use your account?");
    assert_eq!(seen["scopes"], json!(["read", "write", "upload"]));
    let landed = seen["landed"].as_str().expect("landed");
    assert_eq!(query(landed, "state"), query(&auth_url, "state"));
    assert_eq!(
        query(landed, "iss").as_deref(),
        Some(base.trim_end_matches('/'))
    );
    let result = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        out.read_line(&mut line).expect("result");
        let status = child.wait_with_output().expect("python");
        (line, status)
    })
    .await
    .expect("join");
    let (line, finished) = result;
    assert!(
        finished.status.success(),
        "{}",
        String::from_utf8_lossy(&finished.stderr)
    );
    let r: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(r["scope"], "read write upload", "{r}");
    assert_eq!(r["expires_in"], 3600);
    assert_eq!(r["token_type"], "Bearer");
    assert_eq!(r["me"][0], 200);
    assert_eq!(r["me"][1]["username"], "app_fan");
    assert!(
        r["me"][1].get("email").is_none(),
        "an app never sees the email: {r}"
    );
    assert!(r["me"][1].get("birth_date").is_none());
    assert_eq!(r["favourite"].as_u64().map(|s| s < 300), Some(true), "{r}");
    assert!(
        r["upload_url"]
            .as_str()
            .is_some_and(|u| u.contains("/api/v1/uploads/"))
    );
    assert_eq!(r["api_keys"][0], 403);
    assert_eq!(r["api_keys"][1], "insufficient_scope");
    assert_eq!(r["stats"], json!([403, "insufficient_scope"]));
    assert!(
        r["stats"][0] == 403
            && r["api_keys"][2]
                .as_str()
                .is_some_and(|h| h.contains("insufficient_scope"))
    );
    assert_eq!(r["rotated"], true);
    assert_eq!(r["me_after_refresh"], 200);
    assert_eq!(r["reuse"], "invalid_grant");
    assert_eq!(r["me_after_reuse"], 401, "the family died with the reuse");
    assert_eq!(r["newest_after_reuse"], "invalid_grant");

    // What the app did is the fan's: the favourite and the upload.
    let (_, favs) = call(&sys, Method::GET, "/api/v1/me/favourites", Some(&fan), None).await;
    assert!(favs.to_string().contains(&mix), "{favs}");
    let uploads = sys
        .pg_strings(
            "SELECT c.title FROM cloudcasts c JOIN users u ON u.id = c.owner_id
              WHERE u.username = 'app_fan'",
        )
        .await;
    assert_eq!(uploads, ["Sent by an app"]);

    // The connection is mailed and notified.
    let mailed = sys
        .pg_strings(
            "SELECT o.subject FROM email_outbox o JOIN users u ON u.id = o.user_id
              WHERE u.username = 'app_fan' AND o.kind = 'app_connected'",
        )
        .await;
    assert_eq!(mailed, ["Mix Sync can now act for your Cloudcast account"]);
    let (_, notes) = call(
        &sys,
        Method::GET,
        "/api/v1/me/notifications",
        Some(&fan),
        None,
    )
    .await;
    assert!(
        notes
            .to_string()
            .contains("You connected the app “Mix Sync”"),
        "{notes}"
    );

    // The same flow through oauth4webapi; then the fan disconnects the app
    // in Settings and its tokens stop at once.
    let o = run_page(
        "oauth.mjs",
        vec![
            "oauth4webapi".into(),
            base.clone(),
            "app_fan".into(),
            PASSWORD.into(),
            client_id.clone(),
        ],
        &[],
    )
    .await;
    assert_eq!(o["scopes"], json!(["read", "write"]), "{o}");
    assert_eq!(o["scope"], "read write");
    assert_eq!(o["me"], json!({"username": "app_fan", "hasEmail": false}));
    assert_eq!(o["rotated"], true);
    assert_eq!(o["afterRefresh"], 200);
    assert!(o["listed"].as_str().is_some_and(|l| l.contains("Mix Sync")));
    assert_eq!(o["afterDisconnect"], 401);
    assert_eq!(o["refreshAfterDisconnect"], "invalid_grant");
    let (_, connected) = call(
        &sys,
        Method::GET,
        "/api/v1/me/connected-apps",
        Some(&fan),
        None,
    )
    .await;
    assert_eq!(connected, json!([]));
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_gets_nothing_it_was_not_given() {
    let sys = start().await;
    let dev = sys.user("rf_dev").await;
    let fan = sys.user("rf_fan").await;
    let admin = sys.user("rf_admin").await;
    sys.make_admin("rf_admin").await;

    // A confidential app (a server with a secret) and a public one.
    let (status, conf) = call(
        &sys,
        Method::POST,
        "/api/v1/me/apps",
        Some(&dev),
        Some(json!({"name": "Server App", "redirect_uris": ["https://app.example/cb"], "confidential": true})),
    )
    .await;
    assert_eq!(status, 201, "{conf}");
    let conf_id = conf["client_id"].as_str().expect("id").to_string();
    let secret = conf["client_secret"].as_str().expect("secret").to_string();
    let (status, public) = call(
        &sys,
        Method::POST,
        "/api/v1/me/apps",
        Some(&dev),
        Some(json!({"name": "Phone App", "redirect_uris": ["com.example.phone:/cb"]})),
    )
    .await;
    assert_eq!(status, 201, "{public}");
    assert!(public["client_secret"].is_null());
    let pub_id = public["client_id"].as_str().expect("id").to_string();
    for bad in [
        json!({"name": "X", "redirect_uris": ["http://evil.example/cb"]}),
        json!({"name": "X", "redirect_uris": ["https://a.example/cb#x"]}),
        json!({"name": "X", "redirect_uris": []}),
        json!({"name": "", "redirect_uris": ["https://a.example/cb"]}),
    ] {
        let (status, v) = call(
            &sys,
            Method::POST,
            "/api/v1/me/apps",
            Some(&dev),
            Some(bad.clone()),
        )
        .await;
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (422, Some("invalid_field")),
            "{bad}"
        );
    }

    // A logo, made again as a square JPEG, named by its version.
    let app_id = conf["id"].as_str().expect("app id").to_string();
    let resp = sys
        .http
        .put(sys.url(&format!("/api/v1/me/apps/{app_id}/logo")))
        .bearer_auth(&dev)
        .header("content-type", "image/png")
        .body(crate::support::PNG_1X1.to_vec())
        .send()
        .await
        .expect("logo");
    assert_eq!(resp.status(), 204);
    let (_, apps) = call(&sys, Method::GET, "/api/v1/me/apps", Some(&dev), None).await;
    let logo = apps
        .as_array()
        .and_then(|a| a.iter().find(|x| x["id"] == app_id.as_str()))
        .and_then(|a| a["logo_url"].as_str())
        .expect("logo url")
        .to_string();
    let resp = sys.http.get(sys.url(&logo)).send().await.expect("logo");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/jpeg");
    assert!(
        !apps.to_string().contains("secret"),
        "no secret listed: {apps}"
    );

    // A redirect URI the app did not register is refused on the page and
    // never followed.
    let consent = |params: &str| {
        let url = format!("/api/v1/oauth/authorization?{params}");
        let http = sys.http.clone();
        let full = sys.url(&url);
        let fan = fan.clone();
        async move {
            let resp = http
                .get(full)
                .bearer_auth(&fan)
                .send()
                .await
                .expect("consent");
            let location = resp
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let (status, v) = json_of(resp).await;
            (
                status,
                v["error"]["code"].as_str().map(str::to_owned),
                location,
            )
        }
    };
    let (status, code, location) = consent(&format!(
        "response_type=code&client_id={conf_id}&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&state=s1"
    ))
    .await;
    assert_eq!(
        (status, code.as_deref(), location),
        (400, Some("invalid_redirect_uri"), None)
    );
    let (status, code, location) =
        consent("response_type=code&client_id=nobody&redirect_uri=https%3A%2F%2Fapp.example%2Fcb")
            .await;
    assert_eq!(
        (status, code.as_deref(), location),
        (400, Some("invalid_client"), None)
    );
    // Other faults go back to the app with the error and its state.
    let (status, code, location) = consent(&format!(
        "response_type=code&client_id={conf_id}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=read+admin&state=s2"
    ))
    .await;
    assert_eq!((status, code.as_deref()), (400, Some("invalid_scope")));
    let location = location.expect("back to the app");
    assert!(
        location.starts_with("https://app.example/cb?"),
        "{location}"
    );
    assert_eq!(query(&location, "error").as_deref(), Some("invalid_scope"));
    assert_eq!(query(&location, "state").as_deref(), Some("s2"));
    // On the page such a fault is shown with a link back, never followed
    // on its own (no open redirector before anything is asked).
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let page = no_redirects
        .get(sys.url(&format!(
            "/oauth/authorize?response_type=code&client_id={conf_id}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=admin&state=s3"
        )))
        .header("cookie", format!("cc_session={fan}"))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 400);
    assert!(page.headers().get("location").is_none());
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let html = page.text().await.expect("html");
    assert!(
        html.contains(
            "id=\"back-to-app\" class=\"button\" href=\"https://app.example/cb?error=invalid_scope"
        ),
        "{html}"
    );

    // A public app must use PKCE, and S256 only.
    let (_, code, location) = consent(&format!(
        "response_type=code&client_id={pub_id}&redirect_uri=com.example.phone%3A%2Fcb"
    ))
    .await;
    assert_eq!(code.as_deref(), Some("invalid_request"));
    assert!(location.is_some_and(|l| l.starts_with("com.example.phone:/cb?error=invalid_request")));
    let (_, code, _) = consent(&format!(
        "response_type=code&client_id={pub_id}&redirect_uri=com.example.phone%3A%2Fcb&code_challenge={CHALLENGE}&code_challenge_method=plain"
    ))
    .await;
    assert_eq!(code.as_deref(), Some("invalid_request"));
    // The page, signed out, sends the person to sign in first and back.
    let page = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(sys.url(&format!(
            "/oauth/authorize?response_type=code&client_id={pub_id}&redirect_uri=com.example.phone%3A%2Fcb"
        )))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 303);
    assert!(
        page.headers()["location"]
            .to_str()
            .is_ok_and(|l| l.starts_with("/sign-in?next=%2Foauth%2Fauthorize"))
    );

    // A code for the public app, read scope only.
    let params = json!({
        "response_type": "code", "client_id": pub_id, "redirect_uri": "com.example.phone:/cb",
        "scope": "read", "state": "st", "code_challenge": CHALLENGE, "code_challenge_method": "S256",
    });
    let redirect = allow(&sys, &fan, params.clone()).await;
    assert_eq!(query(&redirect, "state").as_deref(), Some("st"));
    let code = query(&redirect, "code").expect("code");
    let exchange = |code: String, verifier: Option<&'static str>| {
        let pub_id = pub_id.clone();
        let sys = &sys;
        async move {
            let mut fields = vec![
                ("grant_type", "authorization_code".to_string()),
                ("code", code),
                ("redirect_uri", "com.example.phone:/cb".to_string()),
                ("client_id", pub_id),
            ];
            if let Some(v) = verifier {
                fields.push(("code_verifier", v.to_string()));
            }
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            form(sys, "/oauth/token", &fields).await
        }
    };
    let (status, v) = exchange(code.clone(), None).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("invalid_grant")),
        "no verifier"
    );
    let (status, v) = exchange(
        code.clone(),
        Some("wrong-verifier-wrong-verifier-wrong-verifier-x"),
    )
    .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("invalid_grant")),
        "wrong verifier"
    );
    let (status, tokens) = exchange(code.clone(), Some(VERIFIER)).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().expect("access").to_string();
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    assert_eq!(tokens["scope"], "read");

    // Read only: reads work, writes are past the scope, the account's own
    // routes are no app's.
    let (status, _) = call(
        &sys,
        Method::GET,
        "/api/v1/me/favourites",
        Some(&access),
        None,
    )
    .await;
    assert_eq!(status, 200);
    for (method, path) in [
        (Method::POST, "/api/v1/playlists"),
        (Method::POST, "/api/v1/uploads"),
        (Method::GET, "/api/v1/me/connected-apps"),
        (Method::DELETE, "/api/v1/me"),
        (Method::PUT, "/api/v1/me/password"),
        (Method::POST, "/api/v1/me/exports"),
    ] {
        let (status, v) = call(&sys, method.clone(), path, Some(&access), Some(json!({}))).await;
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (403, Some("insufficient_scope")),
            "{method} {path}: {v}"
        );
    }

    // The code again: refused, and the tokens it gave are revoked.
    let (status, v) = exchange(code, Some(VERIFIER)).await;
    assert_eq!((status, v["error"].as_str()), (400, Some("invalid_grant")));
    let (status, _) = call(
        &sys,
        Method::GET,
        "/api/v1/me/favourites",
        Some(&access),
        None,
    )
    .await;
    assert_eq!(status, 401, "a reused code revokes its tokens");
    let (status, v) = form(
        &sys,
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", &pub_id),
        ],
    )
    .await;
    assert_eq!((status, v["error"].as_str()), (400, Some("invalid_grant")));

    // The confidential app proves itself with its secret.
    let redirect = allow(
        &sys,
        &fan,
        json!({"response_type": "code", "client_id": conf_id, "redirect_uri": "https://app.example/cb", "scope": "read write"}),
    )
    .await;
    let code = query(&redirect, "code").expect("code");
    let fields = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "https://app.example/cb"),
        ("client_id", conf_id.as_str()),
    ];
    let (status, v) = form(&sys, "/oauth/token", &fields).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (401, Some("invalid_client")),
        "no secret"
    );
    let resp = sys
        .http
        .post(sys.url("/oauth/token"))
        .basic_auth(&conf_id, Some(&secret))
        .form(&fields[..3])
        .send()
        .await
        .expect("token");
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let (status, tokens) = json_of(resp).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().expect("access").to_string();
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    let (status, _) = call(
        &sys,
        Method::POST,
        "/api/v1/playlists",
        Some(&access),
        Some(json!({"title": "Made by an app"})),
    )
    .await;
    assert_eq!(status, 201, "write covers playlists");

    // Revocation (RFC 7009): the access token ends; the refresh token
    // ends with its family.
    let (status, _) = form(
        &sys,
        "/oauth/revoke",
        &[
            ("token", &access),
            ("client_id", &conf_id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = call(&sys, Method::GET, "/api/v1/me", Some(&access), None).await;
    assert_eq!(status, 401, "a revoked token");
    let (status, _) = form(
        &sys,
        "/oauth/revoke",
        &[
            ("token", &refresh),
            ("token_type_hint", "refresh_token"),
            ("client_id", &conf_id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let (status, v) = form(
        &sys,
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", &conf_id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!((status, v["error"].as_str()), (400, Some("invalid_grant")));

    // The export holds apps and grants, never a secret or a token.
    let account = sys.exported_account(&dev).await;
    assert_eq!(
        account["registered_apps"].as_array().map(Vec::len),
        Some(2),
        "{account}"
    );
    let text = account.to_string();
    assert!(!text.contains(&secret));
    let fan_export = sys.exported_account(&fan).await;
    assert_eq!(
        fan_export["connected_apps"].as_array().map(Vec::len),
        Some(2)
    );
    assert!(!fan_export.to_string().contains(&refresh));

    // A suspended account's grants are revoked with its sessions.
    let redirect = allow(&sys, &fan, params.clone()).await;
    let code = query(&redirect, "code").expect("code");
    let (_, tokens) = exchange(code, Some(VERIFIER)).await;
    let live = tokens["access_token"].as_str().expect("access").to_string();
    let (status, v) = call(
        &sys,
        Method::POST,
        "/api/v1/admin/users/rf_fan/decisions",
        Some(&admin),
        Some(json!({"action": "suspend", "reasons": "Spam from apps (terms, section 3).", "days": 1})),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let (status, _) = call(
        &sys,
        Method::GET,
        "/api/v1/me/favourites",
        Some(&live),
        None,
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        sys.pg_strings("SELECT count(*)::text FROM oauth_grants g JOIN users u ON u.id = g.user_id WHERE u.username = 'rf_fan'").await,
        ["0"]
    );

    // Erasing the developer deletes the apps and every grant of them.
    let (status, _) = call(
        &sys,
        Method::DELETE,
        "/api/v1/me",
        Some(&dev),
        Some(json!({"password": PASSWORD})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        sys.pg_strings("SELECT count(*)::text FROM oauth_apps")
            .await,
        ["0"]
    );
    let (status, v) = form(
        &sys,
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "ccr_x"),
            ("client_id", &pub_id),
        ],
    )
    .await;
    assert_eq!((status, v["error"].as_str()), (401, Some("invalid_client")));
    sys.stop().await;
}
