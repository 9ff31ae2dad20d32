//! The policy's channels in Chromium (`web/tests/policy.mjs`): a visitor
//! without an account reports a profile as under 13; the administrator
//! confirms from the moderation page; the account is suspended at once and,
//! after the contest period (seconds here), gone from PostgreSQL, S3 and
//! ClickHouse; the reporter is answered. And a signed-in person meets new
//! terms and a new privacy version as banners, accepts and dismisses them.

use std::time::Duration;

use crate::erasure::{files, pg_mentions, wait_ch};
use crate::support::{TestSystem, call, run_page};

const PASSWORD: &str = "correct horse battery";

fn args(journey: &str, rest: &[&str]) -> Vec<String> {
    std::iter::once(journey)
        .chain(rest.iter().copied())
        .map(String::from)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_reports_an_under_13_who_is_suspended_then_erased_everywhere() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sys = TestSystem::start_with("web_under_13", |c| {
        c.http.web_dir = root.join("web");
        c.transcode.ladder_kbps = vec![64];
        c.moderation.contest = Duration::from_secs(4);
        c.moderation.sweep = Duration::from_millis(500);
    })
    .await;
    let kid = sys.user("kid_decks").await;
    let _admin = sys.user("web_admin").await;
    sys.make_admin("web_admin").await;
    let kid_id = sys.me(&kid).await["id"].as_str().expect("id").to_string();
    // What the account holds in each store: a mix (S3), listening (ClickHouse).
    let cc = sys.ready_cloudcast(&kid, 4, "Year Five Mix").await;
    let cc_id = cc["id"].as_str().expect("id").to_string();
    tokio::time::sleep(Duration::from_secs(6)).await; // the stream's cloudcast cache
    assert_eq!(sys.beats(&kid, &cc_id, "kid-1", 10).await, 202);
    let ccs = vec![cc_id.clone()];
    wait_ch(&sys, &kid_id, &ccs, "the kid's listening arrives", |m| {
        m.iter().any(|(t, _)| t == "heartbeats")
    })
    .await;
    assert!(files(&sys.bucket_dir()).iter().any(|f| f.contains(&cc_id)));

    let seen = run_page(
        "policy.mjs",
        args(
            "report",
            &[
                &sys.base,
                "kid_decks",
                "worried.parent@example.net",
                "web_admin",
                PASSWORD,
            ],
        ),
        &[],
    )
    .await;
    // Signed out: the footer, the versioned policy, the report.
    let footer = seen["footer"].to_string();
    for link in ["Privacy", "Terms", "Contact"] {
        assert!(footer.contains(link), "{footer}");
    }
    assert_eq!(seen["versions"], 2, "{seen}");
    assert!(
        seen["current"]
            .as_str()
            .unwrap_or("")
            .contains("2026-12-07"),
        "{seen}"
    );
    assert!(
        seen["earlier"]
            .as_str()
            .unwrap_or("")
            .contains("An earlier version"),
        "{seen}"
    );
    assert_eq!(seen["prefilled"], "kid_decks");
    assert!(
        seen["received"]
            .as_str()
            .unwrap_or("")
            .contains("suspended"),
        "{seen}"
    );
    // The administrator saw the declared birth date and was offered the
    // under-13 decision.
    assert!(
        seen["shown"].as_str().unwrap_or("").contains("1990-05-17"),
        "{seen}"
    );
    assert_eq!(seen["suggested"], "erase_minor");
    assert_eq!(seen["gone"], 0, "decided cases leave the queue");

    // Suspended at once: its sessions end and its mix is hidden. (It may
    // be erased already if the contest period passed meanwhile.)
    let (status, _) = call(&sys, reqwest::Method::GET, "/api/v1/me", Some(&kid), None).await;
    assert_eq!(status, 401);
    let (status, _) = call(
        &sys,
        reqwest::Method::GET,
        &format!("/api/v1/cloudcasts/{cc_id}"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 404);
    // The holder was told why, and the reporter answered.
    let to_kid = sys
        .pg_strings("SELECT body FROM email_outbox WHERE to_address = 'kid_decks@example.org' AND kind = 'account_decision'")
        .await;
    assert!(
        to_kid
            .iter()
            .any(|b| b.contains("under 13") && b.contains("appeal")),
        "{to_kid:?}"
    );
    let to_reporter = sys
        .pg_strings("SELECT body FROM email_outbox WHERE to_address = 'worried.parent@example.net'")
        .await;
    assert!(
        to_reporter.iter().any(|b| b.contains("confirmed")),
        "{to_reporter:?}"
    );

    // After the contest period: erased from every store by the one erasure.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !sys
        .pg_strings(&format!("SELECT id::text FROM users WHERE id = '{kid_id}'"))
        .await
        .is_empty()
    {
        assert!(tokio::time::Instant::now() < deadline, "never erased");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(
        sys.pg_strings(&format!(
            "SELECT reason FROM erased_accounts WHERE user_id = '{kid_id}'"
        ))
        .await,
        ["under_13"]
    );
    wait_ch(
        &sys,
        &kid_id,
        &ccs,
        "the kid's rows left in ClickHouse",
        |m| m.is_empty(),
    )
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while files(&sys.bucket_dir())
        .iter()
        .any(|f| f.contains(&cc_id) || f.contains(&kid_id))
    {
        assert!(tokio::time::Instant::now() < deadline, "objects left in S3");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Nothing names the account; the decision is kept without it.
    let left = pg_mentions(
        &sys,
        std::slice::from_ref(&kid_id),
        &["kid_decks".to_string()],
    )
    .await;
    assert!(left.is_empty(), "{left:#?}");
    assert_eq!(
        sys.pg_strings(
            "SELECT state || ' ' || action || ' ' || (user_id IS NULL)::text FROM account_decisions"
        )
        .await,
        ["carried_out erase_minor true"]
    );
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_terms_and_a_new_privacy_version_meet_people_as_banners() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sys = TestSystem::start_with("web_policy_banners", |c| {
        c.http.web_dir = root.join("web");
    })
    .await;
    let reader = sys.user("banner_reader").await;
    crate::policy_channels::publish(
        &sys,
        "terms",
        "2026-12-07.3",
        "Clearer rules on reposts.",
        "# Terms\n\nv3\n",
    )
    .await;
    crate::policy_channels::publish(
        &sys,
        "privacy",
        "2026-12-07.3",
        "Shorter log retention.",
        "# Privacy\n\nv3\n",
    )
    .await;
    let seen = run_page(
        "policy.mjs",
        args("notices", &[&sys.base, "banner_reader", PASSWORD]),
        &[],
    )
    .await;
    assert_eq!(seen["before"]["terms"], 1, "{seen}");
    assert_eq!(seen["before"]["privacy"], 1, "{seen}");
    assert_eq!(seen["after"]["terms"], 0, "{seen}");
    assert_eq!(seen["after"]["privacy"], 0, "{seen}");
    let (_, mine) = call(
        &sys,
        reqwest::Method::GET,
        "/api/v1/me/policies",
        Some(&reader),
        None,
    )
    .await;
    assert_eq!(mine["terms_accepted"], "2026-12-07.3", "{mine}");
    assert!(
        mine["showings"]
            .as_array()
            .expect("showings")
            .iter()
            .any(|s| s["via"] == "banner" && s["version"] == "2026-12-07.3"),
        "{mine}"
    );
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_blocks_from_a_profile_and_unblocks_in_settings() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sys = TestSystem::start_with("web_blocks", |c| {
        c.http.web_dir = root.join("web");
        c.transcode.ladder_kbps = vec![64];
    })
    .await;
    let dj = sys.user("wb_dj").await;
    let pest = sys.user("wb_pest").await;
    let cc = sys.ready_cloudcast(&dj, 3, "Blocked Out").await;
    let url = format!("{}{}", sys.base, cc["url"].as_str().expect("url"));
    let (status, _) = call(
        &sys,
        reqwest::Method::PUT,
        "/api/v1/users/wb_pest/follow",
        Some(&dj),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let seen = run_page(
        "policy.mjs",
        args("blocks", &[&sys.base, "wb_dj", "wb_pest", &url, PASSWORD]),
        &[],
    )
    .await;
    assert_eq!(seen["followingBefore"], "true", "{seen}");
    assert_eq!(seen["followingAfter"], "false", "{seen}");
    assert!(
        seen["said"]
            .as_str()
            .unwrap_or("")
            .contains("You blocked wb_pest"),
        "{seen}"
    );
    assert_eq!(seen["blockedAfterReload"], "true", "{seen}");
    assert!(
        seen["refused"]
            .as_str()
            .unwrap_or("")
            .contains("a block stands between"),
        "{seen}"
    );
    assert!(
        seen["listed"][0].as_str().unwrap_or("").contains("wb_pest"),
        "{seen}"
    );
    assert_eq!(seen["noneShown"], true, "{seen}");
    // What the page did is what the stores hold: no block, no follow, no
    // comment from the pest.
    assert_eq!(
        sys.pg_strings(
            "SELECT (SELECT count(*) FROM user_blocks)::text || ' ' || (SELECT count(*) FROM follows)::text
                    || ' ' || (SELECT count(*) FROM comments)::text"
        )
        .await,
        ["0 0 0"]
    );
    let (_, page) = call(
        &sys,
        reqwest::Method::GET,
        "/api/v1/me/notifications",
        Some(&pest),
        None,
    )
    .await;
    assert_eq!(page["items"], serde_json::json!([]), "{page}");
    sys.stop().await;
}
