//! Comments end to end (public, moderated, reportable): public comments that show a username and
//! nothing else of the account, private cloudcasts that take none from
//! others, who may delete what, reports that hold a comment, the filter that
//! holds abuse at once, and the administrators' moderation queue.

use crate::support::{TestSystem, json_of};
use serde_json::{Value, json};
use sqlx::Connection;

/// Inserts a ready cloudcast owned by `owner` (no audio is needed here).
async fn cloudcast(sys: &TestSystem, owner: &str, private: bool) -> String {
    let visibility = if private { "private" } else { "public" };
    let id = uuid::Uuid::new_v4().to_string();
    sys.pg_exec(&format!(
        "INSERT INTO cloudcasts (id, owner_id, title, status, visibility)
         SELECT '{id}', id, 'A mix', 'ready', '{visibility}' FROM users WHERE username = '{owner}'"
    ))
    .await;
    id
}

async fn post_comment(sys: &TestSystem, token: &str, cc: &str, body: Value) -> (u16, Value) {
    json_of(
        sys.http
            .post(sys.url(&format!("/api/v1/cloudcasts/{cc}/comments")))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("post comment"),
    )
    .await
}

/// Posts `text`; returns the new comment's id, checking it was published.
async fn comment(sys: &TestSystem, token: &str, cc: &str, text: &str) -> String {
    let (status, c) = post_comment(sys, token, cc, json!({"body": text})).await;
    assert_eq!(status, 201, "{c}");
    assert_eq!(c["status"], "visible", "{c}");
    c["id"].as_str().expect("id").to_string()
}

async fn list(sys: &TestSystem, token: Option<&str>, cc: &str, query: &str) -> (u16, Value) {
    let mut req = sys
        .http
        .get(sys.url(&format!("/api/v1/cloudcasts/{cc}/comments{query}")));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    json_of(req.send().await.expect("list comments")).await
}

/// The listed comments' bodies, in order.
async fn bodies(sys: &TestSystem, token: Option<&str>, cc: &str) -> Vec<String> {
    let (status, page) = list(sys, token, cc, "").await;
    assert_eq!(status, 200, "{page}");
    page["comments"]
        .as_array()
        .expect("comments")
        .iter()
        .map(|c| c["body"].as_str().expect("body").to_string())
        .collect()
}

async fn delete(sys: &TestSystem, token: &str, path: &str) -> (u16, Value) {
    json_of(
        sys.http
            .delete(sys.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("delete"),
    )
    .await
}

async fn report(sys: &TestSystem, token: &str, comment: &str, reason: &str) -> (u16, Value) {
    json_of(
        sys.http
            .post(sys.url(&format!("/api/v1/comments/{comment}/report")))
            .bearer_auth(token)
            .json(&json!({"reason": reason}))
            .send()
            .await
            .expect("report"),
    )
    .await
}

async fn admin_get(sys: &TestSystem, token: Option<&str>, query: &str) -> (u16, Value) {
    let mut req = sys
        .http
        .get(sys.url(&format!("/api/v1/admin/comments{query}")));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    json_of(req.send().await.expect("moderation queue")).await
}

async fn approve(sys: &TestSystem, token: &str, comment: &str) -> (u16, Value) {
    json_of(
        sys.http
            .post(sys.url(&format!("/api/v1/admin/comments/{comment}/approve")))
            .bearer_auth(token)
            .send()
            .await
            .expect("approve"),
    )
    .await
}

/// Rows in PostgreSQL for one query returning a count.
async fn count(sys: &TestSystem, sql: &str) -> i64 {
    let mut conn = sqlx::PgConnection::connect(&sys.pg_url)
        .await
        .expect("PostgreSQL");
    let (n,): (i64,) = sqlx::query_as(sql)
        .fetch_one(&mut conn)
        .await
        .expect("count");
    n
}

fn assert_error(status: u16, body: &Value, want_status: u16, code: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_show_the_username_only_and_private_cloudcasts_take_none_from_others() {
    let sys = TestSystem::start("comments_list").await;
    let dj = sys.user("cl_dj").await;
    let fan = sys.user("cl_fan").await;
    let stranger = sys.user("cl_stranger").await;
    let cc = cloudcast(&sys, "cl_dj", false).await;

    let (status, c) = post_comment(
        &sys,
        &fan,
        &cc,
        json!({"body": "  Great mix, loved the transition at 12:30!\n"}),
    )
    .await;
    assert_eq!(status, 201, "{c}");
    let mut keys: Vec<&str> = c
        .as_object()
        .expect("object")
        .keys()
        .map(|k| k.as_str())
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "author",
            "body",
            "cloudcast_id",
            "created_at",
            "id",
            "parent_id",
            "position_ms",
            "profile",
            "status"
        ],
        "{c}"
    );
    assert_eq!(c["profile"], Value::Null, "on a mix, not a profile");
    assert_eq!(c["author"], "cl_fan");
    assert_eq!(c["body"], "Great mix, loved the transition at 12:30!");
    assert_eq!(c["cloudcast_id"], cc.as_str());
    assert_eq!(c["status"], "visible");
    let at = c["created_at"].as_str().expect("created_at");
    time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("{at} is not RFC 3339: {e}"));
    comment(&sys, &dj, &cc, "Thanks for listening").await;
    comment(&sys, &fan, &cc, "Track ID at 40:00?").await;

    // Anyone may read them, oldest first, and no account detail but the
    // username is in the JSON.
    let (status, page) = list(&sys, None, &cc, "").await;
    assert_eq!(status, 200, "{page}");
    let text = page.to_string();
    assert!(!text.contains("@example.org"), "an email leaked: {text}");
    assert!(!text.contains("email"), "{text}");
    let listed = page["comments"].as_array().expect("comments");
    let authors: Vec<&str> = listed.iter().filter_map(|c| c["author"].as_str()).collect();
    assert_eq!(authors, ["cl_fan", "cl_dj", "cl_fan"], "{page}");
    assert_eq!(listed[0]["id"], c["id"]);
    assert!(page["next_offset"].is_null(), "{page}");

    // Pages: `limit` and `offset`, with the next page's offset.
    let (status, first) = list(&sys, None, &cc, "?limit=2").await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["comments"].as_array().map(Vec::len), Some(2));
    assert_eq!(first["next_offset"], 2, "{first}");
    let (_, rest) = list(&sys, None, &cc, "?limit=2&offset=2").await;
    assert_eq!(rest["comments"][0]["body"], "Track ID at 40:00?", "{rest}");
    assert!(rest["next_offset"].is_null(), "{rest}");

    // A private cloudcast is not found for anyone but its owner.
    let secret = cloudcast(&sys, "cl_dj", true).await;
    let (status, body) = post_comment(&sys, &fan, &secret, json!({"body": "hello?"})).await;
    assert_error(status, &body, 404, "not_found");
    let (status, body) = list(&sys, Some(&fan), &secret, "").await;
    assert_error(status, &body, 404, "not_found");
    let (status, body) = list(&sys, None, &secret, "").await;
    assert_error(status, &body, 404, "not_found");
    comment(&sys, &dj, &secret, "note to self").await;
    assert_eq!(bodies(&sys, Some(&dj), &secret).await, ["note to self"]);
    // Made private later: comments already there are hidden with it.
    sys.pg_exec(&format!(
        "UPDATE cloudcasts SET visibility = 'private' WHERE id = '{cc}'"
    ))
    .await;
    let (status, body) = list(&sys, Some(&fan), &cc, "").await;
    assert_error(status, &body, 404, "not_found");
    let fans_comment = listed[0]["id"].as_str().expect("id");
    let (status, body) = report(&sys, &dj, fans_comment, "spam").await;
    assert_eq!(status, 201, "the owner still sees it: {body}");
    // Others cannot reach its comments; their authors can still delete theirs.
    let (status, body) = report(&sys, &stranger, fans_comment, "spam").await;
    assert_error(status, &body, 404, "not_found");
    let (status, body) = delete(&sys, &fan, &format!("/api/v1/comments/{fans_comment}")).await;
    assert_eq!(status, 204, "{body}");

    // An unknown cloudcast.
    let unknown = uuid::Uuid::new_v4();
    let (status, body) =
        post_comment(&sys, &fan, &unknown.to_string(), json!({"body": "hi"})).await;
    assert_error(status, &body, 404, "not_found");
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_are_deleted_by_their_author_the_owner_or_an_admin_only() {
    let sys = TestSystem::start("comments_delete").await;
    let dj = sys.user("cd_dj").await;
    let fan = sys.user("cd_fan").await;
    let stranger = sys.user("cd_stranger").await;
    let admin = sys.user("cd_admin").await;
    sys.make_admin("cd_admin").await;
    let cc = cloudcast(&sys, "cd_dj", false).await;

    let own = comment(&sys, &fan, &cc, "first!").await;
    let other = comment(&sys, &fan, &cc, "second").await;
    let third = comment(&sys, &fan, &cc, "third").await;
    let by_dj = comment(&sys, &dj, &cc, "thanks").await;

    // A stranger may not, nor may a commenter delete someone else's comment.
    let (status, body) = delete(&sys, &stranger, &format!("/api/v1/comments/{own}")).await;
    assert_error(status, &body, 403, "forbidden");
    let (status, body) = delete(&sys, &fan, &format!("/api/v1/comments/{by_dj}")).await;
    assert_error(status, &body, 403, "forbidden");
    let (status, _) = json_of(
        sys.http
            .delete(sys.url(&format!("/api/v1/comments/{own}")))
            .send()
            .await
            .expect("delete"),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(bodies(&sys, None, &cc).await.len(), 4);

    // The author deletes their own: gone from the database, reports included.
    let (status, body) = report(&sys, &stranger, &own, "rude").await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = delete(&sys, &fan, &format!("/api/v1/comments/{own}")).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(
        count(
            &sys,
            &format!("SELECT count(*) FROM comments WHERE id = '{own}'")
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &sys,
            &format!("SELECT count(*) FROM comment_reports WHERE comment_id = '{own}'")
        )
        .await,
        0
    );
    let (status, body) = delete(&sys, &fan, &format!("/api/v1/comments/{own}")).await;
    assert_error(status, &body, 404, "not_found");

    // The cloudcast's owner deletes a listener's comment; an admin another.
    let (status, body) = delete(&sys, &dj, &format!("/api/v1/comments/{other}")).await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = delete(&sys, &admin, &format!("/api/v1/comments/{third}")).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(bodies(&sys, None, &cc).await, ["thanks"]);

    // Deleting the cloudcast deletes its comments.
    sys.pg_exec(&format!("DELETE FROM cloudcasts WHERE id = '{cc}'"))
        .await;
    assert_eq!(count(&sys, "SELECT count(*) FROM comments").await, 0);
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_reports_hold_a_comment_until_an_admin_approves_it() {
    let sys = TestSystem::start("comments_reports").await;
    let dj = sys.user("cr_dj").await;
    let author = sys.user("cr_author").await;
    let r1 = sys.user("cr_r1").await;
    let r2 = sys.user("cr_r2").await;
    let r3 = sys.user("cr_r3").await;
    let admin = sys.user("cr_admin").await;
    sys.make_admin("cr_admin").await;
    let cc = cloudcast(&sys, "cr_dj", false).await;
    let id = comment(&sys, &author, &cc, "This DJ stole my set").await;
    let path = format!("/api/v1/comments/{id}/report");

    // No reporting one's own comment; a repeated report is accepted once.
    let (status, body) = report(&sys, &author, &id, "test").await;
    assert_error(status, &body, 400, "own_comment");
    let (status, body) = report(&sys, &r1, &id, "defamation").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["reported"], true, "{body}");
    let (status, body) = report(&sys, &r1, &id, "defamation, again").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = report(&sys, &r2, &id, "false claim").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        bodies(&sys, None, &cc).await.len(),
        1,
        "two reports hold nothing"
    );

    // The third distinct report holds it.
    let (status, body) = report(&sys, &r3, &id, "  abusive  ").await;
    assert_eq!(status, 201, "{body}");
    assert!(bodies(&sys, None, &cc).await.is_empty());
    assert!(bodies(&sys, Some(&r1), &cc).await.is_empty());
    let (status, page) = list(&sys, Some(&author), &cc, "").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["comments"][0]["id"], id.as_str(), "{page}");
    assert_eq!(page["comments"][0]["status"], "held", "{page}");
    // Others cannot see it, so cannot report or delete it either.
    let (status, body) = report(&sys, &r1, &id, "again").await;
    assert_error(status, &body, 404, "not_found");
    let (status, body) = json_of(
        sys.http
            .post(sys.url(&path))
            .bearer_auth(&dj)
            .json(&json!({"reason": "x"}))
            .send()
            .await
            .expect("report"),
    )
    .await;
    assert_error(status, &body, 404, "not_found");

    // The queue shows it with its reports.
    let (status, queue) = admin_get(&sys, Some(&admin), "?status=held").await;
    assert_eq!(status, 200, "{queue}");
    let held = queue["comments"].as_array().expect("comments");
    assert_eq!(held.len(), 1, "{queue}");
    assert_eq!(held[0]["id"], id.as_str());
    assert_eq!(held[0]["author"], "cr_author");
    assert_eq!(held[0]["held_reason"], "reported");
    assert_eq!(held[0]["reports"], 3);
    assert_eq!(
        held[0]["report_reasons"],
        json!(["defamation", "false claim", "abusive"]),
        "{queue}"
    );
    assert!(!queue.to_string().contains("@example.org"), "{queue}");

    // Approved: visible again, reports cleared, out of the queue.
    let (status, body) = approve(&sys, &admin, &id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "visible", "{body}");
    assert_eq!(bodies(&sys, None, &cc).await, ["This DJ stole my set"]);
    let (_, queue) = admin_get(&sys, Some(&admin), "").await;
    assert_eq!(queue["comments"], json!([]), "{queue}");
    assert_eq!(
        count(
            &sys,
            &format!("SELECT count(*) FROM comment_reports WHERE comment_id = '{id}'")
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &sys,
            &format!(
                "SELECT count(*) FROM comments WHERE id = '{id}' AND moderated_at IS NOT NULL AND held_reason IS NULL"
            )
        )
        .await,
        1
    );
    // Cleared reports start over: one new report holds nothing.
    let (status, _) = report(&sys, &r1, &id, "still defamatory").await;
    assert_eq!(status, 201);
    assert_eq!(bodies(&sys, None, &cc).await.len(), 1);
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abuse_is_held_at_once_and_moderation_is_for_admins_only() {
    let sys = TestSystem::start("comments_abuse").await;
    let dj = sys.user("ca_dj").await;
    let troll = sys.user("ca_troll").await;
    let fan = sys.user("ca_fan").await;
    let admin = sys.user("ca_admin").await;
    sys.make_admin("ca_admin").await;
    let cc = cloudcast(&sys, "ca_dj", false).await;
    comment(&sys, &fan, &cc, "Scunthorpe's finest, a class act").await;

    // Held at once, disguised or not; the author is told.
    let mut held = Vec::new();
    for text in ["f.u.c.k this mix", "kill yourself"] {
        let (status, c) = post_comment(&sys, &troll, &cc, json!({"body": text})).await;
        assert_eq!(status, 202, "{text}: {c}");
        assert_eq!(c["status"], "held", "{c}");
        assert_eq!(c["author"], "ca_troll", "{c}");
        held.push(c["id"].as_str().expect("id").to_string());
    }
    let others = bodies(&sys, Some(&fan), &cc).await;
    assert_eq!(others, ["Scunthorpe's finest, a class act"]);
    assert_eq!(bodies(&sys, None, &cc).await, others);
    assert_eq!(bodies(&sys, Some(&dj), &cc).await, others);
    let (_, own) = list(&sys, Some(&troll), &cc, "").await;
    let statuses: Vec<&str> = own["comments"]
        .as_array()
        .expect("comments")
        .iter()
        .filter_map(|c| c["status"].as_str())
        .collect();
    assert_eq!(statuses, ["visible", "held", "held"], "{own}");

    // Not for non-admins, signed in or not.
    for token in [&fan, &dj, &troll] {
        let (status, body) = admin_get(&sys, Some(token), "?status=held").await;
        assert_error(status, &body, 403, "forbidden");
        let (status, body) = approve(&sys, token, &held[0]).await;
        assert_error(status, &body, 403, "forbidden");
        let (status, body) =
            delete(&sys, token, &format!("/api/v1/admin/comments/{}", held[0])).await;
        assert_error(status, &body, 403, "forbidden");
    }
    let (status, body) = admin_get(&sys, None, "").await;
    assert_error(status, &body, 401, "unauthorized");
    assert_eq!(
        count(&sys, "SELECT count(*) FROM comments WHERE status = 'held'").await,
        2
    );

    // The queue names why; the admin removes one and approves the other.
    let (status, queue) = admin_get(&sys, Some(&admin), "?status=held").await;
    assert_eq!(status, 200, "{queue}");
    let listed = queue["comments"].as_array().expect("comments");
    assert_eq!(listed.len(), 2, "{queue}");
    assert!(
        listed.iter().all(|c| c["held_reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("filter: "))
            && c["reports"] == 0),
        "{queue}"
    );
    assert!(
        listed[1]["held_reason"]
            .as_str()
            .is_some_and(|r| r.contains("abusive")),
        "{queue}"
    );
    let (status, page) = admin_get(&sys, Some(&admin), "?status=held&limit=1").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["next_offset"], 1, "{page}");
    let (status, body) = admin_get(&sys, Some(&admin), "?status=deleted").await;
    assert!((400..500).contains(&status), "{body}");
    assert!(body["error"]["code"].is_string(), "{body}");

    let (status, body) = delete(&sys, &admin, &format!("/api/v1/admin/comments/{}", held[1])).await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = delete(&sys, &admin, &format!("/api/v1/admin/comments/{}", held[1])).await;
    assert_error(status, &body, 404, "not_found");
    assert_eq!(
        count(
            &sys,
            &format!("SELECT count(*) FROM comments WHERE id = '{}'", held[1])
        )
        .await,
        0
    );
    let (status, body) = approve(&sys, &admin, &held[0]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        bodies(&sys, Some(&fan), &cc).await,
        ["Scunthorpe's finest, a class act", "f.u.c.k this mix"]
    );
    let (status, body) = approve(&sys, &admin, &uuid::Uuid::new_v4().to_string()).await;
    assert_error(status, &body, 404, "not_found");
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_comment_input_is_named_in_json() {
    let sys = TestSystem::start("comments_bad").await;
    let dj = sys.user("cb_dj").await;
    let fan = sys.user("cb_fan").await;
    let cc = cloudcast(&sys, "cb_dj", false).await;
    let url = sys.url(&format!("/api/v1/cloudcasts/{cc}/comments"));

    for (body, code) in [
        (json!({"body": ""}), "invalid_field"),
        (json!({"body": " \n\t "}), "invalid_field"),
        (json!({"body": "x".repeat(2001)}), "invalid_field"),
        (json!({"body": "bell \u{7}"}), "invalid_field"),
        (json!({}), "invalid_fields"),
        (json!({"body": 5}), "invalid_fields"),
        (json!({"body": "hi", "author": "someone"}), "invalid_fields"),
    ] {
        let (status, resp) = post_comment(&sys, &fan, &cc, body.clone()).await;
        assert_error(status, &resp, 422, code);
    }
    // At the limit (in characters, not bytes) it is taken.
    let (status, c) = post_comment(&sys, &fan, &cc, json!({"body": "é".repeat(2000)})).await;
    assert_eq!(status, 201, "{c}");

    let (status, resp) = json_of(
        sys.http
            .post(&url)
            .bearer_auth(&fan)
            .header("content-type", "application/json")
            .body("{\"body\": ")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_error(status, &resp, 400, "malformed_json");
    let (status, resp) = json_of(
        sys.http
            .post(&url)
            .bearer_auth(&fan)
            .body("{\"body\": \"hi\"}")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_error(status, &resp, 415, "unsupported_media_type");
    let (status, resp) = json_of(
        sys.http
            .post(&url)
            .json(&json!({"body": "anonymous"}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_error(status, &resp, 401, "unauthorized");

    // Ids that are not UUIDs, on every route that takes one.
    let (status, resp) = post_comment(&sys, &fan, "not-a-uuid", json!({"body": "hi"})).await;
    assert_error(status, &resp, 400, "invalid_path");
    let (status, resp) = list(&sys, None, "123", "").await;
    assert_error(status, &resp, 400, "invalid_path");
    let (status, resp) = delete(&sys, &fan, "/api/v1/comments/nope").await;
    assert_error(status, &resp, 400, "invalid_path");
    let (status, resp) = report(&sys, &dj, "nope", "spam").await;
    assert_error(status, &resp, 400, "invalid_path");
    let (status, resp) = approve(&sys, &dj, "nope").await;
    assert_error(status, &resp, 400, "invalid_path");

    // Query strings.
    for query in [
        "?limit=-1",
        "?limit=ten",
        "?offset=-5",
        "?before=2024-01-01",
    ] {
        let (status, resp) = list(&sys, None, &cc, query).await;
        assert_error(status, &resp, 400, "invalid_query");
    }

    // Reports: a reason of 1 to 500 characters.
    let id = c["id"].as_str().expect("id");
    for reason in ["", "   ", "x".repeat(501).as_str()] {
        let (status, resp) = report(&sys, &dj, id, reason).await;
        assert_error(status, &resp, 422, "invalid_field");
    }
    let (status, resp) = report(&sys, &dj, &uuid::Uuid::new_v4().to_string(), "spam").await;
    assert_error(status, &resp, 404, "not_found");
    let (status, resp) = report(&sys, &dj, id, &"x".repeat(500)).await;
    assert_eq!(status, 201, "{resp}");
    assert_eq!(count(&sys, "SELECT count(*) FROM comment_reports").await, 1);
    sys.stop().await;
}

/// `POST /api/v1/users/{user}/comments`.
async fn on_profile(sys: &TestSystem, token: &str, user: &str, body: Value) -> (u16, Value) {
    crate::support::call(
        sys,
        reqwest::Method::POST,
        &format!("/api/v1/users/{user}/comments"),
        Some(token),
        Some(body),
    )
    .await
}

/// The bodies on `user`'s profile as `token` (or a visitor) sees them.
async fn profile_bodies(sys: &TestSystem, token: Option<&str>, user: &str) -> Vec<String> {
    let (status, page) = crate::support::call(
        sys,
        reqwest::Method::GET,
        &format!("/api/v1/users/{user}/comments"),
        token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    page["comments"]
        .as_array()
        .expect("comments")
        .iter()
        .filter_map(|c| c["body"].as_str().map(String::from))
        .collect()
}

async fn preferences(sys: &TestSystem, token: &str, body: Value) -> (u16, Value) {
    crate::support::call(
        sys,
        reqwest::Method::PUT,
        "/api/v1/me/preferences",
        Some(token),
        Some(body),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_take_comments_moderated_reported_and_blocked_unless_off_or_a_minors() {
    let sys = TestSystem::start("comments_profile").await;
    let owner = sys.user("pc_owner").await;
    let fan = sys.user("pc_fan").await;
    let troll = sys.user("pc_troll").await;
    let admin = sys.user("pc_admin").await;
    sys.make_admin("pc_admin").await;
    let teen_birth = format!("{}-01-01", time::OffsetDateTime::now_utc().year() - 15);
    let teen = sys.user_born("pc_teen", &teen_birth).await;

    // A comment on a profile: public, on the profile, told to its owner.
    let (status, c) = on_profile(
        &sys,
        &fan,
        "PC_Owner",
        json!({"body": "Great sets, @pc_admin"}),
    )
    .await;
    assert_eq!(status, 201, "{c}");
    assert_eq!(
        (
            c["profile"].as_str(),
            c["cloudcast_id"].is_null(),
            c["author"].as_str()
        ),
        (Some("pc_owner"), true, Some("pc_fan")),
        "{c}"
    );
    let first = c["id"].as_str().expect("id").to_string();
    assert_eq!(
        profile_bodies(&sys, None, "pc_owner").await,
        ["Great sets, @pc_admin"]
    );
    let (_, page) = crate::support::call(
        &sys,
        reqwest::Method::GET,
        "/api/v1/me/notifications",
        Some(&owner),
        None,
    )
    .await;
    assert_eq!(page["items"][0]["kind"], "profile_comment", "{page}");
    assert_eq!(page["items"][0]["text"], "pc_fan commented on your profile");
    assert_eq!(
        page["items"][0]["url"],
        format!("/pc_owner#comment-{first}")
    );
    let (_, page) = crate::support::call(
        &sys,
        reqwest::Method::GET,
        "/api/v1/me/notifications",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(page["items"][0]["kind"], "mention", "{page}");

    // No moments on a profile; a reply answers a comment of this profile.
    let (status, body) = on_profile(
        &sys,
        &fan,
        "pc_owner",
        json!({"body": "x", "position_ms": 5}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("invalid_field")),
        "{body}"
    );
    let (status, reply) = on_profile(
        &sys,
        &owner,
        "pc_owner",
        json!({"body": "Thanks!", "parent_id": first}),
    )
    .await;
    assert_eq!(status, 201, "{reply}");
    let (_, page) = crate::support::call(
        &sys,
        reqwest::Method::GET,
        "/api/v1/me/notifications",
        Some(&fan),
        None,
    )
    .await;
    let reply_url = format!("/pc_owner#comment-{}", reply["id"].as_str().unwrap_or(""));
    assert_eq!(
        (
            page["items"][0]["text"].as_str(),
            page["items"][0]["url"].as_str()
        ),
        (
            Some("pc_owner replied to your comment on pc_owner's profile"),
            Some(reply_url.as_str())
        ),
        "{page}"
    );
    let (status, body) = on_profile(
        &sys,
        &fan,
        "pc_admin",
        json!({"body": "x", "parent_id": first}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("invalid_field")),
        "{body}"
    );
    let (status, _) = on_profile(&sys, &fan, "nobody_such", json!({"body": "hello"})).await;
    assert_eq!(status, 404);

    // The filter holds abuse for the queue, which says whose profile.
    let (status, held) =
        on_profile(&sys, &troll, "pc_owner", json!({"body": "kill yourself"})).await;
    assert_eq!(
        (status, held["status"].as_str()),
        (202, Some("held")),
        "{held}"
    );
    assert_eq!(
        profile_bodies(&sys, Some(&fan), "pc_owner").await,
        ["Great sets, @pc_admin", "Thanks!"]
    );
    let (_, queue) = admin_get(&sys, Some(&admin), "?status=held").await;
    assert_eq!(queue["comments"][0]["profile"], "pc_owner", "{queue}");
    // Reports work as on a mix; the profile's owner deletes what they will.
    let (status, _) = report(&sys, &troll, &first, "spam").await;
    assert_eq!(status, 201);
    let (status, _) = delete(&sys, &owner, &format!("/api/v1/comments/{first}")).await;
    assert_eq!(status, 204);
    let (status, _) = delete(
        &sys,
        &fan,
        &format!("/api/v1/comments/{}", reply["id"].as_str().unwrap_or("")),
    )
    .await;
    assert_eq!(status, 404, "the reply went with its comment");
    assert!(profile_bodies(&sys, None, "pc_owner").await.is_empty());
    let (_, kept) = on_profile(&sys, &fan, "pc_owner", json!({"body": "Still a fan"})).await;
    assert_eq!(kept["status"], "visible", "{kept}");

    // The owner's switch: off, the profile takes and shows none.
    let (status, prefs) = preferences(&sys, &owner, json!({"profile_comments": false})).await;
    assert_eq!(
        (status, prefs["profile_comments"].as_bool()),
        (200, Some(false)),
        "{prefs}"
    );
    let (status, body) = on_profile(&sys, &fan, "pc_owner", json!({"body": "hello?"})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("comments_disabled")),
        "{body}"
    );
    assert!(profile_bodies(&sys, None, "pc_owner").await.is_empty());
    let (_, public) = crate::support::call(
        &sys,
        reqwest::Method::GET,
        "/api/v1/users/pc_owner",
        None,
        None,
    )
    .await;
    assert_eq!(public["comments_open"], false, "{public}");
    let (status, _) = preferences(&sys, &owner, json!({"profile_comments": true})).await;
    assert_eq!(status, 200);
    assert_eq!(
        profile_bodies(&sys, None, "pc_owner").await,
        ["Still a fan"]
    );

    // A minor's profile never takes comments, and its switch stays off.
    let (_, public) = crate::support::call(
        &sys,
        reqwest::Method::GET,
        "/api/v1/users/pc_teen",
        None,
        None,
    )
    .await;
    assert_eq!(public["comments_open"], false, "{public}");
    let (status, body) = on_profile(&sys, &fan, "pc_teen", json!({"body": "hi"})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("comments_disabled")),
        "{body}"
    );
    let (status, body) = preferences(&sys, &teen, json!({"profile_comments": true})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("invalid_field")),
        "{body}"
    );
    assert_eq!(
        count(&sys, "SELECT count(*) FROM comments c JOIN users u ON u.id = c.profile_id WHERE u.username = 'pc_teen'").await,
        0
    );

    // A block: the blocked person may not comment on the blocker's profile,
    // and their comment there is hidden.
    let (status, _) = crate::support::call(
        &sys,
        reqwest::Method::PUT,
        "/api/v1/me/blocks/pc_fan",
        Some(&owner),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = on_profile(&sys, &fan, "pc_owner", json!({"body": "let me in"})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("blocked")),
        "{body}"
    );
    assert!(profile_bodies(&sys, None, "pc_owner").await.is_empty());
    sys.stop().await;
}
