//! Reports on cloudcasts and notice-and-takedown: a copyright notice sent
//! from the page without an account, the takedown from the moderation
//! queue, the cloudcast hidden everywhere, the DJ told why by mail and
//! answering with a counter-notice, the reinstatement; and what the API
//! refuses, repeat infringers flagged, and reports in the data export.

use serde_json::{Value, json};

use reqwest::Method;

use crate::support::{TestSystem, call, run_page};

fn journey(name: &str, args: &[&str]) -> Vec<String> {
    std::iter::once(name.to_string())
        .chain(args.iter().map(|a| a.to_string()))
        .collect()
}

const PASSWORD: &str = "correct horse battery";

/// Mails in the outbox to `to`, as "kind: subject\nbody".
async fn mails_to(sys: &TestSystem, to: &str) -> Vec<String> {
    sys.pg_strings(&format!(
        "SELECT kind || ': ' || subject || E'\\n' || body FROM email_outbox
          WHERE to_address = '{to}' ORDER BY created_at"
    ))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copyright_notice_takes_a_cloudcast_down_until_a_counter_notice_brings_it_back() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sys = TestSystem::start_with("takedown_web", |c| {
        c.http.web_dir = root.join("web");
        c.transcode.ladder_kbps = vec![64];
    })
    .await;
    let base = sys.base.clone();
    let dj = sys.user("td_dj").await;
    let _admin = sys.user("td_admin").await;
    sys.make_admin("td_admin").await;
    let cc = sys.ready_cloudcast(&dj, 5, "Bootleg hour").await;
    let id = cc["id"].as_str().expect("id").to_string();
    let page = cc["url"].as_str().expect("url").to_string();

    // A rights holder without an account sends a notice from the page.
    let sent = run_page(
        "journeys.mjs",
        journey(
            "notice",
            &[
                &format!("{base}{page}"),
                "Label Records Ltd",
                "legal@label.example",
                "Track One (2019)",
                "The first twenty minutes are our unreleased track.",
            ],
        ),
        &[],
    )
    .await;
    assert!(
        sent["message"].as_str().unwrap_or("").contains("moderator"),
        "{sent}"
    );
    assert_eq!(sent["reportDisabled"], true, "{sent}");
    assert_eq!(
        sys.pg_strings(
            "SELECT kind || ' ' || coalesce(reporter_id::text, 'anonymous') || ' ' || good_faith
               FROM cloudcast_reports"
        )
        .await,
        ["copyright anonymous true"]
    );

    // An administrator takes it down from the moderation queue.
    let reasons = "Upheld: the notice identifies the track and the rights holder.";
    let decided = run_page(
        "journeys.mjs",
        journey(
            "decide",
            &[
                &base,
                "td_admin",
                PASSWORD,
                "report-list",
                "take_down",
                reasons,
            ],
        ),
        &[],
    )
    .await;
    let shown = decided["shown"].as_str().unwrap_or("");
    for part in ["Bootleg hour", "Label Records Ltd", "Track One (2019)"] {
        assert!(shown.contains(part), "{part} not in {decided}");
    }

    // Hidden everywhere but from its owner.
    let (status, _) = call(
        &sys,
        Method::GET,
        &format!("/api/v1/cloudcasts/{id}"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 404);
    let resp = sys.http.get(sys.url(&page)).send().await.expect("page");
    assert_eq!(resp.status(), 404);
    let (listed, found) = listed_and_found(&sys, &id).await;
    assert_eq!(listed, 0, "a taken-down cloudcast is listed");
    assert!(!found, "a taken-down cloudcast is found");
    let (status, own) = call(
        &sys,
        Method::GET,
        &format!("/api/v1/cloudcasts/{id}"),
        Some(&dj),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(own["takedown"]["reason"], reasons, "{own}");
    let (_, mine) = call(&sys, Method::GET, "/api/v1/me/cloudcasts", Some(&dj), None).await;
    assert!(mine["items"][0]["taken_down_at"].is_string(), "{mine}");

    // The DJ was told why and how to answer; the notifier, what was done.
    let to_dj = mails_to(&sys, "td_dj@example.org").await;
    let takedown = to_dj
        .iter()
        .find(|m| m.starts_with("takedown:"))
        .unwrap_or_else(|| panic!("no takedown mail: {to_dj:?}"));
    assert!(takedown.contains(reasons), "{takedown}");
    assert!(takedown.contains("counter-notice"), "{takedown}");
    // The link leads to the page that holds the counter-notice form.
    assert!(takedown.contains(&format!("/listen/{id}")), "{takedown}");
    assert!(!takedown.contains("legal@label.example"), "{takedown}");
    let to_notifier = mails_to(&sys, "legal@label.example").await;
    assert_eq!(to_notifier.len(), 1, "{to_notifier:?}");
    assert!(to_notifier[0].contains("taken down"), "{to_notifier:?}");

    // The DJ reads the reasons on the page and answers.
    let answered = run_page(
        "journeys.mjs",
        journey(
            "counter",
            &[
                &base,
                "td_dj",
                PASSWORD,
                &page,
                "The track is mine: I produced it and released it on my own label.",
            ],
        ),
        &[],
    )
    .await;
    assert_eq!(answered["reason"], reasons, "{answered}");
    assert!(
        answered["message"]
            .as_str()
            .unwrap_or("")
            .contains("moderator"),
        "{answered}"
    );
    let (status, body) = call(
        &sys,
        Method::POST,
        &format!("/api/v1/cloudcasts/{id}/counter-notice"),
        Some(&dj),
        Some(json!({"statement": "again", "good_faith": true})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("counter_notice_open"))
    );

    // An administrator reinstates it: everyone sees it again.
    let decided = run_page(
        "journeys.mjs",
        journey(
            "decide",
            &[
                &base,
                "td_admin",
                PASSWORD,
                "counter-notice-list",
                "reinstate",
                "The DJ shows the track is theirs.",
            ],
        ),
        &[],
    )
    .await;
    assert!(
        decided["shown"]
            .as_str()
            .unwrap_or("")
            .contains("I produced it"),
        "{decided}"
    );
    let (status, back) = call(
        &sys,
        Method::GET,
        &format!("/api/v1/cloudcasts/{id}"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{back}");
    assert!(back.get("takedown").is_none(), "{back}");
    // Listed and found again, as it was before: the hiding above was the takedown's.
    let (listed, found) = listed_and_found(&sys, &id).await;
    assert_eq!(listed, 1, "the reinstated cloudcast is not listed");
    assert!(found, "the reinstated cloudcast is not found");
    let to_dj = mails_to(&sys, "td_dj@example.org").await;
    assert!(
        to_dj
            .iter()
            .any(|m| m.starts_with("counter_notice_decision:") && m.contains("it is back")),
        "{to_dj:?}"
    );
    assert_eq!(mails_to(&sys, "legal@label.example").await.len(), 2);
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_refuse_what_they_must_flag_repeat_infringers_and_are_exported() {
    let sys = TestSystem::start("takedown_api").await;
    let dj = sys.user("ta_dj").await;
    let fan = sys.user("ta_fan").await;
    let admin = sys.user("ta_admin").await;
    sys.make_admin("ta_admin").await;
    // Cloudcasts need not play to be reported: uploads that failed probing will do.
    let mut ids = Vec::new();
    for n in 0..4 {
        ids.push(sys.upload(&dj, &[n; 4096], 1, &format!("Set {n}")).await);
    }
    let report = |id: &str| format!("/api/v1/cloudcasts/{id}/report");
    let notice = json!({
        "kind": "copyright", "reason": "Our track, uncleared.", "name": "Rights Co",
        "email": "rights@example.org", "work": "Anthem", "good_faith": true,
    });

    // What is refused, and named.
    let (status, body) = call(
        &sys,
        Method::POST,
        &report(&ids[0]),
        Some(&dj),
        Some(notice.clone()),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("own_cloudcast")),
        "{body}"
    );
    let mut partial = notice.clone();
    partial["work"] = Value::Null;
    let (status, body) = call(&sys, Method::POST, &report(&ids[0]), None, Some(partial)).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("work"),
        "{body}"
    );
    let mut unsure = notice.clone();
    unsure["good_faith"] = json!(false);
    let (status, _) = call(&sys, Method::POST, &report(&ids[0]), None, Some(unsure)).await;
    assert_eq!(status, 422);
    let (status, _) = call(
        &sys,
        Method::POST,
        &report(&ids[0]),
        None,
        Some(json!({"kind": "spam", "reason": "x"})),
    )
    .await;
    assert!((400..500).contains(&status));
    let (status, _) = call(
        &sys,
        Method::POST,
        &report(&uuid::Uuid::nil().to_string()),
        None,
        Some(notice.clone()),
    )
    .await;
    assert_eq!(status, 404);
    assert!(
        sys.pg_strings("SELECT id::text FROM cloudcast_reports")
            .await
            .is_empty()
    );

    // A signed-in listener's second report is the first one.
    let abuse = json!({"kind": "abuse", "reason": "Hate speech at 10:00."});
    let (status, first) = call(
        &sys,
        Method::POST,
        &report(&ids[0]),
        Some(&fan),
        Some(abuse.clone()),
    )
    .await;
    assert_eq!(status, 201, "{first}");
    let (status, again) = call(
        &sys,
        Method::POST,
        &report(&ids[0]),
        Some(&fan),
        Some(abuse),
    )
    .await;
    assert_eq!((status, &again["id"]), (200, &first["id"]));

    // Only administrators see the queue and decide.
    let (status, _) = call(&sys, Method::GET, "/api/v1/admin/reports", Some(&fan), None).await;
    assert_eq!(status, 403);
    let decide = |r: &Value| {
        format!(
            "/api/v1/admin/reports/{}/decision",
            r["id"].as_str().unwrap_or("")
        )
    };
    let (status, _) = call(
        &sys,
        Method::POST,
        &decide(&first),
        Some(&fan),
        Some(json!({"action": "dismiss", "note": "no"})),
    )
    .await;
    assert_eq!(status, 403);
    let (status, body) = call(
        &sys,
        Method::POST,
        &decide(&first),
        Some(&admin),
        Some(json!({"action": "dismiss", "note": " "})),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = call(
        &sys,
        Method::POST,
        &decide(&first),
        Some(&admin),
        Some(json!({"action": "dismiss", "note": "Not hate speech."})),
    )
    .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("dismissed")),
        "{body}"
    );
    let (status, body) = call(
        &sys,
        Method::POST,
        &decide(&first),
        Some(&admin),
        Some(json!({"action": "take_down", "note": "changed my mind"})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("already_decided"))
    );

    // A counter-notice needs a takedown, and the owner.
    let counter = |id: &str| format!("/api/v1/cloudcasts/{id}/counter-notice");
    let answer = json!({"statement": "Mine.", "good_faith": true});
    let (status, body) = call(
        &sys,
        Method::POST,
        &counter(&ids[0]),
        Some(&dj),
        Some(answer.clone()),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("not_taken_down"))
    );
    let (status, _) = call(
        &sys,
        Method::POST,
        &counter(&ids[0]),
        Some(&fan),
        Some(answer.clone()),
    )
    .await;
    assert_eq!(status, 403);

    // Three copyright takedowns flag the DJ as a repeat infringer.
    for (n, id) in ids.iter().enumerate() {
        let (status, r) = call(&sys, Method::POST, &report(id), None, Some(notice.clone())).await;
        assert_eq!(status, 201, "{r}");
        let (_, queue) = call(
            &sys,
            Method::GET,
            "/api/v1/admin/reports",
            Some(&admin),
            None,
        )
        .await;
        let shown = queue["reports"]
            .as_array()
            .and_then(|q| q.iter().find(|x| x["id"] == r["id"]).cloned())
            .unwrap_or_else(|| panic!("{r} not in {queue}"));
        assert_eq!(shown["cloudcast"]["owner_strikes"], n as i64, "{shown}");
        assert_eq!(shown["cloudcast"]["repeat_infringer"], n >= 3, "{shown}");
        assert_eq!(shown["notifier_email"], "rights@example.org");
        if n < 3 {
            let (status, body) = call(
                &sys,
                Method::POST,
                &decide(&r),
                Some(&admin),
                Some(json!({"action": "take_down", "note": "Upheld."})),
            )
            .await;
            assert_eq!(
                (status, body["status"].as_str()),
                (200, Some("upheld")),
                "{body}"
            );
        }
    }
    // Taken down: the others cannot answer for it, nor see it.
    let (status, _) = call(
        &sys,
        Method::POST,
        &counter(&ids[0]),
        Some(&fan),
        Some(answer.clone()),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = call(
        &sys,
        Method::POST,
        &report(&ids[0]),
        Some(&fan),
        Some(json!({"kind": "abuse", "reason": "again"})),
    )
    .await;
    assert_eq!(status, 404);

    // In the exports: the fan's own reports; the DJ's cloudcasts' reports
    // and takedowns, without who sent them.
    let fan_export = sys.exported_account(&fan).await;
    assert_eq!(
        fan_export["cloudcast_reports"][0]["reason"], "Hate speech at 10:00.",
        "{fan_export}"
    );
    let dj_export = sys.exported_account(&dj).await;
    let on_mine = dj_export["reports_on_my_cloudcasts"]
        .as_array()
        .expect("reports on mine");
    assert_eq!(on_mine.len(), 5, "{dj_export}");
    assert!(
        !dj_export.to_string().contains("rights@example.org"),
        "{dj_export}"
    );
    assert!(
        dj_export["cloudcasts"]
            .as_array()
            .expect("cloudcasts")
            .iter()
            .any(|c| c["takedown_reason"] == "Upheld.")
    );
    sys.stop().await;
}

/// How many cloudcasts td_dj's public list shows, and whether a search for
/// "bootleg" finds cloudcast `id`.
async fn listed_and_found(sys: &TestSystem, id: &str) -> (usize, bool) {
    let (_, listed) = call(
        sys,
        Method::GET,
        "/api/v1/users/td_dj/cloudcasts",
        None,
        None,
    )
    .await;
    let (_, found) = call(sys, Method::GET, "/api/v1/search?q=bootleg", None, None).await;
    (
        listed["items"].as_array().map_or(0, Vec::len),
        found.to_string().contains(id),
    )
}
