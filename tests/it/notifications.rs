//! Notifications through the API on the real stores: who hears of what,
//! grouping (a burst of 500 favourites is one notification), what is
//! withdrawn (an unfollow, a takedown), the privacy rules (a minor's doing
//! tells nobody), the export, and mail: at once and in a daily digest, each
//! with a one-click unsubscribe that works by POST without a session.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestSystem, call};

async fn notices(sys: &TestSystem, token: &str) -> Value {
    let (status, page) = call(
        sys,
        Method::GET,
        "/api/v1/me/notifications?limit=100",
        Some(token),
        None,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    page
}

/// The texts of `token`'s notifications, newest first.
pub(crate) async fn texts(sys: &TestSystem, token: &str) -> Vec<String> {
    notices(sys, token).await["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|n| n["text"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Waits (bounded) until `token`'s notifications hold one saying `words`.
async fn wait_for(sys: &TestSystem, token: &str, words: &str) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let t = texts(sys, token).await;
        if t.iter().any(|x| x.contains(words)) {
            return t;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {words:?} in {t:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The state the test drives the mail sweep with (the same stores and key).
async fn sweep_state(sys: &TestSystem) -> cloudcast_notifications::NotificationsState {
    let pool = sqlx::PgPool::connect(&sys.pg_url).await.expect("pool");
    let config = cloudcast_notifications::config::NotificationsConfig::default();
    let shared = cloudcast_notifications::Shared::load(&pool, &config)
        .await
        .expect("key");
    cloudcast_notifications::NotificationsState {
        pool,
        config: std::sync::Arc::new(config),
        hub: shared.hub,
        unsubscribe_key: shared.unsubscribe_key,
        public_url: sys.base.clone().into(),
        max_json_bytes: 1 << 20,
    }
}

/// The mail to `to` whose text holds `words`, waited for (bounded).
async fn mail_to(
    mails: &std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    to: &str,
    words: &str,
) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let found = mails.lock().ok().and_then(|m| {
            m.iter()
                .find(|x| x.contains(to) && x.contains(words))
                .cloned()
        });
        if let Some(m) = found {
            return m;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no mail to {to} with {words:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The `List-Unsubscribe` URL of a raw mail (headers may be folded).
fn unsubscribe_url(mail: &str) -> String {
    let unfolded = mail.replace("\r\n ", " ").replace("\n ", " ");
    let line = unfolded
        .lines()
        .find(|l| l.starts_with("List-Unsubscribe:"))
        .unwrap_or_else(|| panic!("no List-Unsubscribe in {mail}"));
    line.split('<')
        .nth(1)
        .and_then(|r| r.split('>').next())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_hear_what_happens_to_them_grouped_private_and_by_mail() {
    let (sys, mails) = TestSystem::start_with_smtp_and("notices", |c| {
        c.notifications.announce = Duration::from_secs(1);
        c.notifications.mail = Duration::from_secs(1);
        c.transcode.ladder_kbps = vec![64];
    })
    .await;
    let dj = sys.user("n_dj").await;
    let fan = sys.user("n_fan").await;
    let other = sys.user("n_other").await;
    let minor = sys.user_born("n_minor", "2013-03-01").await;
    let admin = sys.user("n_admin").await;
    sys.make_admin("n_admin").await;

    // The fan follows first, so the new mix reaches them.
    let (s, _) = call(
        &sys,
        Method::PUT,
        "/api/v1/users/n_dj/follow",
        Some(&fan),
        None,
    )
    .await;
    assert_eq!(s, 200);
    // Followers by mail at once, comments in a daily digest; moderation
    // cannot be turned off.
    let (s, set) = call(
        &sys,
        Method::PUT,
        "/api/v1/me/notification-settings",
        Some(&dj),
        Some(json!({"follower": "mail", "comment": "daily", "mention": "daily"})),
    )
    .await;
    assert_eq!(s, 200, "{set}");
    let (s, refused) = call(
        &sys,
        Method::PUT,
        "/api/v1/me/notification-settings",
        Some(&dj),
        Some(json!({"moderation": "off"})),
    )
    .await;
    assert_eq!(s, 422, "{refused}");
    assert!(refused.to_string().contains("always mailed"), "{refused}");

    let cc = sys.ready_cloudcast(&dj, 4, "Grouped Night").await;
    let id = cc["id"].as_str().expect("id").to_string();
    let dj_texts = wait_for(&sys, &dj, "“Grouped Night” is ready").await;
    assert!(
        dj_texts.iter().any(|t| t == "n_fan followed you"),
        "{dj_texts:?}"
    );
    // The follow was mailed at once, with a one-click way out.
    let followed = mail_to(&mails, "n_dj@example.org", "n_fan followed you").await;
    assert!(
        followed.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{followed}"
    );
    // Announced to the follower once listed.
    wait_for(&sys, &fan, "n_dj published “Grouped Night”").await;

    // A minor's follow and favourite tell nobody.
    let before = notices(&sys, &dj).await["unread"].as_i64().unwrap_or(-1);
    call(
        &sys,
        Method::PUT,
        "/api/v1/users/n_dj/follow",
        Some(&minor),
        None,
    )
    .await;
    call(
        &sys,
        Method::PUT,
        &format!("/api/v1/cloudcasts/{id}/favourite"),
        Some(&minor),
        None,
    )
    .await;
    assert_eq!(notices(&sys, &dj).await["unread"].as_i64(), Some(before));

    // A comment naming another person tells the DJ and them; a reply tells
    // the commenter.
    let (s, comment) = call(
        &sys,
        Method::POST,
        &format!("/api/v1/cloudcasts/{id}/comments"),
        Some(&fan),
        Some(json!({"body": "Ask @n_other about that drop"})),
    )
    .await;
    assert_eq!(s, 201, "{comment}");
    wait_for(&sys, &dj, "n_fan commented on “Grouped Night”").await;
    wait_for(
        &sys,
        &other,
        "n_fan mentioned you in a comment on “Grouped Night”",
    )
    .await;
    let (s, _) = call(
        &sys,
        Method::POST,
        &format!("/api/v1/cloudcasts/{id}/comments"),
        Some(&dj),
        Some(json!({"body": "Thanks!", "parent_id": comment["id"]})),
    )
    .await;
    assert_eq!(s, 201);
    let fan_texts = wait_for(&sys, &fan, "n_dj replied to your comment").await;
    let item = &notices(&sys, &fan).await["items"][0];
    assert!(
        item["url"].as_str().unwrap_or("").contains("#comment-"),
        "{item}"
    );
    assert_eq!(item["comment"], "Thanks!");
    assert!(
        !fan_texts.iter().any(|t| t.contains("followed")),
        "{fan_texts:?}"
    );

    // An unfollow within the hour withdraws the follow.
    call(
        &sys,
        Method::PUT,
        "/api/v1/users/n_dj/follow",
        Some(&other),
        None,
    )
    .await;
    wait_for(&sys, &dj, "n_other and n_fan followed you").await;
    call(
        &sys,
        Method::DELETE,
        "/api/v1/users/n_dj/follow",
        Some(&other),
        None,
    )
    .await;
    let t = texts(&sys, &dj).await;
    assert!(t.iter().any(|x| x == "n_fan followed you"), "{t:?}");

    // A burst of 500 favourites is one notification.
    // They accepted the terms in force, as a sign-up does.
    sys.pg_exec(&format!(
        "INSERT INTO users (id, email, username, password_hash, birth_date, is_minor, email_verified_at, terms_version)
         SELECT gen_random_uuid(), 'burst' || g || '@example.org', 'burst' || g, 'x', '1990-01-01', false, now(), '{}'
           FROM generate_series(1, 500) g",
        crate::support::terms()
    ))
    .await;
    sys.pg_exec(
        "INSERT INTO auth_tokens (token_hash, user_id, expires_at)
         SELECT sha256(('burst-token-' || substr(username, 6))::bytea), id, now() + interval '1 day'
           FROM users WHERE username LIKE 'burst%'",
    )
    .await;
    let path = format!("/api/v1/cloudcasts/{id}/favourite");
    let statuses: Vec<u16> = futures::future::join_all((1..=500).map(|n| {
        let req = sys
            .http
            .put(sys.url(&path))
            .bearer_auth(format!("burst-token-{n}"));
        async move { req.send().await.map(|r| r.status().as_u16()).unwrap_or(0) }
    }))
    .await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let page = notices(&sys, &dj).await;
    let favs: Vec<&Value> = page["items"]
        .as_array()
        .map(|a| a.iter().filter(|n| n["kind"] == "favourite").collect())
        .unwrap_or_default();
    assert_eq!(favs.len(), 1, "{page}");
    assert_eq!(favs[0]["actor_count"], 500);
    assert!(
        favs[0]["text"]
            .as_str()
            .unwrap_or("")
            .ends_with("and 499 others favourited “Grouped Night”"),
        "{}",
        favs[0]
    );

    // A daily digest gathers the day's comments and mentions, due a day on.
    let state = sweep_state(&sys).await;
    let sent = cloudcast_notifications::mail::send_due(
        &state,
        time::OffsetDateTime::now_utc() + Duration::from_secs(25 * 3600),
    )
    .await
    .expect("sweep");
    assert_eq!(sent.digests, 1, "{sent:?}");
    let digest = mail_to(&mails, "n_dj@example.org", "Your day on Cloudcast").await;
    assert!(digest.contains("n_fan commented on"), "{digest}");
    assert!(
        digest.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{digest}"
    );
    let url = unsubscribe_url(&digest);
    let plain = reqwest::Client::new();
    // A link checker's GET stops nothing: it shows a button.
    let page = plain.get(&url).send().await.expect("page");
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap_or_default()
            .contains("id=\"unsubscribe\"")
    );
    // One click, as a mail client makes it: a POST, no session, no origin.
    let resp = plain
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .expect("one click");
    assert_eq!(resp.status(), 200, "{url}");
    assert!(
        resp.text()
            .await
            .unwrap_or_default()
            .contains("daily digest")
    );
    let (_, now) = call(
        &sys,
        Method::GET,
        "/api/v1/me/notification-settings",
        Some(&dj),
        None,
    )
    .await;
    let delivery = |k: &str| {
        now["kinds"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["kind"] == k))
            .map(|x| x["delivery"].clone())
    };
    assert_eq!(delivery("comment"), Some(json!("in_app")), "{now}");
    assert_eq!(delivery("follower"), Some(json!("mail")), "{now}");
    // A forged token is refused.
    let resp = plain
        .post(format!("{}/unsubscribe/AAAA{}", sys.base, "x".repeat(40)))
        .send()
        .await
        .expect("forged");
    assert_eq!(resp.status(), 404);

    // A takedown withdraws what others were told of the mix; the DJ hears
    // of the decision.
    let (s, report) = call(
        &sys,
        Method::POST,
        &format!("/api/v1/cloudcasts/{id}/report"),
        Some(&other),
        Some(json!({"kind": "abuse", "reason": "Hate speech at 1:00."})),
    )
    .await;
    assert_eq!(s, 201, "{report}");
    let (s, decided) = call(
        &sys,
        Method::POST,
        &format!(
            "/api/v1/admin/reports/{}/decision",
            report["id"].as_str().unwrap_or("")
        ),
        Some(&admin),
        Some(json!({"action": "take_down", "note": "Hate speech."})),
    )
    .await;
    assert_eq!(s, 200, "{decided}");
    let fan_texts = texts(&sys, &fan).await;
    assert!(
        !fan_texts.iter().any(|t| t.contains("Grouped Night")),
        "{fan_texts:?}"
    );
    wait_for(&sys, &dj, "was taken down").await;
    wait_for(&sys, &other, "Your report on “Grouped Night”").await;

    // Read one, then all.
    let first = notices(&sys, &dj).await["items"][0]["id"].clone();
    let (s, one) = call(
        &sys,
        Method::POST,
        &format!(
            "/api/v1/me/notifications/{}/read",
            first.as_str().unwrap_or("")
        ),
        Some(&dj),
        None,
    )
    .await;
    assert_eq!(s, 200, "{one}");
    let (s, _) = call(
        &sys,
        Method::POST,
        "/api/v1/me/notifications/read",
        Some(&dj),
        None,
    )
    .await;
    assert_eq!(s, 200);
    let (_, count) = call(
        &sys,
        Method::GET,
        "/api/v1/me/notifications/unread",
        Some(&dj),
        None,
    )
    .await;
    assert_eq!(count["unread"], 0);
    let (s, _) = call(
        &sys,
        Method::POST,
        "/api/v1/me/notifications/read",
        None,
        None,
    )
    .await;
    assert_eq!(s, 401);

    // In the export, and gone with the account.
    let exported = sys.exported_account(&dj).await;
    assert!(
        exported["notifications"]
            .as_array()
            .is_some_and(|a| a.len() >= 5),
        "{}",
        exported["notifications"]
    );
    assert!(
        exported["notification_settings"]
            .to_string()
            .contains("follower")
    );
    sys.stop().await;
}
