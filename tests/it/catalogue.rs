//! The catalogue end to end, on real transcoded cloudcasts: lists and their
//! keyset cursors, readable URLs and their redirects, visibility (public,
//! unlisted, private, scheduled), tags, charts from real listening, search,
//! follows, the feed, reposts, listen-later, counts hidden by their owner,
//! comments turned off, minors, erasure and deletion, reserved usernames,
//! and bad input.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{PNG_1X1, TestSystem, call, json_of, terms};

async fn get(sys: &TestSystem, path: &str, token: Option<&str>) -> (u16, Value) {
    call(sys, Method::GET, path, token, None).await
}

async fn patch(sys: &TestSystem, id: &str, token: &str, body: Value) -> Value {
    let (status, v) = call(
        sys,
        Method::PATCH,
        &format!("/api/v1/cloudcasts/{id}"),
        Some(token),
        Some(body),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    v
}

fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| {
                    i["id"]
                        .as_str()
                        .or_else(|| i["cloudcast"]["id"].as_str())
                        .unwrap_or_default()
                        .to_string()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `f` of every item of a JSON list ("" where absent).
fn field(list: &Value, f: &str) -> Vec<String> {
    list.as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| i[f].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn id_of(cc: &Value) -> String {
    cc["id"].as_str().expect("id").to_string()
}

/// Registers a 15-year-old and signs them in.
async fn minor(sys: &TestSystem, username: &str) -> String {
    let token = sys.user_born(username, "2011-03-04").await;
    assert_eq!(sys.me(&token).await["is_minor"], true);
    token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_page_by_cursor_and_readable_urls_follow_renames() {
    let sys = TestSystem::start("catalogue_lists").await;
    let dj = sys.user("Cat_DJ").await;
    let fan = sys.user("cat_fan").await;
    let first = sys.ready_cloudcast(&dj, 5, "Summer Mix").await;
    let second = sys.ready_cloudcast(&dj, 5, "Summer Mix").await;
    let third = sys.ready_cloudcast(&dj, 5, "Night Drive").await;
    let (a, b, c) = (id_of(&first), id_of(&second), id_of(&third));
    assert_eq!(first["slug"], "summer-mix", "{first}");
    assert_eq!(second["slug"], "summer-mix-2", "the same title: {second}");
    assert_eq!(first["url"], "/Cat_DJ/summer-mix");
    assert_eq!(first["visibility"], "public");

    // Newest first, page by page; any case of the name.
    let (status, page1) = get(&sys, "/api/v1/users/cat_dj/cloudcasts?limit=2", None).await;
    assert_eq!(status, 200, "{page1}");
    assert_eq!(ids(&page1), vec![c.clone(), b.clone()]);
    let cursor = page1["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_string();
    // A cloudcast arriving between two pages neither repeats nor hides one.
    let newer = sys.ready_cloudcast(&dj, 5, "Fresh One").await;
    let (_, page2) = get(
        &sys,
        &format!("/api/v1/users/CAT_DJ/cloudcasts?limit=2&cursor={cursor}"),
        None,
    )
    .await;
    assert_eq!(ids(&page2), vec![a.clone()], "{page2}");
    assert!(page2["next_cursor"].is_null());
    let (_, page0) = get(&sys, "/api/v1/users/cat_dj/cloudcasts?limit=1", None).await;
    assert_eq!(ids(&page0), vec![id_of(&newer)]);

    // By readable URL; a title change gives a new slug and the old one redirects.
    let (status, v) = get(&sys, "/api/v1/users/CAT_DJ/cloudcasts/summer-mix-2", None).await;
    assert_eq!((status, v["id"].as_str()), (200, Some(b.as_str())), "{v}");
    assert_eq!(v["owner"], "Cat_DJ", "the stored spelling");
    let renamed = patch(&sys, &a, &dj, json!({"title": "Sunset Mix"})).await;
    assert_eq!(renamed["slug"], "sunset-mix");
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let resp = no_redirects
        .get(sys.url("/api/v1/users/cat_dj/cloudcasts/summer-mix"))
        .send()
        .await
        .expect("old slug");
    assert_eq!(resp.status(), 302);
    assert_eq!(
        resp.headers().get("location").and_then(|l| l.to_str().ok()),
        Some("/api/v1/users/Cat_DJ/cloudcasts/sunset-mix")
    );
    let (status, v) = get(&sys, "/api/v1/users/cat_dj/cloudcasts/summer-mix", None).await;
    assert_eq!((status, v["id"].as_str()), (200, Some(a.as_str())));
    // Renaming back reuses the slug it had, and does not take another's.
    let back = patch(&sys, &a, &dj, json!({"title": "Summer Mix"})).await;
    assert_eq!(back["slug"], "summer-mix");

    // Unlisted: reached by id or by its URL with the secret; never listed.
    let unlisted = patch(&sys, &c, &dj, json!({"visibility": "unlisted"})).await;
    let url = unlisted["url"].as_str().expect("url").to_string();
    let secret = url.split("secret=").nth(1).expect("secret in the URL");
    assert!(url.starts_with("/Cat_DJ/night-drive?secret="), "{url}");
    assert_eq!(secret.len(), 32);
    let (status, _) = get(
        &sys,
        "/api/v1/users/cat_dj/cloudcasts/night-drive",
        Some(&fan),
    )
    .await;
    assert_eq!(status, 404, "an unlisted slug needs its secret");
    let (status, _) = get(
        &sys,
        "/api/v1/users/cat_dj/cloudcasts/night-drive?secret=00000000000000000000000000000000",
        Some(&fan),
    )
    .await;
    assert_eq!(status, 404);
    let (status, v) = get(
        &sys,
        &format!("/api/v1/users/cat_dj/cloudcasts/night-drive?secret={secret}"),
        Some(&fan),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert!(v["stream_url"].is_string(), "playable by its URL");
    assert_eq!(
        get(&sys, &format!("/api/v1/cloudcasts/{c}"), None).await.0,
        200
    );
    let (_, listed) = get(&sys, "/api/v1/users/cat_dj/cloudcasts", None).await;
    assert!(!ids(&listed).contains(&c), "{listed}");
    let (_, new) = get(&sys, "/api/v1/cloudcasts?sort=new", None).await;
    assert!(!ids(&new).contains(&c) && ids(&new).contains(&a), "{new}");
    // Renamed: its old slug still needs the secret, and tells nothing without it.
    let ride = patch(&sys, &c, &dj, json!({"title": "Night Ride"})).await;
    let resp = no_redirects
        .get(sys.url("/api/v1/users/cat_dj/cloudcasts/night-drive"))
        .send()
        .await
        .expect("old slug");
    assert_eq!(resp.status(), 404);
    let resp = no_redirects
        .get(sys.url(&format!(
            "/api/v1/users/cat_dj/cloudcasts/night-drive?secret={secret}"
        )))
        .send()
        .await
        .expect("old slug");
    assert_eq!(resp.status(), 302);
    assert_eq!(
        resp.headers().get("location").and_then(|l| l.to_str().ok()),
        Some(format!("/api/v1/users/Cat_DJ/cloudcasts/night-ride?secret={secret}").as_str())
    );
    assert_eq!(ride["url"], format!("/Cat_DJ/night-ride?secret={secret}"));

    // Private: the owner's list only.
    patch(&sys, &b, &dj, json!({"visibility": "private"})).await;
    let (_, listed) = get(&sys, "/api/v1/users/cat_dj/cloudcasts", Some(&dj)).await;
    assert!(!ids(&listed).contains(&b));
    assert_eq!(
        get(&sys, &format!("/api/v1/cloudcasts/{b}"), Some(&fan))
            .await
            .0,
        404
    );
    let (status, mine) = get(&sys, "/api/v1/me/cloudcasts", Some(&dj)).await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(ids(&mine).len(), 4, "all of mine: {mine}");
    assert_eq!(
        mine["items"][0]["picture_urls"]["small"]
            .as_str()
            .map(|u| u.contains("/picture/100")),
        Some(true)
    );
    let (states_a, states_b) = (
        field(&mine["items"], "visibility"),
        field(&mine["items"], "status"),
    );
    let states: Vec<(&str, &str)> = states_a
        .iter()
        .map(String::as_str)
        .zip(states_b.iter().map(String::as_str))
        .collect();
    assert!(states.contains(&("private", "ready")) && states.contains(&("unlisted", "ready")));
    assert!(
        get(&sys, "/api/v1/users/cat_dj/cloudcasts", None).await.1["items"][0]
            .get("visibility")
            .is_none(),
        "others do not see the owner's fields"
    );

    // Scheduled: hidden from others until its time, then listed.
    let later = patch(&sys, &a, &dj, json!({"publish_at": "2099-01-01T00:00:00Z"})).await;
    assert_eq!(later["publish_at"], "2099-01-01T00:00:00Z");
    assert_eq!(
        get(&sys, &format!("/api/v1/cloudcasts/{a}"), Some(&fan))
            .await
            .0,
        404
    );
    assert_eq!(
        get(&sys, &format!("/api/v1/cloudcasts/{a}"), Some(&dj))
            .await
            .0,
        200
    );
    let (_, listed) = get(&sys, "/api/v1/users/cat_dj/cloudcasts", None).await;
    assert!(!ids(&listed).contains(&a));
    patch(&sys, &a, &dj, json!({"publish_at": null})).await;
    let (_, listed) = get(&sys, "/api/v1/users/cat_dj/cloudcasts", None).await;
    assert!(ids(&listed).contains(&a));

    // Cover art: the default until one is set, then resized JPEGs.
    let default = first["picture_urls"]["medium"]
        .as_str()
        .expect("url")
        .to_string();
    assert!(default.ends_with("/picture/300?v=default"), "{default}");
    let resp = sys
        .http
        .get(sys.url(&default))
        .send()
        .await
        .expect("default");
    assert_eq!(resp.headers()["content-type"], "image/svg+xml");
    let put = |body: Vec<u8>, kind: &'static str, token: String| {
        let sys = &sys;
        let a = a.clone();
        async move {
            // A connection of its own: a refused upload may end its
            // connection, which the shared pool would hand out again.
            json_of(
                reqwest::Client::new()
                    .put(sys.url(&format!("/api/v1/cloudcasts/{a}/picture")))
                    .bearer_auth(token)
                    .header("content-type", kind)
                    .body(body)
                    .send()
                    .await
                    .expect("picture"),
            )
            .await
        }
    };
    let (status, urls) = put(PNG_1X1.to_vec(), "image/png", dj.clone()).await;
    assert_eq!(status, 200, "{urls}");
    let large = urls["large"].as_str().expect("large").to_string();
    let resp = sys.http.get(sys.url(&large)).send().await.expect("large");
    assert_eq!(resp.headers()["content-type"], "image/jpeg");
    let jpeg = resp.bytes().await.expect("bytes");
    assert!(jpeg.starts_with(&[0xFF, 0xD8, 0xFF]), "a JPEG");
    let (_, view) = get(&sys, &format!("/api/v1/cloudcasts/{a}"), None).await;
    assert_eq!(view["picture_urls"]["large"], large.as_str());
    assert_eq!(put(PNG_1X1.to_vec(), "image/png", fan.clone()).await.0, 403);
    let (status, v) = put(PNG_1X1.to_vec(), "image/jpeg", dj.clone()).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (415, Some("unsupported_image")),
        "{v}"
    );
    assert_eq!(
        put(b"GIF89a not really".to_vec(), "image/gif", dj.clone())
            .await
            .0,
        415
    );
    assert_eq!(
        put(vec![0u8; 9 * 1024 * 1024], "image/png", dj.clone())
            .await
            .0,
        413
    );
    let (status, _) = get(
        &sys,
        &format!("/api/v1/cloudcasts/{b}/picture/300"),
        Some(&fan),
    )
    .await;
    assert_eq!(status, 404, "a private cloudcast's picture");
    assert_eq!(
        get(&sys, &format!("/api/v1/cloudcasts/{a}/picture/250"), None)
            .await
            .0,
        404
    );

    // Private from the start: chosen when the upload begins, never listed.
    let data = std::fs::read(crate::support::media::make_mp3(sys.dir.path(), 3)).expect("mp3");
    let create = |visibility: &'static str| {
        let sys = &sys;
        let dj = dj.clone();
        let len = data.len();
        async move {
            let meta = format!(
                "filename {},title {},visibility {}",
                crate::support::media::b64("p.mp3"),
                crate::support::media::b64("Born Private"),
                crate::support::media::b64(visibility)
            );
            sys.http
                .post(sys.url("/api/v1/uploads"))
                .bearer_auth(&dj)
                .header("Tus-Resumable", "1.0.0")
                .header("Upload-Length", len.to_string())
                .header("Upload-Metadata", meta)
                .send()
                .await
                .expect("create")
        }
    };
    assert_eq!(
        create("secret").await.status(),
        422,
        "an unknown visibility"
    );
    let resp = create("private").await;
    assert_eq!(resp.status(), 201);
    let upload = sys.url(resp.headers()["location"].to_str().expect("location"));
    assert_eq!(sys.patch(&dj, &upload, 0, data.clone()).await.status(), 204);
    let born = sys.upload_status(&upload, &dj).await["cloudcast_id"]
        .as_str()
        .expect("cloudcast")
        .to_string();
    let mut state = Value::Null;
    for _ in 0..240 {
        let (_, mine) = get(&sys, "/api/v1/me/cloudcasts", Some(&dj)).await;
        state = mine["items"]
            .as_array()
            .and_then(|items| items.iter().find(|i| i["id"] == born.as_str()).cloned())
            .unwrap_or(Value::Null);
        if state["status"] == "ready" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        (state["status"].as_str(), state["visibility"].as_str()),
        (Some("ready"), Some("private")),
        "{state}"
    );
    let (_, listed) = get(&sys, "/api/v1/users/cat_dj/cloudcasts", None).await;
    assert!(!ids(&listed).contains(&born));
    assert_eq!(
        get(&sys, &format!("/api/v1/cloudcasts/{born}"), Some(&fan))
            .await
            .0,
        404
    );

    // Bad input is a 4xx that names the problem.
    for (path, code) in [
        ("/api/v1/users/cat_dj/cloudcasts?limit=0", "bad_limit"),
        ("/api/v1/users/cat_dj/cloudcasts?limit=101", "bad_limit"),
        ("/api/v1/users/cat_dj/cloudcasts?cursor=bogus", "bad_cursor"),
        ("/api/v1/cloudcasts?sort=loudest", "invalid_query"),
        ("/api/v1/cloudcasts?tag=..", "bad_query"),
        ("/api/v1/cloudcasts?limit=-1", "invalid_query"),
    ] {
        let (status, v) = get(&sys, path, None).await;
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (400, Some(code)),
            "{path}: {v}"
        );
    }
    let (_, popular) = get(&sys, "/api/v1/cloudcasts?sort=popular&limit=1", None).await;
    let (status, v) = get(
        &sys,
        &format!(
            "/api/v1/cloudcasts?sort=trending&cursor={}",
            page1["next_cursor"].as_str().unwrap_or("")
        ),
        None,
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (400, Some("bad_cursor")),
        "a cursor of another order: {v} {popular}"
    );
    let (status, v) = call(
        &sys,
        Method::PATCH,
        &format!("/api/v1/cloudcasts/{a}"),
        Some(&dj),
        Some(json!({"private": true})),
    )
    .await;
    assert_eq!(status, 422, "the old flag is named as unknown: {v}");
    let (status, v) = call(
        &sys,
        Method::PATCH,
        &format!("/api/v1/cloudcasts/{a}"),
        Some(&dj),
        Some(json!({"publish_at": "next tuesday"})),
    )
    .await;
    assert_eq!(status, 422, "{v}");
    let (status, v) = call(
        &sys,
        Method::PATCH,
        &format!("/api/v1/cloudcasts/{a}"),
        Some(&dj),
        Some(json!({"publish_at": "9999-12-31T23:30:00-01:00"})),
    )
    .await;
    assert_eq!(status, 422, "beyond what UTC can hold: {v}");
    use base64::Engine;
    let b64url = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    for cursor in [
        b64url(r#"{"New":[-9000000000000000000,"00000000-0000-0000-0000-000000000000"]}"#),
        b64url(r#"{"Name":"a\u0000b"}"#),
    ] {
        for path in ["/api/v1/users/cat_dj/cloudcasts", "/api/v1/tags?sort=name"] {
            let (status, v) = get(
                &sys,
                &format!(
                    "{path}{}cursor={cursor}",
                    if path.contains('?') { "&" } else { "?" }
                ),
                None,
            )
            .await;
            assert_eq!(status, 400, "{path} {cursor}: {v}");
        }
    }
    let (status, v) = get(&sys, "/api/v1/users/nobody_here/cloudcasts", None).await;
    assert_eq!(status, 404, "{v}");
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_charts_and_search_find_what_is_public() {
    let sys = TestSystem::start_with("catalogue_find", |c| {
        c.analytics.charts = Duration::from_secs(1);
    })
    .await;
    let dj = sys.user("find_dj").await;
    let fan = sys.user("find_fan").await;
    let a = id_of(&sys.ready_cloudcast(&dj, 8, "Midnight Sessions").await);
    let b = id_of(&sys.ready_cloudcast(&dj, 8, "Warehouse Tools").await);
    let p = id_of(&sys.ready_cloudcast(&dj, 8, "Secret Rehearsal").await);
    patch(
        &sys,
        &a,
        &dj,
        json!({"tags": ["Deep House", "techno"], "description": "Recorded live at the harbour",
               "tracklist": [{"start_ms": 0, "artist": "Aphex Twin", "title": "Xtal"}]}),
    )
    .await;
    patch(&sys, &b, &dj, json!({"tags": ["techno"]})).await;
    patch(
        &sys,
        &p,
        &dj,
        json!({"tags": ["rehearsal"], "visibility": "private"}),
    )
    .await;

    // A real play of A (40 s heard), shipped to ClickHouse, charted.
    assert_eq!(sys.beats(&fan, &a, "chart-1", 40).await, 202);
    let mut popular = Value::Null;
    for _ in 0..60 {
        popular = get(&sys, "/api/v1/cloudcasts?sort=popular", None).await.1;
        if ids(&popular) == vec![a.clone()] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(ids(&popular), vec![a.clone()], "{popular}");
    assert_eq!(popular["items"][0]["plays"], 1, "{popular}");
    let (_, trending) = get(&sys, "/api/v1/cloudcasts?sort=trending", None).await;
    assert_eq!(ids(&trending), vec![a.clone()], "{trending}");
    let (_, tagged) = get(&sys, "/api/v1/cloudcasts?sort=popular&tag=Techno", None).await;
    assert_eq!(ids(&tagged), vec![a.clone()], "{tagged}");

    // Tags: counted from listed cloudcasts only; a tag page is one tag.
    let (status, tags) = get(&sys, "/api/v1/tags", None).await;
    assert_eq!(status, 200, "{tags}");
    let names = field(&tags["items"], "tag");
    assert_eq!(names, vec!["techno", "deep house"], "{tags}");
    assert_eq!(tags["items"][0]["cloudcasts"], 2);
    assert_eq!(
        tags["items"][1]["url"],
        "/api/v1/tags/deep%20house/cloudcasts"
    );
    let (_, by_name) = get(&sys, "/api/v1/tags?sort=name&limit=1", None).await;
    assert_eq!(by_name["items"][0]["tag"], "deep house");
    let next = by_name["next_cursor"].as_str().expect("next").to_string();
    let (_, by_name2) = get(
        &sys,
        &format!("/api/v1/tags?sort=name&limit=1&cursor={next}"),
        None,
    )
    .await;
    assert_eq!(by_name2["items"][0]["tag"], "techno");
    let (_, techno) = get(&sys, "/api/v1/tags/techno/cloudcasts", None).await;
    assert_eq!(
        ids(&techno),
        vec![b.clone(), a.clone()],
        "newest first: {techno}"
    );
    let (_, deep) = get(
        &sys,
        "/api/v1/tags/deep%20house/cloudcasts?sort=popular",
        None,
    )
    .await;
    assert_eq!(ids(&deep), vec![a.clone()]);
    let (_, hidden) = get(&sys, "/api/v1/tags/rehearsal/cloudcasts", None).await;
    assert!(
        ids(&hidden).is_empty(),
        "a private cloudcast's tag page is empty: {hidden}"
    );
    // Made private: out of its tag page at once.
    patch(&sys, &b, &dj, json!({"visibility": "private"})).await;
    let (_, techno) = get(&sys, "/api/v1/tags/techno/cloudcasts", None).await;
    assert_eq!(ids(&techno), vec![a.clone()]);
    patch(&sys, &b, &dj, json!({"visibility": "public"})).await;

    // Search: ranked full text over title, owner, tags, tracklist, description.
    let search = |q: &str, t: &str| format!("/api/v1/search?q={q}&type={t}");
    for (q, want) in [
        ("midnight", vec![a.clone()]),
        ("aphex", vec![a.clone()]),   // tracklist artist
        ("harbour", vec![a.clone()]), // description
        ("warehouse%20tools", vec![b.clone()]),
        ("wareh", vec![b.clone()]),   // as you type: a prefix
        ("sesions", vec![a.clone()]), // a typo in the title
        ("rehearsal", vec![]),        // private: never found
        ("secret", vec![]),
    ] {
        let (status, v) = get(&sys, &search(q, "cloudcast"), None).await;
        assert_eq!(status, 200, "{q}: {v}");
        assert_eq!(ids(&json!({"items": v["cloudcasts"]})), want, "{q}: {v}");
    }
    let (_, by_owner) = get(&sys, &search("find_dj", "cloudcast"), None).await;
    assert_eq!(
        by_owner["cloudcasts"].as_array().map(Vec::len),
        Some(2),
        "{by_owner}"
    );
    let (_, paged) = get(
        &sys,
        &format!("{}&limit=1", search("find_dj", "cloudcast")),
        None,
    )
    .await;
    let cursor = paged["next_cursor"].as_str().expect("next").to_string();
    let (_, paged2) = get(
        &sys,
        &format!("{}&limit=1&cursor={cursor}", search("find_dj", "cloudcast")),
        None,
    )
    .await;
    // Both hits rank alike (the owner's name): the second page is the other
    // one, and the last.
    assert_ne!(paged["cloudcasts"][0]["id"], paged2["cloudcasts"][0]["id"]);
    assert_eq!(
        paged2["cloudcasts"].as_array().map(Vec::len),
        Some(1),
        "{paged2}"
    );
    assert!(paged2["next_cursor"].is_null(), "{paged2}");
    let (_, users) = get(&sys, &search("find_", "user"), None).await;
    let names = field(&users["users"], "username");
    assert_eq!(names.len(), 2, "{users}");
    assert_eq!(
        users["users"][0]["url"]
            .as_str()
            .map(|u| u.starts_with("/find_")),
        Some(true)
    );
    assert!(!users.to_string().contains("@example.org"));
    let (_, typo) = get(&sys, &search("find_dk", "user"), None).await;
    assert!(typo.to_string().contains("find_dj"), "{typo}");
    let (_, tags) = get(&sys, &search("tech", "tag"), None).await;
    assert_eq!(tags["tags"][0]["tag"], "techno", "{tags}");
    let (_, tags) = get(&sys, &search("rehears", "tag"), None).await;
    assert_eq!(tags["tags"].as_array().map(Vec::len), Some(0), "{tags}");
    for q in ["a", "%20%20", "!!", &"x".repeat(101)] {
        let (status, v) = get(&sys, &search(q, "cloudcast"), None).await;
        assert_eq!(status, 400, "{q}: {v}");
    }
    let (status, _) = get(&sys, "/api/v1/search?q=techno&type=galaxy", None).await;
    assert_eq!(status, 400);
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_feeds_reposts_and_listen_later_keep_minors_and_erased_users_out() {
    let sys = TestSystem::start("catalogue_social").await;
    let dj = sys.user("soc_dj").await;
    let fan = sys.user("soc_fan").await;
    let curator = sys.user("soc_curator").await;
    let teen = minor(&sys, "soc_teen").await;
    let cc = id_of(&sys.ready_cloudcast(&dj, 5, "Social Mix").await);

    let follow = |token: String, whom: &'static str, on: bool| {
        let sys = &sys;
        async move {
            call(
                sys,
                if on { Method::PUT } else { Method::DELETE },
                &format!("/api/v1/users/{whom}/follow"),
                Some(&token),
                None,
            )
            .await
        }
    };
    let (status, v) = follow(fan.clone(), "SOC_DJ", true).await;
    assert_eq!(
        (status, v["following"].as_bool(), v["followers"].as_i64()),
        (200, Some(true), Some(1)),
        "{v}"
    );
    assert_eq!(v["username"], "soc_dj");
    assert_eq!(
        follow(fan.clone(), "soc_dj", true).await.1["followers"],
        1,
        "idempotent"
    );
    assert_eq!(
        follow(dj.clone(), "soc_dj", true).await.0,
        400,
        "not oneself"
    );
    assert_eq!(follow(fan.clone(), "nobody_at_all", true).await.0, 404);
    assert_eq!(follow(teen.clone(), "soc_dj", true).await.0, 200);
    assert_eq!(follow(fan.clone(), "soc_curator", true).await.0, 200);
    let (status, v) = follow(fan.clone(), "soc_teen", true).await;
    assert_eq!(status, 200);
    assert!(
        v["followers"].is_null(),
        "a minor's count is not shown: {v}"
    );

    // Follow lists: public for adults, never a minor's, and no minor in them.
    let (_, followers) = get(&sys, "/api/v1/users/soc_dj/followers", None).await;
    let names = field(&followers["items"], "username");
    assert_eq!(names, vec!["soc_fan"], "{followers}");
    let (_, following) = get(&sys, "/api/v1/users/soc_fan/following", None).await;
    let names = field(&following["items"], "username");
    assert_eq!(
        names,
        vec!["soc_curator", "soc_dj"],
        "newest first, no minor: {following}"
    );
    for path in ["followers", "following", "reposts", "favourites"] {
        let (status, _) = get(&sys, &format!("/api/v1/users/soc_teen/{path}"), None).await;
        assert_eq!(status, 404, "a minor's {path}");
    }
    let (_, profile) = get(&sys, "/api/v1/users/soc_dj", None).await;
    assert_eq!(
        (
            profile["followers"].as_i64(),
            profile["following"].as_i64(),
            profile["cloudcasts"].as_i64()
        ),
        (Some(1), Some(0), Some(1)),
        "{profile}"
    );
    let (_, teen_profile) = get(&sys, "/api/v1/users/soc_teen", None).await;
    assert!(
        teen_profile["followers"].is_null() && teen_profile["following"].is_null(),
        "{teen_profile}"
    );

    // Reposts: counted, listed publicly (never a minor's), in followers' feeds.
    let repost = |token: String, on: bool| {
        let sys = &sys;
        let cc = cc.clone();
        async move {
            call(
                sys,
                if on { Method::PUT } else { Method::DELETE },
                &format!("/api/v1/cloudcasts/{cc}/repost"),
                Some(&token),
                None,
            )
            .await
        }
    };
    let (status, v) = repost(dj.clone(), true).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (400, Some("own_cloudcast")),
        "{v}"
    );
    assert_eq!(repost(curator.clone(), true).await.1["reposts"], 1);
    assert_eq!(
        repost(curator.clone(), true).await.1["reposts"],
        1,
        "idempotent"
    );
    assert_eq!(repost(teen.clone(), true).await.1["reposts"], 2);
    let (_, reposts) = get(&sys, "/api/v1/users/soc_curator/reposts", None).await;
    assert_eq!(ids(&reposts), vec![cc.clone()], "{reposts}");
    let (_, view) = get(&sys, &format!("/api/v1/cloudcasts/{cc}"), Some(&fan)).await;
    assert_eq!(view["reposts"], 2, "{view}");
    assert_eq!(view["me"]["following_owner"], true, "{view}");
    let (status, feed) = get(&sys, "/api/v1/me/feed", Some(&fan)).await;
    assert_eq!(status, 200, "{feed}");
    let (entries_a, entries_b) = (field(&feed["items"], "kind"), field(&feed["items"], "by"));
    let entries: Vec<(&str, &str)> = entries_a
        .iter()
        .map(String::as_str)
        .zip(entries_b.iter().map(String::as_str))
        .collect();
    assert_eq!(
        entries,
        vec![("repost", "soc_curator"), ("upload", "soc_dj")],
        "no minor's repost: {feed}"
    );
    let (_, feed1) = get(&sys, "/api/v1/me/feed?limit=1", Some(&fan)).await;
    let cursor = feed1["next_cursor"].as_str().expect("next").to_string();
    let (_, feed2) = get(
        &sys,
        &format!("/api/v1/me/feed?limit=1&cursor={cursor}"),
        Some(&fan),
    )
    .await;
    assert_eq!(feed2["items"][0]["kind"], "upload", "{feed2}");
    assert_eq!(get(&sys, "/api/v1/me/feed", None).await.0, 401);

    // Listen later is private to its user.
    let (status, v) = call(
        &sys,
        Method::PUT,
        &format!("/api/v1/cloudcasts/{cc}/listen-later"),
        Some(&fan),
        None,
    )
    .await;
    assert_eq!(
        (status, v["listen_later"].as_bool()),
        (200, Some(true)),
        "{v}"
    );
    let (_, later) = get(&sys, "/api/v1/me/listen-later", Some(&fan)).await;
    assert_eq!(ids(&later), vec![cc.clone()]);
    let (_, later) = get(&sys, "/api/v1/me/listen-later", Some(&curator)).await;
    assert!(ids(&later).is_empty());

    // Hidden counts and comments turned off.
    patch(
        &sys,
        &cc,
        &dj,
        json!({"hide_stats": true, "disable_comments": true}),
    )
    .await;
    let (_, view) = get(&sys, &format!("/api/v1/cloudcasts/{cc}"), Some(&fan)).await;
    assert!(
        view["reposts"].is_null() && view["favourites"].is_null(),
        "{view}"
    );
    let (_, own) = get(&sys, &format!("/api/v1/cloudcasts/{cc}"), Some(&dj)).await;
    let (status, v) = get(&sys, &format!("/api/v1/cloudcasts/{cc}/stats"), Some(&fan)).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (403, Some("stats_hidden")),
        "{v}"
    );
    assert_eq!(
        get(&sys, &format!("/api/v1/cloudcasts/{cc}/stats"), Some(&dj))
            .await
            .0,
        200
    );
    assert_eq!(own["reposts"], 2, "{own}");
    let (status, v) = call(
        &sys,
        Method::POST,
        &format!("/api/v1/cloudcasts/{cc}/comments"),
        Some(&fan),
        Some(json!({"body": "great"})),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (403, Some("comments_disabled")),
        "{v}"
    );

    // The data export holds follows, reposts and listen-later.
    let doc = sys.exported_account(&fan).await;
    assert_eq!(
        doc["following"].as_array().map(Vec::len),
        Some(3),
        "{}",
        doc["following"]
    );
    assert_eq!(doc["listen_later"][0]["cloudcast_id"], cc.as_str());

    // An erased user leaves every list and feed at once.
    let (status, v) = call(
        &sys,
        Method::DELETE,
        "/api/v1/me",
        Some(&curator),
        Some(json!({"password": "correct horse battery"})),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let (_, feed) = get(&sys, "/api/v1/me/feed", Some(&fan)).await;
    assert!(!feed.to_string().contains("soc_curator"), "{feed}");
    let (_, following) = get(&sys, "/api/v1/users/soc_fan/following", None).await;
    assert!(
        !following.to_string().contains("soc_curator"),
        "{following}"
    );

    // Deleting the cloudcast takes it out of every list, and its ClickHouse
    // rows through the removal queue.
    assert_eq!(sys.beats(&fan, &cc, "soc-1", 5).await, 202);
    let count = format!("SELECT count() AS n FROM heartbeats WHERE cloudcast_id = '{cc}'");
    let mut n = 0;
    for _ in 0..40 {
        n = crate::support::ch_u64(&sys.clickhouse_rows(&count).await[0]["n"]);
        if n > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(n > 0, "the beats arrived");
    let (status, _) = call(
        &sys,
        Method::DELETE,
        &format!("/api/v1/cloudcasts/{cc}"),
        Some(&dj),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (_, feed) = get(&sys, "/api/v1/me/feed", Some(&fan)).await;
    assert!(ids(&feed).is_empty(), "{feed}");
    let (_, later) = get(&sys, "/api/v1/me/listen-later", Some(&fan)).await;
    assert!(ids(&later).is_empty());
    for _ in 0..120 {
        n = crate::support::ch_u64(&sys.clickhouse_rows(&count).await[0]["n"]);
        if n == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(
        n, 0,
        "a deleted cloudcast's beats are removed from ClickHouse"
    );
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usernames_never_hide_a_page_of_the_site() {
    let sys = TestSystem::start("catalogue_reserved").await;
    for name in ["settings", "API", "Search", "robots.txt", "oembed"] {
        let (status, v) = call(
            &sys,
            Method::POST,
            "/api/v1/accounts",
            None,
            Some(
                json!({"email": format!("x{}@example.org", name.len()), "username": name,
                        "password": "correct horse battery", "birth_date": "1990-05-17", "terms": terms()}),
            ),
        )
        .await;
        assert_eq!(status, 422, "{name}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("site's own"),
            "{v}"
        );
    }
    let out = sys.cli(&[
        "admin",
        "create-admin",
        "--email",
        "ops@example.org",
        "--username",
        "Dashboard",
        "--birth-date",
        "1980-01-01",
    ]);
    assert!(
        !out.status.success(),
        "create-admin refuses a reserved name"
    );

    // Every top-level path the site serves is reserved.
    let (_, doc) = get(&sys, "/api/openapi.json", None).await;
    let paths: Vec<&String> = doc["paths"].as_object().expect("paths").keys().collect();
    // A profile's own files (`/{username}/podcast.rss`) are kept from slugs.
    for p in paths.iter().filter_map(|p| p.strip_prefix("/{username}/")) {
        assert!(
            cloudcast_core::paths::is_reserved_slug(p),
            "/{{username}}/{p} is served but not reserved"
        );
    }
    let mut firsts: Vec<String> = paths
        .iter()
        .filter(|p| !p.starts_with("/{username}/"))
        .filter_map(|p| {
            p.trim_start_matches('/')
                .split('/')
                .next()
                .map(str::to_string)
        })
        .collect();
    firsts.extend(cloudcast_site::TOP_LEVEL.iter().map(|p| p.to_string()));
    for first in firsts {
        assert!(
            cloudcast_core::paths::is_reserved_username(&first),
            "/{first} is served but not reserved"
        );
    }

    // An account from before the rule is renamed at start-up and told by mail.
    sys.user("someone").await;
    sys.pg_exec("UPDATE users SET username = 'Search' WHERE username = 'someone'")
        .await;
    sys.pg_exec("INSERT INTO users (id, email, username, password_hash, birth_date, is_minor)
                 VALUES (gen_random_uuid(), 'taken@example.org', 'search-1', 'x', '1990-01-01', false)")
        .await;
    let out = sys.cli(&["migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names = sys
        .pg_strings("SELECT username FROM users WHERE email = 'someone@example.org'")
        .await;
    assert_eq!(names, vec!["Search-2".to_string()], "the first free name");
    let mail = sys
        .pg_strings(
            "SELECT subject || ' ' || body FROM email_outbox WHERE kind = 'username_changed'",
        )
        .await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert!(mail[0].contains("\"Search-2\""), "{mail:?}");
    let (status, v) = get(&sys, "/api/v1/users/search-2", None).await;
    assert_eq!((status, v["username"].as_str()), (200, Some("Search-2")));
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compelled_disclosure_builds_the_export_and_leaves_an_audit_record() {
    let sys = TestSystem::start("catalogue_disclose").await;
    let token = sys.user("disc_user").await;
    let cc = id_of(&sys.ready_cloudcast(&token, 5, "Evidence Mix").await);
    assert_eq!(sys.beats(&token, &cc, "disc-1", 10).await, 202);
    let out = sys.dir.path().join("disclosure.zip");
    let out_arg = out.to_string_lossy().to_string();
    let run = sys.cli(&[
        "admin",
        "disclose",
        "--user",
        "disc_user@example.org",
        "--reason",
        "Court order under section 101",
        "--reference",
        "CASE-2026-0042",
        "--operator",
        "ops_anna",
        "--out",
        &out_arg,
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let bytes = std::fs::read(&out).expect("archive written");
    let doc = crate::support::account_json(&bytes);
    assert_eq!(
        doc["account"]["username"], "disc_user",
        "the user's own export"
    );
    assert_eq!(doc["cloudcasts"][0]["id"], cc.as_str());
    use sha2::Digest;
    let sha = hex::encode(sha2::Sha256::digest(&bytes));
    // The same file is never overwritten by a second disclosure.
    let again = sys.cli(&[
        "admin",
        "disclose",
        "--user",
        "disc_user",
        "--reason",
        "r",
        "--reference",
        "x",
        "--out",
        &out_arg,
    ]);
    assert!(!again.status.success());
    let missing = sys.cli(&[
        "admin",
        "disclose",
        "--user",
        "disc_user",
        "--reason",
        " ",
        "--reference",
        "x",
        "--out",
        "/tmp/never-written.zip",
    ]);
    assert!(!missing.status.success(), "a reason is required");
    let list = sys.cli(&["admin", "disclosures", "--json"]);
    assert!(list.status.success());
    let records: Value = serde_json::from_slice(&list.stdout).expect("json");
    assert_eq!(records.as_array().map(Vec::len), Some(1), "{records}");
    let r = &records[0];
    assert_eq!(
        (
            r["username"].as_str(),
            r["operator"].as_str(),
            r["reference"].as_str(),
            r["archive_sha256"].as_str()
        ),
        (
            Some("disc_user"),
            Some("ops_anna"),
            Some("CASE-2026-0042"),
            Some(sha.as_str())
        )
    );
    assert_eq!(r["reason"], "Court order under section 101");
    sys.stop().await;
}
