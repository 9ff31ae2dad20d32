//! The edges that hold against abuse: slow and silent clients are cut off
//! while others are served, connections are capped, bodies have deadlines
//! (but an upload's PATCH).

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::TestSystem;

fn addr(sys: &TestSystem) -> String {
    sys.base.trim_start_matches("http://").to_string()
}

/// Reads until the server closes the connection (or `limit` passes);
/// returns what was read and when the close came.
async fn until_closed(conn: &mut TcpStream, limit: Duration) -> (Vec<u8>, Option<Duration>) {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, conn.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (got, Some(started.elapsed())),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (got, None),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_while_others_are_served() {
    let sys = TestSystem::start_with("edges_slow", |c| {
        c.http.header_timeout = Duration::from_secs(2);
        c.http.body_timeout = Duration::from_secs(2);
    })
    .await;
    let target = addr(&sys);

    // 300 clients send half a request head, then nothing (slowloris).
    let mut slow = Vec::new();
    for _ in 0..300 {
        let mut c = TcpStream::connect(&target).await.expect("connect");
        c.write_all(b"GET /api/v1/tags HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .expect("write");
        slow.push(c);
    }
    // Meanwhile everyone else is served, and quickly.
    for _ in 0..20 {
        let started = Instant::now();
        let resp = sys.http.get(sys.url("/healthz")).send().await.expect("get");
        assert_eq!(resp.status(), 200);
        assert!(started.elapsed() < Duration::from_secs(1), "served late");
    }
    // Each slow client is cut off once the head's deadline passes.
    let mut cut = 0;
    for c in &mut slow {
        let (_, closed) = until_closed(c, Duration::from_secs(6)).await;
        if closed.is_some() {
            cut += 1;
        }
    }
    assert_eq!(cut, slow.len(), "every slow client was cut off");

    // A kept-alive connection idle between requests is closed too.
    let mut idle = TcpStream::connect(&target).await.expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let (answer, closed) = until_closed(&mut idle, Duration::from_secs(6)).await;
    assert!(answer.starts_with(b"HTTP/1.1 200"), "answered first");
    let closed = closed.expect("the idle connection is closed");
    assert!(
        closed >= Duration::from_millis(1500),
        "not before its time: {closed:?}"
    );

    // A body trickled slower than its deadline: 408 in the API's shape.
    let mut trickle = TcpStream::connect(&target).await.expect("connect");
    trickle
        .write_all(
            b"POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 60\r\n\r\n{\"login\":",
        )
        .await
        .expect("write");
    let started = Instant::now();
    let (answer, closed) = until_closed(&mut trickle, Duration::from_secs(8)).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"body_timeout\""), "{text}");
    assert!(closed.is_some() && started.elapsed() >= Duration::from_millis(1500));

    // An upload's PATCH keeps its own rules: a chunk slower than the body
    // deadline still lands (half the upload, so no probe follows).
    let token = sys.user("slow_uploader").await;
    let upload = sys.create_upload(&token, 2000, "Slow line").await;
    let path = upload
        .split_once("/api/")
        .map(|(_, p)| format!("/api/{p}"))
        .expect("upload path");
    let mut patch = TcpStream::connect(&target).await.expect("connect");
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nTus-Resumable: 1.0.0\r\n\
         Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: 1000\r\n\r\n"
    );
    patch.write_all(head.as_bytes()).await.expect("head");
    patch.write_all(&[7u8; 400]).await.expect("first bytes");
    tokio::time::sleep(Duration::from_secs(3)).await;
    patch.write_all(&[7u8; 600]).await.expect("the rest");
    let mut buf = vec![0u8; 2048];
    let n = tokio::time::timeout(Duration::from_secs(10), patch.read(&mut buf))
        .await
        .expect("an answer")
        .expect("read");
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 204"), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("upload-offset: 1000"),
        "{text}"
    );
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_wait_their_turn() {
    let sys = TestSystem::start_with("edges_cap", |c| {
        c.http.header_timeout = Duration::from_secs(2);
        c.http.max_connections = 16;
    })
    .await;
    let target = addr(&sys);
    // Sixteen silent connections fill every slot.
    let mut held = Vec::new();
    for _ in 0..16 {
        held.push(TcpStream::connect(&target).await.expect("connect"));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The next request waits until the silent ones are cut off, then is served.
    let started = Instant::now();
    let resp = reqwest::Client::new()
        .get(sys.url("/healthz"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("served in the end");
    assert_eq!(resp.status(), 200);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1200),
        "past the cap it waited for a slot: {waited:?}"
    );
    drop(held);
    sys.stop().await;
}
