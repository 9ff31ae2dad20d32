//! Analytics end to end: real listening (heartbeats over HTTP, through the
//! write-ahead log into ClickHouse and its views) read back through every
//! analytics route: a DJ's statistics, play history, public activity,
//! favourites, purchase-link counts, ad audiences and the analysts' downloads
//! (read with pyarrow).

use std::time::Duration;

use crate::support::{BROWSER_UA, TestSystem, json_of, run_page};
use serde_json::{Value, json};

/// Sends `seconds` beats of one session (position = second), in batches.
async fn listen(
    sys: &TestSystem,
    token: Option<&str>,
    id: &str,
    session: &str,
    seconds: u32,
    referrer: &str,
) {
    let beats: Vec<Value> = (0..seconds)
        .map(|s| json!({"cloudcast_id": id, "session_id": session, "seq": s, "position_ms": s * 1000}))
        .collect();
    for batch in beats.chunks(20) {
        let mut req = sys
            .http
            .post(sys.url("/api/v1/heartbeats"))
            .header("referer", referrer)
            .json(&batch);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("beats");
        assert_eq!(resp.status(), 202, "{:?}", resp.text().await);
    }
}

async fn get(sys: &TestSystem, token: Option<&str>, path: &str) -> (u16, Value) {
    let mut req = sys.http.get(sys.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    json_of(req.send().await.expect("GET")).await
}

/// Reads a downloaded Arrow IPC or Parquet file with pyarrow; returns the
/// table as {column: [values]}.
fn read_with_pyarrow(path: &std::path::Path, format: &str) -> Value {
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/var/venv/bin/python");
    let script = r#"
import json, sys
import pyarrow as pa, pyarrow.ipc, pyarrow.parquet as pq
path, fmt = sys.argv[1], sys.argv[2]
table = pq.read_table(path) if fmt == "parquet" else pa.ipc.open_file(path).read_all()
print(json.dumps({"schema": {f.name: str(f.type) for f in table.schema}, "columns": table.to_pydict()}, default=str))
"#;
    let out = std::process::Command::new(python)
        .args(["-c", script])
        .arg(path)
        .arg(format)
        .output()
        .expect("pyarrow (infra/dev installs it in var/venv)");
    assert!(
        out.status.success(),
        "pyarrow: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("pyarrow JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listening_feeds_stats_history_favourites_audiences_and_downloads() {
    let sys = TestSystem::start_with("analytics", |c| c.analytics.min_audience = 2).await;
    let dj = sys.user("an_dj").await;
    let fan = sys.user("an_fan").await;
    let shy = sys.user("an_shy").await;
    let third = sys.user("an_third").await;
    let boss = sys.user("an_boss").await;
    sys.make_admin("an_boss").await;
    // `an_fan` and `an_third` consent to personalised ads; `an_shy` does
    // not (consent is given, not presumed).
    sys.consent_to_ads(&fan).await;
    sys.consent_to_ads(&third).await;

    let cc = sys.ready_cloudcast(&dj, 60, "Analytics mix").await;
    let id = cc["id"].as_str().expect("id").to_string();
    let resp = sys
        .http
        .patch(sys.url(&format!("/api/v1/cloudcasts/{id}")))
        .bearer_auth(&dj)
        .json(&json!({
            "tags": ["house"],
            "purchase_links": [{"label": "Shop", "url": "https://shop.example/record"}]
        }))
        .send()
        .await
        .expect("patch");
    assert_eq!(resp.status(), 200);
    // The stream caches cloudcast details for a few seconds; wait until the
    // tags are what heartbeats will carry.
    tokio::time::sleep(Duration::from_secs(6)).await;

    // fan 35 s from a blog (a play), shy 40 s (a play, no ad consent),
    // third 5 s, an anonymous browser 31 s (a play).
    listen(
        &sys,
        Some(&fan),
        &id,
        "fan-1",
        35,
        "https://blog.example/post",
    )
    .await;
    listen(&sys, Some(&shy), &id, "shy-1", 40, "").await;
    listen(&sys, Some(&third), &id, "third-1", 5, "").await;
    listen(&sys, None, &id, "anon-1", 31, "https://www.social.example/").await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let stats = loop {
        let (status, stats) = get(&sys, Some(&dj), &format!("/api/v1/cloudcasts/{id}/stats")).await;
        assert_eq!(status, 200, "{stats}");
        if stats["listened_seconds"] == 111 || tokio::time::Instant::now() > deadline {
            break stats;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(stats["listened_seconds"], 111, "{stats}");
    assert_eq!(stats["listeners"], 4, "{stats}");
    assert_eq!(stats["plays"], 3, "{stats}");
    assert_eq!(stats["by_day"].as_array().map(Vec::len), Some(1), "{stats}");
    assert_eq!(stats["retention"][0]["listeners"], 4, "{stats}");
    assert_eq!(stats["retention"][3]["position_s"], 30, "{stats}");
    assert_eq!(stats["retention"][3]["listeners"], 3, "{stats}");
    let referrers = stats["referrers"].as_array().expect("referrers");
    assert!(
        referrers
            .iter()
            .any(|r| r["domain"] == "blog.example" && r["listeners"] == 1),
        "{stats}"
    );
    assert!(
        referrers.iter().any(|r| r["domain"] == "social.example"),
        "{stats}"
    );
    assert_eq!(stats["browsers"][0]["browser"], "Firefox", "{stats}");
    assert_eq!(stats["browsers"][0]["listeners"], 4, "{stats}");

    // Anyone sees the counts of a public cloudcast, not the breakdowns.
    let (status, public) = get(&sys, None, &format!("/api/v1/cloudcasts/{id}/stats")).await;
    assert_eq!(status, 200);
    assert_eq!(public["plays"], 3);
    for detail in ["retention", "referrers", "browsers", "purchase_links"] {
        assert!(
            public.get(detail).is_none(),
            "{detail} shown to the public: {public}"
        );
    }
    // Bad ranges are named.
    let (status, err) = get(
        &sys,
        None,
        &format!("/api/v1/cloudcasts/{id}/stats?from=2026-13-01"),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (400, Some("bad_query")),
        "{err}"
    );
    let (status, _) = get(&sys, None, &format!("/api/v1/cloudcasts/{id}/stats?days=3")).await;
    assert_eq!(status, 400);

    // History: what, when, how long, where it stopped; public activity
    // without positions.
    let (status, history) = get(&sys, Some(&fan), "/api/v1/me/history").await;
    assert_eq!(status, 200, "{history}");
    let entry = &history["history"][0];
    assert_eq!(entry["cloudcast"]["title"], "Analytics mix", "{history}");
    assert_eq!(entry["seconds"], 35);
    assert_eq!(entry["stopped_at_ms"], 34_000);
    assert!(
        entry["started_at"]
            .as_str()
            .is_some_and(|s| s.ends_with('Z'))
    );
    let (status, activity) = get(&sys, None, "/api/v1/users/an_fan/activity").await;
    assert_eq!(status, 200, "{activity}");
    assert_eq!(activity["activity"][0]["seconds"], 35, "{activity}");
    assert!(activity["activity"][0].get("stopped_at_ms").is_none());
    assert!(!activity.to_string().contains("@example.org"), "{activity}");
    let (status, _) = get(&sys, None, "/api/v1/me/history").await;
    assert_eq!(status, 401);

    // Favourites: idempotent, counted, listed, public, and copied to ClickHouse.
    let fav = |token: &str, add: bool| {
        let url = sys.url(&format!("/api/v1/cloudcasts/{id}/favourite"));
        let req = if add {
            sys.http.put(url)
        } else {
            sys.http.delete(url)
        };
        req.bearer_auth(token.to_string()).send()
    };
    let (_, body) = json_of(fav(&fan, true).await.expect("fav")).await;
    assert_eq!(body["favourites"], 1, "{body}");
    let (_, body) = json_of(fav(&fan, true).await.expect("fav")).await;
    assert_eq!(body["favourites"], 1, "a repeated PUT counts once: {body}");
    let (_, body) = json_of(fav(&shy, true).await.expect("fav")).await;
    assert_eq!(body["favourites"], 2);
    let (_, body) = json_of(fav(&fan, false).await.expect("unfav")).await;
    assert_eq!(
        (body["favourited"].as_bool(), body["favourites"].as_i64()),
        (Some(false), Some(1))
    );
    let (_, mine) = get(&sys, Some(&shy), "/api/v1/me/favourites").await;
    assert_eq!(mine["items"][0]["cloudcast"]["id"], id.as_str(), "{mine}");
    let (_, theirs) = get(&sys, None, "/api/v1/users/an_shy/favourites").await;
    assert_eq!(
        theirs["items"].as_array().map(Vec::len),
        Some(1),
        "{theirs}"
    );
    assert_eq!(sys.cloudcast(&id).await["favourites"], 1);
    let resp = sys
        .http
        .put(sys.url(&format!("/api/v1/cloudcasts/{id}/favourite")))
        .send()
        .await
        .expect("anonymous favourite");
    assert_eq!(resp.status(), 401);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let rows = sys
            .clickhouse_rows(
                "SELECT toInt64(sum(delta)) AS net, count() AS events FROM favourite_events",
            )
            .await;
        if rows[0]["events"] == "3" || rows[0]["events"] == 3 {
            assert_eq!(crate::support::ch_u64(&rows[0]["net"]), 1);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "events not copied: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Purchase links: counted clicks (no identity), confirmed purchases.
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(BROWSER_UA)
        .build()
        .expect("client");
    for _ in 0..2 {
        let resp = no_redirect
            .get(sys.url(&format!("/api/v1/cloudcasts/{id}/links/0")))
            .send()
            .await
            .expect("link");
        assert_eq!(resp.status(), 302);
        assert_eq!(resp.headers()["location"], "https://shop.example/record");
    }
    let (status, _) = get(&sys, None, &format!("/api/v1/cloudcasts/{id}/links/7")).await;
    assert_eq!(status, 404);
    let confirm = |token: &str| {
        sys.http
            .post(sys.url(&format!("/api/v1/cloudcasts/{id}/links/0/purchases")))
            .bearer_auth(token.to_string())
            .json(&json!({"count": 1}))
            .send()
    };
    assert_eq!(confirm(&dj).await.expect("confirm").status(), 403);
    let (status, link) = json_of(confirm(&boss).await.expect("confirm")).await;
    assert_eq!(
        (status, link["clicks"].as_i64(), link["purchases"].as_i64()),
        (200, Some(2), Some(1))
    );
    let (_, stats) = get(&sys, Some(&dj), &format!("/api/v1/cloudcasts/{id}/stats")).await;
    assert_eq!(stats["purchase_links"][0]["clicks"], 2, "{stats}");

    // Ad audiences: fan and third consented; shy did not. An audience of 2
    // meets the floor of 2; nothing is shown to non-admins.
    let (status, aud) = get(&sys, Some(&boss), "/api/v1/ads/audiences").await;
    assert_eq!(status, 200, "{aud}");
    assert_eq!(aud["min_audience"], 2);
    assert_eq!(
        aud["audiences"],
        json!([{"tag": "house", "audience": 2, "listened_seconds": 40}])
    );
    let (status, _) = get(&sys, Some(&fan), "/api/v1/ads/audiences").await;
    assert_eq!(status, 403);

    // The dashboard's data and the downloads.
    let (status, overview) = get(&sys, Some(&boss), "/api/v1/analytics/overview").await;
    assert_eq!(status, 200, "{overview}");
    assert_eq!(overview["plays"], 3);
    assert_eq!(overview["top_cloudcasts"][0]["title"], "Analytics mix");
    assert_eq!(overview["retention_cloudcast"], id.as_str());
    for format in ["arrow", "parquet"] {
        let resp = sys
            .http
            .get(sys.url(&format!("/api/v1/analytics/datasets/daily?format={format}")))
            .bearer_auth(&boss)
            .send()
            .await
            .expect("download");
        assert_eq!(resp.status(), 200);
        let path = sys.dir.path().join(format!("daily.{format}"));
        std::fs::write(&path, resp.bytes().await.expect("body")).expect("write");
        let table = read_with_pyarrow(&path, format);
        assert_eq!(table["columns"]["plays"], json!([3]), "{format}: {table}");
        assert_eq!(
            table["columns"]["listened_seconds"],
            json!([111]),
            "{format}: {table}"
        );
        assert_eq!(table["schema"]["plays"], "uint64", "{table}");
    }
    let (status, err) = get(
        &sys,
        Some(&boss),
        "/api/v1/analytics/datasets/daily?format=csv",
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (400, Some("bad_query"))
    );
    let (status, _) = get(&sys, Some(&boss), "/api/v1/analytics/datasets/users").await;
    assert_eq!(status, 404);
    let (status, _) = get(&sys, Some(&fan), "/api/v1/analytics/datasets/daily").await;
    assert_eq!(status, 403);
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_the_numbers_in_chromium_and_downloads_parquet() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sys = TestSystem::start_with("dashboard", |c| c.http.web_dir = root.join("web")).await;
    let dj = sys.user("dash_dj").await;
    let fan = sys.user("dash_fan").await;
    sys.user("dash_boss").await;
    sys.make_admin("dash_boss").await;
    let cc = sys.ready_cloudcast(&dj, 60, "Dashboard mix").await;
    let id = cc["id"].as_str().expect("id").to_string();
    listen(&sys, Some(&fan), &id, "d-1", 45, "https://blog.example/").await;
    listen(&sys, None, &id, "d-2", 32, "").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while get(&sys, None, &format!("/api/v1/cloudcasts/{id}/stats"))
        .await
        .1["plays"]
        != 2
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "plays never reached 2"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    let download = sys.dir.path().join("from-the-page.parquet");
    let shown = crate::support::run_page(
        "dashboard_page.mjs",
        vec![
            sys.base.clone(),
            "dash_boss".into(),
            "correct horse battery".into(),
            download.to_string_lossy().into_owned(),
        ],
        &[],
    )
    .await;
    assert_eq!(shown["plays"], "2", "{shown}");
    assert_eq!(shown["listeners"], "2", "{shown}");
    assert_eq!(shown["top"][0][0], "Dashboard mix", "{shown}");
    assert_eq!(shown["top"][0][1], "2", "{shown}");
    let referrers = shown["referrers"].as_array().expect("referrers");
    assert!(
        referrers
            .iter()
            .any(|r| r[0] == "blog.example" && r[1] == "1"),
        "{shown}"
    );
    assert!(referrers.iter().any(|r| r[0] == "(direct)"), "{shown}");
    assert_eq!(shown["browsers"][0][0], "Firefox", "{shown}");
    assert!(
        shown["playsChartInk"].as_u64().unwrap_or(0) > 100,
        "no bars drawn: {shown}"
    );
    assert!(
        shown["retentionChartInk"].as_u64().unwrap_or(0) > 50,
        "no retention line: {shown}"
    );
    assert!(
        shown["downloadName"]
            .as_str()
            .is_some_and(|n| n.ends_with(".parquet")),
        "{shown}"
    );
    let table = read_with_pyarrow(&download, "parquet");
    assert_eq!(table["columns"]["plays"], json!([2]), "{table}");
    sys.stop().await;
}

/// The rights report's rows of a CSV answer: (track number, heard_seconds),
/// the first after four fields without commas, the last at the end.
fn rights_rows(csv_text: &str) -> Vec<(String, u64)> {
    csv_text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let track = l.split(',').nth(4)?.to_string();
            let heard = l.rsplit_once(',')?.1.parse().ok()?;
            Some((track, heard))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rights_report_gives_the_seconds_heard_of_each_track() {
    let sys = TestSystem::start("rights_report").await;
    let dj = sys.user("rr_dj").await;
    let fan = sys.user("rr_fan").await;
    let other = sys.user("rr_other").await;
    let cc = sys.ready_cloudcast(&dj, 40, "Rights mix").await;
    let id = cc["id"].as_str().expect("id").to_string();
    let resp = sys
        .http
        .patch(sys.url(&format!("/api/v1/cloudcasts/{id}")))
        .bearer_auth(&dj)
        .json(&json!({"tracklist": [
            {"start_ms": 0, "artist": "Ada", "title": "One"},
            {"start_ms": 20_000, "artist": "Bo", "title": "Two, remixed"}
        ]}))
        .send()
        .await
        .expect("tracklist");
    assert_eq!(resp.status(), 200);
    // The fan hears all 40 s; the other the first 15 s: slices 0 and 10
    // have two listeners, 20 and 30 one. Track one (0-20 s): 40
    // listener-seconds; track two (20-40 s): 20.
    listen(&sys, Some(&fan), &id, "rr-1", 40, "").await;
    listen(&sys, Some(&other), &id, "rr-2", 15, "").await;
    let path = format!("/api/v1/cloudcasts/{id}/rights-report");
    let want = vec![("1".to_string(), 40), ("2".to_string(), 20)];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let text = loop {
        let resp = sys
            .http
            .get(sys.url(&path))
            .bearer_auth(&dj)
            .send()
            .await
            .expect("report");
        assert_eq!(resp.status(), 200);
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap_or("")
                .starts_with("text/csv"),
            "{:?}",
            resp.headers()
        );
        let text = resp.text().await.expect("csv");
        if rights_rows(&text) == want || tokio::time::Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(rights_rows(&text), want, "{text}");
    // A title with a comma is quoted whole.
    assert!(
        text.contains(",Ada,One,40") && text.contains(",Bo,\"Two, remixed\",20"),
        "{text}"
    );
    assert!(text.starts_with(
        "from,to,cloudcast_id,cloudcast_title,track,start_s,end_s,artist,title,heard_seconds"
    ));

    // The DJ's month: the same rows; others may not read it.
    let month = &time::OffsetDateTime::now_utc().date().to_string()[..7];
    let resp = sys
        .http
        .get(sys.url(&format!("/api/v1/me/rights-report?month={month}")))
        .bearer_auth(&dj)
        .send()
        .await
        .expect("month");
    assert_eq!(resp.status(), 200);
    assert_eq!(rights_rows(&resp.text().await.expect("csv")), want);
    let (status, body) = get(&sys, Some(&fan), &path).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("not_owner")),
        "{body}"
    );
    // An administrator reads every DJ's month; others may not.
    let admin = sys.user("rr_admin").await;
    sys.make_admin("rr_admin").await;
    let all = format!("/api/v1/admin/rights-report?month={month}");
    let resp = sys
        .http
        .get(sys.url(&all))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("all");
    assert_eq!(resp.status(), 200);
    assert_eq!(rights_rows(&resp.text().await.expect("csv")), want);
    assert_eq!(get(&sys, Some(&dj), &all).await.0, 403);
    let (status, _) = get(&sys, None, &path).await;
    assert_eq!(status, 401);
    let (status, body) = get(&sys, Some(&dj), "/api/v1/me/rights-report?month=2026-13").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("bad_query")),
        "{body}"
    );
    sys.stop().await;
}

/// Sets `token`'s public profile country.
async fn show_country(sys: &TestSystem, token: &str, country: &str) {
    let resp = sys
        .http
        .put(sys.url("/api/v1/me/profile"))
        .bearer_auth(token)
        .json(&json!({"country": country, "visibility": {"country": "public"}}))
        .send()
        .await
        .expect("profile");
    assert_eq!(resp.status(), 200, "{:?}", resp.text().await);
}

async fn follow(sys: &TestSystem, token: &str, username: &str, on: bool) {
    let req = if on {
        sys.http
            .put(sys.url(&format!("/api/v1/users/{username}/follow")))
    } else {
        sys.http
            .delete(sys.url(&format!("/api/v1/users/{username}/follow")))
    };
    let resp = req.bearer_auth(token).send().await.expect("follow");
    assert_eq!(resp.status(), 200, "{:?}", resp.text().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insights_add_up_the_mixes_and_show_groups_only_above_the_floor() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sys = TestSystem::start_with("insights", |c| {
        c.analytics.min_audience = 2;
        c.http.web_dir = root.join("web");
    })
    .await;
    let dj = sys.user("in_dj").await;
    let a = sys.ready_cloudcast(&dj, 40, "Insight A").await;
    let b = sys.ready_cloudcast(&dj, 40, "Insight B").await;
    let (a, b) = (
        a["id"].as_str().expect("id").to_string(),
        b["id"].as_str().expect("id").to_string(),
    );
    let f1 = sys.user("in_f1").await;
    let f2 = sys.user("in_f2").await;
    let f3 = sys.user("in_f3").await;
    let minor = sys.user_born("in_minor", "2012-03-01").await;
    for (t, c) in [(&f1, "GB"), (&f2, "GB"), (&f3, "FR"), (&minor, "GB")] {
        show_country(&sys, t, c).await;
    }
    // f1 hears both; f2, the minor A; f3 and an anonymous browser B.
    listen(&sys, Some(&f1), &a, "in-1a", 35, "https://blog.example/x").await;
    listen(&sys, Some(&f1), &b, "in-1b", 20, "").await;
    listen(&sys, Some(&f2), &a, "in-2a", 40, "").await;
    listen(&sys, Some(&minor), &a, "in-ma", 10, "").await;
    listen(&sys, Some(&f3), &b, "in-3b", 31, "").await;
    listen(&sys, None, &b, "in-xb", 33, "https://blog.example/y").await;
    // Three follow, one leaves: two followers, two more than before. The
    // minor's follow is counted nowhere, as on the profile.
    for t in [&f1, &f2, &f3, &minor] {
        follow(&sys, t, "in_dj", true).await;
    }
    follow(&sys, &f3, "in_dj", false).await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    let (sa, sb, ins) = loop {
        let (_, sa) = get(&sys, Some(&dj), &format!("/api/v1/cloudcasts/{a}/stats")).await;
        let (_, sb) = get(&sys, Some(&dj), &format!("/api/v1/cloudcasts/{b}/stats")).await;
        let (status, ins) = get(&sys, Some(&dj), "/api/v1/me/insights").await;
        assert_eq!(status, 200, "{ins}");
        let done = sa["listened_seconds"] == 85
            && sb["listened_seconds"] == 84
            && ins["totals"]["listened_seconds"] == 169
            && ins["totals"]["followers_change"] == 2;
        if done || tokio::time::Instant::now() > deadline {
            break (sa, sb, ins);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let n = |v: &Value| v.as_u64().unwrap_or(u64::MAX);
    // Totals are the sums of the mixes' own statistics.
    let t = &ins["totals"];
    assert_eq!(n(&t["plays"]), n(&sa["plays"]) + n(&sb["plays"]), "{ins}");
    assert_eq!(n(&t["plays"]), 4, "{ins}");
    assert_eq!(
        n(&t["listened_seconds"]),
        n(&sa["listened_seconds"]) + n(&sb["listened_seconds"]),
        "{ins}"
    );
    // Listeners are people: f1 heard both and counts once (3 + 3 - 1).
    assert_eq!(n(&t["listeners"]), 5, "{ins}");
    assert_eq!(
        (t["followers"].clone(), t["followers_change"].clone()),
        (json!(2), json!(2)),
        "{ins}"
    );
    let today = ins["by_day"]
        .as_array()
        .and_then(|d| d.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(today["followers"], 2, "{ins}");
    assert_eq!(today["plays"], 4, "{ins}");
    // Top mixes: each as its statistics say, A first (two plays, 85 s).
    let top = ins["top"].as_array().expect("top");
    assert_eq!(top.len(), 2, "{ins}");
    for (row, stats) in [(&top[0], &sa), (&top[1], &sb)] {
        assert_eq!(row["plays"], stats["plays"], "{ins}");
        assert_eq!(row["listened_seconds"], stats["listened_seconds"], "{ins}");
        assert_eq!(row["listeners"], stats["listeners"], "{ins}");
    }
    assert_eq!(top[0]["title"], "Insight A", "{ins}");
    assert_eq!(top[0]["url"], "/in_dj/insight-a", "{ins}");
    let blog = ins["referrers"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["domain"] == "blog.example"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(blog["listeners"], 2, "{ins}");
    // One cohort, this month, of all five; countries from public profiles
    // only: two adults show GB (the minor never counts), one FR (below the floor).
    assert_eq!(ins["cohorts"].as_array().map(Vec::len), Some(1), "{ins}");
    assert_eq!(ins["cohorts"][0]["listeners"], 5, "{ins}");
    assert_eq!(
        ins["countries"],
        json!([{"country": "GB", "listeners": 2}]),
        "{ins}"
    );
    assert_eq!(ins["min_audience"], 2, "{ins}");
    assert!(
        ins["devices"].as_array().is_some_and(|d| !d.is_empty()),
        "{ins}"
    );

    // The page, in Chromium: what the API said, from My mixes.
    let seen = run_page(
        "insights.mjs",
        vec![
            "look".into(),
            sys.base.clone(),
            "in_dj".into(),
            "correct horse battery".into(),
        ],
        &[],
    )
    .await;
    assert_eq!(seen["signedOut"], "/sign-in", "{seen}");
    assert_eq!(seen["plays"], "4", "{seen}");
    assert_eq!(seen["listeners"], "5", "{seen}");
    assert_eq!(seen["followers"], "2", "{seen}");
    assert_eq!(seen["change"], "+2 in these dates", "{seen}");
    assert_eq!(seen["top"], json!(["Insight A", "Insight B"]), "{seen}");
    assert_eq!(seen["cohorts"], json!(["5"]), "{seen}");
    assert_eq!(seen["countries"], json!(["GB", "2"]), "{seen}");
    assert!(
        seen["referrers"]
            .as_array()
            .is_some_and(|r| r.contains(&json!("blog.example"))),
        "{seen}"
    );
    assert_eq!(seen["emptyPlays"], "0", "{seen}");
    assert_eq!(seen["emptyTop"], 0, "{seen}");

    // Someone else's catalogue is not theirs to read; bad input is named.
    let (status, other) = get(&sys, Some(&f1), "/api/v1/me/insights").await;
    assert_eq!(status, 200, "{other}");
    assert_eq!(other["totals"]["plays"], 0, "{other}");
    assert_eq!(other["top"], json!([]), "{other}");
    let (status, _) = get(&sys, None, "/api/v1/me/insights").await;
    assert_eq!(status, 401);
    for (q, code) in [
        ("from=2026-13-01", "bad_query"),
        ("from=2026-12-07&to=2026-01-01", "bad_query"),
        ("limit=0", "bad_query"),
        ("nope=1", "invalid_query"),
    ] {
        let (status, v) = get(&sys, Some(&dj), &format!("/api/v1/me/insights?{q}")).await;
        assert_eq!(status, 400, "{q}: {v}");
        assert_eq!(v["error"]["code"], code, "{q}: {v}");
    }
    sys.stop().await;
}

/// Beats of one session at the given positions (seconds), one a second.
async fn beats_at(sys: &TestSystem, token: &str, id: &str, session: &str, positions: &[u64]) {
    let beats: Vec<Value> = positions
        .iter()
        .enumerate()
        .map(|(seq, p)| json!({"cloudcast_id": id, "session_id": session, "seq": seq, "position_ms": p * 1000}))
        .collect();
    let resp = sys
        .http
        .post(sys.url("/api/v1/heartbeats"))
        .bearer_auth(token)
        .json(&beats)
        .send()
        .await
        .expect("beats");
    assert_eq!(resp.status(), 202, "{:?}", resp.text().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_room_is_read_track_by_track_with_skips_replays_and_loudness() {
    let sys = TestSystem::start_with("room_read", |c| {
        c.transcode.ladder_kbps = vec![64];
        c.transcode.loudness_backfill = Duration::from_secs(1);
    })
    .await;
    let dj = sys.user("rr_room_dj").await;
    // Two tones, 10 s each, the second 6 dB (6.02 LU) louder.
    let wav = crate::support::tones_wav(10, &[0.1, 0.2]);
    let id = sys.upload(&dj, &wav, 2, "Two tones").await;
    let cc = sys.wait_processed(&id, Duration::from_secs(60)).await;
    assert_eq!(cc["status"], "ready", "{cc}");
    let resp = sys
        .http
        .patch(sys.url(&format!("/api/v1/cloudcasts/{id}")))
        .bearer_auth(&dj)
        .json(&json!({"tracklist": [
            {"start_ms": 0, "artist": "Tone", "title": "Quiet"},
            {"start_ms": 10_000, "artist": "Tone", "title": "Loud"}
        ]}))
        .send()
        .await
        .expect("tracklist");
    assert_eq!(resp.status(), 200);

    // f1 hears 5 s of the first track and jumps to the second: a skip.
    // f2 starts in the second, goes back 14 s into the first: heard again.
    // f3 plays on from the start: neither.
    let (f1, f2, f3) = (
        sys.user("rr_room_1").await,
        sys.user("rr_room_2").await,
        sys.user("rr_room_3").await,
    );
    beats_at(&sys, &f1, &id, "room-1", &[0, 1, 2, 3, 4, 15, 16, 17]).await;
    beats_at(
        &sys,
        &f2,
        &id,
        "room-2",
        &[10, 11, 12, 13, 14, 15, 16, 17, 3, 4, 5],
    )
    .await;
    let on: Vec<u64> = (0..13).collect();
    beats_at(&sys, &f3, &id, "room-3", &on).await;

    let path = format!("/api/v1/cloudcasts/{id}/stats");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let stats = loop {
        let (status, stats) = get(&sys, Some(&dj), &path).await;
        assert_eq!(status, 200, "{stats}");
        if stats["tracks"][0]["replayed"] == 1 || tokio::time::Instant::now() > deadline {
            break stats;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let t = &stats["tracks"];
    assert_eq!(
        (t[0]["skipped"].clone(), t[0]["replayed"].clone()),
        (json!(1), json!(1)),
        "{stats}"
    );
    assert_eq!(
        (t[1]["skipped"].clone(), t[1]["replayed"].clone()),
        (json!(0), json!(0)),
        "{stats}"
    );
    // The loudness where the second starts: 6 LU up, flagged; none before the first.
    let jump = t[1]["loudness_jump_lu"].as_f64().unwrap_or(f64::NAN);
    assert!((jump - 6.02).abs() < 0.5, "{stats}");
    assert_eq!(t[1]["loudness_flag"], true, "{stats}");
    assert!(t[0]["loudness_jump_lu"].is_null(), "{stats}");
    assert_eq!(t[0]["loudness_flag"], false, "{stats}");
    // Others never see the room read.
    let (_, public) = get(&sys, Some(&f1), &path).await;
    assert!(public.get("tracks").is_none(), "{public}");

    // A mix published before the series was kept is measured by a queued
    // job, without a new transcode.
    let version = sys
        .pg_strings(&format!(
            "SELECT media_version::text FROM cloudcasts WHERE id = '{id}'"
        ))
        .await;
    sys.pg_exec(&format!(
        "DELETE FROM cloudcast_loudness WHERE cloudcast_id = '{id}'"
    ))
    .await;
    let (_, gone) = get(&sys, Some(&dj), &path).await;
    assert!(gone["tracks"][1]["loudness_jump_lu"].is_null(), "{gone}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let back = loop {
        let (_, s) = get(&sys, Some(&dj), &path).await;
        if s["tracks"][1]["loudness_flag"] == true || tokio::time::Instant::now() > deadline {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(back["tracks"][1]["loudness_flag"], true, "{back}");
    let jobs = sys
        .pg_strings(&format!(
            "SELECT kind || ':' || state FROM transcode_jobs WHERE cloudcast_id = '{id}' ORDER BY created_at"
        ))
        .await;
    assert_eq!(jobs, vec!["transcode:done", "loudness:done"]);
    let after = sys
        .pg_strings(&format!(
            "SELECT media_version::text FROM cloudcasts WHERE id = '{id}'"
        ))
        .await;
    assert_eq!(version, after, "no new transcode");
    let (_, cc) = get(&sys, Some(&dj), &format!("/api/v1/cloudcasts/{id}")).await;
    assert_eq!(cc["status"], "ready", "{cc}");
    sys.stop().await;
}
