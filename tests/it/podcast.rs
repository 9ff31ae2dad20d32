//! Podcast apps: a DJ's feed read by clients nobody here wrote (the Podcast
//! Index's podcast-partytime, gPodder's podcastparser, feedparser), its
//! enclosures played and sought by ffmpeg and Chromium, downloads counted
//! by the IAB v2.1 rule through ClickHouse, and the segment-index backfill.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{TestSystem, json_of, run_page};

const PASSWORD: &str = "correct horse battery";
const ANTENNAPOD: &str = "AntennaPod/3.4.0 (Linux;Android 14) ExoPlayerLib/2.19.1";
const OVERCAST: &str = "Overcast/3.0 (+http://overcast.fm/; iOS podcast app)";
const PODCAST_ADDICT: &str = "PodcastAddict/v5 (+https://podcastaddict.com/; Android podcast app)";
const GOOGLEBOT: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

/// A GET as an app does it: its own client (no cookies), following the
/// redirect, with `range` when given; the status, headers and bytes.
async fn fetch_as(
    ua: &str,
    url: &str,
    range: Option<(u64, u64)>,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let client = reqwest::Client::builder()
        .user_agent(ua)
        .build()
        .expect("client");
    let mut req = client.get(url);
    if let Some((a, b)) = range {
        req = req.header("Range", format!("bytes={a}-{b}"));
    }
    let resp = req.send().await.expect("GET");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.bytes().await.expect("body").to_vec())
}

async fn patch(sys: &TestSystem, token: &str, id: &str, body: Value) {
    let resp = sys
        .http
        .patch(sys.url(&format!("/api/v1/cloudcasts/{id}")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("PATCH");
    let (status, v) = json_of(resp).await;
    assert_eq!(status, 200, "{v}");
}

fn python(args: &[&str]) -> Value {
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/var/venv/bin/python");
    let out = Command::new(python)
        .args(args)
        .output()
        .expect("var/venv (infra/dev makes it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

fn titles(v: &Value, key: &str) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|i| i[key].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_djs_feed_is_read_by_podcast_apps_and_their_downloads_are_counted() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sys = TestSystem::start_with("podcast", |c| {
        c.http.web_dir = root.join("web");
        c.transcode.ladder_kbps = vec![64, 96];
    })
    .await;
    let dj = sys.user("pod_dj").await;
    let a = sys.ready_cloudcast(&dj, 150, "Sunrise Set").await;
    let b = sys.ready_cloudcast(&dj, 4, "Streaming Only").await;
    let c = sys.ready_cloudcast(&dj, 4, "Private One").await;
    let d = sys.ready_cloudcast(&dj, 90, "Original Offered").await;
    let id = |v: &Value| v["id"].as_str().expect("id").to_string();
    let (a, b, c, d) = (id(&a), id(&b), id(&c), id(&d));
    assert_eq!(
        sys.cloudcast(&a).await["downloads"],
        "off",
        "off by default"
    );
    let tracklist = json!([
        {"start_ms": 0, "artist": "Artist One", "title": "Opening"},
        {"start_ms": 40000, "artist": "Artist Two", "title": "Middle"},
        {"start_ms": 100000, "artist": "Artist Three", "title": "Closing"}
    ]);
    patch(
        &sys,
        &dj,
        &a,
        json!({"downloads": "aac", "tracklist": tracklist}),
    )
    .await;
    patch(
        &sys,
        &dj,
        &c,
        json!({"downloads": "aac", "visibility": "private"}),
    )
    .await;
    patch(&sys, &dj, &d, json!({"downloads": "original"})).await;
    let view = sys.cloudcast(&a).await;
    assert_eq!(view["downloads"], "aac");
    assert_eq!(
        view["download_url"],
        sys.url(&format!("/api/v1/cloudcasts/{a}/download"))
    );
    assert_eq!(sys.cloudcast(&b).await["download_url"], Value::Null);

    // Not offered, or not visible: no download, no enclosure.
    for (mix, file) in [
        (&b, "enclosure.m4a"),
        (&b, "download"),
        (&c, "enclosure.m4a"),
    ] {
        let (status, _, _) = fetch_as(
            ANTENNAPOD,
            &sys.url(&format!("/api/v1/cloudcasts/{mix}/{file}")),
            None,
        )
        .await;
        assert_eq!(status, 404, "{mix} {file}");
    }

    // The feed, polled as apps poll it.
    let feed_url = sys.url("/pod_dj/podcast.rss");
    let resp = sys.http.get(&feed_url).send().await.expect("feed");
    assert_eq!(resp.status(), 200);
    let header = |r: &reqwest::Response, h: &str| {
        r.headers()
            .get(h)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert!(header(&resp, "content-type").starts_with("application/rss+xml"));
    assert!(header(&resp, "cache-control").contains("max-age"));
    let (etag, last_modified) = (header(&resp, "etag"), header(&resp, "last-modified"));
    let body = resp.text().await.expect("feed body");
    assert!(
        !body.contains("pod_dj@example.org"),
        "no account email in a feed"
    );
    assert!(
        !body.contains("itunes:owner"),
        "no owner without a contact address"
    );
    for (h, v) in [
        ("If-None-Match", &etag),
        ("If-Modified-Since", &last_modified),
    ] {
        let again = sys
            .http
            .get(&feed_url)
            .header(h, v.as_str())
            .send()
            .await
            .expect("poll");
        assert_eq!(again.status(), 304, "{h}");
    }

    // gPodder's podcastparser and feedparser.
    let script = root.join("tests/clients/podcast_feeds.py");
    let parsed = python(&[script.to_str().expect("path"), &feed_url]);
    let expected_guid = parsed["expected_guid"].as_str().expect("guid").to_string();
    let fp = &parsed["feedparser"];
    assert_eq!(fp["bozo"], false, "{fp}");
    assert_eq!(fp["title"], "pod_dj");
    assert_eq!(
        titles(&fp["entries"], "title"),
        ["Original Offered", "Sunrise Set"],
        "only the listed mixes offered for download, newest first"
    );
    let gp = &parsed["podcastparser"];
    assert_eq!(
        titles(&gp["episodes"], "title"),
        ["Original Offered", "Sunrise Set"]
    );
    let seconds: Vec<i64> = gp["episodes"]
        .as_array()
        .expect("episodes")
        .iter()
        .map(|e| e["total_time"].as_i64().unwrap_or(0))
        .collect();
    assert!(
        (89..=91).contains(&seconds[0]) && (149..=151).contains(&seconds[1]),
        "{seconds:?}"
    );
    for (n, e) in gp["episodes"]
        .as_array()
        .expect("episodes")
        .iter()
        .enumerate()
    {
        let enc = &e["enclosures"][0];
        assert_eq!(enc["type"], "audio/mp4");
        assert_eq!(fp["entries"][n]["enclosures"][0]["type"], "audio/mp4");
        // The length the feed states is what is served.
        let url = enc["url"].as_str().expect("enclosure url");
        let head = reqwest::Client::new().head(url).send().await.expect("HEAD");
        assert_eq!(head.status(), 200);
        let served: u64 = header(&head, "content-length").parse().expect("length");
        assert_eq!(enc["length"].as_u64(), Some(served), "{e}");
        assert_eq!(
            fp["entries"][n]["enclosures"][0]["length"].as_str(),
            Some(served.to_string().as_str())
        );
    }

    // The Podcast Index's parser, with each item's chapters resolved.
    let pi = run_page("podcast.mjs", vec!["parse".into(), feed_url.clone()], &[]).await;
    assert_eq!(pi["guid"].as_str(), Some(expected_guid.as_str()), "{pi}");
    // Locked, without an owner address (the parser reads the lock only
    // with one: it is set further down).
    assert!(body.contains("<podcast:locked>yes</podcast:locked>"));
    assert_eq!(pi["owner"], Value::Null);
    assert_eq!(
        pi["categories"],
        json!(["music"]),
        "the parser lower-cases them"
    );
    let items = pi["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    let sunrise = &items[1];
    assert_eq!(sunrise["title"], "Sunrise Set");
    assert_eq!(sunrise["guid"], a.as_str());
    assert_eq!(sunrise["enclosure"]["type"], "audio/mp4");
    assert_eq!(
        sunrise["enclosure"]["url"],
        sys.url(&format!("/api/v1/cloudcasts/{a}/enclosure.m4a"))
    );
    let chapters = &sunrise["chapters"];
    assert_eq!(chapters["type"], "application/json+chapters");
    assert_eq!(chapters["status"], 200);
    assert_eq!(chapters["contentType"], "application/json+chapters");
    assert_eq!(
        chapters["body"]["chapters"],
        json!([
            {"startTime": 0, "title": "Artist One - Opening"},
            {"startTime": 40, "title": "Artist Two - Middle"},
            {"startTime": 100, "title": "Artist Three - Closing"}
        ])
    );
    assert_eq!(
        items[0]["chapters"],
        Value::Null,
        "no tracklist, no chapters"
    );

    // A private mix's chapters: its owner's alone, and never in a shared cache.
    let chapters_c = sys.url(&format!("/api/v1/cloudcasts/{c}/chapters.json"));
    assert_eq!(fetch_as(ANTENNAPOD, &chapters_c, None).await.0, 404);
    let own = sys
        .http
        .get(&chapters_c)
        .bearer_auth(&dj)
        .send()
        .await
        .expect("chapters");
    assert_eq!(own.status(), 200);
    assert!(header(&own, "cache-control").starts_with("private"));

    // The enclosure redirects to the version published now, signed for the app.
    let no_follow = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(ANTENNAPOD)
        .build()
        .expect("client");
    let redirect = no_follow
        .get(sys.url(&format!("/api/v1/cloudcasts/{a}/enclosure.m4a")))
        .send()
        .await
        .expect("enclosure");
    assert_eq!(redirect.status(), 302);
    assert_eq!(header(&redirect, "cache-control"), "private, no-store");
    let location = header(&redirect, "location");
    let version = sys
        .pg_strings(&format!(
            "SELECT media_version::text FROM cloudcasts WHERE id = '{a}'"
        ))
        .await
        .remove(0);
    assert!(
        location.contains(&format!("/stream/{a}/download.m4a?"))
            && location.ends_with(&format!("&v={version}")),
        "{location}"
    );

    // ffmpeg plays the enclosure and seeks to its middle at once: the
    // segment index is at its head.
    let enclosure_d = sys.url(&format!("/api/v1/cloudcasts/{d}/enclosure.m4a"));
    let (status, _, head) = fetch_as(GOOGLEBOT, &enclosure_d, Some((0, 4095))).await;
    assert_eq!(status, 206);
    assert!(
        head.windows(4).any(|w| w == b"sidx"),
        "a segment index at the head"
    );
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "json",
        ])
        .arg(&enclosure_d)
        .output()
        .expect("ffprobe");
    assert!(
        probe.status.success(),
        "{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let probed: Value = serde_json::from_slice(&probe.stdout).expect("ffprobe json");
    let duration: f64 = probed["format"]["duration"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("duration");
    assert!((89.0..91.5).contains(&duration), "{duration}");
    let seek = Command::new("ffmpeg")
        .args(["-v", "error", "-ss", "45", "-i"])
        .arg(&enclosure_d)
        .args(["-t", "3", "-f", "null", "-"])
        .output()
        .expect("ffmpeg");
    assert!(
        seek.status.success(),
        "{}",
        String::from_utf8_lossy(&seek.stderr)
    );

    // Downloads of Sunrise Set by the IAB rule.
    let enclosure_a = sys.url(&format!("/api/v1/cloudcasts/{a}/enclosure.m4a"));
    let (status, headers, whole) = fetch_as(ANTENNAPOD, &enclosure_a, None).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "audio/mp4");
    let size = whole.len() as u64;
    // The same app again the same day: still one.
    assert_eq!(fetch_as(ANTENNAPOD, &enclosure_a, None).await.0, 200);
    // Another app, in ranges that add up to two thirds of the file.
    for (from, to) in [(0, 1), (0, size / 3), (size / 3 + 1, 2 * size / 3)] {
        let (status, _, bytes) = fetch_as(OVERCAST, &enclosure_a, Some((from, to))).await;
        assert_eq!(status, 206);
        assert_eq!(bytes, whole[from as usize..=to as usize]);
    }
    // Under a minute of audio: not a download.
    assert_eq!(
        fetch_as(PODCAST_ADDICT, &enclosure_a, Some((0, 50_000)))
            .await
            .0,
        206
    );
    // A bot: not even recorded.
    assert_eq!(fetch_as(GOOGLEBOT, &enclosure_a, None).await.0, 200);

    // The site: discovery on the profile, the mix page's download (a
    // listener's Chrome), and the enclosure in the browser's <audio>.
    let mix_page = sys.url(&format!(
        "/pod_dj/{}",
        sys.cloudcast(&a).await["slug"].as_str().expect("slug")
    ));
    let pages = run_page(
        "podcast.mjs",
        vec![
            "pages".into(),
            sys.url("/pod_dj"),
            mix_page.clone(),
            enclosure_d.clone(),
        ],
        &[],
    )
    .await;
    assert_eq!(pages["alternate"], feed_url.as_str(), "{pages}");
    assert_eq!(pages["subscribe"], feed_url.as_str());
    assert_eq!(pages["label"], "Download (.m4a)");
    assert_eq!(pages["filename"], "Sunrise Set.m4a");
    assert_eq!(pages["bytes"].as_u64(), Some(size), "the whole file saved");
    let audio = &pages["audio"];
    let (total, at, played) = (
        audio["duration"].as_f64().unwrap_or(0.0),
        audio["seekedTo"].as_f64().unwrap_or(0.0),
        audio["playedTo"].as_f64().unwrap_or(0.0),
    );
    assert!((89.0..91.5).contains(&total), "{audio}");
    assert!((at - total / 2.0).abs() < 1.0 && played > at, "{audio}");

    // Counted in ClickHouse (copied from PostgreSQL every 2 s).
    let stats_path = format!("/api/v1/cloudcasts/{a}/stats");
    let deadline = Instant::now() + Duration::from_secs(60);
    let downloads = loop {
        let (status, v) = json_of(
            sys.http
                .get(sys.url(&stats_path))
                .bearer_auth(&dj)
                .send()
                .await
                .expect("stats"),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        if v["downloads"]["total"] == 3 || Instant::now() > deadline {
            break v["downloads"].clone();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(downloads["total"], 3, "{downloads}");
    assert_eq!(
        downloads["by_app"],
        json!([
            {"app": "AntennaPod", "downloads": 1},
            {"app": "Chrome", "downloads": 1},
            {"app": "Overcast", "downloads": 1}
        ])
    );
    assert_eq!(downloads["by_day"].as_array().map(Vec::len), Some(1));
    assert!(downloads["rule"].as_str().unwrap_or("").contains("IAB"));
    // What was kept: Podcast Addict's short read, never the bot's, and no
    // address or user agent anywhere.
    let kept = sys
        .clickhouse_rows(&format!(
            "SELECT app, count() AS n FROM download_requests WHERE cloudcast_id = '{a}' GROUP BY app ORDER BY app"
        ))
        .await;
    let apps: Vec<&str> = kept.iter().filter_map(|r| r["app"].as_str()).collect();
    assert_eq!(apps, ["AntennaPod", "Chrome", "Overcast", "Podcast Addict"]);
    let hashes = sys
        .pg_strings(&format!(
            "SELECT DISTINCT client_hash FROM download_requests WHERE cloudcast_id = '{a}'"
        ))
        .await;
    assert!(
        hashes
            .iter()
            .all(|h| h.len() == 32 && !h.contains("127.0.0.1"))
    );
    // Another DJ's visitor sees no download figures.
    let (_, anon) = json_of(
        sys.http
            .get(sys.url(&stats_path))
            .send()
            .await
            .expect("stats"),
    )
    .await;
    assert_eq!(anon.get("downloads"), None);

    // The statistics page shows them to the DJ, with the rule.
    let page = run_page(
        "podcast.mjs",
        vec![
            "stats".into(),
            sys.url(""),
            mix_page,
            "pod_dj".into(),
            PASSWORD.into(),
        ],
        &[],
    )
    .await;
    assert_eq!(page["total"], 3, "{page}");
    assert_eq!(
        page["apps"],
        json!([["AntennaPod", 1], ["Chrome", 1], ["Overcast", 1]])
    );
    assert!(page["rule"].as_str().unwrap_or("").contains("one minute"));

    // The DJ's settings: a public contact shows as the owner (never the
    // account's address); bad values are refused; the guid outlives a new
    // name; a feed turned off is gone.
    let put = |body: Value| {
        let req = sys
            .http
            .put(sys.url("/api/v1/me/podcast"))
            .bearer_auth(&dj)
            .json(&body);
        async move { json_of(req.send().await.expect("PUT")).await }
    };
    let (status, v) =
        put(json!({"enabled": true, "category": "Nope", "explicit": false, "contact_email": null}))
            .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (422, Some("invalid_field")),
        "{v}"
    );
    let (status, _) = put(json!({"enabled": true, "category": "Music", "explicit": false, "contact_email": "not an address"})).await;
    assert_eq!(status, 422);
    let (status, mine) = put(json!({"enabled": true, "category": "Music", "explicit": true, "contact_email": "bookings@pod.example"})).await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine["guid"].as_str(), Some(expected_guid.as_str()));
    assert_eq!(mine["items"], 2);
    sys.pg_exec("UPDATE users SET username = 'pod_dj_renamed' WHERE username = 'pod_dj'")
        .await;
    let renamed = sys.url("/pod_dj_renamed/podcast.rss");
    let pi = run_page("podcast.mjs", vec!["parse".into(), renamed.clone()], &[]).await;
    assert_eq!(
        pi["guid"].as_str(),
        Some(expected_guid.as_str()),
        "a stored guid"
    );
    assert_eq!(pi["owner"]["email"], "bookings@pod.example");
    assert_eq!(pi["locked"], true);
    assert_eq!(pi["podcastOwner"], "bookings@pod.example");
    assert_eq!(pi["explicit"], true);
    let (status, _) = put(
        json!({"enabled": false, "category": "Music", "explicit": false, "contact_email": null}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        sys.http.get(&renamed).send().await.expect("feed").status(),
        404
    );
    let (status, _) = json_of(
        sys.http
            .get(sys.url("/api/v1/users/pod_dj_renamed/podcast"))
            .send()
            .await
            .expect("feed info"),
    )
    .await;
    assert_eq!(status, 404);

    // The feed's settings are in the DJ's export.
    let account = sys.exported_account(&dj).await;
    assert_eq!(
        account["podcast_feed"]["contact_email"],
        Value::Null,
        "{}",
        account["podcast_feed"]
    );
    assert_eq!(account["podcast_feed"]["guid"], expected_guid.as_str());
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renditions_published_without_a_segment_index_get_one_from_a_queued_job() {
    let sys = TestSystem::start_with("podcast_backfill", |c| {
        c.transcode.ladder_kbps = vec![64];
        c.transcode.loudness_backfill = Duration::from_secs(1);
    })
    .await;
    let dj = sys.user("seek_dj").await;
    let cc = sys.ready_cloudcast(&dj, 20, "Old Mix").await;
    let id = cc["id"].as_str().expect("id").to_string();
    let q = format!("SELECT media_version::text FROM cloudcasts WHERE id = '{id}'");
    let before = sys.pg_strings(&q).await.remove(0);
    // As a mix published before the index was written looks.
    sys.pg_exec(&format!(
        "UPDATE renditions SET fragment_index = fragment_index - 'sidx' WHERE cloudcast_id = '{id}'"
    ))
    .await;
    let deadline = Instant::now() + Duration::from_secs(90);
    let after = loop {
        let v = sys.pg_strings(&q).await.remove(0);
        if v != before || Instant::now() > deadline {
            break v;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_ne!(after, before, "republished with the index");
    let indexed = sys
        .pg_strings(&format!(
            "SELECT COALESCE(fragment_index->>'sidx', 'none') || ' ' || version::text FROM renditions
              WHERE cloudcast_id = '{id}' ORDER BY version"
        ))
        .await;
    assert_eq!(
        indexed.len(),
        2,
        "the old version is kept for players holding it: {indexed:?}"
    );
    assert_eq!(indexed[1], format!("true {after}"));
    let kinds = sys
        .pg_strings(&format!(
            "SELECT kind || ' ' || state FROM transcode_jobs WHERE cloudcast_id = '{id}' ORDER BY created_at"
        ))
        .await;
    assert!(kinds.contains(&"seek_index done".to_string()), "{kinds:?}");
    // It still plays: the new version's playlist and its bytes.
    let view = sys.cloudcast_as(&id, Some(&dj)).await;
    assert_eq!(view["status"], "ready");
    assert_eq!(view["duration_ms"], cc["duration_ms"]);
    let master = sys
        .http
        .get(view["stream_url"].as_str().expect("stream url"))
        .bearer_auth(&dj)
        .send()
        .await
        .expect("master");
    assert_eq!(master.status(), 200);
    sys.stop().await;
}
