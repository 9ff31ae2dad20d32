//! `/metrics` on every role: each role runs as its own process (metrics
//! are per process) and exports, in the Prometheus text format, the
//! request metrics and what that role measures.

use std::time::{Duration, Instant};

use crate::support::{Node, TestSystem, free_port, wait_for_port};

/// The node's `/metrics` text.
async fn scrape(sys: &TestSystem, base: &str) -> String {
    let resp = sys
        .http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/plain"),
        "{:?}",
        resp.headers()
    );
    resp.text().await.expect("text")
}

/// Scrapes until every name in `want` is there (some are recorded by
/// background tasks a moment after start).
async fn wait_for_metrics(sys: &TestSystem, base: &str, want: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = scrape(sys, base).await;
        let missing: Vec<&&str> = want.iter().filter(|w| !text.contains(**w)).collect();
        if missing.is_empty() {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "missing {missing:?} from\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn node(sys: &TestSystem, role: &str) -> (Node, String) {
    let port = free_port();
    let node = Node::spawn(sys.node_command(role, &format!("127.0.0.1:{port}")));
    wait_for_port(port).await;
    let base = format!("http://127.0.0.1:{port}");
    // One request of every node's own: the health check (PostgreSQL, S3,
    // ClickHouse), counted by route.
    let health = sys
        .http
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    (node, base)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_exports_its_metrics() {
    let sys = TestSystem::start("metrics").await;
    let common = [
        "# TYPE cloudcast_http_requests_total counter",
        r#"cloudcast_http_requests_total{route="/healthz",method="GET",status="200"} 1"#,
        "# TYPE cloudcast_http_request_duration_seconds histogram",
        r#"cloudcast_s3_calls_total{op="head_bucket",outcome="ok"}"#,
    ];

    // Ingest: an account, a session and a few upload bytes.
    let (_ingest, base) = node(&sys, "api").await;
    let token = sys
        .user_at(&base, "metrics_dj", "1990-01-01", "a long password")
        .await;
    let resp = sys
        .http
        .post(format!("{base}/api/v1/uploads"))
        .bearer_auth(&token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "100000")
        .header("Content-Type", "application/offset+octet-stream")
        .body(vec![7u8; 1234])
        .send()
        .await
        .expect("upload");
    assert_eq!(resp.status(), 201);
    let mut want = common.to_vec();
    want.extend([
        "cloudcast_upload_bytes_total 1234",
        r#"cloudcast_postgres_calls_total{op="session_lookup",outcome="ok"}"#,
        r#"cloudcast_http_requests_total{route="/api/v1/uploads",method="POST",status="201"} 1"#,
        r#"cloudcast_s3_calls_total{op="create_multipart",outcome="ok"} 1"#,
        "# HELP cloudcast_upload_bytes_total",
    ]);
    wait_for_metrics(&sys, &base, &want).await;

    // Stream: the chunk cache and the heartbeat log and its shipper.
    let (_stream, base) = node(&sys, "stream").await;
    let mut want = common.to_vec();
    want.extend([
        "cloudcast_stream_cache_hits_total 0",
        "cloudcast_stream_s3_fetches_total 0",
        "# TYPE cloudcast_heartbeat_log_bytes gauge",
        "# TYPE cloudcast_shipper_pending_segments gauge",
    ]);
    wait_for_metrics(&sys, &base, &want).await;

    // Worker: the queue's depth.
    let (_worker, base) = node(&sys, "worker").await;
    let mut want = common.to_vec();
    want.push("cloudcast_transcode_queue_depth 0");
    wait_for_metrics(&sys, &base, &want).await;

    // Analytics: its ClickHouse calls (the favourite copier's, every 2 s).
    let (_analytics, base) = node(&sys, "analytics").await;
    let mut want = common.to_vec();
    want.extend([
        r#"cloudcast_clickhouse_calls_total{op="event_sync",outcome="ok"}"#,
        "# TYPE cloudcast_clickhouse_call_duration_seconds histogram",
    ]);
    wait_for_metrics(&sys, &base, &want).await;
    sys.stop().await;
}
