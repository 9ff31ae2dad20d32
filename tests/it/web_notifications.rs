//! The bell in Chromium (`web/tests/notifications.mjs`), behind a real
//! nginx: a DJ browsing one node sees the count rise as a listener follows
//! and comments on another node; the notifications page lists both and
//! marks them read; on a node that keeps one live stream, a second page
//! polls and still counts up.

use crate::support::nodes::nginx_in_front_of;
use crate::support::{Node, TestSystem, free_port, run_page, wait_for_port};

const PASSWORD: &str = "correct horse battery";

fn args(journey: &str, rest: &[&str]) -> Vec<String> {
    std::iter::once(journey)
        .chain(rest.iter().copied())
        .map(String::from)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bell_counts_up_live_across_nodes_and_falls_back_to_polling() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sys = TestSystem::start_with("web_bell", |c| {
        c.http.web_dir = root.join("web");
        c.transcode.ladder_kbps = vec![64];
    })
    .await;
    let dj = sys.user("bell_dj").await;
    let listener = sys.user("bell_fan").await;
    let cc = sys.ready_cloudcast(&dj, 4, "Bell Test").await;
    let id = cc["id"].as_str().expect("id").to_string();

    // Node b: the API and pages on the same stores, keeping one stream.
    let port = free_port();
    let mut cmd = sys.node_command("api", &format!("127.0.0.1:{port}"));
    cmd.env("CLOUDCAST__HTTP__WEB_DIR", root.join("web"))
        .env("CLOUDCAST__NOTIFICATIONS__MAX_STREAMS", "1")
        .env("CLOUDCAST__NOTIFICATIONS__POLL_SECS", "1");
    let _b = Node::spawn(cmd);
    wait_for_port(port).await;
    let a_port = sys
        .base
        .rsplit(':')
        .next()
        .and_then(|p| p.parse::<u16>().ok())
        .expect("a's port");
    let (_nginx, lbs) = nginx_in_front_of(sys.dir.path(), &[&[a_port], &[port]]);
    for p in &lbs {
        wait_for_port(*p).await;
    }
    let (via_a, via_b) = (
        format!("http://127.0.0.1:{}", lbs[0]),
        format!("http://127.0.0.1:{}", lbs[1]),
    );

    // The DJ on a, the listener on b.
    let seen = run_page(
        "notifications.mjs",
        args(
            "live",
            &[
                &via_a, "bell_dj", PASSWORD, &via_b, &listener, "bell_dj", &id,
            ],
        ),
        &[],
    )
    .await;
    let before = seen["before"].as_i64().expect("a count");
    assert_eq!(seen["afterFollow"].as_i64(), Some(before + 1), "{seen}");
    assert_eq!(seen["afterComment"].as_i64(), Some(before + 2), "{seen}");
    assert_eq!(
        seen["stillOn"], "/library",
        "counted without leaving the page: {seen}"
    );
    let items = seen["items"].to_string();
    assert!(items.contains("bell_fan followed you"), "{seen}");
    assert!(
        items.contains("bell_fan commented on “Bell Test”"),
        "{seen}"
    );
    assert!(items.contains("“Bell Test” is ready"), "{seen}");
    assert_eq!(seen["unreadItems"].as_i64(), Some(before + 2), "{seen}");
    assert_eq!(seen["afterRead"], 0, "{seen}");
    assert_eq!(seen["unreadAfterReload"], 0, "{seen}");

    // On b, which keeps one stream: the second page polls.
    let seen = run_page(
        "notifications.mjs",
        args(
            "capped",
            &[&via_b, "bell_dj", PASSWORD, &via_b, &listener, &id],
        ),
        &[],
    )
    .await;
    assert_eq!(seen["first"], "stream", "{seen}");
    assert_eq!(seen["second"], "poll", "{seen}");
    assert_eq!(
        seen["after"].as_i64(),
        seen["before"].as_i64().map(|n| n + 1),
        "{seen}"
    );

    // Signed out, the page asks to sign in first.
    let resp = sys
        .http
        .get(sys.url("/notifications"))
        .send()
        .await
        .expect("page");
    assert!(
        resp.url().path().starts_with("/sign-in"),
        "{:?}",
        resp.url()
    );
    sys.stop().await;
}
