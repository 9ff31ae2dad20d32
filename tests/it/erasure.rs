//! Erasure (an account that leaves, a reported under-13): an erased account leaves no row, object or
//! analytics entry behind in any store, whoever asked for it (the user, or
//! the operator for a reported under-13 user), and heartbeats arriving
//! late do not bring it back.

use std::path::Path;
use std::time::Duration;

use crate::support::{TestSystem, json_of};
use serde_json::{Value, json};

/// Every file under `dir`, as paths relative to it.
pub(crate) fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(rel) = p.strip_prefix(dir) {
                out.push(rel.to_string_lossy().to_string());
            }
        }
    }
    out
}

/// Rows of every PostgreSQL table, as text, that contain one of `needles`.
/// The tombstone tables may hold the account's id (nothing else): they are
/// searched for `always` only.
pub(crate) async fn pg_mentions(
    sys: &TestSystem,
    needles: &[String],
    always: &[String],
) -> Vec<String> {
    let tables = sys
        .pg_strings(
            "SELECT table_name::text FROM information_schema.tables
              WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
                AND table_name <> '_sqlx_migrations'",
        )
        .await;
    assert!(tables.len() >= 20, "{tables:?}");
    let mut found = Vec::new();
    for t in tables {
        let tombstone = t == "erased_accounts" || t == "analytics_purges";
        for row in sys
            .pg_strings(&format!("SELECT t::text FROM \"{t}\" t"))
            .await
        {
            let hit = always
                .iter()
                .chain(if tombstone { &[][..] } else { needles });
            if let Some(n) = hit.into_iter().find(|n| row.contains(n.as_str())) {
                found.push(format!("{t}: {row} (has {n})"));
            }
        }
    }
    found
}

/// Rows per ClickHouse table naming the user (by id or listener id) or one
/// of `cloudcasts`; tables with none are left out.
pub(crate) async fn ch_mentions(
    sys: &TestSystem,
    user: &str,
    cloudcasts: &[String],
) -> Vec<(String, u64)> {
    let tables = sys
        .clickhouse_rows(
            "SELECT table, groupArray(name) AS cols FROM system.columns
              WHERE database = currentDatabase()
                AND name IN ('user_id', 'listener_id', 'cloudcast_id')
                AND table IN (SELECT name FROM system.tables
                               WHERE database = currentDatabase() AND engine NOT LIKE '%View')
              GROUP BY table ORDER BY table",
        )
        .await;
    assert!(
        tables.len() >= 9,
        "every analytics table is searched: {tables:?}"
    );
    let list = cloudcasts
        .iter()
        .map(|c| format!("'{c}'"))
        .collect::<Vec<_>>()
        .join(",");
    let mut out = Vec::new();
    for t in tables {
        let name = t["table"].as_str().expect("table").to_string();
        let cols: Vec<&str> = t["cols"]
            .as_array()
            .expect("cols")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let mut cond = Vec::new();
        if cols.contains(&"user_id") {
            cond.push(format!("user_id = '{user}'"));
        }
        if cols.contains(&"listener_id") {
            cond.push(format!("listener_id = 'u:{user}'"));
        }
        if cols.contains(&"cloudcast_id") && !list.is_empty() {
            cond.push(format!("cloudcast_id IN ({list})"));
        }
        if cond.is_empty() {
            continue;
        }
        let sql = format!(
            "SELECT count() AS n FROM `{name}` WHERE {}",
            cond.join(" OR ")
        );
        let n = crate::support::ch_u64(&sys.clickhouse_rows(&sql).await[0]["n"]);
        if n > 0 {
            out.push((name, n));
        }
    }
    out
}

pub(crate) async fn wait_ch<F: Fn(&[(String, u64)]) -> bool>(
    sys: &TestSystem,
    user: &str,
    cloudcasts: &[String],
    what: &str,
    done: F,
) -> Vec<(String, u64)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let m = ch_mentions(sys, user, cloudcasts).await;
        if done(&m) {
            return m;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: {m:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_account_leaves_nothing_in_any_store() {
    let sys = TestSystem::start("erasure_user").await;
    let http = &sys.http;
    let dj = sys.user("er_dj").await;
    let fan = sys.user("er_fan").await;
    let dj_id = sys.me(&dj).await["id"].as_str().expect("id").to_string();
    let dj_email = "er_dj@example.org".to_string();

    // Everything an account can leave behind: cloudcasts (originals and
    // media), an unfinished upload, an avatar, a profile, comments,
    // favourites, consents, heartbeats, an export and an API key.
    let own = sys.ready_cloudcast(&dj, 12, "Erase me").await;
    let own_id = own["id"].as_str().expect("id").to_string();
    let theirs = sys.ready_cloudcast(&fan, 12, "Stays").await;
    let theirs_id = theirs["id"].as_str().expect("id").to_string();
    let unfinished = sys.create_upload(&dj, 20 << 20, "Half a mix").await;
    let resp = sys
        .patch(&dj, &unfinished, 0, crate::support::noise(10 << 20, 7))
        .await;
    assert_eq!(resp.status(), 204);
    let pending: Vec<String> = sys
        .pg_strings("SELECT id::text FROM uploads WHERE state = 'receiving'")
        .await;
    assert_eq!(pending.len(), 1);
    assert_eq!(sys.put_avatar(&dj).await, 204);
    // Consent to personalised ads (off unless given) leaves ad-interest rows.
    sys.consent_to_ads(&dj).await;
    let resp = http
        .put(sys.url("/api/v1/me/profile"))
        .bearer_auth(&dj)
        .json(&json!({"real_name": "Erin Erasable", "city": "Hull"}))
        .send()
        .await
        .expect("profile");
    assert_eq!(resp.status(), 200);
    let resp = http
        .patch(sys.url(&format!("/api/v1/cloudcasts/{theirs_id}")))
        .bearer_auth(&fan)
        .json(&json!({"tags": ["erasure"]}))
        .send()
        .await
        .expect("tags");
    assert_eq!(resp.status(), 200);
    for (token, cc) in [(&dj, &theirs_id), (&fan, &own_id)] {
        let resp = http
            .put(sys.url(&format!("/api/v1/cloudcasts/{cc}/favourite")))
            .bearer_auth(token)
            .send()
            .await
            .expect("favourite");
        assert!(resp.status().is_success());
    }
    let (status, body) = json_of(
        http.post(sys.url(&format!("/api/v1/cloudcasts/{theirs_id}/comments")))
            .bearer_auth(&dj)
            .json(&json!({"body": "Erin was here"}))
            .send()
            .await
            .expect("comment"),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = json_of(
        http.put(sys.url("/api/v1/me/consents"))
            .bearer_auth(&dj)
            .json(&json!({"third_party_contact": true}))
            .send()
            .await
            .expect("consent"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = json_of(
        http.post(sys.url("/api/v1/me/api-keys"))
            .bearer_auth(&dj)
            .json(&json!({"name": "my app"}))
            .send()
            .await
            .expect("key"),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    tokio::time::sleep(Duration::from_secs(6)).await; // the stream's tag cache
    assert_eq!(sys.beats(&dj, &theirs_id, "er-1", 15).await, 202);
    assert_eq!(sys.beats(&dj, &own_id, "er-2", 10).await, 202);
    assert_eq!(sys.beats(&fan, &own_id, "er-3", 10).await, 202);
    assert_eq!(sys.beats(&fan, &theirs_id, "er-4", 10).await, 202);
    let ccs = vec![own_id.clone()];
    let before = wait_ch(&sys, &dj_id, &ccs, "analytics rows arrive", |m| {
        [
            "heartbeats",
            "listen_sessions",
            "ad_interest",
            "favourite_events",
        ]
        .iter()
        .all(|t| m.iter().any(|(n, _)| n == t))
    })
    .await;
    // A background export leaves an archive in S3.
    let ex = sys.start_export(&dj).await;
    let status_path = ex["status_url"].as_str().expect("url");
    sys.wait_export(&dj, status_path).await;
    let bucket = sys.bucket_dir();
    let objects_before = files(&bucket);
    for needle in [&own_id, &dj_id, &pending[0]] {
        assert!(
            objects_before.iter().any(|f| f.contains(needle.as_str())),
            "{needle} in {objects_before:?}"
        );
    }

    // Deleting needs the password again; wrong or missing, nothing happens.
    for bad in [json!({"password": "wrong horse"}), json!({})] {
        let (status, body) = json_of(
            http.delete(sys.url("/api/v1/me"))
                .bearer_auth(&dj)
                .json(&bad)
                .send()
                .await
                .expect("delete"),
        )
        .await;
        assert!((400..500).contains(&status), "{bad}: {status} {body}");
        assert!(body["error"]["code"].is_string(), "{body}");
    }
    assert_eq!(sys.me(&dj).await["username"], "er_dj");

    // A beat just before: this node now holds the session in its cache.
    assert_eq!(sys.beats(&dj, &theirs_id, "er-5", 3).await, 202);
    let (status, erased) = json_of(
        http.delete(sys.url("/api/v1/me"))
            .bearer_auth(&dj)
            .json(&json!({"password": "correct horse battery"}))
            .send()
            .await
            .expect("delete"),
    )
    .await;
    assert_eq!(status, 200, "{erased}");
    assert_eq!(erased["cloudcasts"], 1, "{erased}");
    let resp = http
        .get(sys.url("/api/v1/me"))
        .bearer_auth(&dj)
        .send()
        .await
        .expect("me");
    assert_eq!(resp.status(), 401, "the session went with the account");

    // ClickHouse: every table, by user, listener and cloudcast.
    wait_ch(&sys, &dj_id, &ccs, "rows left after erasure", |m| {
        m.is_empty()
    })
    .await;
    // Late beats: this node still trusts the cached session (30 s), so they
    // are taken into the log; the shipper must drop them, since the queued
    // removals have run and the next is five minutes away.
    let late = sys.beats(&dj, &theirs_id, "er-6", 5).await;
    assert_eq!(
        late, 202,
        "the session should still be in the stream's cache"
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    let after = ch_mentions(&sys, &dj_id, &ccs).await;
    assert!(after.is_empty(), "late beats came back: {after:?}");
    assert!(before.len() >= 4, "{before:?}");

    // PostgreSQL: no row anywhere names the account, its email, its
    // cloudcast or its upload; the tombstone keeps the bare id only.
    let needles = vec![dj_id.clone(), own_id.clone(), pending[0].clone()];
    let always = vec![dj_email.clone(), "er_dj".to_string(), "Erin".to_string()];
    let left = pg_mentions(&sys, &needles, &always).await;
    assert!(left.is_empty(), "{left:#?}");
    let reason = sys
        .pg_strings(&format!(
            "SELECT reason FROM erased_accounts WHERE user_id = '{dj_id}'"
        ))
        .await;
    assert_eq!(reason, ["user"]);

    // S3: no object of the account is left; the other user's are intact.
    let objects_after = files(&bucket);
    for needle in [&own_id, &dj_id, &pending[0]] {
        let left: Vec<_> = objects_after
            .iter()
            .filter(|f| f.contains(needle.as_str()))
            .collect();
        assert!(left.is_empty(), "{needle}: {left:?}");
    }
    assert!(objects_after.iter().any(|f| f.contains(&theirs_id)));

    // The fan keeps their account, cloudcast and listening; the erased
    // user's comment and favourite are gone from it.
    let fan_rows = ch_mentions(&sys, "nobody", std::slice::from_ref(&theirs_id)).await;
    assert!(
        fan_rows.iter().any(|(t, _)| t == "heartbeats"),
        "{fan_rows:?}"
    );
    let (status, comments) = json_of(
        http.get(sys.url(&format!("/api/v1/cloudcasts/{theirs_id}/comments")))
            .send()
            .await
            .expect("comments"),
    )
    .await;
    assert_eq!(status, 200, "{comments}");
    assert!(
        !comments.to_string().contains("Erin was here"),
        "{comments}"
    );
    let cc = sys.cloudcast(&theirs_id).await;
    assert_eq!(cc["favourites"], 0, "{cc}");
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reported_child_is_purged_by_the_operator() {
    let sys = TestSystem::start("erasure_operator").await;
    let kid = sys.user("er_kid").await;
    let other = sys.user("er_other").await;
    let kid_id = sys.me(&kid).await["id"].as_str().expect("id").to_string();
    assert_eq!(sys.put_avatar(&kid).await, 204);
    assert!(files(&sys.bucket_dir()).iter().any(|f| f.contains(&kid_id)));

    let run = |args: &[&str]| {
        sys.command_on_s3()
            .args(args)
            .output()
            .expect("run cloudcast")
    };
    let out = run(&["admin", "purge-user", "--user", "nobody_here"]);
    assert!(!out.status.success(), "an unknown user is an error");
    let out = run(&["admin", "purge-user", "--user", "ER_KID@example.org"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&kid_id));

    let resp = sys
        .http
        .get(sys.url("/api/v1/users/er_kid"))
        .send()
        .await
        .expect("profile");
    assert_eq!(resp.status(), 404);
    assert_eq!(
        sys.pg_strings(&format!(
            "SELECT reason FROM erased_accounts WHERE user_id = '{kid_id}'"
        ))
        .await,
        ["under_13"]
    );
    assert!(!files(&sys.bucket_dir()).iter().any(|f| f.contains(&kid_id)));
    let left = pg_mentions(&sys, std::slice::from_ref(&kid_id), &["er_kid".to_string()]).await;
    assert!(left.is_empty(), "{left:#?}");
    assert_eq!(sys.me(&other).await["username"], "er_other");
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasures_within_one_window_reach_clickhouse_as_one_mutation_per_table() {
    let sys = TestSystem::start_with("erasure_window", |c| {
        // Long enough for three deletions, each asking for its password again.
        c.privacy.erasure_window = Duration::from_secs(15);
    })
    .await;
    let dj = sys.user("ew_dj").await;
    let cc = sys.ready_cloudcast(&dj, 10, "Stays").await;
    let cc = cc["id"].as_str().expect("id").to_string();
    let mut leaving = Vec::new();
    for i in 0..3 {
        let token = sys.user(&format!("ew_fan{i}")).await;
        let id = sys.me(&token).await["id"].as_str().expect("id").to_string();
        assert_eq!(sys.beats(&token, &cc, &format!("ew-{i}"), 10).await, 202);
        leaving.push((token, id));
    }
    for (_, id) in &leaving {
        wait_ch(&sys, id, &[], "the beats arrive", |m| {
            m.iter().any(|(t, _)| t == "heartbeats")
        })
        .await;
    }
    let mutations = "SELECT table, command FROM system.mutations
                      WHERE database = currentDatabase() ORDER BY create_time";
    assert_eq!(sys.clickhouse_rows(mutations).await, Vec::<Value>::new());

    // Three accounts leave within the window.
    for (token, _) in &leaving {
        let resp = sys
            .http
            .delete(sys.url("/api/v1/me"))
            .bearer_auth(token)
            .json(&json!({"password": "correct horse battery"}))
            .send()
            .await
            .expect("delete");
        assert_eq!(resp.status(), 200);
    }
    for (_, id) in &leaving {
        wait_ch(&sys, id, &[], "the erasure lands", |m| m.is_empty()).await;
    }
    // One mutation per table names all three (a table may need a second
    // pass for rows a rollup brought back, never one per user).
    let done = sys.clickhouse_rows(mutations).await;
    assert!(!done.is_empty());
    let mut per_table = std::collections::BTreeMap::<String, usize>::new();
    for m in &done {
        let command = m["command"].as_str().expect("command");
        for (_, id) in &leaving {
            assert!(command.contains(id.as_str()), "{id} not in {m}");
        }
        *per_table
            .entry(m["table"].as_str().expect("table").to_string())
            .or_default() += 1;
    }
    assert!(
        per_table.values().all(|n| *n < leaving.len()),
        "{per_table:?}"
    );
    assert!(per_table.contains_key("heartbeats"), "{per_table:?}");
    // The DJ, who stayed, keeps their cloudcast and its other rows.
    assert_eq!(sys.me(&dj).await["username"], "ew_dj");
    sys.stop().await;
}
