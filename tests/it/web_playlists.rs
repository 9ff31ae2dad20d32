//! Playlists in Chromium (`web/tests/playlists.mjs`): made from a mix's
//! page, ordered on the playlist's page, played through by the player's
//! queue, made unlisted and opened by its secret link signed out; what the
//! pages did is what PostgreSQL holds.

use crate::support::{TestSystem, run_page};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_makes_orders_and_plays_a_playlist_in_the_browser() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sys = TestSystem::start_with("web_playlists", |c| {
        c.http.web_dir = root.join("web");
        c.transcode.ladder_kbps = vec![64];
    })
    .await;
    let dj = sys.user("road_dj").await;
    sys.user("road_fan").await;
    let a = sys.ready_cloudcast(&dj, 8, "Alpha Road").await;
    let b = sys.ready_cloudcast(&dj, 8, "Beta Road").await;
    let url = |cc: &serde_json::Value| format!("{}{}", sys.base, cc["url"].as_str().expect("url"));
    let seen = run_page(
        "playlists.mjs",
        vec![
            "make".into(),
            sys.base.clone(),
            "road_fan".into(),
            "correct horse battery".into(),
            url(&a),
            url(&b),
        ],
        &[],
    )
    .await;
    assert_eq!(seen["offered"][0], "Road Trip", "{seen}");
    assert_eq!(
        seen["before"],
        serde_json::json!(["Alpha Road", "Beta Road"]),
        "{seen}"
    );
    assert_eq!(
        seen["dragged"],
        serde_json::json!(["Alpha Road", "Beta Road"]),
        "{seen}"
    );
    assert_eq!(
        seen["after"],
        serde_json::json!(["Beta Road", "Alpha Road"]),
        "{seen}"
    );
    assert_eq!(seen["playing"], "Beta Road", "{seen}");
    assert_eq!(seen["queued"], serde_json::json!(["Alpha Road"]), "{seen}");
    assert_eq!(seen["found"], serde_json::json!(["Road Trip"]), "{seen}");
    assert!(
        seen["secretLink"]
            .as_str()
            .unwrap_or("")
            .contains("?secret="),
        "{seen}"
    );
    assert_eq!(seen["visitor"]["title"], "Road Trip", "{seen}");
    assert_eq!(
        seen["visitor"]["items"],
        serde_json::json!(["Beta Road", "Alpha Road"]),
        "{seen}"
    );
    assert_eq!(seen["visitor"]["edit"], 0, "{seen}");
    assert_eq!(seen["bareStatus"], 404, "unlisted: not without its secret");
    assert!(
        seen["embedSrc"]
            .as_str()
            .unwrap_or("")
            .contains("/embed/playlist/"),
        "{seen}"
    );
    assert_eq!(
        (seen["embedFirst"].as_str(), seen["embedSecond"].as_str()),
        (Some("Beta Road"), Some("Alpha Road")),
        "{seen}"
    );
    // oEmbed answers for its page (its secret kept), as for a mix's.
    let secret_link = seen["secretLink"].as_str().unwrap_or("");
    let (status, o) = crate::support::json_of(
        sys.http
            .get(sys.url("/oembed"))
            .query(&[("url", secret_link), ("format", "json")])
            .send()
            .await
            .expect("oembed"),
    )
    .await;
    assert_eq!(status, 200, "{o}");
    assert_eq!(
        (o["type"].as_str(), o["title"].as_str()),
        (Some("rich"), Some("Road Trip")),
        "{o}"
    );
    assert!(
        o["html"]
            .as_str()
            .unwrap_or("")
            .contains("/embed/playlist/")
            && o["html"].as_str().unwrap_or("").contains("secret="),
        "{o}"
    );
    assert_eq!(
        sys.pg_strings(
            "SELECT p.title || ' ' || p.visibility || ' ' || string_agg(c.title, ',' ORDER BY i.position)
               FROM playlists p JOIN playlist_items i ON i.playlist_id = p.id
               JOIN cloudcasts c ON c.id = i.cloudcast_id GROUP BY p.id"
        )
        .await,
        ["Road Trip unlisted Beta Road,Alpha Road"]
    );
    sys.stop().await;
}
