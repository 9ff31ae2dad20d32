//! A listener's library and the ways to people, in Chromium
//! (`web/tests/library.mjs`): what each page shows is what the API holds
//! for that visitor, signed in and out, at phone width and by keyboard.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{TestSystem, run_page};

const PASSWORD: &str = "correct horse battery";

fn args(name: &str, rest: &[&str]) -> Vec<String> {
    std::iter::once(name)
        .chain(rest.iter().copied())
        .map(str::to_owned)
        .collect()
}

async fn call(
    sys: &TestSystem,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> u16 {
    let mut req = sys.http.request(method, sys.url(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.expect("call").status().as_u16()
}

/// `path` of the API as `token`, once `ready` says its answer is there.
async fn wait_for(
    sys: &TestSystem,
    token: &str,
    path: &str,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let v: Value = sys
            .http
            .get(sys.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("get")
            .json()
            .await
            .unwrap_or_default();
        if ready(&v) {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "{path}: {v}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_library_holds_what_the_api_holds_and_people_are_found() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sys = TestSystem::start_with("web_library", |c| {
        c.http.web_dir = root.join("web");
        c.transcode.ladder_kbps = vec![64];
    })
    .await;
    let base = sys.base.clone();
    let put = reqwest::Method::PUT;

    let dj = sys.user("sunbeam_dj").await;
    let sunrise = sys.ready_cloudcast(&dj, 20, "Sunrise Session").await;
    let night = sys.ready_cloudcast(&dj, 20, "Night Drive").await;
    let (sunrise_id, night_id) = (
        sunrise["id"].as_str().unwrap_or_default().to_owned(),
        night["id"].as_str().unwrap_or_default().to_owned(),
    );
    let patch = json!({"tags": ["deep house"]});
    assert_eq!(
        call(
            &sys,
            &dj,
            reqwest::Method::PATCH,
            &format!("/api/v1/cloudcasts/{sunrise_id}"),
            Some(patch)
        )
        .await,
        200
    );

    let listener = sys.user("lis_lib").await;
    let fan = sys.user("fan_two").await;
    for t in [&listener, &fan] {
        assert_eq!(
            call(
                &sys,
                t,
                put.clone(),
                "/api/v1/users/sunbeam_dj/follow",
                None
            )
            .await,
            200
        );
    }
    assert_eq!(
        call(&sys, &dj, put.clone(), "/api/v1/users/lis_lib/follow", None).await,
        200
    );
    for (path, want) in [
        (format!("/api/v1/cloudcasts/{sunrise_id}/favourite"), 200),
        (format!("/api/v1/cloudcasts/{sunrise_id}/repost"), 200),
        (format!("/api/v1/cloudcasts/{night_id}/listen-later"), 200),
    ] {
        assert_eq!(
            call(&sys, &listener, put.clone(), &path, None).await,
            want,
            "{path}"
        );
    }
    // Seven seconds of Sunrise: it stopped at 0:06.
    assert_eq!(sys.beats(&listener, &sunrise_id, "s-lib-1", 7).await, 202);
    let history = wait_for(&sys, &listener, "/api/v1/me/history", |v| {
        v["history"].as_array().is_some_and(|h| !h.is_empty())
    })
    .await;
    let stopped_ms = history["history"][0]["stopped_at_ms"].as_u64().unwrap_or(0);
    assert_eq!(stopped_ms, 6000, "{history}");

    // Signed in: the library from the header, section by section.
    let seen = run_page(
        "library.mjs",
        args("library", &[&base, "lis_lib", PASSWORD]),
        &[],
    )
    .await;
    let titles = |s: &str| -> Vec<String> {
        seen["sections"][s]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str())
                    .map(|t| t.trim().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut feed = titles("feed");
    feed.sort();
    assert_eq!(feed, ["Night Drive", "Sunrise Session"], "{seen}");
    assert!(
        seen["feedBy"].to_string().contains("New from sunbeam_dj"),
        "{seen}"
    );
    assert_eq!(titles("history"), ["Sunrise Session"], "{seen}");
    assert_eq!(titles("listen-later"), ["Night Drive"], "{seen}");
    assert_eq!(titles("favourites"), ["Sunrise Session"], "{seen}");
    assert_eq!(titles("reposts"), ["Sunrise Session"], "{seen}");
    assert_eq!(seen["favouritesPage"], json!(["Sunrise Session"]), "{seen}");
    assert_eq!(seen["resumeLabel"], "Resume at 0:06", "{seen}");
    assert_eq!(seen["at"], 6, "{seen}");
    let resumed = seen["resumedAt"].as_f64().unwrap_or(0.0);
    assert!(
        (5.5..12.0).contains(&resumed),
        "resumed at {resumed}: {seen}"
    );

    // Signed out, at phone width: the counts lead to the lists.
    let seen = run_page(
        "library.mjs",
        args("follows", &[&base, "sunbeam_dj"]),
        &[("WIDTH", "375")],
    )
    .await;
    assert!(
        seen["counts"]
            .as_str()
            .is_some_and(|c| c.contains("2 followers")
                && c.contains("1 following")
                && c.contains("2 cloudcasts")),
        "{seen}"
    );
    let mut followers: Vec<String> =
        serde_json::from_value(seen["followers"].clone()).unwrap_or_default();
    followers.sort();
    assert_eq!(followers, ["fan_two", "lis_lib"], "{seen}");
    assert_eq!(seen["following"], json!(["lis_lib"]), "{seen}");

    // Search as the API searches: a DJ by exact name, by a typo, and a tag.
    for query in ["sunbeam_dj", "sunbeem"] {
        let seen = run_page("library.mjs", args("search", &[&base, query]), &[]).await;
        assert!(
            seen["suggestions"].to_string().contains("@sunbeam_dj"),
            "{query}: {seen}"
        );
        assert_eq!(seen["users"], json!(["sunbeam_dj"]), "{query}: {seen}");
        assert_eq!(seen["opened"], "/sunbeam_dj", "{query}: {seen}");
    }
    let seen = run_page(
        "library.mjs",
        args("search", &[&base, "deep"]),
        &[("WIDTH", "375")],
    )
    .await;
    assert!(seen["tags"].to_string().contains("deep house"), "{seen}");
    assert!(
        seen["suggestions"].to_string().contains("#deep house"),
        "{seen}"
    );
    assert_eq!(seen["mixes"], json!(["Sunrise Session"]), "{seen}");

    // A library is one's own: signed out, it asks to sign in first.
    let resp = sys
        .http
        .get(sys.url("/library"))
        .send()
        .await
        .expect("library");
    assert!(
        resp.url().path().starts_with("/sign-in") || resp.status().is_redirection(),
        "{:?}",
        resp.url()
    );
    // The short names people type lead to the library's sections.
    for (short, section) in [
        ("/feed", "/library/feed"),
        ("/history", "/library/history"),
        ("/listen-later", "/library/listen-later"),
    ] {
        let resp = sys.http.get(sys.url(short)).send().await.expect(short);
        let next = resp
            .url()
            .query_pairs()
            .find(|(k, _)| k == "next")
            .map(|(_, v)| v.into_owned());
        assert_eq!(
            next.as_deref(),
            Some(section),
            "{short} led to {}",
            resp.url()
        );
    }
    sys.stop().await;
}
