//! Comments people control, in Chromium (`web/tests/comments.mjs`): a
//! comment at a moment of the mix plays from there, replies go one level
//! deep, reports carry a reason, mentions link to profiles, and the DJ
//! deletes a comment on their mix.

use serde_json::{Value, json};

use crate::support::{TestSystem, run_page};

const PASSWORD: &str = "correct horse battery";

async fn comment(sys: &TestSystem, token: &str, cloudcast: &str, body: Value) -> (u16, Value) {
    let resp = sys
        .http
        .post(sys.url(&format!("/api/v1/cloudcasts/{cloudcast}/comments")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("comment");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_reply_report_pin_mention_and_are_deleted_by_the_dj() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sys = TestSystem::start_with("web_comments", |c| {
        c.http.web_dir = root.join("web");
        c.transcode.ladder_kbps = vec![64];
    })
    .await;
    let dj = sys.user("cm_dj").await;
    let fan = sys.user("cm_fan").await;
    let other = sys.user("cm_other").await;
    let cc = sys.ready_cloudcast(&dj, 40, "Comment Me").await;
    let id = cc["id"].as_str().unwrap_or_default().to_owned();
    let path = cc["url"].as_str().unwrap_or_default().to_owned();

    // The API's rules: a moment within the mix, replies one level deep.
    let (status, timed) = comment(
        &sys,
        &other,
        &id,
        json!({"body": "The drop!", "position_ms": 10_000}),
    )
    .await;
    assert_eq!(status, 201, "{timed}");
    assert_eq!(timed["position_ms"], 10_000);
    let (status, spam) = comment(
        &sys,
        &other,
        &id,
        json!({"body": "buy followers at spam.example"}),
    )
    .await;
    assert_eq!(status, 201, "{spam}");
    let (status, late) = comment(
        &sys,
        &other,
        &id,
        json!({"body": "after the end", "position_ms": 999_000}),
    )
    .await;
    assert_eq!(status, 422, "{late}");
    let (status, reply) = comment(
        &sys,
        &dj,
        &id,
        json!({"body": "Thanks", "parent_id": timed["id"]}),
    )
    .await;
    assert_eq!(
        (status, &reply["parent_id"]),
        (201, &timed["id"]),
        "{reply}"
    );
    let (status, deeper) = comment(
        &sys,
        &fan,
        &id,
        json!({"body": "too deep", "parent_id": reply["id"]}),
    )
    .await;
    assert_eq!(status, 422, "{deeper}");
    let (status, both) = comment(
        &sys,
        &fan,
        &id,
        json!({"body": "x", "parent_id": timed["id"], "position_ms": 1}),
    )
    .await;
    assert_eq!(status, 422, "{both}");

    let seen = run_page(
        "comments.mjs",
        vec![
            "listener".into(),
            sys.base.clone(),
            "cm_fan".into(),
            PASSWORD.into(),
            path.clone(),
        ],
        &[],
    )
    .await;
    let seeked = seen["seekedTo"].as_f64().unwrap_or(0.0);
    assert!((9.5..20.0).contains(&seeked), "{seen}");
    assert_eq!(seen["marks"], 1, "{seen}");
    assert_eq!(seen["mentionHref"], "/cm_dj", "{seen}");
    assert!(
        seen["pinnedAt"]
            .as_str()
            .is_some_and(|a| a.starts_with("at 0:")),
        "{seen}"
    );
    assert_eq!(seen["ownButtons"], json!(["Reply", "Delete"]), "{seen}");
    assert_eq!(seen["othersButtons"], json!(["Reply", "Report"]), "{seen}");

    let spam_id = spam["id"].as_str().unwrap_or_default().to_owned();
    let reason = sys
        .pg_strings(&format!(
            "SELECT reason FROM comment_reports WHERE comment_id = '{spam_id}'"
        ))
        .await;
    assert_eq!(reason, ["Spam or advertising: selling followers"]);
    let reply_parent = sys
        .pg_strings("SELECT parent_id::text FROM comments WHERE body = 'Please do not.'")
        .await;
    assert_eq!(reply_parent, std::slice::from_ref(&spam_id));
    let pinned = sys
        .pg_strings("SELECT position_ms::text FROM comments WHERE body LIKE 'Thanks @cm_dj%'")
        .await;
    assert!(
        pinned
            .first()
            .and_then(|p| p.parse::<i64>().ok())
            .is_some_and(|p| p >= 9_000),
        "{pinned:?}"
    );

    // The DJ, at phone width, deletes the spam; its reply goes with it.
    let seen = run_page(
        "comments.mjs",
        vec![
            "dj".into(),
            sys.base.clone(),
            "cm_dj".into(),
            PASSWORD.into(),
            path,
        ],
        &[("WIDTH", "375")],
    )
    .await;
    assert_eq!(
        seen["buttons"],
        json!(["Reply", "Delete", "Report"]),
        "{seen}"
    );
    let left = sys
        .pg_strings(&format!(
            "SELECT count(*)::text FROM comments WHERE id = '{spam_id}' OR parent_id = '{spam_id}'"
        ))
        .await;
    assert_eq!(left, ["0"]);
    sys.stop().await;
}
