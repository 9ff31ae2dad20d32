//! The web product end to end: the journeys of a DJ and a listener in
//! headless Chromium (`web/tests/journeys.mjs`) on the real system, with
//! the stores checked in between; and what machines read from the pages
//! (OpenGraph and Twitter tags, oEmbed, redirects, error pages) from the raw
//! HTML.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{TestSystem, ch_u64, json_of, make_mp3, run_page, terms};

fn journey(name: &str, args: &[&str]) -> Vec<String> {
    std::iter::once(name.to_string())
        .chain(args.iter().map(|a| a.to_string()))
        .collect()
}

/// The first mail in the sink that holds `needle`, with quoted-printable undone.
async fn mail_with(mails: &std::sync::Arc<std::sync::Mutex<Vec<String>>>, needle: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let found = mails.lock().ok().and_then(|m| {
            m.iter()
                .map(|m| {
                    m.replace("=\r\n", "")
                        .replace("=\n", "")
                        .replace("=3D", "=")
                })
                .find(|m| m.contains(needle))
        });
        if let Some(m) = found {
            return m;
        }
        assert!(tokio::time::Instant::now() < deadline, "a mail to {needle}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Serves one HTML page on `localhost` (another origin, and another site,
/// than the system on 127.0.0.1): a blog embedding the player.
async fn embedding_site(html: String) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let app = axum::Router::new().route(
        "/blog.html",
        axum::routing::get(move || {
            let html = html.clone();
            async move { axum::response::Html(html) }
        }),
    );
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://localhost:{port}/blog.html"), task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dj_and_a_listener_do_everything_in_a_browser() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let (sys, mails) = TestSystem::start_with_smtp_and("web_site", |c| {
        c.http.web_dir = root.join("web");
        c.smtp.mailbox_page = true;
        c.transcode.ladder_kbps = vec![64];
        // A short test mix: a few seconds of listening make a play.
        c.analytics.play_min_seconds = 3;
    })
    .await;
    let base = sys.base.clone();
    let password = "a long pass phrase";

    // An under-13 is told plainly, and nothing of them is stored.
    let kid = run_page(
        "journeys.mjs",
        journey(
            "signup",
            &[
                &base,
                "young_one",
                "young@example.org",
                password,
                "2019-03-04",
            ],
        ),
        &[],
    )
    .await;
    assert_eq!(kid["created"], false, "{kid}");
    assert!(
        kid["message"]
            .as_str()
            .unwrap_or("")
            .contains("13 or older"),
        "{kid}"
    );
    assert!(
        sys.pg_strings(
            "SELECT username FROM users WHERE username = 'young_one' OR email = 'young@example.org'"
        )
        .await
        .is_empty(),
        "no account"
    );
    assert!(
        sys.pg_strings(
            "SELECT to_address FROM email_outbox WHERE to_address = 'young@example.org'"
        )
        .await
        .is_empty(),
        "no mail"
    );

    // A teenager is registered and sees the parental advice.
    let teen = run_page(
        "journeys.mjs",
        journey(
            "signup",
            &[&base, "teen_dj", "teen@example.org", password, "2011-06-01"],
        ),
        &[],
    )
    .await;
    assert_eq!(teen["signedUp"], "minor", "{teen}");
    assert!(
        teen["done"]
            .as_str()
            .unwrap_or("")
            .contains("parent or legal guardian"),
        "{teen}"
    );

    // The DJ signs up, verifies from the mail, uploads from the page,
    // watches it process, edits it and plays it.
    let dj = run_page(
        "journeys.mjs",
        journey(
            "signup",
            &[&base, "dawn_dj", "dawn@example.org", password, "1988-02-03"],
        ),
        &[],
    )
    .await;
    assert_eq!(dj["signedUp"], "adult", "{dj}");
    let mail = mail_with(&mails, "To: dawn@example.org").await;
    let link = mail
        .split_whitespace()
        .find(|w| w.contains("/verify-email?token="))
        .expect("a verification link")
        .to_string();
    assert!(link.starts_with(&base), "{link}");
    // The account cannot be used before the link: signing in answers as a
    // wrong password does.
    let (status, v) = json_of(
        sys.http
            .post(sys.url("/api/v1/sessions"))
            .json(&json!({"login": "dawn_dj", "password": password}))
            .send()
            .await
            .expect("sign in"),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (401, Some("invalid_credentials"))
    );
    let mix = make_mp3(sys.dir.path(), 40);
    let mix = mix.to_string_lossy().to_string();
    // The DJ opens the link from this machine's mailbox page: it confirms
    // the address and signs them in.
    let made = run_page(
        "journeys.mjs",
        journey(
            "dj",
            &[&base, "mailbox:dawn@example.org", "dawn_dj", password, &mix],
        ),
        &[("TIMEOUT_MS", "120000")],
    )
    .await;
    let id = made["id"].as_str().expect("cloudcast id").to_string();
    assert_eq!(made["title"], "First Light Session", "{made}");
    assert_eq!(made["url"], "/dawn_dj/first-light-session", "{made}");
    assert_eq!(made["tracks"], 2, "{made}");
    let progress: Vec<&str> = made["progress"]
        .as_array()
        .expect("progress")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(progress.iter().any(|p| p.contains("ready")), "{made}");
    // Uploaded as a draft with its details typed during the upload: its
    // DJ's alone until published.
    assert!(
        made["draftStatus"]
            .as_str()
            .is_some_and(|s| s.starts_with("ready") && s.contains("draft")),
        "{made}"
    );
    assert_eq!(
        made["draftPage"],
        json!({"before": 404, "after": 200}),
        "{made}"
    );
    assert_eq!(
        sys.pg_strings(
            "SELECT (email_verified_at IS NOT NULL)::text FROM users WHERE username = 'dawn_dj'"
        )
        .await,
        vec!["true".to_string()]
    );
    let cc = sys.cloudcast(&id).await;
    assert_eq!(cc["tags"], json!(["deep-house", "sunrise"]), "{cc}");
    assert_eq!(cc["description"], "Recorded at dawn.");

    // A listener finds it by search, follows, favourites, reposts,
    // comments, and plays it while browsing the site.
    sys.user("night_owl").await;
    let heard = run_page(
        "journeys.mjs",
        journey(
            "listener",
            &[&base, "night_owl", "correct horse battery", "first light"],
        ),
        &[],
    )
    .await;
    assert_eq!(heard["path"], "/dawn_dj/first-light-session", "{heard}");
    assert_eq!(heard["backPath"], heard["path"], "the back button: {heard}");
    assert_eq!(
        heard["sameAudio"], true,
        "the player survived navigation: {heard}"
    );
    assert_eq!(heard["playedOn"], true, "{heard}");
    assert_eq!(
        heard["fullLoads"], 1,
        "in-site links swap the page: {heard}"
    );
    // Search results, the cloudcast, the profile, back, the tag page: each
    // swapped in place (the first page is the one full load).
    assert!(
        heard["navigations"].as_u64().unwrap_or(0) >= 4,
        "pages swapped in place: {heard}"
    );
    assert!(
        heard["suggestions"][0]
            .as_str()
            .unwrap_or("")
            .contains("First Light Session"),
        "{heard}"
    );
    for (table, column) in [
        ("follows", "follower_id"),
        ("favourites", "user_id"),
        ("reposts", "user_id"),
    ] {
        let n = sys
            .pg_strings(&format!(
                "SELECT count(*)::text FROM {table} t JOIN users u ON u.id = t.{column}
                  WHERE u.username = 'night_owl'"
            ))
            .await;
        assert_eq!(n, vec!["1".to_string()], "{table}");
    }
    assert_eq!(
        sys.pg_strings("SELECT body FROM comments").await,
        vec!["What a sunrise. Track two!".to_string()]
    );
    assert_eq!(heard["tagPage"]["path"], "/tags/deep-house", "{heard}");
    assert_eq!(
        heard["tagPage"]["titles"],
        json!(["First Light Session"]),
        "{heard}"
    );
    assert_eq!(heard["stillPlaying"], true, "{heard}");

    // An abusive comment is held; an administrator approves it from the queue.
    let owl = sys.user("rude_owl").await;
    let (status, held) = json_of(
        sys.http
            .post(sys.url(&format!("/api/v1/cloudcasts/{id}/comments")))
            .bearer_auth(&owl)
            .json(&json!({"body": "this mix is shit, you fucking idiot"}))
            .send()
            .await
            .expect("comment"),
    )
    .await;
    assert_eq!(
        (status, held["status"].as_str()),
        (202, Some("held")),
        "held for a moderator: {held}"
    );
    sys.make_admin("night_owl").await;
    let moderated = run_page(
        "journeys.mjs",
        journey("moderate", &[&base, "night_owl", "correct horse battery"]),
        &[],
    )
    .await;
    assert!(
        moderated["held"][0]
            .as_str()
            .unwrap_or("")
            .contains("rude_owl"),
        "{moderated}"
    );
    assert_eq!(
        sys.pg_strings(&format!(
            "SELECT status FROM comments WHERE id = '{}'",
            held["id"].as_str().expect("id")
        ))
        .await,
        vec!["visible".to_string()]
    );

    // A forgotten password, reset from the sign-in page through the mail.
    let asked = run_page(
        "journeys.mjs",
        journey("reset-request", &[&base, "dawn_dj"]),
        &[],
    )
    .await;
    assert!(
        asked["message"]
            .as_str()
            .unwrap_or("")
            .contains("on its way"),
        "{asked}"
    );
    let mail = mail_with(&mails, "/reset-password?token=").await;
    let link = mail
        .split_whitespace()
        .find(|w| w.contains("/reset-password?token="))
        .expect("a reset link")
        .to_string();
    let password = "a brand new pass phrase";
    let reset = run_page(
        "journeys.mjs",
        journey("reset", &[&base, &link, "dawn_dj", password]),
        &[],
    )
    .await;
    assert!(
        reset["message"].as_str().unwrap_or("").contains("changed"),
        "{reset}"
    );

    // The embed player on another site plays, and that site is the referrer.
    let (outer, server) = embedding_site(format!(
        "<!doctype html><html><head><title>A blog</title></head><body><h1>My blog</h1>\
         <iframe src=\"{base}/embed/{id}\" width=\"480\" height=\"120\" allow=\"autoplay\"></iframe>\
         <script>window.events=[];addEventListener('message',function(e){{\
         if(e.data&&e.data.source==='cloudcast')window.events.push(e.data)}})</script></body></html>"
    ))
    .await;
    let embedded = run_page("journeys.mjs", journey("embed", &[&outer]), &[]).await;
    // A second visit to the blog: another embed session.
    let again = run_page("journeys.mjs", journey("embed", &[&outer]), &[]).await;
    // A signed-in visitor's embed draws its waveform too, framed or not.
    let signed = run_page(
        "journeys.mjs",
        journey(
            "embed-signed-in",
            &[&base, "night_owl", "correct horse battery", &outer],
        ),
        &[],
    )
    .await;
    assert_eq!(signed, json!({"framed": 200, "own": 200}), "{signed}");
    server.abort();
    assert!(again["beatsAcked"].as_u64().unwrap_or(0) >= 3, "{again}");
    assert!(
        embedded["beatsAcked"].as_u64().unwrap_or(0) >= 3,
        "{embedded}"
    );
    let position = embedded["position"].as_f64().unwrap_or(0.0);
    assert!(
        position >= embedded["duration"].as_f64().unwrap_or(f64::MAX) - 1.0,
        "sought to the end and played it: {embedded}"
    );
    for event in [
        "ready", "play", "progress", "pause", "duration", "ended", "position",
    ] {
        assert!(
            embedded["events"]
                .as_array()
                .is_some_and(|e| e.contains(&json!(event))),
            "{event}: {embedded}"
        );
    }
    assert!(
        (embedded["duration"].as_f64().unwrap_or(0.0) - 40.0).abs() < 1.0,
        "{embedded}"
    );

    // Every acknowledged beat reaches ClickHouse; the embed's carry its site.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let rows = sys
            .clickhouse_rows(&format!(
                "SELECT count() AS n FROM heartbeats WHERE cloudcast_id = '{id}' AND referrer_domain = 'localhost'"
            ))
            .await;
        if rows.first().map(|r| ch_u64(&r["n"])).unwrap_or(0) >= 6 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the embed's beats in ClickHouse"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Inside another site no cookie of ours is sent: the embed's listener is
    // the client itself (its address and user agent under the day's key),
    // one listener however many sessions it plays.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let rows = sys
            .clickhouse_rows(&format!(
                "SELECT uniqExact(listener_id) AS listeners, uniqExact(session_id) AS sessions, \
                 countIf(user_id != '') AS signed_in FROM heartbeats \
                 WHERE cloudcast_id = '{id}' AND referrer_domain = 'localhost'"
            ))
            .await;
        let r = rows.first().cloned().unwrap_or_default();
        let (listeners, sessions) = (ch_u64(&r["listeners"]), ch_u64(&r["sessions"]));
        if sessions == 2 {
            assert_eq!(listeners, 1, "one browser, one listener: {r}");
            assert_eq!(ch_u64(&r["signed_in"]), 0, "{r}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "both embed sessions' beats: {r}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // The DJ sees the plays and the embedding site on the statistics page.
    let seen = run_page(
        "journeys.mjs",
        journey(
            "stats",
            &[
                &base,
                "dawn_dj",
                password,
                "/dawn_dj/first-light-session/stats",
            ],
        ),
        &[],
    )
    .await;
    assert!(
        seen["plays"].as_u64().unwrap_or(0) >= 2,
        "the DJ's, the listener's and the embed's: {seen}"
    );
    assert!(seen["listeners"].as_u64().unwrap_or(0) >= 2, "{seen}");
    assert!(
        seen["referrers"]
            .as_array()
            .is_some_and(|r| r.contains(&json!("localhost"))),
        "{seen}"
    );
    assert_eq!(seen["trackRows"], 2, "each track's listeners: {seen}");
    let axes = seen["axes"].as_array().cloned().unwrap_or_default();
    assert_eq!(axes.len(), 6, "{seen}");
    assert!(
        axes[0]
            .as_str()
            .is_some_and(|a| a.ends_with("listeners") || a.ends_with("listener")),
        "{seen}"
    );
    assert_eq!(axes[1], "0:00", "{seen}");
    // Who reached each track (00:00 and 00:20) and who left during it, as
    // the raw beats in ClickHouse tell it.
    let heard_from = |ms: u64| {
        let sql = format!(
            "SELECT uniqExact(listener_id) AS n FROM heartbeats WHERE cloudcast_id = '{id}' \
             AND is_bot = 0 AND intDiv(position_ms, 10000) = {}",
            ms / 10_000
        );
        let sys = &sys;
        async move {
            sys.clickhouse_rows(&sql)
                .await
                .first()
                .map(|r| ch_u64(&r["n"]))
                .unwrap_or(0)
        }
    };
    let end_ms = sys.cloudcast(&id).await["duration_ms"]
        .as_u64()
        .expect("duration")
        .saturating_sub(1);
    let (first, second) = (heard_from(0).await, heard_from(20_000).await);
    assert!(first >= 2, "{first} listeners heard the start");
    assert_eq!(
        seen["tracks"],
        json!([
            [first, first - second],
            [second, second.saturating_sub(heard_from(end_ms).await)]
        ]),
        "{seen}"
    );
    // The room read beside each track: counts of skips and replays, and
    // the loudness change where the second track starts (none before the first).
    let room = seen["roomRead"].as_array().cloned().unwrap_or_default();
    assert_eq!(room.len(), 2, "{seen}");
    assert_eq!(room[0][2], "", "{seen}");
    for row in &room {
        assert!(
            row[0].as_str().is_some_and(|n| n.parse::<u64>().is_ok()),
            "{seen}"
        );
        assert!(
            row[1].as_str().is_some_and(|n| n.parse::<u64>().is_ok()),
            "{seen}"
        );
    }
    assert!(
        room[1][2].as_str().is_some_and(|t| t.ends_with(" LU")),
        "the series measured at transcode: {seen}"
    );
    // The rights report the page downloads: a row per track, the first
    // heard at least the first slice's 10 s by each of its listeners.
    let rights = seen["rights"].as_array().cloned().unwrap_or_default();
    assert_eq!(rights.len(), 3, "a header and two tracks: {seen}");
    let heard_first: u64 = rights[1]
        .as_str()
        .and_then(|l| l.rsplit_once(','))
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or(0);
    assert!(
        heard_first >= first * 10,
        "{heard_first} < {first} x 10: {seen}"
    );
    sys.stop().await;
}

/// `content` of the first `<meta property|name="{key}">` in raw HTML.
fn meta(html: &str, key: &str) -> Option<String> {
    for attr in ["property", "name"] {
        let needle = format!("<meta {attr}=\"{key}\" content=\"");
        if let Some(at) = html.find(&needle) {
            let rest = &html[at + needle.len()..];
            return rest.split('"').next().map(unescape);
        }
    }
    None
}

fn unescape(s: &str) -> String {
    s.replace("&#38;", "&")
        .replace("&amp;", "&")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&#60;", "<")
        .replace("&gt;", ">")
        .replace("&#62;", ">")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_unfurl_embed_redirect_and_fail_as_pages() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sys = TestSystem::start_with("web_pages", |c| c.http.web_dir = root.join("web")).await;
    let token = sys.user("Unfurl_DJ").await;
    let cc = sys.ready_cloudcast(&token, 4, "Harbour Lights").await;
    let id = cc["id"].as_str().expect("id").to_string();
    let (status, _) = json_of(
        sys.http
            .patch(sys.url(&format!("/api/v1/cloudcasts/{id}")))
            .bearer_auth(&token)
            .json(&json!({"description": "Ships & \"songs\" <live>\nfrom the quay."}))
            .send()
            .await
            .expect("patch"),
    )
    .await;
    assert_eq!(status, 200);
    // The client that asked for the stream URLs (its user agent), without
    // following redirects.
    let raw = reqwest::Client::builder()
        .user_agent(crate::support::BROWSER_UA)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");

    // Two waveforms: the overview, and the fine one peaks.js zooms with.
    let fine = raw
        .get(cc["peaks_fine_url"].as_str().expect("peaks_fine_url"))
        .send()
        .await
        .expect("fine waveform");
    assert_eq!(fine.status(), 200);
    let dat = fine.bytes().await.expect("bytes");
    let word = |i: usize| u32::from_le_bytes([dat[i], dat[i + 1], dat[i + 2], dat[i + 3]]);
    assert_eq!(
        (word(0), word(4), word(12), word(20)),
        (2, 1, 512, 1),
        "audiowaveform .dat v2, 8-bit, 512 samples a pixel, mono"
    );
    let expected = cc["duration_ms"].as_u64().expect("duration") * u64::from(word(8)) / 1000 / 512;
    assert!(
        u64::from(word(16)).abs_diff(expected) <= 2,
        "{} pixels for {expected}",
        word(16)
    );
    assert_eq!(dat.len() as u32, 24 + 2 * word(16));
    let overview: Value = raw
        .get(cc["peaks_url"].as_str().expect("peaks_url"))
        .send()
        .await
        .expect("overview")
        .json()
        .await
        .expect("json");
    assert_eq!(
        overview["samples_per_pixel"],
        word(8) / 10,
        "10 pixels a second"
    );

    // The cloudcast page: OpenGraph, Twitter's player card, oEmbed discovery.
    let page_url = sys.url("/Unfurl_DJ/harbour-lights");
    let resp = raw.get(&page_url).send().await.expect("page");
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap_or("")
            .starts_with("text/html")
    );
    assert!(
        resp.headers()[reqwest::header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap_or("")
            .ends_with("frame-ancestors 'self'"),
        "only the embed player may be framed elsewhere"
    );
    let html = resp.text().await.expect("html");
    assert_eq!(meta(&html, "og:title").as_deref(), Some("Harbour Lights"));
    assert_eq!(meta(&html, "og:type").as_deref(), Some("music.song"));
    assert_eq!(meta(&html, "og:url").as_deref(), Some(page_url.as_str()));
    assert_eq!(
        meta(&html, "og:description").as_deref(),
        Some("Ships & \"songs\" <live> from the quay.")
    );
    let image = meta(&html, "og:image").expect("og:image");
    assert!(image.starts_with(&sys.base), "{image}");
    assert_eq!(raw.get(&image).send().await.expect("image").status(), 200);
    assert_eq!(meta(&html, "twitter:card").as_deref(), Some("player"));
    let player = meta(&html, "twitter:player").expect("twitter:player");
    assert_eq!(player, sys.url(&format!("/embed/{id}")));
    assert!(!html.contains("<live>"), "escaped in the page");
    let discovery = "<link rel=\"alternate\" type=\"application/json+oembed\" href=\"";
    let at = html.find(discovery).expect("oEmbed discovery link") + discovery.len();
    let oembed_url = unescape(html[at..].split('"').next().expect("href"));
    let (status, o) = json_of(raw.get(&oembed_url).send().await.expect("oembed")).await;
    assert_eq!(status, 200, "{o}");
    assert_eq!(o["type"], "rich");
    assert_eq!(o["version"], "1.0");
    assert_eq!(o["title"], "Harbour Lights");
    assert_eq!(o["author_name"], "Unfurl_DJ");
    assert_eq!(o["author_url"], sys.url("/Unfurl_DJ"));
    let iframe = o["html"].as_str().expect("html");
    assert!(iframe.contains(&format!("src=\"{}\"", player)), "{iframe}");
    assert_eq!(
        (o["width"].as_u64(), o["height"].as_u64()),
        (Some(480), Some(120))
    );
    let (_, small) = json_of(
        raw.get(format!("{oembed_url}&maxwidth=300&maxheight=80"))
            .send()
            .await
            .expect("oembed small"),
    )
    .await;
    assert_eq!(
        (small["width"].as_u64(), small["height"].as_u64()),
        (Some(300), Some(80))
    );
    assert!(
        small["html"]
            .as_str()
            .unwrap_or("")
            .contains("width=\"300\" height=\"80\"")
    );
    for (query, want) in [
        (format!("url={}&format=xml", page_url), 501),
        (
            "url=https%3A%2F%2Felsewhere.example%2Fa%2Fb".to_string(),
            404,
        ),
        ("url=not%20a%20url".to_string(), 400),
        (format!("url={}", sys.url("/Unfurl_DJ/no-such-mix")), 404),
    ] {
        let resp = raw
            .get(sys.url(&format!("/oembed?{query}")))
            .send()
            .await
            .expect("oembed");
        assert_eq!(resp.status(), want, "{query}");
        let (_, body) = json_of(resp).await;
        assert!(
            body["error"]["code"].is_string(),
            "JSON error for {query}: {body}"
        );
    }

    // The embed page may be framed by anyone.
    let resp = raw.get(&player).send().await.expect("embed");
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()[reqwest::header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap_or("")
            .ends_with("frame-ancestors *")
    );

    // The profile unfurls too.
    let html = raw
        .get(sys.url("/Unfurl_DJ"))
        .send()
        .await
        .expect("profile")
        .text()
        .await
        .expect("html");
    assert_eq!(meta(&html, "og:type").as_deref(), Some("profile"));
    assert!(
        html.contains("Harbour Lights"),
        "the profile lists the cloudcast"
    );

    // Older and other spellings of an address: 301 to the one address.
    for (from, to) in [
        (
            format!("/listen/{id}"),
            "/Unfurl_DJ/harbour-lights".to_string(),
        ),
        ("/unfurl_dj".to_string(), "/Unfurl_DJ".to_string()),
        (
            "/UNFURL_DJ/harbour-lights".to_string(),
            "/Unfurl_DJ/harbour-lights".to_string(),
        ),
    ] {
        let resp = raw.get(sys.url(&from)).send().await.expect("redirect");
        assert_eq!(resp.status(), 301, "{from}");
        assert_eq!(
            resp.headers()[reqwest::header::LOCATION],
            to.as_str(),
            "{from}"
        );
    }

    // A private cloudcast is not there for anyone else, nor for oEmbed.
    let (status, _) = json_of(
        sys.http
            .patch(sys.url(&format!("/api/v1/cloudcasts/{id}")))
            .bearer_auth(&token)
            .json(&json!({"visibility": "private"}))
            .send()
            .await
            .expect("patch"),
    )
    .await;
    assert_eq!(status, 200);
    let resp = raw.get(&page_url).send().await.expect("private page");
    assert_eq!(resp.status(), 404);
    assert!(!resp.text().await.expect("html").contains("Harbour Lights"));
    let (status, _) = json_of(raw.get(&oembed_url).send().await.expect("oembed")).await;
    assert_eq!(status, 404);
    let resp = raw.get(&player).send().await.expect("embed");
    assert_eq!(resp.status(), 404);

    // Errors: a page for people, JSON for machines.
    let resp = raw
        .get(sys.url("/no_such_person"))
        .send()
        .await
        .expect("404");
    assert_eq!(resp.status(), 404);
    let page = resp.text().await.expect("html");
    assert!(
        page.starts_with("<!doctype html>") && page.contains("Not found"),
        "{page}"
    );
    for path in ["/api/v1/no-such-route", "/api/v1/cloudcasts/not-a-uuid"] {
        let resp = raw.get(sys.url(path)).send().await.expect("api 4xx");
        assert!(resp.status().is_client_error(), "{path}");
        let (_, body) = json_of(resp).await;
        assert!(body["error"]["code"].is_string(), "{path}: {body}");
    }
    let resp = raw.post(sys.url("/upload")).send().await.expect("405");
    assert_eq!(resp.status(), 405);
    assert!(
        resp.text().await.expect("html").contains("<html"),
        "405 as a page"
    );
    let resp = raw
        .get(sys.url("/verify-email?token=nonsense"))
        .send()
        .await
        .expect("bad token");
    assert!(resp.status().is_client_error());
    assert!(resp.text().await.expect("html").contains("<html"));
    sys.stop().await;
}

/// Every field a page can post is labelled and every button named: the
/// raw HTML of the public pages, checked without a browser.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_control_on_the_pages_is_named() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sys = TestSystem::start_with("web_named", |c| c.http.web_dir = root.join("web")).await;
    let token = sys.user("named_dj").await;
    let cc: Value = sys.ready_cloudcast(&token, 3, "Named Things").await;
    let url = cc["url"].as_str().expect("url").to_string();
    let stats = format!("{url}/stats");
    // As the DJ, so the signed-in pages show what they hold.
    let cookie = format!("cc_session={token}");
    for path in [
        "/",
        "/sign-up",
        "/sign-in",
        "/search?q=named",
        "/named_dj",
        url.as_str(),
        stats.as_str(),
        "/upload",
        "/settings",
        "/developers",
        "/dashboard",
        "/reset-password?token=x",
        "/contact",
        "/privacy",
        "/terms",
    ] {
        let resp = sys
            .http
            .get(sys.url(path))
            .header("cookie", &cookie)
            .send()
            .await
            .expect("page");
        assert_eq!(resp.status(), 200, "{path}");
        let html = resp.text().await.expect("html");
        for (i, chunk) in html.split("<button").skip(1).enumerate() {
            let tag = chunk.split('>').next().unwrap_or("");
            let text = chunk
                .split_once('>')
                .map(|(_, rest)| rest.split("</button>").next().unwrap_or(""))
                .unwrap_or("");
            assert!(
                tag.contains("aria-label=") || !text.trim().is_empty(),
                "{path}: button {i} has no name: <button{tag}>"
            );
        }
        for chunk in html
            .split("<input")
            .skip(1)
            .chain(html.split("<textarea").skip(1))
            .chain(html.split("<select").skip(1))
        {
            let tag = chunk.split('>').next().unwrap_or("");
            if tag.contains("type=\"hidden\"") {
                continue;
            }
            let id = tag
                .split("id=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .unwrap_or_else(|| panic!("{path}: a field without an id: {tag}"));
            assert!(
                html.contains(&format!("for=\"{id}\"")) || tag.contains("aria-label="),
                "{path}: field {id} has no label"
            );
        }
    }
    // At a phone's width in a real browser: no sideways scrolling, every
    // visible control named, and Tab moves through the controls.
    let paths = [
        "/",
        "/sign-up",
        "/sign-in",
        "/named_dj",
        url.as_str(),
        "/search?q=named",
        "/upload",
        "/settings",
        "/developers",
    ];
    let mut args = vec!["narrow".to_string(), sys.base.clone()];
    args.extend(paths.iter().map(|p| p.to_string()));
    let seen = run_page("journeys.mjs", args, &[("WIDTH", "375")]).await;
    for path in paths {
        let p = &seen[path];
        assert!(
            p["overflow"].as_i64().is_some_and(|o| o <= 0),
            "{path} is wider than 375 px: {p}"
        );
        assert_eq!(p["unnamed"], json!([]), "{path}: {p}");
        assert!(p["tabbed"].as_u64().unwrap_or(0) >= 5, "{path}: {p}");
    }
    sys.stop().await;
}

/// The `Set-Cookie` of a session, if the answer set one.
fn session_cookie(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("cc_session="))
        .map(|c| c.split(';').next().unwrap_or("").to_string())
}

/// The account forms work without scripts, posting to the server (never a
/// password in a URL, never from another site); and what must stay out of
/// pages does: a minor's listening and follower count, an unlisted
/// cloudcast without its secret, an erased account. Profiles share as
/// their newest cloudcast's player, and oEmbed follows a renamed one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_work_without_scripts_and_pages_keep_private_things_out() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sys = TestSystem::start_with("web_forms", |c| c.http.web_dir = root.join("web")).await;
    let raw = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let page = |path: &str| {
        let raw = raw.clone();
        let url = sys.url(path);
        async move {
            let resp = raw.get(&url).send().await.expect("page");
            let status = resp.status().as_u16();
            (status, resp.text().await.expect("html"))
        }
    };

    // Every form that holds a password is posted, never put in a URL.
    for path in [
        "/sign-in",
        "/sign-up",
        "/reset-password?token=x",
        "/upload",
        "/settings",
    ] {
        let (status, html) = page(path).await;
        assert_eq!(status, 200, "{path}");
        let forms: Vec<&str> = html.split("<form").skip(1).collect();
        assert!(!forms.is_empty(), "{path} has forms");
        for form in forms {
            let body = form.split("</form>").next().unwrap_or("");
            if body.contains("type=\"password\"") {
                let tag = body.split('>').next().unwrap_or("");
                assert!(tag.contains("method=\"post\""), "{path}: <form{tag}>");
            }
        }
    }

    // The password's rule is said before a password is refused, from the
    // configuration (the tests' is the default, 10).
    let (_, html) = page("/sign-up").await;
    assert!(
        html.contains("At least 10 characters."),
        "the rule up front"
    );
    assert!(html.contains("minlength=\"10\""));

    // Sign-up without scripts: an under-13 is told and nothing is kept,
    // not even in the form sent back.
    let signup = |username: &str, birth: &str| {
        raw.post(sys.url("/sign-up")).form(&[
            ("username", username.to_string()),
            ("email", format!("{username}@example.org")),
            ("password", "a long pass phrase".to_string()),
            ("birth_date", birth.to_string()),
            ("terms", terms()),
        ])
    };
    let resp = signup("small_one", "2019-01-02")
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 422);
    assert!(session_cookie(&resp).is_none());
    let html = resp.text().await.expect("html");
    assert!(html.contains("13 or older"), "{html}");
    assert!(!html.contains("small_one@example.org"), "nothing sent back");
    assert!(
        sys.pg_strings("SELECT username FROM users WHERE username = 'small_one'")
            .await
            .is_empty()
    );
    // An adult is asked to open the mailed link, which signs them in and
    // goes on to the page they came from.
    let resp = raw
        .post(sys.url("/sign-up"))
        .form(&[
            ("username", "plain_html"),
            ("email", "plain_html@example.org"),
            ("password", "a long pass phrase"),
            ("birth_date", "1990-01-02"),
            ("terms", &terms()),
            ("next", "/upload"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 202);
    assert!(session_cookie(&resp).is_none(), "not before the link");
    assert!(resp.text().await.expect("html").contains("Check your mail"));
    let link = sys
        .mailed_link("plain_html@example.org", "/verify-email?token=")
        .await;
    assert!(link.contains("next=%2Fupload"), "{link}");
    let resp = raw.get(&link).send().await.expect("link");
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()[reqwest::header::LOCATION], "/upload");
    assert!(session_cookie(&resp).is_some(), "signed in by the link");
    // A form posted from another site is refused (login CSRF).
    let resp = raw
        .post(sys.url("/sign-in"))
        .header("sec-fetch-site", "cross-site")
        .form(&[("login", "plain_html"), ("password", "a long pass phrase")])
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 403);
    assert!(session_cookie(&resp).is_none());
    let resp = raw
        .post(sys.url("/sign-in"))
        .header("origin", "https://elsewhere.example")
        .form(&[("login", "plain_html"), ("password", "a long pass phrase")])
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 403);
    // A wrong password is said on the page, the login kept, no session.
    let resp = raw
        .post(sys.url("/sign-in"))
        .header("sec-fetch-site", "same-origin")
        .form(&[("login", "plain_html"), ("password", "not the password")])
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 401);
    assert!(session_cookie(&resp).is_none());
    let html = resp.text().await.expect("html");
    assert!(
        html.contains("value=\"plain_html\"") && html.contains("wrong"),
        "{html}"
    );
    // The right one signs in and goes on, to this site only.
    for (next, to) in [("/upload", "/upload"), ("//evil.example/x", "/")] {
        let resp = raw
            .post(sys.url("/sign-in"))
            .form(&[
                ("login", "plain_html"),
                ("password", "a long pass phrase"),
                ("next", next),
            ])
            .send()
            .await
            .expect("post");
        assert_eq!(resp.status(), 303, "{next}");
        assert_eq!(resp.headers()[reqwest::header::LOCATION], to, "{next}");
        let cookie = session_cookie(&resp).expect("a session");
        let me = raw
            .get(sys.url("/api/v1/me"))
            .header("cookie", cookie)
            .send()
            .await
            .expect("me");
        assert_eq!(me.status(), 200);
    }
    let resp = raw
        .post(sys.url("/reset-password"))
        .form(&[("login", "plain_html")])
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.expect("html").contains("on its way"));

    // A DJ with two cloudcasts; a profile shares as its newest one.
    let dj = sys.user("share_dj").await;
    let older = sys.ready_cloudcast(&dj, 3, "Older Tide").await;
    let newer = sys.ready_cloudcast(&dj, 3, "Newer Tide").await;
    let newer_id = newer["id"].as_str().expect("id");
    let (_, html) = page("/share_dj").await;
    assert_eq!(
        meta(&html, "twitter:player"),
        Some(sys.url(&format!("/embed/{newer_id}")))
    );
    let discovery = "<link rel=\"alternate\" type=\"application/json+oembed\" href=\"";
    let at = html
        .find(discovery)
        .expect("oEmbed discovery on the profile")
        + discovery.len();
    let oembed_url = unescape(html[at..].split('"').next().expect("href"));
    let (status, o) = json_of(raw.get(&oembed_url).send().await.expect("oembed")).await;
    assert_eq!(status, 200, "{o}");
    assert_eq!(o["title"], "Newer Tide");
    assert!(o["html"].as_str().unwrap_or("").contains(newer_id), "{o}");
    // oEmbed of a renamed cloudcast's former address finds it.
    let older_id = older["id"].as_str().expect("id");
    let old_url = sys.url(older["url"].as_str().expect("url"));
    let (status, _) = json_of(
        sys.http
            .patch(sys.url(&format!("/api/v1/cloudcasts/{older_id}")))
            .bearer_auth(&dj)
            .json(&json!({"title": "Oldest Tide"}))
            .send()
            .await
            .expect("rename"),
    )
    .await;
    assert_eq!(status, 200);
    let (status, o) = json_of(
        raw.get(sys.url("/oembed"))
            .query(&[("url", old_url.as_str())])
            .send()
            .await
            .expect("oembed"),
    )
    .await;
    assert_eq!(
        (status, o["title"].as_str()),
        (200, Some("Oldest Tide")),
        "{o}"
    );

    // Unlisted: not on the profile, and its page only with its secret.
    let (status, owner_view) = json_of(
        sys.http
            .patch(sys.url(&format!("/api/v1/cloudcasts/{newer_id}")))
            .bearer_auth(&dj)
            .json(&json!({"visibility": "unlisted"}))
            .send()
            .await
            .expect("unlist"),
    )
    .await;
    assert_eq!(status, 200);
    let secret_url = owner_view["url"].as_str().expect("url").to_string();
    assert!(secret_url.contains("?secret="), "{secret_url}");
    let bare = secret_url.split('?').next().unwrap_or("").to_string();
    let (status, html) = page(&bare).await;
    assert_eq!(status, 404);
    assert!(!html.contains("Newer Tide"));
    let (status, html) = page(&secret_url).await;
    assert_eq!(status, 200);
    assert!(html.contains("Newer Tide"));
    let (_, html) = page("/share_dj").await;
    assert!(
        !html.contains("Newer Tide"),
        "unlisted stays off the profile"
    );
    assert!(html.contains("Oldest Tide"));

    // A minor: no listening activity and no follower count on their page,
    // while an adult's page has both.
    let kid = sys.user_born("kid_dj", "2011-03-04").await;
    assert_eq!(sys.me(&kid).await["is_minor"], true);
    let (_, adult) = page("/share_dj").await;
    assert!(adult.contains("id=\"h-activity\"") && adult.contains("id=\"followers-count\""));
    let (status, kid) = page("/kid_dj").await;
    assert_eq!(status, 200);
    assert!(
        !kid.contains("id=\"h-activity\""),
        "a minor's listening is never shown"
    );
    assert!(
        !kid.contains("id=\"followers-count\""),
        "nor their followers"
    );

    // An erased account is gone from every page.
    let (status, _) = json_of(
        sys.http
            .delete(sys.url("/api/v1/me"))
            .bearer_auth(&dj)
            .json(&json!({"password": "correct horse battery"}))
            .send()
            .await
            .expect("erase"),
    )
    .await;
    assert_eq!(status, 200, "erased");
    for path in [
        "/share_dj",
        "/share_dj/oldest-tide",
        &format!("/embed/{older_id}"),
    ] {
        let (status, html) = page(path).await;
        assert_eq!(status, 404, "{path}");
        assert!(!html.contains("Tide"), "{path}");
    }
    let (status, _) = json_of(raw.get(&oembed_url).send().await.expect("oembed")).await;
    assert_eq!(status, 404);
    sys.stop().await;
}
