//! Accounts as the privacy policy describes them (public and private
//! fields, no under-13s), on the real stack: age rules, cookies and
//! sign-out, login rate limits, the email outbox with SMTP delivery,
//! profiles with per-field visibility, avatars, cloudcast metadata, and the
//! operator commands.

use crate::support::{TestSystem, json_of, terms};
use serde_json::{Value, json};

fn years_ago(years: i32) -> String {
    let today = time::OffsetDateTime::now_utc().date();
    today
        .replace_year(today.year() - years)
        .unwrap_or(today)
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teenagers_get_the_advice_cookies_work_and_sign_out_revokes() {
    let sys = TestSystem::start("sessions").await;
    let http = &sys.http;
    let (status, body) = json_of(
        http.post(sys.url("/api/v1/accounts"))
            .json(&json!({"email": "teen@example.org", "username": "teen_dj", "password": "long enough pw", "birth_date": years_ago(15), "terms": terms()}))
            .send()
            .await
            .expect("register"),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["is_minor"], true);
    assert!(
        body["parental_advice"]
            .as_str()
            .is_some_and(|a| a.contains("parent")),
        "{body}"
    );
    assert!(
        body.get("email").is_none(),
        "registration answers without the email"
    );
    // Exactly 13 today is allowed.
    let (status, _) = json_of(
        http.post(sys.url("/api/v1/accounts"))
            .json(&json!({"email": "thirteen@example.org", "username": "thirteen", "password": "long enough pw", "birth_date": years_ago(13), "terms": terms()}))
            .send()
            .await
            .expect("register"),
    )
    .await;
    assert_eq!(status, 202);
    // The account is used once the mailed link is opened.
    sys.confirm_from_mail("teen@example.org").await;

    // Sign in by email: a bearer token and an HttpOnly SameSite cookie.
    let resp = http
        .post(sys.url("/api/v1/sessions"))
        .json(&json!({"login": "TEEN@example.org", "password": "long enough pw"}))
        .send()
        .await
        .expect("sign in");
    assert_eq!(resp.status(), 200);
    let cookie = resp.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_string();
    assert!(cookie.starts_with("cc_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain http on loopback: no Secure flag"
    );
    let token = resp.json::<Value>().await.expect("json")["token"]
        .as_str()
        .expect("token")
        .to_string();
    let session = cookie.split(';').next().expect("pair").to_string();

    let (status, me) = json_of(
        http.get(sys.url("/api/v1/me"))
            .header("cookie", &session)
            .send()
            .await
            .expect("me"),
    )
    .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        me["email"], "teen@example.org",
        "the account itself sees its email"
    );
    assert_eq!(me["is_minor"], true);
    assert_eq!(me["email_verified"], true, "the link confirmed it");

    // Behind a TLS proxy the cookie is Secure.
    let resp = http
        .post(sys.url("/api/v1/sessions"))
        .header("x-forwarded-proto", "https")
        .json(&json!({"login": "teen_dj", "password": "long enough pw"}))
        .send()
        .await
        .expect("sign in");
    assert!(
        resp.headers()["set-cookie"]
            .to_str()
            .unwrap_or_default()
            .contains("Secure")
    );

    // Sign-out revokes the token it was called with, and clears the cookie.
    let resp = http
        .delete(sys.url("/api/v1/sessions"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("sign out");
    assert_eq!(resp.status(), 204);
    assert!(
        resp.headers()["set-cookie"]
            .to_str()
            .unwrap_or_default()
            .contains("Max-Age=0")
    );
    let (status, _) = json_of(
        http.get(sys.url("/api/v1/me"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("me"),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = json_of(
        http.get(sys.url("/api/v1/me"))
            .header("cookie", &session)
            .send()
            .await
            .expect("me"),
    )
    .await;
    assert_eq!(status, 401, "the cookie carried the same token");
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_attempts_are_rate_limited_per_account() {
    let sys = TestSystem::start_with("ratelimit", |c| {
        c.auth.login_per_minute_per_account = 3;
        c.auth.login_per_minute_per_ip = 100;
    })
    .await;
    sys.user("target_dj").await;
    assert_eq!(sys.sign_in_at(&sys.base, "target_dj").await, 200); // one successful sign-in
    let mut codes = Vec::new();
    let mut retry_after = None;
    for _ in 0..4 {
        let resp = sys
            .http
            .post(sys.url("/api/v1/sessions"))
            .json(&json!({"login": "target_dj", "password": "wrong password!"}))
            .send()
            .await
            .expect("attempt");
        if resp.status() == 429 {
            retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
        }
        codes.push(resp.status().as_u16());
    }
    assert_eq!(
        codes,
        vec![401, 401, 429, 429],
        "3 attempts a minute, the sign-in counted"
    );
    assert!(retry_after.is_some_and(|s| s.parse::<u64>().is_ok_and(|n| n >= 1)));
    // Even the right password waits: a guesser learns nothing from the limit.
    let resp = sys
        .http
        .post(sys.url("/api/v1/sessions"))
        .json(&json!({"login": "target_dj", "password": "correct horse battery"}))
        .send()
        .await
        .expect("attempt");
    assert_eq!(resp.status(), 429);
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_verification_goes_through_the_outbox_and_smtp() {
    let (sys, mails) = TestSystem::start_with_smtp("verify").await;
    sys.sign_up("verify_me", "verify_me@example.org").await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    let mail = loop {
        let found = mails.lock().ok().and_then(|m| m.first().cloned());
        if let Some(mail) = found {
            break mail;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "mail delivered within 20 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(mail.contains("To: verify_me@example.org"), "{mail}");
    // The body is quoted-printable (the link is longer than a mail line):
    // undo soft line breaks and the encoded '='.
    let mail = mail.replace("=\n", "").replace("=3D", "=");
    let link = mail
        .split_whitespace()
        .find(|w| w.contains("/verify-email?token="))
        .expect("a verification link")
        .to_string();
    let pool = sqlx::PgPool::connect(&sys.pg_url).await.expect("pg");
    let sent: Option<time::OffsetDateTime> =
        sqlx::query_scalar("SELECT sent_at FROM email_outbox WHERE kind = 'verify_email'")
            .fetch_one(&pool)
            .await
            .expect("outbox row");
    assert!(sent.is_some(), "the outbox records the delivery");

    // The link opens the site's landing page, which confirms through the
    // API, signs the person in and goes on.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let resp = no_redirects.get(&link).send().await.expect("verify");
    assert!(resp.status().is_redirection(), "{}", resp.status());
    assert_eq!(resp.headers()["location"], "/");
    let session = resp.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_string();
    assert!(session.starts_with("cc_session="), "{session}");
    let (_, me) = json_of(
        sys.http
            .get(sys.url("/api/v1/me"))
            .header("cookie", &session)
            .send()
            .await
            .expect("me"),
    )
    .await;
    assert_eq!(me["email_verified"], true);
    let again = sys.http.get(&link).send().await.expect("again");
    assert_eq!(again.status(), 422, "a link works once");
    assert!(
        again.text().await.expect("page").contains("<html"),
        "as a page"
    );
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_show_only_public_fields_and_never_the_email() {
    let sys = TestSystem::start("profiles").await;
    let http = &sys.http;
    let token = sys.user("profile_dj").await;
    let (status, own) = json_of(
        http.put(sys.url("/api/v1/me/profile"))
            .bearer_auth(&token)
            .json(&json!({"real_name": "Pat Example", "city": "Leeds", "country": "GB", "gender": "non-binary",
                           "birth_year": 1990, "bio": "Deep house since 2009", "visibility": {"city": "public", "bio": "public"}}))
            .send()
            .await
            .expect("put"),
    )
    .await;
    assert_eq!(status, 200, "{own}");
    assert_eq!(own["real_name"], "Pat Example", "the owner sees everything");

    let (status, public) = json_of(
        http.get(sys.url("/api/v1/users/profile_dj"))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        public["profile"],
        json!({"city": "Leeds", "bio": "Deep house since 2009"}),
        "{public}"
    );
    let text = public.to_string();
    for secret in [
        "profile_dj@example.org",
        "Pat Example",
        "GB",
        "1990",
        "non-binary",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }

    // Avatar: type and size checked, private until made public.
    let (status, body) = json_of(
        http.put(sys.url("/api/v1/me/avatar"))
            .bearer_auth(&token)
            .header("content-type", "image/png")
            .body(b"GIF89a....".to_vec())
            .send()
            .await
            .expect("put"),
    )
    .await;
    assert_eq!(status, 415, "{body}");
    let (status, _) = json_of(
        http.put(sys.url("/api/v1/me/avatar"))
            .bearer_auth(&token)
            .header("content-type", "image/jpeg")
            .body(crate::support::PNG_1X1.to_vec())
            .send()
            .await
            .expect("put"),
    )
    .await;
    assert_eq!(status, 415, "declared type must match the bytes");
    let (status, _) = json_of(
        http.put(sys.url("/api/v1/me/avatar"))
            .bearer_auth(&token)
            .header("content-type", "image/png")
            // The server answers 413 without reading the body and closes
            // the connection; the client must not reuse it.
            .header("connection", "close")
            .body(vec![0x89; 3 * 1024 * 1024])
            .send()
            .await
            .expect("put"),
    )
    .await;
    assert_eq!(status, 413);
    assert_eq!(sys.put_avatar(&token).await, 204);
    let (status, _) = json_of(
        http.get(sys.url("/api/v1/users/profile_dj/avatar"))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(status, 404, "a private avatar is not served");
    let (_, public) = json_of(
        http.get(sys.url("/api/v1/users/profile_dj"))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert!(public["avatar_url"].is_null());
    http.put(sys.url("/api/v1/me/profile"))
        .bearer_auth(&token)
        .json(&json!({"city": "Leeds", "visibility": {"city": "public", "avatar": "public"}}))
        .send()
        .await
        .expect("put");
    let resp = http
        .get(sys.url("/api/v1/users/profile_dj/avatar"))
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), 200);
    // Made again from the upload (never the upload itself).
    assert_eq!(resp.headers()["content-type"], "image/jpeg");
    let bytes = resp.bytes().await.expect("bytes");
    assert_ne!(bytes.as_ref(), crate::support::PNG_1X1);
    let img = image::load_from_memory(&bytes).expect("a JPEG");
    assert_eq!((img.width(), img.height()), (300, 300));

    let (status, _) = json_of(
        http.put(sys.url("/api/v1/me/profile"))
            .bearer_auth(&token)
            .json(&json!({"country": "Britain"}))
            .send()
            .await
            .expect("put"),
    )
    .await;
    assert_eq!(status, 422);
    let (status, _) = json_of(
        http.put(sys.url("/api/v1/me/profile"))
            .bearer_auth(&token)
            .json(&json!({"email": "x@y.z"}))
            .send()
            .await
            .expect("put"),
    )
    .await;
    assert_eq!(status, 422);
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_is_validated_and_editable_by_the_owner_only() {
    let sys = TestSystem::start("metadata").await;
    let token = sys.user("meta_dj").await;
    let mp3 = crate::support::make_mp3(sys.dir.path(), 20);
    let id = sys
        .upload(&token, &std::fs::read(&mp3).expect("read"), 1, "Short mix")
        .await;
    let cc = sys
        .wait_processed(&id, std::time::Duration::from_secs(60))
        .await;
    assert_eq!(cc["status"], "ready", "{cc}");
    let url = sys.url(&format!("/api/v1/cloudcasts/{id}"));
    let good = json!({
        "title": "Sunday session",
        "description": "Two hours of deep house.\nRecorded live.",
        "tags": ["Deep House", "deep house", "Live"],
        "tracklist": [{"start_ms": 0, "artist": "A", "title": "One"}, {"start_ms": 10000, "artist": "B", "title": "Two"}],
        "purchase_links": [{"label": "Bandcamp", "url": "https://label.example/album"}]
    });
    let (status, body) = json_of(
        sys.http
            .patch(&url)
            .bearer_auth(&token)
            .json(&good)
            .send()
            .await
            .expect("patch"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["tags"], json!(["deep house", "live"]));
    assert_eq!(body["tracklist"][1]["title"], "Two");
    let (_, fetched) = json_of(sys.http.get(&url).send().await.expect("get")).await;
    assert_eq!(fetched["title"], "Sunday session");
    assert_eq!(
        fetched["purchase_links"][0]["url"],
        "https://label.example/album"
    );

    let other = sys.user("not_the_owner").await;
    let (status, _) = json_of(
        sys.http
            .patch(&url)
            .bearer_auth(&other)
            .json(&json!({"title": "mine now"}))
            .send()
            .await
            .expect("patch"),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = json_of(
        sys.http
            .patch(&url)
            .json(&json!({"title": "anon"}))
            .send()
            .await
            .expect("patch"),
    )
    .await;
    assert_eq!(status, 401);
    for bad in [
        json!({"purchase_links": [{"label": "x", "url": "http://insecure.example/"}]}),
        json!({"purchase_links": [{"label": "x", "url": "javascript:alert(1)"}]}),
        json!({"tracklist": [{"start_ms": 999_999_999, "artist": "A", "title": "Late"}]}),
        json!({"tags": ["<b>"]}),
        json!({"title": ""}),
        json!({"colour": "red"}),
    ] {
        let (status, body) = json_of(
            sys.http
                .patch(&url)
                .bearer_auth(&token)
                .json(&bad)
                .send()
                .await
                .expect("patch"),
        )
        .await;
        assert_eq!(status, 422, "{bad} -> {body}");
    }
    let (_, unchanged) = json_of(sys.http.get(&url).send().await.expect("get")).await;
    assert_eq!(
        unchanged["title"], "Sunday session",
        "refused edits change nothing"
    );
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_create_admins_list_users_and_show_the_outbox() {
    let sys = TestSystem::start("admin").await;
    sys.user("plain_user").await;
    let run = |args: &[&str]| {
        let out = sys.cli(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let out = run(&[
        "admin",
        "create-admin",
        "--email",
        "ops@example.org",
        "--username",
        "ops",
        "--birth-date",
        "1980-01-01",
    ]);
    assert!(out.contains("created administrator ops"), "{out}");
    let users: Value =
        serde_json::from_str(&run(&["admin", "list-users", "--json"])).expect("json");
    let names: Vec<&str> = users
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|u| u["username"].as_str())
        .collect();
    assert_eq!(names, vec!["plain_user", "ops"]);
    assert_eq!(users[1]["is_admin"], true);
    let outbox: Value =
        serde_json::from_str(&run(&["admin", "outbox", "--unsent", "--json"])).expect("json");
    let to: Vec<&str> = outbox
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|m| m["to_address"].as_str())
        .collect();
    assert_eq!(to, vec!["plain_user@example.org", "ops@example.org"]);
    assert!(
        outbox[0]["body"]
            .as_str()
            .is_some_and(|b| b.contains("verify-email?token="))
    );
    // The admin can sign in with the password it was given.
    let resp = sys
        .http
        .post(sys.url("/api/v1/sessions"))
        .json(&json!({"login": "ops", "password": "an admin password"}))
        .send()
        .await
        .expect("sign in");
    assert_eq!(resp.status(), 200);
    sys.stop().await;
}

/// The token in the newest outbox mail of `kind` to `to`.
async fn mailed_token(sys: &TestSystem, kind: &str, to: &str) -> String {
    let bodies = sys
        .pg_strings(&format!(
            "SELECT body FROM email_outbox WHERE kind = '{kind}' AND to_address = '{to}'
              ORDER BY created_at DESC"
        ))
        .await;
    let body = bodies
        .first()
        .unwrap_or_else(|| panic!("no {kind} mail to {to}"));
    let at = body.find("token=").expect("a link with a token") + "token=".len();
    body[at..at + 43].to_string()
}

async fn sign_in(sys: &TestSystem, login: &str, password: &str) -> (u16, Value) {
    json_of(
        sys.http
            .post(sys.url("/api/v1/sessions"))
            .json(&json!({"login": login, "password": password}))
            .send()
            .await
            .expect("sign in"),
    )
    .await
}

async fn me_status(sys: &TestSystem, token: &str) -> u16 {
    sys.http
        .get(sys.url("/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .expect("me")
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_reset_by_mail_and_changes_of_password_and_email_are_confirmed() {
    // Every password check here counts in the account's sign-in bucket;
    // this test makes more than a person would in a minute.
    let sys = TestSystem::start_with("recovery", |c| {
        c.auth.login_per_minute_per_account = 1000;
    })
    .await;
    let first = sys.user("rec_user").await;
    sys.user("rec_other").await;
    let http = &sys.http;
    let sys_ref = &sys;
    let post = |path: &'static str, body: Value| async move {
        json_of(
            http.post(sys_ref.url(path))
                .json(&body)
                .send()
                .await
                .expect("post"),
        )
        .await
    };

    // A reset says nothing about whether the account exists.
    let (status, known) = post(
        "/api/v1/accounts/password-reset",
        json!({"login": "REC_USER"}),
    )
    .await;
    let (status2, unknown) = post(
        "/api/v1/accounts/password-reset",
        json!({"login": "nobody@example.org"}),
    )
    .await;
    assert_eq!((status, status2), (202, 202));
    assert_eq!(known, unknown);
    let token = mailed_token(&sys, "password_reset", "rec_user@example.org").await;
    let (status, v) = post(
        "/api/v1/accounts/password-reset/confirm",
        json!({"token": token, "password": "short"}),
    )
    .await;
    assert_eq!(status, 422, "{v}");
    let (status, _) = post(
        "/api/v1/accounts/password-reset/confirm",
        json!({"token": token, "password": "a brand new password"}),
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = post(
        "/api/v1/accounts/password-reset/confirm",
        json!({"token": token, "password": "yet another password"}),
    )
    .await;
    assert_eq!(status, 422, "a token works once");
    assert_eq!(me_status(&sys, &first).await, 401, "signed out everywhere");
    assert_eq!(
        sign_in(&sys, "rec_user", "correct horse battery").await.0,
        401
    );
    let (status, s) = sign_in(&sys, "rec_user", "a brand new password").await;
    assert_eq!(status, 200);
    let this = s["token"].as_str().expect("token").to_string();
    let other = sign_in(&sys, "rec_user", "a brand new password").await.1["token"]
        .as_str()
        .expect("token")
        .to_string();

    // A change of password asks for the current one and keeps only this session.
    let put = |path: &'static str, token: String, body: Value| async move {
        json_of(
            http.put(sys_ref.url(path))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .expect("put"),
        )
        .await
    };
    let (status, v) = put(
        "/api/v1/me/password",
        this.clone(),
        json!({"current_password": "not it at all", "new_password": "the third password"}),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (403, Some("wrong_password")),
        "{v}"
    );
    let (status, _) = put(
        "/api/v1/me/password",
        this.clone(),
        json!({"current_password": "a brand new password", "new_password": "the third password"}),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(me_status(&sys, &this).await, 200, "this session stays");
    assert_eq!(me_status(&sys, &other).await, 401, "the others go");
    let notices = sys
        .pg_strings("SELECT kind FROM email_outbox WHERE kind = 'password_changed'")
        .await;
    assert_eq!(notices.len(), 2, "each change is told: {notices:?}");

    // A new address counts once confirmed from it; the old one is told.
    // Another account's address answers as a free one (nobody learns
    // whose it is); its owner is told instead of sent a link.
    let (status, v) = put(
        "/api/v1/me/email",
        this.clone(),
        json!({"password": "the third password", "email": "REC_OTHER@example.org"}),
    )
    .await;
    assert_eq!(
        (status, v["pending_email"].as_str()),
        (202, Some("REC_OTHER@example.org")),
        "{v}"
    );
    let to_other = sys
        .pg_strings(
            "SELECT kind FROM email_outbox WHERE lower(to_address) = 'rec_other@example.org' ORDER BY created_at",
        )
        .await;
    assert_eq!(
        to_other.last().map(String::as_str),
        Some("email_change_to_taken_address"),
        "{to_other:?}"
    );
    let (status, v) = put(
        "/api/v1/me/email",
        this.clone(),
        json!({"password": "the third password", "email": "rec.new@example.org"}),
    )
    .await;
    assert_eq!(
        (status, v["pending_email"].as_str()),
        (202, Some("rec.new@example.org")),
        "{v}"
    );
    assert_eq!(
        sys.me(&this).await["email"],
        "rec_user@example.org",
        "not before it is confirmed"
    );
    let told = sys
        .pg_strings("SELECT to_address FROM email_outbox WHERE kind = 'email_change_requested'")
        .await;
    assert_eq!(told, vec!["rec_user@example.org".to_string(); 2]);
    let token = mailed_token(&sys, "confirm_email_change", "rec.new@example.org").await;
    let (status, v) = json_of(
        http.get(sys.url(&format!(
            "/api/v1/accounts/confirm-email-change?token={token}"
        )))
        .send()
        .await
        .expect("confirm"),
    )
    .await;
    assert_eq!(
        (status, v["email"].as_str()),
        (200, Some("rec.new@example.org")),
        "{v}"
    );
    assert_eq!(sys.me(&this).await["email"], "rec.new@example.org");
    assert_eq!(
        sign_in(&sys, "rec.new@example.org", "the third password")
            .await
            .0,
        200
    );
    let (status, _) = json_of(
        http.get(sys.url(&format!(
            "/api/v1/accounts/confirm-email-change?token={token}"
        )))
        .send()
        .await
        .expect("again"),
    )
    .await;
    assert_eq!(status, 422, "once only");

    // All of it is in the user's export, links left out.
    let doc = sys.exported_account(&this).await;
    assert_eq!(doc["email_changes"][0]["new_email"], "rec.new@example.org");
    assert_eq!(doc["password_resets"].as_array().map(Vec::len), Some(1));
    assert!(
        !doc.to_string().contains(&token),
        "no live link in the archive"
    );
    sys.stop().await;
}
