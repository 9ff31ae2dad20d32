//! The policy's own channels through the API: versioned policies and the
//! terms' gate, the announcement of a new version by mail and banner; the
//! contact page's cases from anyone; decisions on accounts with their
//! reasons and appeals; consent to ads given, not presumed; private
//! listening activity; and the alternative contact for security notices
//! (`privacy.rs`).

use std::time::Duration;

use cloudcast_accounts::config::PolicyVersion;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestSystem, call, terms};

const PASSWORD: &str = "correct horse battery";

async fn pool(sys: &TestSystem) -> sqlx::PgPool {
    sqlx::PgPool::connect(&sys.pg_url).await.expect("pg")
}

async fn count(sys: &TestSystem, sql: &str) -> i64 {
    let p = pool(sys).await;
    sqlx::query_scalar(sql).fetch_one(&p).await.expect(sql)
}

/// Publishes a new version of `kind`, as a node starting with a longer
/// `[policies]` list does: its file is written and copied in.
pub(crate) async fn publish(
    sys: &TestSystem,
    kind: &str,
    version: &str,
    summary: &str,
    text: &str,
) {
    let file = sys.dir.path().join(format!("{kind}-{version}.md"));
    std::fs::write(&file, text).expect("write policy");
    let today = time::OffsetDateTime::now_utc().date();
    let v = PolicyVersion {
        version: version.into(),
        effective: format!(
            "{:04}-{:02}-{:02}",
            today.year(),
            u8::from(today.month()),
            today.day()
        ),
        summary: summary.into(),
        file,
    };
    let mut config = cloudcast_accounts::config::PoliciesConfig::default();
    match kind {
        "terms" => config.terms.push(v),
        _ => config.privacy.push(v),
    }
    cloudcast_accounts::policies::sync(&pool(sys).await, &config)
        .await
        .expect("sync");
}

async fn sign_in(sys: &TestSystem, login: &str) -> (u16, String) {
    let (status, body) = call(
        sys,
        Method::POST,
        "/api/v1/sessions",
        None,
        Some(json!({"login": login, "password": PASSWORD})),
    )
    .await;
    (
        status,
        body["token"].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_are_versioned_announced_and_new_terms_gate_the_api() {
    let sys = TestSystem::start_with("policies", |c| {
        c.policies.announce_every = Duration::from_millis(300);
        c.policies.announce_batch = 1;
    })
    .await;
    // The published versions, earlier ones readable.
    let (status, privacy) = call(&sys, Method::GET, "/api/v1/policies/privacy", None, None).await;
    assert_eq!(status, 200, "{privacy}");
    assert_eq!(privacy["version"], "2026-12-07");
    assert_eq!(privacy["current"], true);
    assert_eq!(privacy["versions"].as_array().map(Vec::len), Some(2));
    assert!(
        privacy["body"]
            .as_str()
            .unwrap_or("")
            .contains("contact page")
    );
    let (status, first) = call(
        &sys,
        Method::GET,
        "/api/v1/policies/privacy/versions/2009-01-01",
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["current"], false);
    assert!(
        first["body"]
            .as_str()
            .unwrap_or("")
            .contains("effective from 1st January 2009")
    );
    for (path, want) in [
        ("/api/v1/policies/cookies", 400),
        ("/api/v1/policies/terms/versions/1999", 404),
    ] {
        let (status, body) = call(&sys, Method::GET, path, None, None).await;
        assert_eq!(status, want, "{path}: {body}");
        assert!(body["error"]["code"].is_string(), "{body}");
    }

    // Sign-up accepts the terms in force, for a new address and a taken
    // one alike (the answer tells nobody who has an account).
    let alice = sys.user("pol_alice").await;
    let bob = sys.user("pol_bob").await;
    for email in ["pol_new@example.org", "pol_alice@example.org"] {
        for terms_sent in [None, Some("2009-01-01")] {
            let mut body = json!({"email": email, "username": "pol_new", "password": PASSWORD,
                                  "birth_date": "1990-01-01"});
            if let Some(t) = terms_sent {
                body["terms"] = json!(t);
            }
            let (status, answer) =
                call(&sys, Method::POST, "/api/v1/accounts", None, Some(body)).await;
            assert_eq!(status, 422, "{email} {terms_sent:?}: {answer}");
            assert!(
                answer["error"]["message"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("terms:"),
                "{answer}"
            );
        }
    }
    let (status, mine) = call(&sys, Method::GET, "/api/v1/me/policies", Some(&alice), None).await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine["terms_due"], false);
    assert!(mine["privacy_news"].is_null(), "shown at sign-up: {mine}");
    assert_eq!(mine["showings"][0]["via"], "signup");
    assert_eq!(mine["showings"][0]["version"], "2026-12-07");
    assert_eq!(mine["acceptances"][0]["version"], terms());
    let follow = |token: String| {
        let sys = &sys;
        async move {
            call(
                sys,
                Method::PUT,
                "/api/v1/users/pol_bob/follow",
                Some(&token),
                None,
            )
            .await
        }
    };
    assert_eq!(follow(alice.clone()).await.0, 200);

    // New versions of both documents.
    publish(
        &sys,
        "terms",
        "2026-12-07.2",
        "Appeals are answered within a week.",
        "# Terms\n\nNew terms.\n",
    )
    .await;
    publish(
        &sys,
        "privacy",
        "2026-12-07.2",
        "We keep contact details 30 days.",
        "# Privacy\n\nNew policy.\n",
    )
    .await;

    // Until alice accepts the new terms the API does little for her.
    let (status, refused) = follow(alice.clone()).await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["error"]["code"], "terms_not_accepted");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("/terms")
    );
    let (status, _) = call(
        &sys,
        Method::GET,
        "/api/v1/me/notifications",
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(status, 403);
    let me = sys.me(&alice).await;
    assert_eq!(me["terms_due"], "2026-12-07.2", "{me}");
    // Reading them, her data and erasure stay open.
    let (status, _) = call(
        &sys,
        Method::GET,
        "/api/v1/policies/terms",
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, exports) = call(&sys, Method::GET, "/api/v1/me/exports", Some(&alice), None).await;
    assert_eq!(status, 200, "{exports}");
    let (status, body) = call(
        &sys,
        Method::POST,
        "/api/v1/me/policies/terms/accept",
        Some(&alice),
        Some(json!({"version": "2026-12-07"})),
    )
    .await;
    assert_eq!(
        status, 422,
        "an old version is not the one in force: {body}"
    );
    let (status, body) = call(
        &sys,
        Method::POST,
        "/api/v1/me/policies/terms/accept",
        Some(&alice),
        Some(json!({"version": "2026-12-07.2"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["terms_due"], false);
    assert_eq!(follow(alice.clone()).await.0, 200);

    // Both versions are mailed to every account, in batches of one.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let mailed = count(
            &sys,
            "SELECT count(*) FROM email_outbox WHERE kind = 'policy_change'
              AND to_address IN ('pol_alice@example.org', 'pol_bob@example.org')",
        )
        .await;
        if mailed == 4 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "mailed {mailed} of 4"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let body = sys
        .pg_strings(
            "SELECT body FROM email_outbox WHERE kind = 'policy_change'
              AND to_address = 'pol_bob@example.org' AND subject LIKE '%privacy%'",
        )
        .await;
    assert!(
        body[0].contains("We keep contact details 30 days."),
        "{body:?}"
    );
    assert!(body[0].contains("/privacy"), "{body:?}");

    // The banner: on bob's next visit, recorded each time it is shown,
    // gone once he dismisses it.
    let me = sys.me(&bob).await;
    assert_eq!(me["privacy_news"]["version"], "2026-12-07.2", "{me}");
    assert_eq!(
        me["privacy_news"]["summary"],
        "We keep contact details 30 days."
    );
    let banner = |path: &'static str, version: &'static str| {
        let (sys, bob) = (&sys, bob.clone());
        async move {
            call(
                sys,
                Method::POST,
                path,
                Some(&bob),
                Some(json!({"version": version})),
            )
            .await
        }
    };
    assert_eq!(
        banner("/api/v1/me/policies/privacy/shown", "2026-12-07.2")
            .await
            .0,
        204
    );
    assert_eq!(
        banner("/api/v1/me/policies/privacy/seen", "2009-01-01")
            .await
            .0,
        422
    );
    assert_eq!(
        banner("/api/v1/me/policies/privacy/seen", "2026-12-07.2")
            .await
            .0,
        204
    );
    assert!(sys.me(&bob).await["privacy_news"].is_null());

    // The export holds what was shown and accepted.
    let exported = sys.exported_account(&bob).await;
    let shown: Vec<(String, String)> = exported["policies_shown"]
        .as_array()
        .expect("policies_shown")
        .iter()
        .map(|s| {
            (
                s["version"].as_str().unwrap_or("").to_string(),
                s["via"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    for want in [
        ("2026-12-07", "signup"),
        ("2026-12-07.2", "mail"),
        ("2026-12-07.2", "banner"),
    ] {
        assert!(
            shown.contains(&(want.0.to_string(), want.1.to_string())),
            "{want:?} in {shown:?}"
        );
    }
    let exported = sys.exported_account(&alice).await;
    let accepted: Vec<&str> = exported["terms_accepted"]
        .as_array()
        .expect("terms_accepted")
        .iter()
        .filter_map(|a| a["version"].as_str())
        .collect();
    assert_eq!(accepted, ["2026-12-07", "2026-12-07.2"]);
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contact_page_takes_reports_and_requests_from_anyone() {
    let sys = TestSystem::start_with("contact", |c| {
        c.moderation.contact_kept = Duration::from_secs(1);
        c.moderation.sweep = Duration::from_millis(300);
    })
    .await;
    let dj = sys.user("con_dj").await;
    let admin = sys.user("con_admin").await;
    sys.make_admin("con_admin").await;
    let contact = |token: Option<String>, body: Value| {
        let sys = &sys;
        async move {
            call(
                sys,
                Method::POST,
                "/api/v1/contact",
                token.as_deref(),
                Some(body),
            )
            .await
        }
    };
    // What a message needs, named.
    for (body, status, names) in [
        (
            json!({"topic": "data_access", "message": "All you hold, please"}),
            422,
            "email",
        ),
        (
            json!({"topic": "under_13", "message": "A child"}),
            422,
            "account",
        ),
        (
            json!({"topic": "feedback", "message": "Nice", "account": "con_dj"}),
            422,
            "account",
        ),
        (
            json!({"topic": "spam", "message": "Spam", "account": "nobody_here"}),
            404,
            "",
        ),
        (
            json!({"topic": "spam", "message": "  ", "account": "con_dj"}),
            422,
            "message",
        ),
        (json!({"topic": "gossip", "message": "x"}), 422, ""),
        (
            json!({"topic": "feedback", "message": "x", "email": "not an address"}),
            422,
            "email",
        ),
    ] {
        let (got, answer) = contact(None, body.clone()).await;
        assert_eq!(got, status, "{body} -> {answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains(names),
            "{answer}"
        );
    }
    let (status, answer) = contact(
        Some(dj.clone()),
        json!({"topic": "impersonation", "message": "me?", "account": "CON_DJ"}),
    )
    .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (400, Some("own_account"))
    );

    // Without an account: a report on an account and a privacy request;
    // signed in: feedback.
    let (status, report) = contact(
        None,
        json!({"topic": "impersonation", "message": "This is not the real DJ.",
               "account": "@con_dj", "name": "Rita", "email": "rita@example.net"}),
    )
    .await;
    assert_eq!(status, 201, "{report}");
    assert_eq!(report["queue"], "moderation");
    let (status, request) = contact(
        None,
        json!({"topic": "withdraw_consent", "message": "Stop using my listening for ads.",
               "email": "pia@example.net"}),
    )
    .await;
    assert_eq!(status, 201, "{request}");
    assert_eq!(request["queue"], "privacy");
    let (status, feedback) = contact(
        Some(dj.clone()),
        json!({"topic": "feedback", "message": "Love the waveform"}),
    )
    .await;
    assert_eq!(status, 201, "{feedback}");

    // Administrators only see the queues; each queue holds its own.
    let (status, _) = call(&sys, Method::GET, "/api/v1/admin/cases", Some(&dj), None).await;
    assert_eq!(status, 403);
    let (status, page) = call(&sys, Method::GET, "/api/v1/admin/cases", Some(&admin), None).await;
    assert_eq!(status, 200, "{page}");
    let cases = page["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 2, "{page}");
    assert_eq!(cases[0]["account"]["username"], "con_dj");
    assert_eq!(cases[0]["account"]["birth_date"], "1990-05-17");
    assert_eq!(cases[0]["email"], "rita@example.net");
    assert_eq!(cases[1]["reporter"], "con_dj");
    assert_eq!(cases[1]["email"], "con_dj@example.org");
    let (_, page) = call(
        &sys,
        Method::GET,
        "/api/v1/admin/cases?queue=privacy",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(page["cases"].as_array().map(Vec::len), Some(1), "{page}");

    // An answer closes a case and reaches its sender.
    let id = request["id"].as_str().expect("id");
    let path = format!("/api/v1/admin/cases/{id}/answer");
    let answer = json!({"answer": "Done: personalised ads are off for your account."});
    let (status, closed) = call(
        &sys,
        Method::POST,
        &path,
        Some(&admin),
        Some(answer.clone()),
    )
    .await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(closed["status"], "closed");
    let (status, _) = call(&sys, Method::POST, &path, Some(&admin), Some(answer)).await;
    assert_eq!(status, 409);
    let mail = sys
        .pg_strings("SELECT body FROM email_outbox WHERE to_address = 'pia@example.net'")
        .await;
    assert!(mail[0].contains("personalised ads are off"), "{mail:?}");
    let fid = feedback["id"].as_str().expect("id");
    let (status, _) = call(
        &sys,
        Method::POST,
        &format!("/api/v1/admin/cases/{fid}/answer"),
        Some(&admin),
        Some(json!({"answer": "Thank you!"})),
    )
    .await;
    assert_eq!(status, 200);
    let (_, heard) = call(
        &sys,
        Method::GET,
        "/api/v1/me/notifications",
        Some(&dj),
        None,
    )
    .await;
    assert!(heard.to_string().contains("Thank you!"), "{heard}");

    // The sender's contact is forgotten once kept long enough after the answer.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while count(
        &sys,
        &format!("SELECT count(*) FROM contact_cases WHERE id = '{id}' AND email IS NOT NULL"),
    )
    .await
        > 0
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the contact is still kept"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The open report keeps its sender's address.
    assert_eq!(
        count(
            &sys,
            "SELECT count(*) FROM contact_cases WHERE email = 'rita@example.net'"
        )
        .await,
        1
    );
    // The sender's own messages are in their export.
    let exported = sys.exported_account(&dj).await;
    assert_eq!(
        exported["contact_messages"][0]["message"],
        "Love the waveform"
    );
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_account_is_hidden_cannot_act_and_may_appeal() {
    let sys = TestSystem::start("suspension").await;
    let dj = sys.user("sus_dj").await;
    let fan = sys.user("sus_fan").await;
    let admin = sys.user("sus_admin").await;
    sys.make_admin("sus_admin").await;
    let cc = sys.ready_cloudcast(&dj, 3, "Hidden Mix").await;
    let id = cc["id"].as_str().expect("id").to_string();
    let decide = |body: Value, who: &'static str| {
        let (sys, admin) = (&sys, admin.clone());
        async move {
            call(
                sys,
                Method::POST,
                &format!("/api/v1/admin/users/{who}/decisions"),
                Some(&admin),
                Some(body),
            )
            .await
        }
    };
    for (body, who, want) in [
        (json!({"action": "suspend", "reasons": " "}), "sus_dj", 422),
        (
            json!({"action": "suspend", "reasons": "x", "days": 0}),
            "sus_dj",
            422,
        ),
        (
            json!({"action": "erase_minor", "reasons": "x", "days": 3}),
            "sus_dj",
            422,
        ),
        (json!({"action": "ban", "reasons": "x"}), "sus_dj", 422),
        (
            json!({"action": "suspend", "reasons": "x"}),
            "nobody_here",
            404,
        ),
        (
            json!({"action": "suspend", "reasons": "x"}),
            "sus_admin",
            422,
        ),
    ] {
        let (status, answer) = decide(body.clone(), who).await;
        assert_eq!(status, want, "{body} on {who}: {answer}");
    }
    let (status, _) = call(
        &sys,
        Method::POST,
        "/api/v1/admin/users/sus_dj/decisions",
        Some(&fan),
        Some(json!({"action": "suspend", "reasons": "x"})),
    )
    .await;
    assert_eq!(status, 403, "administrators only");

    let reasons = "Repeated harassment of other users in comments (terms, section 3).";
    let (status, decision) = decide(
        json!({"action": "suspend", "reasons": reasons, "days": 7}),
        "sus_dj",
    )
    .await;
    assert_eq!(status, 201, "{decision}");
    assert_eq!(decision["state"], "in_force");
    assert!(decision["until"].is_string());
    let decision_id = decision["id"].as_str().expect("id").to_string();

    // Signed out everywhere; a new sign-in reads the decision only.
    let (status, _) = call(&sys, Method::GET, "/api/v1/me", Some(&dj), None).await;
    assert_eq!(status, 401, "its sessions were revoked");
    let (status, dj2) = sign_in(&sys, "sus_dj").await;
    assert_eq!(status, 200);
    let me = sys.me(&dj2).await;
    assert!(me["suspended_until"].is_string(), "{me}");
    let (status, refused) = call(
        &sys,
        Method::PUT,
        "/api/v1/users/sus_fan/follow",
        Some(&dj2),
        None,
    )
    .await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["error"]["code"], "account_suspended");
    let (status, mine) = call(&sys, Method::GET, "/api/v1/me/decisions", Some(&dj2), None).await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine[0]["reasons"], reasons);
    let mail = sys
        .pg_strings("SELECT body FROM email_outbox WHERE kind = 'account_decision' AND to_address = 'sus_dj@example.org'")
        .await;
    assert!(
        mail[0].contains(reasons) && mail[0].contains("appeal"),
        "{mail:?}"
    );

    // Hidden from everyone else by the one visibility rule.
    for token in [None, Some(fan.as_str())] {
        let (status, _) = call(
            &sys,
            Method::GET,
            &format!("/api/v1/cloudcasts/{id}"),
            token,
            None,
        )
        .await;
        assert_eq!(status, 404);
        let (status, _) = call(&sys, Method::GET, "/api/v1/users/sus_dj", token, None).await;
        assert_eq!(status, 404);
    }
    let (_, recent) = call(&sys, Method::GET, "/api/v1/cloudcasts", None, None).await;
    assert!(!recent.to_string().contains(&id), "{recent}");

    // An appeal reaches the queue once; granting it lifts the decision.
    let appeal_path = format!("/api/v1/me/decisions/{decision_id}/appeal");
    let statement = json!({"statement": "Those comments were quotes from a track."});
    let (status, appeal) = call(
        &sys,
        Method::POST,
        &appeal_path,
        Some(&dj2),
        Some(statement.clone()),
    )
    .await;
    assert_eq!(status, 201, "{appeal}");
    let (status, again) = call(
        &sys,
        Method::POST,
        &appeal_path,
        Some(&dj2),
        Some(statement),
    )
    .await;
    assert_eq!(
        (status, again["error"]["code"].as_str()),
        (409, Some("appeal_open"))
    );
    let (_, queue) = call(
        &sys,
        Method::GET,
        "/api/v1/admin/appeals",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(
        queue["appeals"][0]["decision"]["username"], "sus_dj",
        "{queue}"
    );
    let appeal_id = appeal["id"].as_str().expect("id");
    let (status, decided) = call(
        &sys,
        Method::POST,
        &format!("/api/v1/admin/appeals/{appeal_id}/decision"),
        Some(&admin),
        Some(json!({"outcome": "granted", "note": "Quotes, indeed."})),
    )
    .await;
    assert_eq!(status, 200, "{decided}");
    let (status, _) = call(
        &sys,
        Method::PUT,
        "/api/v1/users/sus_fan/follow",
        Some(&dj2),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = call(
        &sys,
        Method::GET,
        &format!("/api/v1/cloudcasts/{id}"),
        Some(&fan),
        None,
    )
    .await;
    assert_eq!(status, 200, "shown again");
    let mail = sys
        .pg_strings("SELECT body FROM email_outbox WHERE kind = 'account_decision' AND to_address = 'sus_dj@example.org' ORDER BY created_at DESC")
        .await;
    assert!(mail[0].contains("appeal was granted"), "{mail:?}");

    // A restriction: no comments until lifted.
    let (status, decision) = decide(
        json!({"action": "no_comments", "reasons": "Spam in comments.", "days": 1}),
        "sus_dj",
    )
    .await;
    assert_eq!(status, 201, "{decision}");
    let comment = json!({"body": "Back again"});
    let path = format!("/api/v1/cloudcasts/{id}/comments");
    let (status, refused) =
        call(&sys, Method::POST, &path, Some(&dj2), Some(comment.clone())).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (403, Some("account_restricted"))
    );
    let lift = format!(
        "/api/v1/admin/decisions/{}/lift",
        decision["id"].as_str().expect("id")
    );
    let (status, lifted) = call(
        &sys,
        Method::POST,
        &lift,
        Some(&admin),
        Some(json!({"note": "Cleared up."})),
    )
    .await;
    assert_eq!((status, lifted["state"].as_str()), (200, Some("lifted")));
    let (status, _) = call(&sys, Method::POST, &path, Some(&dj2), Some(comment)).await;
    assert_eq!(status, 201);
    // Every decision is kept, with who and why, in the person's export too.
    let exported = sys.exported_account(&dj2).await;
    assert_eq!(
        exported["decisions_on_my_account"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(exported["appeals"][0]["status"], "granted");
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_to_ads_is_given_not_presumed_and_activity_may_be_private() {
    let sys = TestSystem::start("ads_consent").await;
    let (status, _) = call(
        &sys,
        Method::POST,
        "/api/v1/accounts",
        None,
        Some(
            json!({"email": "ac_yes@example.org", "username": "ac_yes", "password": PASSWORD,
                    "birth_date": "1990-01-01", "terms": terms(), "personalised_ads": true}),
        ),
    )
    .await;
    assert_eq!(status, 202);
    let yes = sys.confirm_from_mail("ac_yes@example.org").await;
    let old = sys.user("ac_old").await;
    let consents = |token: String| {
        let sys = &sys;
        async move {
            call(sys, Method::GET, "/api/v1/me/consents", Some(&token), None)
                .await
                .1
        }
    };
    let c = consents(yes.clone()).await;
    assert_eq!(c["personalised_ads"], true);
    assert_eq!(c["history"][0]["source"], "user", "{c}");
    assert_eq!(consents(old.clone()).await["personalised_ads"], false);

    // An account from before: consent only presumed by the old default.
    sys.pg_exec("UPDATE users SET ads_consent = true WHERE username = 'ac_old'")
        .await;
    sys.pg_exec(
        "UPDATE consent_events SET granted = true
          WHERE kind = 'personalised_ads' AND user_id = (SELECT id FROM users WHERE username = 'ac_old')",
    )
    .await;
    let p = pool(&sys).await;
    assert_eq!(
        cloudcast_accounts::consents::withdraw_presumed(&p)
            .await
            .expect("withdraw"),
        1
    );
    assert_eq!(
        cloudcast_accounts::consents::withdraw_presumed(&p)
            .await
            .expect("again"),
        0
    );
    let c = consents(old.clone()).await;
    assert_eq!(c["personalised_ads"], false);
    let last = c["history"]
        .as_array()
        .and_then(|h| h.last())
        .cloned()
        .expect("event");
    assert_eq!(last["source"], "policy");
    assert!(
        last["reason"]
            .as_str()
            .unwrap_or("")
            .contains("not presumed"),
        "{last}"
    );
    assert_eq!(
        count(
            &sys,
            "SELECT count(*) FROM analytics_purges WHERE scope = 'ad_interest'
              AND user_id = (SELECT id FROM users WHERE username = 'ac_old')"
        )
        .await,
        2,
        "purged from the ad aggregates now and again later"
    );
    assert_eq!(
        consents(yes.clone()).await["personalised_ads"],
        true,
        "given stays given"
    );

    // Activity kept private: shown nowhere per person, and no one is told of it.
    let (status, prefs) = call(
        &sys,
        Method::PUT,
        "/api/v1/me/preferences",
        Some(&yes),
        Some(json!({"activity_private": true})),
    )
    .await;
    assert_eq!(
        (status, prefs["activity_private"].as_bool()),
        (200, Some(true))
    );
    let (status, _) = call(
        &sys,
        Method::PUT,
        "/api/v1/users/ac_old/follow",
        Some(&yes),
        None,
    )
    .await;
    assert_eq!(status, 200);
    for path in ["following", "favourites", "reposts"] {
        let (status, _) = call(
            &sys,
            Method::GET,
            &format!("/api/v1/users/ac_yes/{path}"),
            None,
            None,
        )
        .await;
        assert_eq!(status, 404, "{path}");
    }
    let (_, followers) = call(
        &sys,
        Method::GET,
        "/api/v1/users/ac_old/followers",
        None,
        None,
    )
    .await;
    assert!(!followers.to_string().contains("ac_yes"), "{followers}");
    let (_, heard) = call(
        &sys,
        Method::GET,
        "/api/v1/me/notifications",
        Some(&old),
        None,
    )
    .await;
    assert!(!heard.to_string().contains("ac_yes"), "{heard}");
    let (status, bad) = call(
        &sys,
        Method::PUT,
        "/api/v1/me/preferences",
        Some(&yes),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 422, "{bad}");
    sys.stop().await;
}
