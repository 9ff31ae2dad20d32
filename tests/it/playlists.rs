//! Playlists over the API: made, ordered, public, unlisted or private as a
//! mix is; only mixes that may be listed (or the reader's own) show in
//! them, so a mix made private or deleted drops out without breaking the
//! playlist; only the owner changes one; the export holds them.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestSystem, call};

/// A ready cloudcast row of `owner` (no audio needed here).
async fn mix(sys: &TestSystem, owner: &str, title: &str, visibility: &str) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    sys.pg_exec(&format!(
        "INSERT INTO cloudcasts (id, owner_id, title, status, visibility)
         SELECT '{id}', id, '{title}', 'ready', '{visibility}' FROM users WHERE username = '{owner}'"
    ))
    .await;
    id
}

fn titles(p: &Value) -> Vec<String> {
    p["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|c| c["title"].as_str().map(String::from))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playlists_keep_their_order_and_show_only_what_their_reader_may_see() {
    let sys = TestSystem::start("playlists").await;
    let dj = sys.user("pl_dj").await;
    let fan = sys.user("pl_fan").await;
    let other = sys.user("pl_other").await;
    let a = mix(&sys, "pl_dj", "Aurora", "public").await;
    let b = mix(&sys, "pl_dj", "Borealis", "public").await;
    let secret_mix = mix(&sys, "pl_dj", "Hidden", "private").await;
    let unlisted_mix = mix(&sys, "pl_dj", "Quiet", "unlisted").await;

    // Made, with fields checked.
    let (status, body) = call(
        &sys,
        Method::POST,
        "/api/v1/playlists",
        Some(&fan),
        Some(json!({"title": "  "})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("invalid_field")),
        "{body}"
    );
    let (status, body) = call(
        &sys,
        Method::POST,
        "/api/v1/playlists",
        Some(&fan),
        Some(json!({"title": "x", "visibility": "secret"})),
    )
    .await;
    assert!(status == 400 || status == 422, "{status} {body}");
    let (status, body) = call(
        &sys,
        Method::POST,
        "/api/v1/playlists",
        None,
        Some(json!({"title": "x"})),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    let (status, p) = call(
        &sys,
        Method::POST,
        "/api/v1/playlists",
        Some(&fan),
        Some(json!({"title": "Sunday Morning", "description": "Slow ones"})),
    )
    .await;
    assert_eq!(status, 201, "{p}");
    let id = p["id"].as_str().expect("id").to_string();
    assert_eq!(p["url"], format!("/playlists/{id}"));
    assert_eq!(p["visibility"], "public");
    assert_eq!(p["items"], json!([]));
    let item = |cc: &str| format!("/api/v1/playlists/{id}/items/{cc}");

    // Added in order, then moved; a mix of someone else's that may not be
    // listed is refused as unknown.
    for cc in [&a, &b] {
        let (status, body) = call(&sys, Method::PUT, &item(cc), Some(&fan), None).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, p) = call(
        &sys,
        Method::PUT,
        &item(&b),
        Some(&fan),
        Some(json!({"position": 0})),
    )
    .await;
    assert_eq!(
        (status, titles(&p)),
        (200, vec!["Borealis".to_string(), "Aurora".to_string()]),
        "{p}"
    );
    assert!(
        p["picture_urls"]["small"]
            .as_str()
            .is_some_and(|u| u.contains(&b)),
        "the cover is the first mix's: {p}"
    );
    for hidden in [&secret_mix, &unlisted_mix] {
        let (status, body) = call(&sys, Method::PUT, &item(hidden), Some(&fan), None).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (404, Some("not_found")),
            "{body}"
        );
    }
    let (status, body) = call(
        &sys,
        Method::PUT,
        &item(&a),
        Some(&fan),
        Some(json!({"position": -1})),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    // Only its owner changes it.
    let (status, _) = call(&sys, Method::PUT, &item(&a), Some(&other), None).await;
    assert_eq!(status, 403);
    let (status, _) = call(
        &sys,
        Method::PATCH,
        &format!("/api/v1/playlists/{id}"),
        Some(&other),
        Some(json!({"title": "Mine now"})),
    )
    .await;
    assert_eq!(status, 403);

    // Anyone reads a public one; a mix made private drops out for others,
    // its own DJ still sees it there, and the order holds.
    let (status, anon) = call(
        &sys,
        Method::GET,
        &format!("/api/v1/playlists/{id}"),
        None,
        None,
    )
    .await;
    assert_eq!(
        (status, titles(&anon)),
        (200, vec!["Borealis".to_string(), "Aurora".to_string()])
    );
    assert!(
        anon.get("visibility").is_none(),
        "only the owner reads it: {anon}"
    );
    sys.pg_exec(&format!(
        "UPDATE cloudcasts SET visibility = 'private' WHERE id = '{a}'"
    ))
    .await;
    let (_, anon) = call(
        &sys,
        Method::GET,
        &format!("/api/v1/playlists/{id}"),
        None,
        None,
    )
    .await;
    assert_eq!(titles(&anon), ["Borealis"]);
    let (_, own) = call(
        &sys,
        Method::GET,
        &format!("/api/v1/playlists/{id}"),
        Some(&fan),
        None,
    )
    .await;
    assert_eq!(titles(&own), ["Borealis"]);
    let (_, djs) = call(
        &sys,
        Method::GET,
        &format!("/api/v1/playlists/{id}"),
        Some(&dj),
        None,
    )
    .await;
    assert_eq!(titles(&djs), ["Borealis", "Aurora"]);
    sys.pg_exec(&format!(
        "UPDATE cloudcasts SET visibility = 'public' WHERE id = '{a}'"
    ))
    .await;

    // A DJ's own private mix in their own playlist shows to them alone.
    let (_, djp) = call(
        &sys,
        Method::POST,
        "/api/v1/playlists",
        Some(&dj),
        Some(json!({"title": "Works in progress"})),
    )
    .await;
    let dj_list = djp["id"].as_str().expect("id").to_string();
    let (status, mine) = call(
        &sys,
        Method::PUT,
        &format!("/api/v1/playlists/{dj_list}/items/{secret_mix}"),
        Some(&dj),
        None,
    )
    .await;
    assert_eq!(
        (status, titles(&mine)),
        (200, vec!["Hidden".to_string()]),
        "{mine}"
    );
    let (_, seen) = call(
        &sys,
        Method::GET,
        &format!("/api/v1/playlists/{dj_list}"),
        Some(&fan),
        None,
    )
    .await;
    assert_eq!(seen["items"], json!([]), "{seen}");

    // Unlisted: by its secret URL only; private: its owner alone.
    let (_, p) = call(
        &sys,
        Method::PATCH,
        &format!("/api/v1/playlists/{id}"),
        Some(&fan),
        Some(json!({"visibility": "unlisted"})),
    )
    .await;
    let secret_url = p["url"].as_str().expect("url").to_string();
    assert!(secret_url.contains("?secret="), "{p}");
    let (status, _) = call(
        &sys,
        Method::GET,
        &format!("/api/v1/playlists/{id}"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 404);
    let api_secret = secret_url.replace("/playlists/", "/api/v1/playlists/");
    let (status, _) = call(&sys, Method::GET, &api_secret, None, None).await;
    assert_eq!(status, 200);
    call(
        &sys,
        Method::PATCH,
        &format!("/api/v1/playlists/{id}"),
        Some(&fan),
        Some(json!({"visibility": "private"})),
    )
    .await;
    let (status, _) = call(&sys, Method::GET, &api_secret, Some(&other), None).await;
    assert_eq!(status, 404);
    let (status, _) = call(
        &sys,
        Method::PATCH,
        &format!("/api/v1/playlists/{id}"),
        Some(&other),
        Some(json!({"title": "x"})),
    )
    .await;
    assert_eq!(status, 404, "a private playlist is unknown to others");
    let (status, _) = call(
        &sys,
        Method::GET,
        &format!("/api/v1/playlists/{id}"),
        Some(&fan),
        None,
    )
    .await;
    assert_eq!(status, 200);

    // Lists: a profile's public ones; my own, every one.
    let (_, theirs) = call(
        &sys,
        Method::GET,
        "/api/v1/users/pl_fan/playlists",
        None,
        None,
    )
    .await;
    assert_eq!(
        theirs,
        json!([]),
        "a private one is listed nowhere but mine"
    );
    let search = "/api/v1/search?q=sunday+morn&type=playlist";
    let (status, found) = call(&sys, Method::GET, search, None, None).await;
    assert_eq!(
        (status, found["playlists"].clone()),
        (200, json!([])),
        "{found}"
    );
    call(
        &sys,
        Method::PATCH,
        &format!("/api/v1/playlists/{id}"),
        Some(&fan),
        Some(json!({"visibility": "public"})),
    )
    .await;
    let (_, theirs) = call(
        &sys,
        Method::GET,
        "/api/v1/users/pl_fan/playlists",
        None,
        None,
    )
    .await;
    assert_eq!(
        (theirs[0]["title"].as_str(), theirs[0]["mixes"].as_i64()),
        (Some("Sunday Morning"), Some(2)),
        "{theirs}"
    );
    // Search finds a public one by its words (the last as a prefix).
    let (status, found) = call(&sys, Method::GET, search, None, None).await;
    assert_eq!(
        (
            status,
            found["playlists"][0]["title"].as_str(),
            found["playlists"][0]["owner"].as_str()
        ),
        (200, Some("Sunday Morning"), Some("pl_fan")),
        "{found}"
    );
    let (_, mine) = call(&sys, Method::GET, "/api/v1/me/playlists", Some(&dj), None).await;
    assert_eq!(
        (mine[0]["visibility"].as_str(), mine[0]["mixes"].as_i64()),
        (Some("public"), Some(1)),
        "{mine}"
    );

    // A mix deleted by its DJ leaves the playlist, which plays on.
    let (status, _) = call(
        &sys,
        Method::DELETE,
        &format!("/api/v1/cloudcasts/{b}"),
        Some(&dj),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (_, p) = call(
        &sys,
        Method::GET,
        &format!("/api/v1/playlists/{id}"),
        None,
        None,
    )
    .await;
    assert_eq!(titles(&p), ["Aurora"]);

    // A minor's playlist is theirs alone, whatever it says: what a minor
    // gathers is their listening activity, never public.
    let teen_birth = format!("{}-01-01", time::OffsetDateTime::now_utc().year() - 15);
    let teen = sys.user_born("pl_teen", &teen_birth).await;
    let (status, tp) = call(
        &sys,
        Method::POST,
        "/api/v1/playlists",
        Some(&teen),
        Some(json!({"title": "Teen picks"})),
    )
    .await;
    assert_eq!(status, 201, "{tp}");
    let teen_list = format!("/api/v1/playlists/{}", tp["id"].as_str().unwrap_or(""));
    assert_eq!(
        call(&sys, Method::GET, &teen_list, Some(&teen), None)
            .await
            .0,
        200
    );
    assert_eq!(call(&sys, Method::GET, &teen_list, None, None).await.0, 404);
    let (_, listed) = call(
        &sys,
        Method::GET,
        "/api/v1/users/pl_teen/playlists",
        None,
        None,
    )
    .await;
    assert_eq!(listed, json!([]));

    // Taken out, then deleted; the export held it first.
    let (status, p) = call(&sys, Method::DELETE, &item(&a), Some(&fan), None).await;
    assert_eq!((status, p["items"].clone()), (200, json!([])));
    let doc = sys.exported_account(&fan).await;
    assert_eq!(
        doc["playlists"][0]["title"], "Sunday Morning",
        "{}",
        doc["playlists"]
    );
    let (status, _) = call(
        &sys,
        Method::DELETE,
        &format!("/api/v1/playlists/{id}"),
        Some(&fan),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = call(
        &sys,
        Method::GET,
        &format!("/api/v1/playlists/{id}"),
        Some(&fan),
        None,
    )
    .await;
    assert_eq!(status, 404);
    sys.stop().await;
}
