//! No heartbeat lost or counted twice: ClickHouse goes away for 60 s while
//! beats keep coming, and a stream node is killed between a segment's insert
//! and its deletion. Counts in ClickHouse must be exact afterwards.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::{Node, TestSystem, ch_u64, free_port, wait_for_port};
use cloudcast::Role;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinSet;

/// A TCP proxy in front of the real ClickHouse that the test can take down
/// (connections refused, open ones cut) and bring back on the same port.
struct Proxy {
    port: u16,
    tasks: Arc<Mutex<JoinSet<()>>>,
}

impl Proxy {
    async fn start(port: u16) -> Proxy {
        let proxy = Proxy {
            port,
            tasks: Arc::new(Mutex::new(JoinSet::new())),
        };
        proxy.up().await;
        proxy
    }

    async fn up(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("proxy bind");
        let target = std::env::var("CLOUDCAST__CLICKHOUSE__URL")
            .unwrap_or_else(|_| "http://127.0.0.1:8123".into())
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let tasks = self.tasks.clone();
        self.tasks.lock().await.spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let target = target.clone();
                tasks.lock().await.spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
    }

    async fn down(&self) {
        self.tasks.lock().await.abort_all();
        // Let the aborted tasks drop their sockets (and the listener).
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn count(sys: &TestSystem, id: &str) -> (u64, u64) {
    let rows = sys
        .clickhouse_rows(&format!(
            "SELECT count() AS n, uniqExact(session_id, seq) AS u FROM heartbeats WHERE cloudcast_id = '{id}'"
        ))
        .await;
    rows.first()
        .map(|r| (ch_u64(&r["n"]), ch_u64(&r["u"])))
        .unwrap_or((0, 0))
}

/// Sealed, unshipped segments in a log folder.
fn sealed_segments(dir: &std::path::Path) -> usize {
    cloudcast_beats::wal::segments(dir, "seg")
        .expect("wal dir")
        .len()
}

async fn wait_for_count(sys: &TestSystem, id: &str, expected: u64, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let (n, u) = count(sys, id).await;
        if n >= expected || Instant::now() > deadline {
            assert_eq!(
                (n, u),
                (expected, expected),
                "rows and distinct beats in ClickHouse"
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn beats(id: &str, session: &str, from: u32, n: u32) -> Value {
    Value::Array(
        (from..from + n)
            .map(|seq| json!({"cloudcast_id": id, "session_id": session, "seq": seq, "position_ms": 1000}))
            .collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn beats_sent_while_clickhouse_is_down_for_a_minute_all_arrive_once() {
    let proxy = Proxy::start(free_port()).await;
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port);
    let sys = TestSystem::start_with("log_outage", |c| c.clickhouse.url = proxy_url.clone()).await;
    let token = sys.user("dj_outage_log").await;
    let cc = sys.ready_cloudcast(&token, 20, "Outage").await;
    let id = cc["id"].as_str().expect("id").to_string();
    let url = sys.url("/api/v1/heartbeats");

    let resp = sys
        .http
        .post(&url)
        .json(&beats(&id, "before", 0, 10))
        .send()
        .await
        .expect("beat");
    assert_eq!(resp.status(), 202);
    wait_for_count(&sys, &id, 10, Duration::from_secs(15)).await;

    // ClickHouse is unreachable for at least 60 s and 100 requests (a busy
    // machine answers more slowly); intake keeps answering 202.
    proxy.down().await;
    let started = Instant::now();
    let mut sent = 0u32;
    while started.elapsed() < Duration::from_secs(60) || sent < 1000 {
        let resp = sys
            .http
            .post(&url)
            .json(&beats(&id, "during", sent, 10))
            .send()
            .await
            .expect("beat");
        assert_eq!(resp.status(), 202, "{:?}", resp.text().await);
        sent += 10;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (n, _) = count(&sys, &id).await;
    assert_eq!(n, 10, "nothing new reached ClickHouse while it was away");

    proxy.up().await;
    wait_for_count(&sys, &id, 10 + u64::from(sent), Duration::from_secs(60)).await;
    proxy.down().await;
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_killed_between_insert_and_deletion_counts_exactly_once_after_restart() {
    let sys = TestSystem::start_roles(
        "log_crash",
        &[Role::Api, Role::Worker, Role::Analytics],
        |_| {},
    )
    .await;
    let token = sys.user("dj_crash_log").await;
    let cc = sys.ready_cloudcast(&token, 20, "Crash").await;
    let id = cc["id"].as_str().expect("id").to_string();
    let wal_dir = sys.dir.path().join("node-wal");
    let port = free_port();
    let node = |failpoint: bool| {
        let mut cmd = sys.node_command("stream", &format!("127.0.0.1:{port}"));
        cmd.env("CLOUDCAST__ANALYTICS__WAL_DIR", &wal_dir);
        if failpoint {
            cmd.env("CLOUDCAST_FAILPOINT", "after-ship");
        }
        Node::spawn(cmd)
    };
    let url = format!("http://127.0.0.1:{port}/api/v1/heartbeats");

    // The node ships its first segment, then dies before deleting it.
    let mut first = node(true);
    wait_for_port(port).await;
    let resp = sys
        .http
        .post(&url)
        .json(&beats(&id, "crash", 0, 50))
        .send()
        .await
        .expect("beat");
    assert_eq!(resp.status(), 202);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if first.0.try_wait().expect("wait").is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "the failpoint never fired");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_for_count(&sys, &id, 50, Duration::from_secs(5)).await;
    assert_eq!(
        sealed_segments(&wal_dir),
        1,
        "the shipped segment is still on disk"
    );

    // Restarted: the leftover segment is recognised, not inserted again.
    let _second = node(false);
    wait_for_port(port).await;
    let resp = sys
        .http
        .post(&url)
        .json(&beats(&id, "after", 0, 30))
        .send()
        .await
        .expect("beat");
    assert_eq!(resp.status(), 202);
    wait_for_count(&sys, &id, 80, Duration::from_secs(20)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = sealed_segments(&wal_dir);
        if left == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{left} segments never shipped");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Still exact once everything settled.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(count(&sys, &id).await, (80, 80));
    sys.stop().await;
}
