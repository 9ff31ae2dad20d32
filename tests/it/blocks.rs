//! Blocks over the API: a block ends the follows both ways and takes the
//! blocked person out of the blocker's notifications; neither may then
//! follow the other or comment on the other's mixes and comments; the
//! blocked person's comments are hidden on the blocker's mixes (for
//! everyone) and from the blocker anywhere; the export lists whom one
//! blocked; unblocking lets a follow happen again.

use reqwest::Method;
use serde_json::{Value, json};

use crate::notifications::texts;
use crate::support::{TestSystem, call};

fn authors(page: &Value) -> Vec<String> {
    page["comments"]
        .as_array()
        .expect("comments")
        .iter()
        .filter_map(|c| c["author"].as_str().map(String::from))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_ends_follows_and_refuses_comments_follows_and_notifications() {
    let sys = TestSystem::start("blocks").await;
    let dj = sys.user("bl_dj").await;
    let pest = sys.user("bl_pest").await;
    let other = sys.user("bl_other").await;
    let mine = sys.ready_cloudcast(&dj, 3, "Blocker mix").await;
    let mine = mine["id"].as_str().expect("id").to_string();
    let theirs = sys.ready_cloudcast(&other, 3, "Elsewhere mix").await;
    let theirs = theirs["id"].as_str().expect("id").to_string();
    let comments = |cc: &str| format!("/api/v1/cloudcasts/{cc}/comments");

    // Before: they follow each other, the pest comments on both mixes and
    // favourites the DJ's (the DJ hears of it).
    for (who, whom) in [(&pest, "bl_dj"), (&dj, "bl_pest")] {
        let path = format!("/api/v1/users/{whom}/follow");
        let (status, body) = call(&sys, Method::PUT, &path, Some(who), None).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = call(
        &sys,
        Method::POST,
        &comments(&mine),
        Some(&pest),
        Some(json!({"body": "first pest comment"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = call(
        &sys,
        Method::POST,
        &comments(&theirs),
        Some(&pest),
        Some(json!({"body": "pest elsewhere"})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, dj_elsewhere) = call(
        &sys,
        Method::POST,
        &comments(&theirs),
        Some(&dj),
        Some(json!({"body": "the DJ elsewhere"})),
    )
    .await;
    assert_eq!(status, 201, "{dj_elsewhere}");
    let (status, _) = call(
        &sys,
        Method::PUT,
        &format!("/api/v1/cloudcasts/{mine}/favourite"),
        Some(&pest),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        texts(&sys, &dj).await.iter().any(|t| t.contains("bl_pest")),
        "the DJ hears of the pest before the block"
    );

    // Oneself and unknown people cannot be blocked.
    let (status, body) = call(
        &sys,
        Method::PUT,
        "/api/v1/me/blocks/bl_dj",
        Some(&dj),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("self_block"))
    );
    let (status, body) = call(
        &sys,
        Method::PUT,
        "/api/v1/me/blocks/nobody_here",
        Some(&dj),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let (status, _) = call(&sys, Method::PUT, "/api/v1/me/blocks/bl_pest", None, None).await;
    assert_eq!(status, 401);

    // The block (twice: idempotent).
    for _ in 0..2 {
        let (status, body) = call(
            &sys,
            Method::PUT,
            "/api/v1/me/blocks/BL_Pest",
            Some(&dj),
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["username"], "bl_pest");
    }
    let (_, listed) = call(&sys, Method::GET, "/api/v1/me/blocks", Some(&dj), None).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["username"], "bl_pest");
    let (_, theirs_listed) = call(&sys, Method::GET, "/api/v1/me/blocks", Some(&pest), None).await;
    assert_eq!(
        theirs_listed,
        json!([]),
        "the blocked person's list is theirs"
    );

    // The follows are gone both ways; the profile's state says so.
    let (_, state) = call(
        &sys,
        Method::GET,
        "/api/v1/users/bl_pest/follow",
        Some(&dj),
        None,
    )
    .await;
    assert_eq!(
        (state["following"].as_bool(), state["blocked"].as_bool()),
        (Some(false), Some(true)),
        "{state}"
    );
    let (_, state) = call(
        &sys,
        Method::GET,
        "/api/v1/users/bl_dj/follow",
        Some(&pest),
        None,
    )
    .await;
    assert_eq!(
        (state["following"].as_bool(), state["blocked"].as_bool()),
        (Some(false), Some(false)),
        "{state}"
    );
    assert_eq!(
        sys.pg_strings("SELECT count(*)::text FROM follows").await,
        ["0"]
    );
    // And the pest is gone from the DJ's notifications.
    let t = texts(&sys, &dj).await;
    assert!(!t.iter().any(|t| t.contains("bl_pest")), "{t:?}");

    // Neither may follow the other now.
    for (who, whom) in [(&pest, "bl_dj"), (&dj, "bl_pest")] {
        let path = format!("/api/v1/users/{whom}/follow");
        let (status, body) = call(&sys, Method::PUT, &path, Some(who), None).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("blocked")),
            "{body}"
        );
    }
    // The pest may not comment on the DJ's mix, nor answer the DJ's
    // comment elsewhere; the DJ may not comment on the pest's comment.
    let (status, body) = call(
        &sys,
        Method::POST,
        &comments(&mine),
        Some(&pest),
        Some(json!({"body": "you cannot hide"})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("blocked")),
        "{body}"
    );
    let (status, body) = call(
        &sys,
        Method::POST,
        &comments(&theirs),
        Some(&pest),
        Some(json!({"body": "a reply", "parent_id": dj_elsewhere["id"]})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("blocked")),
        "{body}"
    );
    // Elsewhere the pest still comments, mentioning the DJ: no one tells the
    // DJ, and the favourite they take back and give again tells nothing.
    let (status, _) = call(
        &sys,
        Method::POST,
        &comments(&theirs),
        Some(&pest),
        Some(json!({"body": "hey @bl_dj look"})),
    )
    .await;
    assert_eq!(status, 201);
    let fav = format!("/api/v1/cloudcasts/{mine}/favourite");
    call(&sys, Method::DELETE, &fav, Some(&pest), None).await;
    let (status, _) = call(&sys, Method::PUT, &fav, Some(&pest), None).await;
    assert_eq!(status, 200);
    let (status, _) = call(&sys, Method::PUT, &fav, Some(&other), None).await;
    assert_eq!(status, 200);
    let t = texts(&sys, &dj).await;
    assert!(
        t.iter().any(|t| t.contains("bl_other")),
        "others still reach the DJ: {t:?}"
    );
    assert!(!t.iter().any(|t| t.contains("bl_pest")), "{t:?}");

    // The pest's comment on the DJ's mix is hidden from everyone; elsewhere
    // it is hidden from the DJ only.
    let (_, anon) = call(&sys, Method::GET, &comments(&mine), None, None).await;
    assert!(!authors(&anon).contains(&"bl_pest".to_string()), "{anon}");
    let (_, own) = call(&sys, Method::GET, &comments(&mine), Some(&pest), None).await;
    assert!(!authors(&own).contains(&"bl_pest".to_string()), "{own}");
    let (_, seen_by_dj) = call(&sys, Method::GET, &comments(&theirs), Some(&dj), None).await;
    assert_eq!(authors(&seen_by_dj), ["bl_dj"], "{seen_by_dj}");
    let (_, seen_by_other) = call(&sys, Method::GET, &comments(&theirs), Some(&other), None).await;
    assert_eq!(
        authors(&seen_by_other),
        ["bl_pest", "bl_dj", "bl_pest"],
        "{seen_by_other}"
    );

    // The DJ's export lists whom they blocked; the pest's does not say.
    for (token, blocked) in [(&dj, json!([{"username": "bl_pest"}])), (&pest, json!([]))] {
        let doc = sys.exported_account(token).await;
        let names: Vec<Value> = doc["blocked"]
            .as_array()
            .expect("a blocked section")
            .iter()
            .map(|b| json!({"username": b["username"]}))
            .collect();
        assert_eq!(Value::Array(names), blocked, "{}", doc["blocked"]);
    }

    // Unblocked: a follow happens again (the ended ones stay ended).
    let (status, _) = call(
        &sys,
        Method::DELETE,
        "/api/v1/me/blocks/bl_pest",
        Some(&dj),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = call(
        &sys,
        Method::DELETE,
        "/api/v1/me/blocks/bl_pest",
        Some(&dj),
        None,
    )
    .await;
    assert_eq!(status, 204, "idempotent");
    let (_, listed) = call(&sys, Method::GET, "/api/v1/me/blocks", Some(&dj), None).await;
    assert_eq!(listed, json!([]));
    let (status, state) = call(
        &sys,
        Method::PUT,
        "/api/v1/users/bl_dj/follow",
        Some(&pest),
        None,
    )
    .await;
    assert_eq!(
        (status, state["following"].as_bool()),
        (200, Some(true)),
        "{state}"
    );
    let (_, anon) = call(&sys, Method::GET, &comments(&mine), None, None).await;
    assert_eq!(
        authors(&anon),
        ["bl_pest"],
        "shown again once unblocked: {anon}"
    );
    sys.stop().await;
}
