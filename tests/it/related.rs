//! "More like this" from a co-listening fixture whose neighbours are known:
//! listens of five minutes and more written into ClickHouse as the stream
//! writes beats, the charts' round computing pairs into PostgreSQL, the API
//! and the mix page (in Chromium, signed out and in) reading them.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{TestSystem, json_of, run_page};

/// One listener's beats of one mix: `seconds` beats a second apart, ending
/// an hour ago (today or yesterday: inside the window either way).
fn beats(cloudcast: &str, user: &str, seconds: u32, at: i64) -> Vec<String> {
    (0..seconds)
        .map(|s| {
            format!(
                "({}, '{cloudcast}', 'rel-{user}-{cloudcast}', {s}, {}, 'u:{user}', '{user}')",
                at + i64::from(s),
                u64::from(s) * 1000
            )
        })
        .collect()
}

async fn related(sys: &TestSystem, id: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = sys
        .http
        .get(sys.url(&format!("/api/v1/cloudcasts/{id}/related")));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    json_of(req.send().await.expect("related")).await
}

fn titles(v: &Value) -> Vec<(String, String)> {
    v["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| {
                    (
                        i["cloudcast"]["title"].as_str().unwrap_or("").to_string(),
                        i["reason"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn pair(title: &str, reason: &str) -> (String, String) {
    (title.to_string(), reason.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn related_mixes_come_from_co_listening_then_tags() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sys = TestSystem::start_with("related", |c| {
        c.http.web_dir = root.join("web");
        c.analytics.charts = Duration::from_secs(1);
        c.analytics.min_audience = 2;
        c.transcode.ladder_kbps = vec![64];
    })
    .await;
    let dj = sys.user("rel_dj").await;
    let mut mix = std::collections::HashMap::new();
    for title in [
        "Alpha", "Bravo", "Charlie", "Delta", "Echo", "Private", "Tagged",
    ] {
        let cc = sys.ready_cloudcast(&dj, 4, title).await;
        mix.insert(title, cc);
    }
    let id = |t: &str| mix[t]["id"].as_str().expect("id").to_string();
    for (title, body) in [
        ("Alpha", json!({"tags": ["deep"]})),
        ("Tagged", json!({"tags": ["deep"]})),
        ("Private", json!({"visibility": "private"})),
    ] {
        let resp = sys
            .http
            .patch(sys.url(&format!("/api/v1/cloudcasts/{}", id(title))))
            .bearer_auth(&dj)
            .json(&body)
            .send()
            .await
            .expect("patch");
        assert_eq!(resp.status(), 200);
    }

    // Listeners, by account id.
    let mut who = std::collections::HashMap::new();
    for name in ["rel_l1", "rel_l2", "rel_l3", "rel_l4", "rel_quiet"] {
        let token = sys.user(name).await;
        who.insert(
            name,
            sys.me(&token).await["id"].as_str().expect("id").to_string(),
        );
    }
    let minor = sys.user_born("rel_minor", "2012-03-01").await;
    who.insert(
        "rel_minor",
        sys.me(&minor).await["id"].as_str().expect("id").to_string(),
    );
    sys.pg_exec("UPDATE users SET activity_private = true WHERE username = 'rel_quiet'")
        .await;

    // Who heard what (seconds; five minutes make a listener):
    //   l1, l2: Alpha, Bravo, Charlie and the private mix;
    //   l3: Alpha, Bravo, and Charlie for 100 s only (not a listener of it);
    //   l4: Alpha and Delta (one person: never shown);
    //   a minor and someone whose activity is private: Alpha and Echo
    //   (never counted, so Echo is nobody's neighbour).
    let at = time::OffsetDateTime::now_utc().unix_timestamp() - 3600 - 400;
    let heard: &[(&str, &[(&str, u32)])] = &[
        (
            "rel_l1",
            &[
                ("Alpha", 310),
                ("Bravo", 310),
                ("Charlie", 310),
                ("Private", 310),
            ],
        ),
        (
            "rel_l2",
            &[
                ("Alpha", 310),
                ("Bravo", 310),
                ("Charlie", 310),
                ("Private", 310),
            ],
        ),
        (
            "rel_l3",
            &[("Alpha", 310), ("Bravo", 310), ("Charlie", 100)],
        ),
        ("rel_l4", &[("Alpha", 310), ("Delta", 310)]),
        ("rel_minor", &[("Alpha", 310), ("Echo", 310)]),
        ("rel_quiet", &[("Alpha", 310), ("Echo", 310)]),
    ];
    let mut rows = Vec::new();
    for (user, listens) in heard {
        for (title, secs) in *listens {
            rows.extend(beats(&id(title), &who[user], *secs, at));
        }
    }
    sys.clickhouse_exec(&format!(
        "INSERT INTO heartbeats (ts, cloudcast_id, session_id, seq, position_ms, listener_id, user_id) VALUES {}",
        rows.join(", ")
    ))
    .await;

    // Alpha: Bravo (3 of 4 and 3: 0.87) before Charlie (2 of 4 and 2:
    // 0.71), then Tagged for its shared tag; never Delta, Echo, Private.
    let want_alpha = vec![
        pair("Bravo", "co_listening"),
        pair("Charlie", "co_listening"),
        pair("Tagged", "tags"),
    ];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let alpha = loop {
        let (status, v) = related(&sys, &id("Alpha"), None).await;
        assert_eq!(status, 200, "{v}");
        if titles(&v) == want_alpha || tokio::time::Instant::now() > deadline {
            break v;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(titles(&alpha), want_alpha, "{alpha}");
    assert_eq!(alpha["items"][0]["cloudcast"]["url"], "/rel_dj/bravo");
    // Bravo: Alpha (3 of 3 and 4: 0.87), Charlie (2 of 3 and 2: 0.82).
    let (_, bravo) = related(&sys, &id("Bravo"), None).await;
    assert_eq!(
        titles(&bravo),
        vec![
            pair("Alpha", "co_listening"),
            pair("Charlie", "co_listening")
        ]
    );
    // Stored as computed: pairs of two or more people only.
    let stored = sys
        .pg_strings(
            "SELECT c.title || '>' || r.title || ':' || k.listeners FROM related_cloudcasts k
               JOIN cloudcasts c ON c.id = k.cloudcast_id JOIN cloudcasts r ON r.id = k.related_id
              ORDER BY 1",
        )
        .await;
    assert_eq!(
        stored,
        vec![
            "Alpha>Bravo:3",
            "Alpha>Charlie:2",
            "Alpha>Private:2",
            "Bravo>Alpha:3",
            "Bravo>Charlie:2",
            "Bravo>Private:2",
            "Charlie>Alpha:2",
            "Charlie>Bravo:2",
            "Charlie>Private:2",
            "Private>Alpha:2",
            "Private>Bravo:2",
            "Private>Charlie:2",
        ]
    );
    // Echo was heard only by people who are never counted: tags fill nothing.
    let (_, echo) = related(&sys, &id("Echo"), None).await;
    assert!(titles(&echo).is_empty(), "{echo}");

    // The mix page, in Chromium, signed out and in: the cards play, and lead on.
    for login in [None, Some("rel_l4")] {
        let mut args = vec![
            "look".to_string(),
            sys.base.clone(),
            format!("{}{}", sys.base, mix["Alpha"]["url"].as_str().expect("url")),
        ];
        if let Some(l) = login {
            args.extend([l.to_string(), "correct horse battery".to_string()]);
        }
        let seen = run_page("related.mjs", args, &[]).await;
        assert_eq!(
            seen["related"],
            json!(["Bravo", "Charlie", "Tagged"]),
            "{seen}"
        );
        assert_eq!(seen["playing"], "Bravo", "{seen}");
        assert_eq!(seen["next"], json!(["Alpha", "Charlie"]), "{seen}");
        assert_eq!(seen["stillPlaying"], "Bravo", "{seen}");
    }

    // Made private: gone at once, before any new round.
    let resp = sys
        .http
        .patch(sys.url(&format!("/api/v1/cloudcasts/{}", id("Bravo"))))
        .bearer_auth(&dj)
        .json(&json!({"visibility": "private"}))
        .send()
        .await
        .expect("patch");
    assert_eq!(resp.status(), 200);
    let (_, alpha) = related(&sys, &id("Alpha"), None).await;
    assert_eq!(
        titles(&alpha),
        vec![pair("Charlie", "co_listening"), pair("Tagged", "tags")]
    );
    // A private mix has no related list for others; bad limits are named.
    let (status, v) = related(&sys, &id("Private"), None).await;
    assert_eq!(status, 404, "{v}");
    let (status, v) = related(&sys, &id("Private"), Some(&dj)).await;
    assert_eq!(status, 200, "{v}");
    for limit in ["0", "21", "x"] {
        let (status, v) = json_of(
            sys.http
                .get(sys.url(&format!(
                    "/api/v1/cloudcasts/{}/related?limit={limit}",
                    id("Alpha")
                )))
                .send()
                .await
                .expect("related"),
        )
        .await;
        assert_eq!(status, 400, "{limit}: {v}");
        assert!(v["error"]["code"].is_string(), "{v}");
    }
    sys.stop().await;
}
