//! The analytics model on a real ClickHouse server (the 18.16 that
//! `infra/dev` starts): rows go into `heartbeats`, the materialized views
//! fill, and every query is checked against numbers worked out by hand from
//! the rows. Then the same schema, rows and queries run on a current
//! ClickHouse engine (chdb, in the project's Python venv) and must give the
//! same answers.

use std::io::Write;
use std::process::{Command, Stdio};

use cloudcast::config::Config;
use cloudcast_analytics::dates::DateRange;
use cloudcast_analytics::ddl::DdlLock;
use cloudcast_analytics::{dashboard, history, rollup, schema, sql, stats};
use time::macros::date;
use uuid::Uuid;

const A: &str = "0191f3a4-0000-7000-8000-00000000000a";
const B: &str = "0191f3a4-0000-7000-8000-00000000000b";
const USER1: &str = "0191f3a4-0000-7000-8000-000000000001";
const USER2: &str = "0191f3a4-0000-7000-8000-000000000002";
const USER3: &str = "0191f3a4-0000-7000-8000-000000000003";
/// 2026-11-01 00:00:00 UTC and the next day.
const D1: u32 = 1_793_491_200;
const D2: u32 = D1 + 86_400;

struct Listen {
    cloudcast: &'static str,
    tags: &'static str,
    session: &'static str,
    listener: String,
    user: &'static str,
    start: u32,
    beats: u32,
    referrer: &'static str,
    browser: &'static str,
    bot: u8,
    consent: u8,
}

fn listen(
    cloudcast: &'static str,
    session: &'static str,
    user: &'static str,
    start: u32,
    beats: u32,
) -> Listen {
    Listen {
        cloudcast,
        tags: if cloudcast == A {
            "['house','techno']"
        } else {
            "['house']"
        },
        session,
        listener: format!("u:{user}"),
        user,
        start,
        beats,
        referrer: "example.org",
        browser: "Firefox",
        bot: 0,
        consent: 0,
    }
}

/// The scenario (worked-out answers in the test below).
fn listens() -> Vec<Listen> {
    vec![
        // user1, consenting: 40 s then 10 s on day 1, 31 s on day 2.
        Listen {
            consent: 1,
            ..listen(A, "s1", USER1, D1 + 100, 40)
        },
        Listen {
            consent: 1,
            ..listen(A, "s5", USER1, D1 + 5000, 10)
        },
        Listen {
            consent: 1,
            ..listen(A, "s4", USER1, D2 + 100, 31)
        },
        // user2, not consenting: 20 s of A (no play), 40 s of B (a play).
        Listen {
            referrer: "",
            ..listen(A, "s2", USER2, D1 + 200, 20)
        },
        listen(B, "s6", USER2, D1 + 300, 40),
        // user3, consenting: 5 s.
        Listen {
            consent: 1,
            ..listen(A, "s7", USER3, D1 + 400, 5)
        },
        // An anonymous listener from a blog on Safari: 35 s (a play).
        Listen {
            listener: "a:anon".into(),
            user: "",
            referrer: "blog.net",
            browser: "Safari",
            ..listen(A, "s3", "", D1 + 500, 35)
        },
        // A bot: 100 s that must count nowhere.
        Listen {
            listener: "a:bot".into(),
            user: "",
            bot: 1,
            browser: "Googlebot",
            ..listen(A, "s8", "", D1 + 600, 100)
        },
    ]
}

/// One INSERT for both engines. Beats are one second apart, position = seq
/// seconds; the first five beats of session s1 are sent twice (a player
/// retrying a request whose answer it lost).
fn insert_sql() -> String {
    let mut values = Vec::new();
    for l in listens() {
        for seq in 0..l.beats {
            let row = format!(
                "({}, '{}', {}, '{}', {seq}, {}, '{}', '{}', '{}', '{}', {}, {})",
                l.start + seq,
                l.cloudcast,
                l.tags,
                l.session,
                u64::from(seq) * 1000,
                l.listener,
                l.user,
                l.referrer,
                l.browser,
                l.bot,
                l.consent
            );
            if l.session == "s1" && seq < 5 {
                values.push(row.clone());
            }
            values.push(row);
        }
    }
    format!(
        "INSERT INTO heartbeats (ts, cloudcast_id, tags, session_id, seq, position_ms, \
         listener_id, user_id, referrer_domain, browser, is_bot, ads_consent) VALUES {}",
        values.join(", ")
    )
}

/// USER2 and USER3 follow USER1 on day 1 (event 2 copied twice), USER3
/// unfollows on day 2.
fn follow_events_sql() -> String {
    format!(
        "INSERT INTO follow_events (event_id, ts, user_id, followee_id, delta) VALUES \
         (1, {D1}, '{USER2}', '{USER1}', 1), (2, {D1}, '{USER3}', '{USER1}', 1), \
         (2, {D1}, '{USER3}', '{USER1}', 1), (3, {D2}, '{USER3}', '{USER1}', -1)"
    )
}

/// Requests for A's download (minute_bytes 1000): client h1 (AntennaPod)
/// twice on day 1, 600 + 500 bytes (request 2 copied twice): a download;
/// h2 (Overcast) 900 bytes on day 1: under a minute; h1 again on day 2,
/// 1000 bytes: a download that day; h3 on day 1, 2000 bytes of B.
fn download_requests_sql() -> String {
    format!(
        "INSERT INTO download_requests (request_id, ts, cloudcast_id, client_hash, app, bytes, minute_bytes) VALUES \
         (1, {D1}, '{A}', 'h1', 'AntennaPod', 600, 1000), (2, {D1} + 60, '{A}', 'h1', 'AntennaPod', 500, 1000), \
         (2, {D1} + 60, '{A}', 'h1', 'AntennaPod', 500, 1000), (3, {D1}, '{A}', 'h2', 'Overcast', 900, 1000), \
         (4, {D2}, '{A}', 'h1', 'AntennaPod', 1000, 1000), (5, {D1}, '{B}', 'h3', 'Overcast', 2000, 1000)"
    )
}

fn favourite_events_sql() -> String {
    // Event 2 is copied twice (a repeated copy round): counted once.
    format!(
        "INSERT INTO favourite_events (event_id, ts, user_id, cloudcast_id, delta) VALUES \
         (1, {D1}, '{USER1}', '{A}', 1), (2, {D1}, '{USER2}', '{A}', 1), \
         (2, {D1}, '{USER2}', '{A}', 1), (3, {D2}, '{USER2}', '{A}', -1)"
    )
}

/// The default rule with `play_min_seconds` as given.
fn rule(play_min_seconds: u32) -> sql::Rule {
    sql::Rule::with_play_min(play_min_seconds)
}

/// The rollup's statement for `day` (quoted), its binds inlined.
fn roll_day(version: u32, day: &str) -> String {
    let mut text = rollup::roll_sql();
    for value in [
        version.to_string(),
        "10".into(),
        "''".into(),
        "'~'".into(),
        day.into(),
        day.into(),
        "16".into(),
    ] {
        text = text.replacen('?', &value, 1);
    }
    text
}

fn literal(name: &str) -> String {
    match name {
        "play_min_seconds" => "30".into(),
        "cloudcast_from" | "cloudcast_to" => format!("'{A}'"),
        "from" => "'2026-11-01'".into(),
        "to" => "'2026-11-02'".into(),
        "limit" => "10".into(),
        "user_id" => format!("'{USER1}'"),
        "min_audience" => "2".into(),
        "listeners_per_address" => "16".into(),
        "session_slack_secs" => "10".into(),
        "listen_min_seconds" => "30".into(),
        "cloudcast_ids" => format!("['{A}', '{B}']"),
        other => panic!("no test value for bind {other}"),
    }
}

/// The query with its placeholders replaced by the test values (for the
/// engine comparison only; the API binds through the client).
fn inlined(q: &sql::Query) -> String {
    inlined_with(q, &[])
}

/// As [`inlined`], with some values given.
fn inlined_with(q: &sql::Query, values: &[(&str, String)]) -> String {
    let mut out = q.text();
    for name in q.bind_names() {
        let value = values
            .iter()
            .find(|(n, _)| *n == name)
            .map_or_else(|| literal(name), |(_, v)| v.clone());
        out = out.replacen('?', &value, 1);
    }
    out
}

/// The SQL of each panel of `infra/grafana/cloudcast-listening.json`, with
/// the Altinity plugin's `$from`/`$to` (Unix seconds) and the dashboard's
/// `$cloudcast` variable filled in.
fn grafana_panels() -> Vec<(String, String)> {
    let dashboard: serde_json::Value =
        serde_json::from_str(include_str!("../../infra/grafana/cloudcast-listening.json"))
            .unwrap_or_else(|e| panic!("dashboard JSON: {e}"));
    let panels = dashboard["panels"].as_array().cloned().unwrap_or_default();
    assert!(panels.len() >= 5, "the dashboard lost its panels");
    panels
        .iter()
        .map(|p| {
            let sql = p["targets"][0]["query"].as_str().unwrap_or_default();
            assert!(!sql.is_empty(), "panel {} has no query", p["title"]);
            let sql = sql
                .replace("$from", &D1.to_string())
                .replace("$to", &(D2 + 3600).to_string())
                .replace("$cloudcast", A);
            (format!("grafana: {}", p["title"]), sql)
        })
        .collect()
}

async fn setup() -> (clickhouse::Client, Config) {
    setup_on(None).await
}

/// The ClickHouse cluster `infra/dev test` starts (2 shards x 2 replicas).
pub const CLUSTER: &str = "cloudcast";

pub fn cluster_url() -> String {
    std::env::var("CLOUDCAST_TEST_CLICKHOUSE_CLUSTER_URL").unwrap_or_else(|_| {
        panic!(
            "CLOUDCAST_TEST_CLICKHOUSE_CLUSTER_URL unset: run the tests through `infra/dev test`"
        )
    })
}

/// The scenario's rows in a fresh database, on the single server or (with
/// `cluster`) spread over the cluster.
async fn setup_on(cluster: Option<&str>) -> (clickhouse::Client, Config) {
    let mut config = Config::load(None).unwrap_or_else(|e| panic!("config: {e}"));
    config.clickhouse.database = format!("cc_views_{}", Uuid::new_v4().simple());
    if let Some(name) = cluster {
        config.clickhouse.url = cluster_url();
        config.clickhouse.cluster = name.into();
    }
    schema::migrate(&config.clickhouse, &DdlLock::local())
        .await
        .unwrap_or_else(|e| panic!("migrations: {e}"));
    let client = cloudcast_analytics::client(&config.clickhouse);
    for stmt in [
        insert_sql(),
        favourite_events_sql(),
        follow_events_sql(),
        download_requests_sql(),
    ] {
        client
            .query(&stmt)
            .execute()
            .await
            .unwrap_or_else(|e| panic!("insert: {e}"));
    }
    (client, config)
}

async fn drop_db(config: &Config) {
    let on = if config.clickhouse.cluster.is_empty() {
        String::new()
    } else {
        format!(" ON CLUSTER `{}`", config.clickhouse.cluster)
    };
    let _ = cloudcast_analytics::server_client(&config.clickhouse)
        .query(&format!(
            "DROP DATABASE IF EXISTS `{}`{on}",
            config.clickhouse.database
        ))
        .execute()
        .await;
}

fn range() -> DateRange {
    DateRange {
        from: date!(2026 - 11 - 01),
        to: date!(2026 - 11 - 02),
    }
}

#[tokio::test]
async fn views_answer_what_the_rows_say() {
    let (ch, config) = setup().await;
    let r = range();
    let day = |d: &str, listeners, secs, plays| stats::DayRow {
        day: d.into(),
        listeners,
        listened_seconds: secs,
        plays,
    };

    // Daily: bots out; a re-sent beat counts once; user1's two sessions on
    // day 1 are one play; day 2 is a new play; 20 s and 5 s are not plays.
    let a_days = stats::daily(&ch, rule(30), A, &r)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        a_days,
        vec![day("2026-11-01", 4, 110, 2), day("2026-11-02", 1, 31, 1)]
    );
    assert_eq!(stats::totals(&a_days), (3, 141));
    assert_eq!(stats::listeners(&ch, rule(30), A, &r).await.ok(), Some(4));
    // The threshold is the configured one: at 41 s the anonymous 35 s is no play.
    let strict = stats::daily(&ch, rule(41), A, &r)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(strict[0].plays, 1);
    // All cloudcasts: day 1 adds user2's play of B.
    let all = stats::daily(&ch, rule(30), "", &r)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(all[0], day("2026-11-01", 4, 150, 3));

    // Retention per 10 s: all four listeners heard 0-9 s, only user1 and
    // the anonymous listener reached 30 s.
    let ret = stats::retention(&ch, A, &r)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let at = |s: u64| ret.iter().find(|p| p.position_s == s).map(|p| p.listeners);
    assert_eq!(
        (at(0), at(10), at(30), at(40)),
        (Some(4), Some(3), Some(2), None)
    );

    let refs = stats::referrers(&ch, A, &r, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let refs: Vec<(&str, u64, u64)> = refs
        .iter()
        .map(|x| (x.domain.as_str(), x.listeners, x.listened_seconds))
        .collect();
    // Beat-count columns count what arrived, re-sent beats included (91 =
    // 40 + 5 + 10 + 31 + 5).
    assert_eq!(
        refs,
        vec![("example.org", 2, 91), ("", 1, 20), ("blog.net", 1, 35)]
    );

    let browsers = stats::browsers(&ch, A, &r, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let browsers: Vec<(&str, u64)> = browsers
        .iter()
        .map(|b| (b.browser.as_str(), b.listeners))
        .collect();
    assert_eq!(browsers, vec![("Firefox", 3), ("Safari", 1)]);

    let top = dashboard::top_cloudcasts(&ch, rule(30), &r, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let top: Vec<(&str, u64)> = top
        .iter()
        .map(|t| (t.cloudcast_id.as_str(), t.plays))
        .collect();
    assert_eq!(top, vec![(A, 3), (B, 1)]);

    // Sessions: newest first, how long, where it stopped.
    let user1 = Uuid::parse_str(USER1).unwrap_or_else(|e| panic!("{e}"));
    let sessions = history::sessions(&ch, user1, None, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let summary: Vec<(&str, u64, u64)> = sessions
        .iter()
        .map(|s| (s.session_id.as_str(), s.seconds, s.last_ms))
        .collect();
    assert_eq!(
        summary,
        vec![("s4", 31, 30_000), ("s5", 10, 9_000), ("s1", 40, 39_000)]
    );
    assert_eq!(sessions[2].started, D1 + 100);
    assert_eq!(sessions[2].ended, D1 + 139);

    // Ad interest: only consenting users (user1, user3; never user2, whose
    // 40 s of B carry the house tag), and nothing below the floor; a user's
    // seconds of a day are at most their counted seconds (user1's five
    // re-sent beats of day 1 count once: 50 + 31 + 5 = 86).
    let aud = dashboard::audiences(&ch, rule(30), &r, 2)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let aud: Vec<(&str, u64, u64)> = aud
        .iter()
        .map(|a| (a.tag.as_str(), a.audience, a.listened_seconds))
        .collect();
    assert_eq!(aud, vec![("house", 2, 86), ("techno", 2, 86)]);
    // Favourite events: a repeated copy of event 2 counts once.
    let favs = dashboard::favourite_days(&ch, &r)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let favs: Vec<(&str, u64, u64)> = favs
        .iter()
        .map(|f| (f.day.as_str(), f.added, f.removed))
        .collect();
    assert_eq!(favs, vec![("2026-11-01", 2, 0), ("2026-11-02", 0, 1)]);

    let floor = dashboard::audiences(&ch, rule(30), &r, 3)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        floor.is_empty(),
        "an audience of 2 shown under a floor of 3: {floor:?}"
    );

    // A DJ's insights over A and B: each mix as its own statistics count it
    // (A: 3 plays, 141 s, 4 listeners), days over both (user2 heard both on
    // day 1: one listener), one cohort of the 4 listeners, sources and
    // devices over both (beats, re-sent ones included), the accounts, and
    // USER1's follows.
    let every = [
        ("cloudcast_from", "''".to_string()),
        ("cloudcast_to", "'~'".to_string()),
    ];
    let tsv = |q: sql::Query| {
        let text = inlined_with(&q, &every);
        let ch = ch.clone();
        async move {
            let bytes = ch
                .query(&text)
                .fetch_bytes("TSV")
                .unwrap_or_else(|e| panic!("{}: {e}", q.name))
                .collect()
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", q.name));
            String::from_utf8_lossy(&bytes).trim_end().to_string()
        }
    };
    assert_eq!(
        tsv(sql::CATALOGUE_MIXES).await,
        format!("{A}\t3\t141\t4\n{B}\t1\t40\t1")
    );
    assert_eq!(
        tsv(sql::CATALOGUE_DAILY).await,
        "2026-11-01\t4\t150\t3\n2026-11-02\t1\t31\t1"
    );
    assert_eq!(tsv(sql::RETURNING).await, "2026-11-01\t0\t4");
    assert_eq!(
        tsv(sql::CATALOGUE_REFERRERS).await,
        "example.org\t3\t131\n\t1\t20\nblog.net\t1\t35"
    );
    assert_eq!(
        tsv(sql::CATALOGUE_DEVICES).await,
        "\tFirefox\t3\t151\n\tSafari\t1\t35"
    );
    assert_eq!(
        tsv(sql::CATALOGUE_ACCOUNTS).await,
        format!("{USER1}\n{USER2}\n{USER3}")
    );
    assert_eq!(
        tsv(sql::FOLLOWER_DAYS).await,
        "2026-11-01\t2\t0\n2026-11-02\t0\t1"
    );

    drop_db(&config).await;
}

/// Finished days roll up into plain totals and read the same; a day that
/// changes later (a late replay) is rolled up again.
#[tokio::test]
async fn rolled_up_days_answer_the_same_and_late_beats_roll_again() {
    let (ch, config) = setup().await;
    let r = range();
    let live = stats::daily(&ch, rule(30), A, &r)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let live_top = dashboard::top_cloudcasts(&ch, rule(30), &r, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let today = date!(2026 - 11 - 29);
    let rolled = rollup::roll_once(&ch, &DdlLock::local(), rule(30), today)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rolled, vec!["2026-11-01", "2026-11-02"]);
    let totals: u64 = ch
        .query("SELECT count() FROM listener_day_totals")
        .fetch_one()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(totals > 0);
    assert_eq!(
        stats::daily(&ch, rule(30), A, &r).await.ok(),
        Some(live.clone())
    );
    assert_eq!(
        dashboard::top_cloudcasts(&ch, rule(30), &r, 10).await.ok(),
        Some(live_top)
    );
    // Nothing changed: nothing to do.
    assert_eq!(
        rollup::roll_once(&ch, &DdlLock::local(), rule(30), today)
            .await
            .ok(),
        Some(Vec::new())
    );

    // A late replay brings a 40 s anonymous listen on day 1.
    let late: Vec<String> = (0..40)
        .map(|s| {
            format!(
                "({}, '{A}', 's9', {s}, {}, 'a:late', 0)",
                D1 + 9000 + s,
                s * 1000
            )
        })
        .collect();
    ch.query(&format!(
        "INSERT INTO heartbeats (ts, cloudcast_id, session_id, seq, position_ms, listener_id, is_bot) VALUES {}",
        late.join(", ")
    ))
    .execute()
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        rollup::roll_once(&ch, &DdlLock::local(), rule(30), today)
            .await
            .ok(),
        Some(vec!["2026-11-01".to_string()])
    );
    let after = stats::daily(&ch, rule(30), A, &r)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (
            after[0].listeners,
            after[0].listened_seconds,
            after[0].plays
        ),
        (5, 150, 3)
    );
    assert_eq!(after[1], live[1]);
    drop_db(&config).await;
}

/// An upgrade to the listening rule: days counted before it are counted
/// again from their sessions, so plays minted then (12 sessions of 31 beats
/// sent within a second, each a new listener) go; a day whose sessions are
/// gone with their raw month keeps its old rows as they are (marked again,
/// not rewritten); a day the rule before the `rolled` column left with two
/// versions of its rows holds one row per listener afterwards.
#[tokio::test]
async fn an_upgrade_counts_again_the_days_it_can_and_keeps_the_others() {
    let (ch, config) = setup().await;
    let r = range();
    let live = stats::daily(&ch, rule(30), A, &r)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let exec = |sql: String| execute(&ch, sql);
    // Minted on day 1: 12 sessions, each its own listener, 31 beats each
    // received within the same second.
    let minted: Vec<String> = (0..12)
        .flat_map(|m| {
            (0..31).map(move |seq| {
                format!(
                    "({}, '{A}', 'mint{m}', {seq}, {}, 'a:mint{m}', 'x')",
                    D1 + 7000,
                    seq * 1000
                )
            })
        })
        .collect();
    exec(format!(
        "INSERT INTO heartbeats (ts, cloudcast_id, session_id, seq, position_ms, listener_id, ip_hash) VALUES {}",
        minted.join(", ")
    ))
    .await;
    // What the rollup before the rule wrote: every listener's distinct
    // beats, day 1 twice (two versions), day 2 once; marks without
    // `rolled` or `rule`.
    let legacy = |version: u32, day: &str| {
        format!(
            "INSERT INTO listener_day_totals
                (cloudcast_id, day, listener_id, user_id, is_bot, seconds, furthest_ms, version)
             SELECT cloudcast_id, day, listener_id, user_id, is_bot,
                    uniqExactMerge(seconds), maxMerge(furthest_ms), {version}
             FROM listener_days WHERE day = toDate('{day}')
             GROUP BY cloudcast_id, day, listener_id, user_id, is_bot"
        )
    };
    for (version, day) in [(1, "2026-11-01"), (2, "2026-11-01"), (1, "2026-11-02")] {
        exec(legacy(version, day)).await;
    }
    for day in ["2026-11-01", "2026-11-02"] {
        exec(format!(
            "INSERT INTO rollup_days (day, beats, version)
             SELECT toDate('{day}'), toUInt64(sum(beats)), 2 FROM day_beats WHERE day = toDate('{day}')"
        ))
        .await;
    }
    let plays_before = count(
        &ch,
        "SELECT toUInt64(countIf(seconds >= 30)) FROM listener_day_totals
          WHERE day = '2026-11-01' AND version = 2 AND is_bot = 0
            AND cloudcast_id = '0191f3a4-0000-7000-8000-00000000000a'",
    )
    .await;
    assert_eq!(
        plays_before,
        2 + 12,
        "the minted plays were counted before the rule"
    );
    // Day 2's raw month is gone: its sessions with it.
    exec("ALTER TABLE session_days DELETE WHERE day = '2026-11-02'".into()).await;
    wait_for_mutations(&ch).await;
    let rows = |day: &str| format!("SELECT count() FROM listener_day_totals WHERE day = '{day}'");
    let day2_before = count(&ch, &rows("2026-11-02")).await;

    let today = date!(2026 - 11 - 29);
    let rolled = rollup::roll_once(&ch, &DdlLock::local(), rule(30), today)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rolled, vec!["2026-11-01", "2026-11-02"]);
    // Day 1, counted again: the minted listeners count 10 s each (no play),
    // and one row per listener is left.
    let distinct = count(
        &ch,
        "SELECT uniqExact(cloudcast_id, listener_id, user_id, is_bot)
           FROM listener_day_totals WHERE day = '2026-11-01'",
    )
    .await;
    assert_eq!(count(&ch, &rows("2026-11-01")).await, distinct);
    let minted_seconds = count(
        &ch,
        "SELECT toUInt64(max(seconds)) FROM listener_day_totals
          WHERE day = '2026-11-01' AND listener_id LIKE 'a:mint%'",
    )
    .await;
    assert_eq!(minted_seconds, 10);
    let after = stats::daily(&ch, rule(30), A, &r)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(after[0].plays, live[0].plays, "{after:?}");
    // Day 2 was kept as it was: no deletion named it.
    assert_eq!(count(&ch, &rows("2026-11-02")).await, day2_before);
    let day2_rewrites = count(
        &ch,
        "SELECT count() FROM system.mutations
          WHERE database = currentDatabase() AND table = 'listener_day_totals'
            AND position(command, '2026-11-02') > 0",
    )
    .await;
    assert_eq!(
        day2_rewrites, 0,
        "a day that cannot be counted again was rewritten"
    );
    assert_eq!(after[1], live[1]);
    assert_eq!(
        rollup::roll_once(&ch, &DdlLock::local(), rule(30), today)
            .await
            .ok(),
        Some(Vec::new())
    );
    drop_db(&config).await;
}

/// The listening rule on hand-made beats (live and rolled up alike): a
/// session counts at most its span of server time plus 10 s; anonymous
/// listeners of one cloudcast from one address count 16 at most, those
/// with the most seconds; signed-in listeners are never capped; a real
/// listener still counts.
#[tokio::test]
async fn the_listening_rule_counts_what_a_listener_could_hear() {
    let (ch, config) = setup().await;
    let exec = |sql: String| execute(&ch, sql);
    // On cloudcast B, day 2, from one address 'nat':
    //  * 20 anonymous listeners, listener k heard 40 + k s in real time;
    //  * 18 signed-in users, 35 s each, from the same address;
    // and from another address, one session sending 630 beats over 20 s of
    // server time (it counts 20 + 10 = 30 s: a play, but not 630 s).
    let mut rows = Vec::new();
    for k in 0..20u32 {
        for seq in 0..(40 + k) {
            rows.push(format!(
                "({}, '{B}', 'n{k}', {seq}, 'a:n{k}', '', 'nat')",
                D2 + 1000 + seq
            ));
        }
    }
    for seq in 0..630u32 {
        rows.push(format!(
            "({}, '{B}', 'fast', {seq}, 'a:fast', '', 'solo')",
            D2 + 2000 + seq / 30
        ));
    }
    for u in 0..18u32 {
        for seq in 0..35u32 {
            rows.push(format!(
                "({}, '{B}', 'u{u}', {seq}, 'u:user{u}', 'user{u}', 'nat')",
                D2 + 3000 + seq
            ));
        }
    }
    exec(format!(
        "INSERT INTO heartbeats (ts, cloudcast_id, session_id, seq, listener_id, user_id, ip_hash) VALUES {}",
        rows.join(", ")
    ))
    .await;
    let day2 = DateRange {
        from: date!(2026 - 11 - 02),
        to: date!(2026 - 11 - 02),
    };
    let check = |days: Vec<stats::DayRow>| {
        assert_eq!(days.len(), 1, "{days:?}");
        // The best 16 anonymous of 'nat' (44..=59 s), 18 users, 'fast'.
        assert_eq!(days[0].listeners, 16 + 18 + 1, "{days:?}");
        assert_eq!(days[0].plays, 16 + 18 + 1, "{days:?}");
        let anonymous: u64 = (4..20u64).map(|k| 40 + k).sum();
        assert_eq!(
            days[0].listened_seconds,
            anonymous + 18 * 35 + 30,
            "{days:?}"
        );
    };
    check(
        stats::daily(&ch, rule(30), B, &day2)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    );
    // A tighter cap is the configured one.
    let cap2 = sql::Rule {
        listeners_per_address: 2,
        ..rule(30)
    };
    let tight = stats::daily(&ch, cap2, B, &day2)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tight[0].listeners, 2 + 18 + 1, "{tight:?}");
    // The fast session alone: 30 s counted from 630 beats over 20 s.
    let fast = count(
        &ch,
        &format!(
            "SELECT toUInt64(seconds) FROM ({}) WHERE listener_id = 'a:fast'",
            inlined_with(
                &sql::COUNTED_LIVE,
                &[
                    ("cloudcast_from", format!("'{B}'")),
                    ("cloudcast_to", format!("'{B}'"))
                ]
            )
        ),
    )
    .await;
    assert_eq!(fast, 30);
    // Rolled up, the same.
    rollup::roll_once(&ch, &DdlLock::local(), rule(30), date!(2026 - 11 - 29))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    check(
        stats::daily(&ch, rule(30), B, &day2)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    );
    assert_eq!(
        stats::listeners(&ch, rule(30), B, &day2).await.ok(),
        Some(16 + 18 + 1)
    );
    drop_db(&config).await;
}

/// Runs one statement, or fails the test naming it.
async fn execute(ch: &clickhouse::Client, sql: String) {
    ch.query(&sql)
        .execute()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn wait_for_mutations(ch: &clickhouse::Client) {
    for _ in 0..600 {
        let left = count(
            ch,
            "SELECT count() FROM system.mutations WHERE database = currentDatabase() AND is_done = 0",
        )
        .await;
        if left == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("mutations did not finish");
}

#[tokio::test]
async fn a_current_clickhouse_gives_the_same_answers() {
    let (ch, config) = setup().await;
    // Both engines answer from rolled-up days (the live path is covered by
    // the same queries in the other tests).
    let rolled = rollup::roll_once(&ch, &DdlLock::local(), rule(30), date!(2026 - 11 - 29))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rolled.len(), 2);
    let mut statements: Vec<String> = Vec::new();
    for (_, _, text) in schema::MIGRATIONS {
        statements.extend(schema::statements(&schema::text_of(text)).map(str::to_string));
    }
    statements.push(insert_sql());
    statements.push(favourite_events_sql());
    statements.push(follow_events_sql());
    statements.push(download_requests_sql());
    for (day, beats) in [("'2026-11-01'", 255), ("'2026-11-02'", 31)] {
        statements.push(roll_day(1, day));
        statements.push(
            rollup::MARK_SQL
                .replacen('?', day, 1)
                .replacen('?', &beats.to_string(), 1)
                .replacen('?', "1", 1)
                .replacen('?', "1", 1),
        );
    }
    let mut queries = serde_json::Map::new();
    let mut expected = serde_json::Map::new();
    for q in sql::ALL {
        let text = inlined(q);
        let old = ch
            .query(&text)
            .fetch_bytes("TSV")
            .unwrap_or_else(|e| panic!("{}: {e}", q.name))
            .collect()
            .await
            .unwrap_or_else(|e| panic!("{} on 18.16: {e}", q.name));
        let old = String::from_utf8_lossy(&old).to_string();
        assert!(!old.trim().is_empty(), "{} gave no rows on 18.16", q.name);
        expected.insert(q.name.into(), old.into());
        queries.insert(q.name.into(), text.into());
    }
    // The Grafana dashboard's panels run on both engines too.
    for (name, text) in grafana_panels() {
        let old = ch
            .query(&text)
            .fetch_bytes("TSV")
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .collect()
            .await
            .unwrap_or_else(|e| panic!("{name} on 18.16: {e}"));
        expected.insert(
            name.clone(),
            String::from_utf8_lossy(&old).to_string().into(),
        );
        queries.insert(name, text.into());
    }
    let job = serde_json::json!({ "statements": statements, "queries": queries });

    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/var/venv/bin/python");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/modern_clickhouse.py"
    );
    let mut child = Command::new(python)
        .arg(script)
        .env("TZ", "UTC")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{python} (run infra/dev to create the venv with chdb): {e}"));
    child
        .stdin
        .take()
        .map(|mut i| i.write_all(job.to_string().as_bytes()))
        .transpose()
        .unwrap_or_else(|e| panic!("writing to chdb: {e}"));
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("chdb: {e}"));
    assert!(
        out.status.success(),
        "the current engine refused the schema or a query:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let modern: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("chdb output: {e}"));
    for (name, old) in &expected {
        assert_eq!(
            modern.get(name),
            Some(old),
            "{name} differs between 18.16 and current"
        );
    }
    drop_db(&config).await;
}

/// Every query's answer (and every Grafana panel's), its lines sorted: the
/// same rows in any order are the same answer.
async fn answers(ch: &clickhouse::Client) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let queries = sql::ALL
        .iter()
        .map(|q| (q.name.to_string(), inlined(q)))
        .chain(grafana_panels());
    for (name, text) in queries {
        let bytes = ch
            .query(&text)
            .fetch_bytes("TSV")
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .collect()
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut lines: Vec<String> = String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_string)
            .collect();
        lines.sort();
        out.push((name, lines.join("\n")));
    }
    out
}

async fn count(ch: &clickhouse::Client, sql: &str) -> u64 {
    ch.query(sql)
        .fetch_one()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The same rows on one server and on the 2 x 2 cluster give the same
/// answer to every query, live, rolled up, after an erasure (whose
/// mutations reach every replica of every shard) and after the raw month
/// is dropped (which changes no statistic).
#[tokio::test]
async fn a_cluster_answers_as_one_server_does() {
    let ((one, one_config), (many, many_config)) =
        tokio::join!(setup_on(None), setup_on(Some(CLUSTER)));
    let db = &many_config.clickhouse.database;

    // Really spread: the shard this client talks to holds some beats, not all.
    let total = count(&many, "SELECT count() FROM heartbeats").await;
    let here = count(&many, "SELECT count() FROM heartbeats_local").await;
    assert_eq!(total, count(&one, "SELECT count() FROM heartbeats").await);
    assert!(0 < here && here < total, "{here} of {total} on one shard");
    let live = answers(&one).await;
    // Every query has rows to compare (the Grafana ad panel's floor of 50
    // hides this scenario's audiences).
    assert!(
        live.iter()
            .filter(|(n, _)| !n.starts_with("grafana"))
            .all(|(_, a)| !a.is_empty()),
        "{live:?}"
    );
    assert_eq!(answers(&many).await, live, "live answers differ");

    let today = date!(2026 - 11 - 29);
    let rolled = rollup::roll_once(&one, &DdlLock::local(), rule(30), today)
        .await
        .ok();
    assert_eq!(
        rollup::roll_once(&many, &DdlLock::local(), rule(30), today)
            .await
            .ok(),
        rolled
    );
    assert_eq!(rolled.map(|d| d.len()), Some(2));
    let after_rollup = answers(&one).await;
    assert_eq!(
        answers(&many).await,
        after_rollup,
        "rolled-up answers differ"
    );

    // Erasure of user1, everywhere.
    let user1 = Uuid::parse_str(USER1).unwrap_or_else(|e| panic!("{e}"));
    for ch in [&one, &many] {
        cloudcast_analytics::purge::erase(ch, &DdlLock::local(), &[user1], &[])
            .await
            .unwrap_or_else(|e| panic!("erase: {e}"));
    }
    let erased = answers(&one).await;
    assert_ne!(erased, after_rollup, "the erasure changed nothing");
    assert_eq!(answers(&many).await, erased, "answers after erasure differ");
    let cluster = cloudcast_analytics::cluster::Cluster::new(CLUSTER, db)
        .unwrap_or_else(|| panic!("a cluster"));
    let replicas = cloudcast_analytics::cluster::replicas(&many, &cluster)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(replicas.split(',').count(), 4, "{replicas}");
    for table in [
        "heartbeats",
        "listener_days",
        "session_days",
        "listen_sessions",
        "listener_day_totals",
        "ad_interest",
    ] {
        let left = count(
            &many,
            &format!(
                "SELECT count() FROM remote('{replicas}', '{db}', '{table}_local') \
                 WHERE user_id = '{USER1}'"
            ),
        )
        .await;
        assert_eq!(left, 0, "{table} keeps erased rows on some replica");
    }

    // The month's raw beats go once it is expired and rolled up; no
    // statistic changes, but for the one query that reads raw beats (the
    // jumps of sessions, documented as kept `raw_months`): it has nothing.
    let later = date!(2027 - 01 - 15);
    for ch in [&one, &many] {
        let dropped = cloudcast_analytics::lifecycle::drop_expired(ch, &DdlLock::local(), 1, later)
            .await
            .unwrap_or_else(|e| panic!("drop: {e}"));
        assert_eq!(dropped, vec![202611]);
        assert_eq!(count(ch, "SELECT count() FROM heartbeats").await, 0);
    }
    let erased: Vec<(String, String)> = erased
        .into_iter()
        .map(|(name, rows)| {
            let rows = if name == sql::SESSION_POSITIONS.name {
                String::new()
            } else {
                rows
            };
            (name, rows)
        })
        .collect();
    assert_eq!(answers(&one).await, erased, "a drop changed the statistics");
    assert_eq!(
        answers(&many).await,
        erased,
        "a drop changed the cluster's statistics"
    );
    tokio::join!(drop_db(&one_config), drop_db(&many_config));
}

/// A month not rolled up yet keeps its raw beats, however old.
#[tokio::test]
async fn raw_beats_stay_until_their_days_are_rolled_up() {
    let (ch, config) = setup().await;
    let later = date!(2027 - 06 - 01);
    let kept = cloudcast_analytics::lifecycle::drop_expired(&ch, &DdlLock::local(), 1, later)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(kept.is_empty(), "{kept:?}");
    assert!(count(&ch, "SELECT count() FROM heartbeats").await > 0);
    // Kept for ever with 0.
    rollup::roll_once(&ch, &DdlLock::local(), rule(30), later)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let none = cloudcast_analytics::lifecycle::drop_expired(&ch, &DdlLock::local(), 0, later)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(none.is_empty());
    drop_db(&config).await;
}

/// The IAB rule on the fixture: A has one download on each day (h1's two
/// requests add up to a minute; h2's one does not; a request copied twice
/// counts once), B is not A.
#[tokio::test]
async fn downloads_are_counted_by_the_iab_rule() {
    let (ch, config) = setup().await;
    let rows = ch
        .query(&inlined(&sql::DOWNLOADS))
        .fetch_bytes("TSV")
        .unwrap_or_else(|e| panic!("{e}"))
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        String::from_utf8_lossy(&rows),
        "2026-11-01\tAntennaPod\t1\n2026-11-02\tAntennaPod\t1\n"
    );
    drop_db(&config).await;
}
