//! The holes probing found, each shut: plays minted by a script, profiles
//! that broke once their owner favourited a mix, a sign-in `next` that led
//! off the site, avatars served as uploaded, an address oracle at sign-up
//! and email change, cookie writes from other sites, missing headers, and
//! tag pages for tags with a space. Each test fails without its fix.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestSystem, call, json_of, terms};

/// A browser's user agent of version `v` (not a bot, so its beats count).
fn firefox(v: u32) -> String {
    format!("Mozilla/5.0 (X11; Linux x86_64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0")
}

/// The value of the `cc_listener` cookie a response sets.
fn listener_cookie(resp: &reqwest::Response) -> String {
    resp.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.split(';').next()?.strip_prefix("cc_listener="))
        .map(str::to_owned)
        .expect("a listener cookie")
}

/// `n` beats of one session, `seq` from `first`, as one request.
fn beats(cloudcast: &str, session: &str, first: u32, n: u32) -> Value {
    Value::Array(
        (first..first + n)
            .map(|s| json!({"cloudcast_id": cloudcast, "session_id": session, "seq": s, "position_ms": (s % 3) * 1000}))
            .collect(),
    )
}

/// Minted plays count once at most: 12 requests of 31 beats each sent at
/// once with new session ids, then with made-up cookies, are one listener
/// (the client itself, whose sessions count their span of server time);
/// 20 cookies the server issued to one address, each listening for real
/// under its own user agent, count 16 listeners (with the minter, also
/// from this address); a signed-in listener still counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn minted_plays_count_once_and_one_address_counts_sixteen() {
    let sys = TestSystem::start_with("trust_minting", |c| {
        // A 3-second play, so real listening fits in a test.
        c.analytics.play_min_seconds = 3;
        c.stream.intake_per_ip_per_sec = 1000;
        c.stream.intake_burst = 1000;
        // The rule as it ships, which the other tests lift.
        let shipped = cloudcast_analytics::config::AnalyticsConfig::default();
        c.analytics.session_slack_secs = shipped.session_slack_secs;
        c.analytics.listeners_per_address = shipped.listeners_per_address;
    })
    .await;
    let dj = sys.user("mint_dj").await;
    let fan = sys.user("mint_fan").await;
    let cc = sys.ready_cloudcast(&dj, 3, "Mint Condition").await;
    let id = cc["id"].as_str().expect("id").to_string();
    let url = sys.url("/api/v1/heartbeats");
    let post = |body: Value, ua: String, cookie: Option<String>| {
        let mut req = sys.http.post(&url).header("user-agent", ua).json(&body);
        if let Some(c) = cookie {
            req = req.header("cookie", format!("cc_listener={c}"));
        }
        req.send()
    };

    // The script: new session ids, then made-up cookies, all at once.
    for m in 0..12 {
        let resp = post(beats(&id, &format!("mint{m}"), 0, 31), firefox(120), None)
            .await
            .expect("beats");
        assert_eq!(resp.status(), 202);
        let made_up = format!("{:032x}", 0xabcdef00u128 + m);
        let resp = post(
            beats(&id, &format!("fake{m}"), 0, 31),
            firefox(120),
            Some(made_up),
        )
        .await
        .expect("beats");
        assert_eq!(resp.status(), 202);
    }

    // 20 browsers on one address, each with the cookie the server gave it
    // and its own user agent, each listening 5 s of real time; and a fan.
    let mut cookies = Vec::new();
    for k in 0..20 {
        let resp = sys
            .http
            .get(sys.url(&format!("/api/v1/cloudcasts/{id}")))
            .header("user-agent", firefox(100 + k))
            .send()
            .await
            .expect("get");
        assert_eq!(resp.status(), 200);
        cookies.push(listener_cookie(&resp));
    }
    for second in 0..5u32 {
        let mut sends = Vec::new();
        for (k, cookie) in cookies.iter().enumerate() {
            sends.push(post(
                beats(&id, &format!("real{k}"), second, 1),
                firefox(100 + k as u32),
                Some(cookie.clone()),
            ));
        }
        for r in futures::future::join_all(sends).await {
            assert_eq!(r.expect("beat").status(), 202);
        }
        let resp = sys
            .http
            .post(&url)
            .bearer_auth(&fan)
            .json(&beats(&id, "fan", second, 1))
            .send()
            .await
            .expect("fan");
        assert_eq!(resp.status(), 202);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    // Everything sent arrived; then the statistics count under the rule.
    let sent = 12 * 31 * 2 + 20 * 5 + 5;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let rows = sys
            .clickhouse_rows("SELECT toUInt64(count()) AS n FROM heartbeats")
            .await;
        if rows.first().map(|r| crate::support::ch_u64(&r["n"])) == Some(sent) {
            break;
        }
        assert!(Instant::now() < deadline, "beats missing: {rows:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, stats) = call(
        &sys,
        Method::GET,
        &format!("/api/v1/cloudcasts/{id}/stats"),
        Some(&dj),
        None,
    )
    .await;
    assert_eq!(status, 200, "{stats}");
    // 16 anonymous listeners from this address (the minter, whose 24
    // sessions count 10 s each, ranks first) and the fan.
    assert_eq!(stats["listeners"], 17, "{stats}");
    assert_eq!(stats["plays"], 17, "{stats}");
    // The fan is counted with the time they listened (5 beats over 4 s).
    let fan_seconds = sys
        .clickhouse_rows(&format!(
            "SELECT toUInt64(uniqExactMerge(seqs)) AS n FROM session_days WHERE session_id = 'fan' AND cloudcast_id = '{id}'"
        ))
        .await;
    assert_eq!(crate::support::ch_u64(&fan_seconds[0]["n"]), 5);
    // Before the rule this was 24 + 20 + 1 listeners.
    let distinct = sys
        .clickhouse_rows("SELECT toUInt64(uniqExact(listener_id)) AS n FROM heartbeats")
        .await;
    assert_eq!(crate::support::ch_u64(&distinct[0]["n"]), 1 + 20 + 1);
    sys.stop().await;
}

/// A profile renders with every kind of activity of its owner (the lists
/// of favourites and reposts answer `{at, cloudcast}`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_with_favourites_and_reposts_renders() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sys = TestSystem::start_with("trust_profile", |c| c.http.web_dir = root.join("web")).await;
    let dj = sys.user("prof_dj").await;
    let fan = sys.user("prof_fan").await;
    let cc = sys.ready_cloudcast(&dj, 3, "Deep Profile").await;
    let id = cc["id"].as_str().expect("id");
    for mark in ["favourite", "repost"] {
        let (status, v) = call(
            &sys,
            Method::PUT,
            &format!("/api/v1/cloudcasts/{id}/{mark}"),
            Some(&fan),
            None,
        )
        .await;
        assert!(status < 300, "{mark}: {status} {v}");
    }
    let resp = sys
        .http
        .get(sys.url("/prof_fan"))
        .send()
        .await
        .expect("page");
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.expect("html");
    let reposts = html.split("id=\"h-reposts\"").nth(1).unwrap_or_default();
    assert!(reposts.contains("Deep Profile"), "the repost is listed");
    let favourites = html.split("id=\"h-favourites\"").nth(1).unwrap_or_default();
    assert!(
        favourites.contains("Deep Profile"),
        "the favourite is listed"
    );
    sys.stop().await;
}

/// `next` after signing in is a path of this site or `/`, whatever control
/// character it hides, and never a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_goes_on_only_to_this_site() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sys = TestSystem::start_with("trust_next", |c| {
        c.http.web_dir = root.join("web");
        // Seven sign-ins in a row, each with the right password.
        c.auth.login_per_minute_per_account = 100;
        c.auth.login_per_minute_per_ip = 100;
    })
    .await;
    sys.user("next_user").await;
    let raw = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    for next in [
        "/\t/evil.example",
        "/\r/evil.example",
        "/\n/evil.example",
        "/\\evil.example",
        "\t//evil.example",
        "//evil.example",
        "https://evil.example/",
    ] {
        // The page's form carries `/` instead.
        let page = raw
            .get(sys.url("/sign-in"))
            .query(&[("next", next)])
            .send()
            .await
            .expect("page");
        assert_eq!(page.status(), 200, "{next:?}");
        let html = page.text().await.expect("html");
        assert!(html.contains("data-next=\"/\""), "{next:?}");
        // Posted without scripts: signed in, and home.
        let resp = raw
            .post(sys.url("/sign-in"))
            .form(&[
                ("login", "next_user"),
                ("password", "correct horse battery"),
                ("next", next),
            ])
            .send()
            .await
            .expect("post");
        assert_eq!(resp.status(), 303, "{next:?}");
        assert_eq!(resp.headers()["location"], "/", "{next:?}");
    }
    sys.stop().await;
}

/// A JPEG with an EXIF block naming a position.
fn jpeg_with_exif(position: &str) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(64, 48, image::Rgb([10, 120, 200]));
    let mut plain = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 90)
        .encode_image(&img)
        .expect("jpeg");
    // TIFF (big-endian), IFD0 with one entry: ImageDescription (ASCII) at
    // offset 26, holding the position.
    let text = format!("{position}\0");
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&1u16.to_be_bytes());
    tiff.extend_from_slice(&0x010eu16.to_be_bytes());
    tiff.extend_from_slice(&2u16.to_be_bytes());
    tiff.extend_from_slice(&(text.len() as u32).to_be_bytes());
    tiff.extend_from_slice(&26u32.to_be_bytes());
    tiff.extend_from_slice(&0u32.to_be_bytes());
    tiff.extend_from_slice(text.as_bytes());
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xff, 0xe1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    out
}

/// A PNG whose header says `w` x `h` (a few dozen bytes, no pixels).
fn png_header(w: u32, h: u32) -> Vec<u8> {
    let mut img = image::RgbImage::new(1, 1);
    img.put_pixel(0, 0, image::Rgb([1, 2, 3]));
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("png");
    // IHDR's width and height follow the signature and the chunk's length
    // and type; its CRC is made again.
    png[16..20].copy_from_slice(&w.to_be_bytes());
    png[20..24].copy_from_slice(&h.to_be_bytes());
    let crc = crc32fast::hash(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

/// Avatars are made again like covers: the EXIF position of an upload is
/// not served, HTML behind PNG magic is refused, a 60000 x 60000 header is
/// refused at once, and pictures have a write limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avatars_are_made_again_and_never_served_as_uploaded() {
    let sys = TestSystem::start_with("trust_avatars", |c| {
        c.limits.pictures_per_hour_per_account = 4;
    })
    .await;
    let me = sys.user("pic_user").await;
    let put = |body: Vec<u8>, kind: &'static str| {
        sys.http
            .put(sys.url("/api/v1/me/avatar"))
            .bearer_auth(&me)
            .header("content-type", kind)
            .body(body)
            .send()
    };
    let photo = jpeg_with_exif("GPS 51.50740N 0.12780W");
    assert!(photo.windows(4).any(|w| w == b"Exif"));
    let resp = put(photo, "image/jpeg").await.expect("put");
    assert_eq!(resp.status(), 204, "{:?}", resp.text().await);
    let (status, _) = call(
        &sys,
        Method::PUT,
        "/api/v1/me/profile",
        Some(&me),
        Some(json!({"visibility": {"avatar": "public"}})),
    )
    .await;
    assert_eq!(status, 200);
    for size in ["", "?size=100"] {
        let resp = sys
            .http
            .get(sys.url(&format!("/api/v1/users/pic_user/avatar{size}")))
            .send()
            .await
            .expect("avatar");
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "image/jpeg");
        let bytes = resp.bytes().await.expect("bytes");
        assert!(!bytes.windows(4).any(|w| w == b"Exif"), "EXIF served");
        assert!(
            !bytes.windows(8).any(|w| w == b"51.50740"),
            "the position served"
        );
        let img = image::load_from_memory(&bytes).expect("a JPEG");
        let side = if size.is_empty() { 300 } else { 100 };
        assert_eq!((img.width(), img.height()), (side, side));
    }
    // The upload itself is nowhere in storage.
    let stored: Vec<_> = walk(&sys.bucket_dir());
    assert!(
        stored
            .iter()
            .all(|(_, b)| !b.windows(8).any(|w| w == b"51.50740")),
        "the upload was kept"
    );

    // HTML behind PNG magic, and a bomb's header, are refused quickly.
    let mut fake = b"\x89PNG\r\n\x1a\n".to_vec();
    fake.extend_from_slice(b"<html><script>alert(document.cookie)</script></html>");
    let (status, v) = json_of(put(fake, "image/png").await.expect("put")).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (415, Some("unsupported_image")),
        "{v}"
    );
    let started = Instant::now();
    let (status, v) = json_of(
        put(png_header(60_000, 60_000), "image/png")
            .await
            .expect("put"),
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(status, 415, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("60000 x 60000"),
        "{v}"
    );
    // The fourth and fifth pictures of the hour: the limit.
    let (status, _) = json_of(put(jpeg_with_exif("x"), "image/jpeg").await.expect("put")).await;
    assert_eq!(status, 204);
    let resp = put(jpeg_with_exif("y"), "image/jpeg").await.expect("put");
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    sys.stop().await;
}

/// Every file under `dir`, with its bytes.
fn walk(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else if let Ok(b) = std::fs::read(&p) {
                out.push((p, b));
            }
        }
    }
    out
}

/// Sign-up and email change answer the same for an address in use as for
/// a new one, and an unconfirmed sign-up cannot be told from no account;
/// the address's owner is told instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_answer_says_whether_an_address_has_an_account() {
    let system = TestSystem::start("trust_oracle").await;
    let sys = &system;
    let owner = sys.user("oracle_owner").await;
    let sign_up = |username: &str, email: &str| {
        let body = json!({"email": email, "username": username,
            "password": "correct horse battery", "birth_date": "1990-01-01", "terms": terms()});
        async move { call(sys, Method::POST, "/api/v1/accounts", None, Some(body)).await }
    };
    let (taken_status, taken) = sign_up("oracle_second", "ORACLE_OWNER@example.org").await;
    let (new_status, fresh) = sign_up("oracle_third", "oracle_third@example.org").await;
    assert_eq!((taken_status, new_status), (202, 202));
    let shape = |v: &Value| {
        let mut keys: Vec<String> = v
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort();
        (keys, v["message"].clone())
    };
    assert_eq!(shape(&taken), shape(&fresh), "{taken} / {fresh}");
    // The owner hears of it; the other address gets its link.
    let kinds = |to: &str| {
        let to = to.to_owned();
        async move {
            sys.pg_strings(&format!(
                "SELECT kind FROM email_outbox WHERE lower(to_address) = lower('{to}') ORDER BY created_at"
            ))
            .await
        }
    };
    assert_eq!(
        kinds("oracle_owner@example.org")
            .await
            .last()
            .map(String::as_str),
        Some("signup_with_taken_address")
    );
    assert_eq!(
        kinds("oracle_third@example.org").await,
        vec!["verify_email".to_string()]
    );
    // A username is public: taken still says so (an unconfirmed sign-up's
    // too, for the 24 hours it holds it).
    let (status, v) = sign_up("oracle_owner", "someone@example.org").await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (409, Some("username_taken"))
    );
    let (status, _) = sign_up("oracle_third", "someone@example.org").await;
    assert_eq!(status, 409);

    // The unconfirmed account and a missing one answer alike: sign-in,
    // the public profile, its lists.
    let sign_in = |login: &str| {
        let body = json!({"login": login, "password": "correct horse battery"});
        async move { call(sys, Method::POST, "/api/v1/sessions", None, Some(body)).await }
    };
    let pending = sign_in("oracle_third").await;
    let missing = sign_in("oracle_nobody").await;
    assert_eq!(pending.0, 401);
    assert_eq!(pending, missing);
    for path in [
        "/api/v1/users/{}",
        "/api/v1/users/{}/cloudcasts",
        "/api/v1/users/{}/avatar",
    ] {
        let a = call(
            sys,
            Method::GET,
            &path.replace("{}", "oracle_third"),
            None,
            None,
        )
        .await;
        let b = call(
            sys,
            Method::GET,
            &path.replace("{}", "oracle_nobody"),
            None,
            None,
        )
        .await;
        assert_eq!(a.0, 404, "{path}");
        assert_eq!(a, b, "{path}");
    }
    let (_, found) = call(
        sys,
        Method::GET,
        "/api/v1/search?q=oracle&type=user",
        None,
        None,
    )
    .await;
    let names: Vec<&str> = found["users"]
        .as_array()
        .map(|u| u.iter().filter_map(|x| x["username"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, vec!["oracle_owner"], "{found}");

    // The link makes it an account in use, signed in.
    let token = sys.confirm_from_mail("oracle_third@example.org").await;
    assert_eq!(sys.me(&token).await["username"], "oracle_third");
    assert_eq!(sign_in("oracle_third").await.0, 200);

    // Email change: an address in use answers as a free one does.
    let change = |email: &str| {
        let body = json!({"password": "correct horse battery", "email": email});
        let owner = owner.clone();
        async move {
            call(
                sys,
                Method::PUT,
                "/api/v1/me/email",
                Some(&owner),
                Some(body),
            )
            .await
        }
    };
    let (s1, to_taken) = change("oracle_third@example.org").await;
    let (s2, to_free) = change("oracle_free@example.org").await;
    assert_eq!((s1, s2), (202, 202));
    assert_eq!(shape(&to_taken).0, shape(&to_free).0);
    assert_eq!(
        kinds("oracle_third@example.org")
            .await
            .last()
            .map(String::as_str),
        Some("email_change_to_taken_address")
    );
    assert_eq!(
        kinds("oracle_free@example.org").await,
        vec!["confirm_email_change".to_string()]
    );

    // A sign-up not confirmed within its hold is deleted: its name is free.
    let (status, _) = sign_up("oracle_late", "late@example.org").await;
    assert_eq!(status, 202);
    let link = sys
        .mailed_link("late@example.org", "/verify-email?token=")
        .await;
    let token = link.split("token=").nth(1).unwrap_or_default().to_string();
    sys.pg_exec("UPDATE users SET pending_until = now() - interval '1 second' WHERE username = 'oracle_late'")
        .await;
    let (status, _) = sign_up("oracle_late", "other_late@example.org").await;
    assert_eq!(status, 202, "the name was held for 24 hours only");
    assert!(
        sys.pg_strings("SELECT to_address FROM email_outbox WHERE to_address = 'late@example.org'")
            .await
            .is_empty(),
        "nothing of the unconfirmed sign-up is kept"
    );
    // And its link no longer works.
    let (status, _) = call(
        sys,
        Method::POST,
        "/api/v1/accounts/confirm",
        None,
        Some(json!({"token": token})),
    )
    .await;
    assert_eq!(status, 422);
    system.stop().await;
}

/// Writes that a browser authenticates with the session cookie must come
/// from this site's pages; tokens and keys are not affected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_writes_from_another_site_are_refused() {
    let sys = TestSystem::start("trust_csrf").await;
    let token = sys.user("csrf_user").await;
    let cookie = format!("cc_session={token}");
    let base = sys.base.clone();
    let write = |origin: Option<&str>| {
        let mut req = sys
            .http
            .put(sys.url("/api/v1/me/profile"))
            .header("cookie", &cookie)
            .json(&json!({"city": "Leeds"}));
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send()
    };
    for origin in [Some("https://evil.example"), Some("null"), None] {
        let (status, v) = json_of(write(origin).await.expect("put")).await;
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (403, Some("cross_site_request")),
            "{origin:?}: {v}"
        );
    }
    let resp = sys
        .http
        .delete(sys.url("/api/v1/me"))
        .header("cookie", &cookie)
        .header("origin", "https://evil.example")
        .json(&json!({"password": "correct horse battery"}))
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), 403, "the account stays");
    assert_eq!(sys.me(&token).await["username"], "csrf_user");
    // This site's own pages, and the fetch metadata a browser sends.
    assert_eq!(write(Some(&base)).await.expect("put").status(), 200);
    let resp = sys
        .http
        .put(sys.url("/api/v1/me/profile"))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "same-origin")
        .json(&json!({"city": "York"}))
        .send()
        .await
        .expect("put");
    assert_eq!(resp.status(), 200);
    // A bearer token is not sent by a browser on its own: not affected.
    let resp = sys
        .http
        .put(sys.url("/api/v1/me/profile"))
        .bearer_auth(&token)
        .header("origin", "https://evil.example")
        .json(&json!({"city": "Hull"}))
        .send()
        .await
        .expect("put");
    assert_eq!(resp.status(), 200);
    sys.stop().await;
}

/// The headers every answer carries: a script policy on pages, `nosniff`
/// and a referrer policy everywhere, `no-store` on private answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_json_and_private_answers_carry_their_headers() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sys = TestSystem::start_with("trust_headers", |c| c.http.web_dir = root.join("web")).await;
    let token = sys.user("head_user").await;
    let get = |path: &str, token: Option<&str>| {
        let mut req = sys.http.get(sys.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    let page = get("/", None).await.expect("page");
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    for part in [
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'self'",
    ] {
        assert!(csp.contains(part), "{part} in {csp}");
    }
    let html = page.text().await.expect("html");
    assert!(!html.contains("<script>"), "an inline script");
    for (path, who) in [
        ("/", None),
        ("/api/v1/tags", None),
        ("/api/v1/me", Some(token.as_str())),
    ] {
        let resp = get(path, who).await.expect("get");
        let h = resp.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(
            h["referrer-policy"], "strict-origin-when-cross-origin",
            "{path}"
        );
    }
    for path in [
        "/api/v1/me",
        "/api/v1/me/profile",
        "/api/v1/me/consents",
        "/api/v1/me/history",
        "/",
    ] {
        let resp = get(path, Some(&token)).await.expect("get");
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        assert_eq!(resp.headers()["cache-control"], "no-store", "{path}");
    }
    let public = get("/api/v1/tags", None).await.expect("get");
    assert_ne!(
        public
            .headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap_or_default()),
        Some("no-store"),
        "a public answer is not private"
    );
    let embed_csp = {
        let dj = sys.user("head_dj").await;
        let cc = sys.ready_cloudcast(&dj, 3, "Header Mix").await;
        let id = cc["id"].as_str().expect("id").to_string();
        let resp = get(&format!("/embed/{id}"), None).await.expect("embed");
        resp.headers()["content-security-policy"]
            .to_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert!(embed_csp.contains("frame-ancestors *") && embed_csp.contains("script-src 'self'"));
    sys.stop().await;
}

/// An anonymous reader's page may be kept by a CDN or nginx for a few
/// seconds and served stale while it asks again, with a tag that follows
/// the page's bytes and a 304 for a reader who has them; a signed-in
/// reader's page never is, however it is signed in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_pages_are_cacheable_and_signed_in_pages_never() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sys =
        TestSystem::start_with("trust_page_cache", |c| c.http.web_dir = root.join("web")).await;
    let dj = sys.user("cache_dj").await;
    let get = |path: &str, headers: &[(&str, &str)]| {
        let mut req = sys.http.get(sys.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send()
    };
    let etag_of = |r: &reqwest::Response| {
        r.headers()
            .get("etag")
            .map(|v| v.to_str().unwrap_or_default().to_owned())
    };
    let home = get("/", &[]).await.expect("home");
    assert_eq!(home.status(), 200);
    assert_eq!(
        home.headers()["cache-control"],
        "public, max-age=10, stale-while-revalidate=60"
    );
    let vary: Vec<_> = home.headers().get_all("vary").iter().collect();
    assert!(
        vary.iter()
            .any(|v| v.to_str().unwrap_or_default().contains("cookie")),
        "{vary:?}"
    );
    let tag = etag_of(&home).expect("an anonymous page has a tag");
    assert!(tag.starts_with("W/\""), "{tag}");
    let again = get("/", &[("if-none-match", &tag)]).await.expect("again");
    assert_eq!(again.status(), 304);
    assert_eq!(etag_of(&again).as_deref(), Some(tag.as_str()));
    assert!(again.bytes().await.expect("body").is_empty());
    // The same bytes, the same tag (any node computes it alike).
    let same = get("/", &[]).await.expect("same");
    assert_eq!(etag_of(&same).as_deref(), Some(tag.as_str()));
    // A new mix on the home page is a new page: the old tag no longer matches.
    let mix = sys.ready_cloudcast(&dj, 3, "Cache Mix").await;
    let changed = get("/", &[("if-none-match", &tag)]).await.expect("changed");
    assert_eq!(changed.status(), 200);
    assert_ne!(etag_of(&changed).as_deref(), Some(tag.as_str()));
    assert!(changed.text().await.expect("html").contains("Cache Mix"));
    // A profile is cacheable too; a page that is not found is not.
    let profile = get("/cache_dj", &[]).await.expect("profile");
    assert!(
        profile.headers()["cache-control"]
            .to_str()
            .unwrap_or_default()
            .starts_with("public")
    );
    // A mix page and its embed carry a waveform URL signed for their
    // visitor; a page whose URL holds a token is its holder's: neither is
    // ever shared.
    let mix_url = mix["url"].as_str().expect("url").to_string();
    let mix_id = mix["id"].as_str().expect("id").to_string();
    for path in [
        mix_url.as_str(),
        &format!("/embed/{mix_id}"),
        "/reset-password?token=abc",
    ] {
        let resp = get(path, &[]).await.expect("page");
        assert_eq!(resp.status(), 200, "{path}");
        assert!(etag_of(&resp).is_none(), "{path}");
        let cc = resp.headers().get("cache-control");
        assert!(
            !cc.is_some_and(|v| v.to_str().unwrap_or_default().contains("public")),
            "{path}: {cc:?}"
        );
    }
    let missing = get("/nobody_here_at_all", &[]).await.expect("missing");
    assert_eq!(missing.status(), 404);
    assert!(etag_of(&missing).is_none());
    let kept = missing.headers().get("cache-control");
    assert!(
        !kept.is_some_and(|v| v.to_str().unwrap_or_default().contains("public")),
        "{kept:?}"
    );
    // Signed in, by cookie or by token: never cached, never tagged, and
    // the anonymous tag gets the whole page.
    let cookie = format!("cc_session={dj}");
    let bearer = format!("Bearer {dj}");
    for signed in [
        ("cookie", cookie.as_str()),
        ("authorization", bearer.as_str()),
    ] {
        let resp = get("/", &[signed, ("if-none-match", &tag)])
            .await
            .expect("signed in");
        assert_eq!(resp.status(), 200, "{}", signed.0);
        assert_eq!(resp.headers()["cache-control"], "no-store", "{}", signed.0);
        assert!(etag_of(&resp).is_none(), "{}", signed.0);
    }
    sys.stop().await;
}

/// A tag page for a tag with a space answers as the API does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_with_spaces_have_their_page() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sys = TestSystem::start_with("trust_tags", |c| c.http.web_dir = root.join("web")).await;
    let dj = sys.user("tag_dj").await;
    let cc = sys.ready_cloudcast(&dj, 3, "Spaced Out").await;
    let id = cc["id"].as_str().expect("id");
    let (status, v) = call(
        &sys,
        Method::PATCH,
        &format!("/api/v1/cloudcasts/{id}"),
        Some(&dj),
        Some(json!({"tags": ["deep house"]})),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let tag = v["tags"][0].as_str().expect("a tag").to_owned();
    let api = sys
        .http
        .get(sys.url(&format!(
            "/api/v1/tags/{}/cloudcasts",
            tag.replace(' ', "%20")
        )))
        .send()
        .await
        .expect("api");
    assert_eq!(api.status(), 200);
    let page = sys
        .http
        .get(sys.url(&format!("/tags/{}", tag.replace(' ', "%20"))))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("html").contains("Spaced Out"));
    sys.stop().await;
}
