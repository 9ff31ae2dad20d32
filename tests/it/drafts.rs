//! Drafts: an upload that asks for one (`draft` in its tus metadata) is its
//! DJ's alone, whatever its visibility, until they publish it once it is
//! ready; then it is listed like any other.

use std::time::Duration;

use serde_json::Value;

use crate::support::{TestSystem, b64, make_mp3};

async fn get(sys: &TestSystem, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = sys.http.get(sys.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("get");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or_default())
}

async fn post(sys: &TestSystem, path: &str, token: &str) -> (u16, Value) {
    let resp = sys
        .http
        .post(sys.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("post");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or_default())
}

/// Does the list at `path` (items of cards, or of `{cloudcast}` marks) hold `id`?
async fn lists(sys: &TestSystem, path: &str, token: Option<&str>, id: &str) -> bool {
    let (status, v) = get(sys, path, token).await;
    assert_eq!(status, 200, "{path}: {v}");
    let items = v["items"]
        .as_array()
        .or_else(|| v["cloudcasts"].as_array())
        .cloned()
        .unwrap_or_default();
    items
        .iter()
        .any(|i| i["id"] == id || i["cloudcast"]["id"] == id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_is_its_djs_alone_until_published() {
    let sys = TestSystem::start("drafts").await;
    let dj = sys.user("draft_dj").await;
    let fan = sys.user("draft_fan").await;
    assert_eq!(
        sys.http
            .put(sys.url("/api/v1/users/draft_dj/follow"))
            .bearer_auth(&fan)
            .send()
            .await
            .expect("follow")
            .status(),
        200
    );

    // A draft flag that is neither true nor false is refused by name.
    let bad = sys
        .upload_request(&dj, 10)
        .header(
            "Upload-Metadata",
            format!("title {},draft {}", b64("x"), b64("maybe")),
        )
        .send()
        .await
        .expect("create");
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap_or_default().contains("draft"));

    let data = std::fs::read(make_mp3(sys.dir.path(), 8)).expect("mp3");
    let created = sys
        .upload_request(&dj, data.len() as u64)
        .header(
            "Upload-Metadata",
            format!(
                "filename {},title {},draft",
                b64("d.mp3"),
                b64("Secret Sunrise")
            ),
        )
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), 201);
    let upload = sys.url(created.headers()["location"].to_str().expect("location"));
    assert_eq!(sys.patch(&dj, &upload, 0, data).await.status(), 204);
    let id = sys.upload_status(&upload, &dj).await["cloudcast_id"]
        .as_str()
        .expect("cloudcast id")
        .to_owned();
    let cc = sys
        .wait_processed_as(&id, Some(&dj), Duration::from_secs(120))
        .await;
    assert_eq!(
        (cc["status"].as_str(), cc["draft"].as_bool()),
        (Some("ready"), Some(true)),
        "{cc}"
    );
    let slug_path = format!(
        "/api/v1/users/draft_dj/cloudcasts/{}",
        cc["slug"].as_str().unwrap_or_default()
    );

    // Ready, public by visibility, and still nobody else's to see.
    for token in [None, Some(fan.as_str())] {
        assert_eq!(
            get(&sys, &format!("/api/v1/cloudcasts/{id}"), token)
                .await
                .0,
            404
        );
        assert_eq!(get(&sys, &slug_path, token).await.0, 404);
        assert!(!lists(&sys, "/api/v1/cloudcasts?sort=new", token, &id).await);
        assert!(!lists(&sys, "/api/v1/users/draft_dj/cloudcasts", token, &id).await);
        assert!(!lists(&sys, "/api/v1/search?q=secret%20sunrise", token, &id).await);
    }
    assert!(!lists(&sys, "/api/v1/me/feed", Some(&fan), &id).await);
    assert_eq!(
        sys.http
            .put(sys.url(&format!("/api/v1/cloudcasts/{id}/favourite")))
            .bearer_auth(&fan)
            .send()
            .await
            .expect("favourite")
            .status(),
        404
    );
    assert_eq!(
        post(&sys, &format!("/api/v1/cloudcasts/{id}/publish"), &fan)
            .await
            .0,
        404
    );
    // Its DJ sees it among their own, marked.
    let (_, mine) = get(&sys, "/api/v1/me/cloudcasts", Some(&dj)).await;
    assert!(
        mine["items"]
            .as_array()
            .is_some_and(|a| a.iter().any(|c| c["id"] == id && c["draft"] == true)),
        "{mine}"
    );

    // Published: everyone's, as new from now.
    let (status, published) = post(&sys, &format!("/api/v1/cloudcasts/{id}/publish"), &dj).await;
    assert_eq!(status, 200, "{published}");
    assert_eq!(published["draft"], false, "{published}");
    assert_eq!(
        get(&sys, &format!("/api/v1/cloudcasts/{id}"), None).await.0,
        200
    );
    assert!(lists(&sys, "/api/v1/cloudcasts?sort=new", None, &id).await);
    assert!(lists(&sys, "/api/v1/me/feed", Some(&fan), &id).await);
    // Publishing again changes nothing.
    assert_eq!(
        post(&sys, &format!("/api/v1/cloudcasts/{id}/publish"), &dj)
            .await
            .0,
        200
    );

    // A draft that is not ready cannot be published yet.
    sys.pg_exec(&format!(
        "UPDATE cloudcasts SET draft = true, status = 'processing' WHERE id = '{id}'"
    ))
    .await;
    let (status, refused) = post(&sys, &format!("/api/v1/cloudcasts/{id}/publish"), &dj).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (409, Some("not_ready")),
        "{refused}"
    );
    sys.stop().await;
}
