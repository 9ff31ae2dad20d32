//! The HTTP server's connections: accepted while fewer than
//! `http.max_connections` are open (the rest wait in the kernel's backlog),
//! each served by hyper (HTTP/1.1; TLS and HTTP/2 end at the proxy in
//! front) with a deadline on the request head. A client that sends half a
//! request and then nothing (slowloris), or keeps a connection idle between
//! requests, is cut off when the deadline passes, so slow clients cannot
//! hold connections and memory for ever.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::Service;

use cloudcast_core::config::HttpConfig;

/// How long open connections get to finish their requests at shutdown.
const DRAIN: Duration = Duration::from_secs(10);

/// The connection rules of one node, from `[http]`.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionRules {
    /// A request head (a new connection's first, or the next one on a
    /// kept-alive connection) must arrive within this.
    pub header_timeout: Duration,
    /// Open connections at most; past it, new ones wait to be accepted.
    pub max_connections: usize,
    /// Header fields in one request at most (more: 431).
    pub max_headers: usize,
}

impl ConnectionRules {
    pub fn from_config(http: &HttpConfig) -> ConnectionRules {
        ConnectionRules {
            header_timeout: http.header_timeout,
            max_connections: http.max_connections,
            max_headers: http.max_headers,
        }
    }
}

/// Raises this process's open-file limit toward `connections` plus room
/// for the pools, logs and segment files (as far as the hard limit allows),
/// so the connection cap, not a file-descriptor shortage, is what binds.
pub fn raise_open_file_limit(connections: usize) {
    let want = (connections as u64).saturating_add(1024);
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write the struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 || lim.rlim_cur >= want {
            return;
        }
        lim.rlim_cur = want.min(lim.rlim_max);
        if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
            tracing::warn!("could not raise the open-file limit");
        }
    }
    if lim.rlim_cur < want {
        tracing::warn!(
            limit = lim.rlim_cur,
            wanted = want,
            "the open-file limit is below http.max_connections plus working room"
        );
    }
}

/// Accepts and serves connections until `shutdown`, then lets open ones
/// finish their requests (for up to [`DRAIN`]).
pub async fn run(
    listener: TcpListener,
    app: Router,
    rules: ConnectionRules,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(rules.max_connections));
    let connections = TaskTracker::new();
    let mut make = app.into_make_service_with_connect_info::<SocketAddr>();
    loop {
        // A slot first: at the cap, connections wait in the backlog rather
        // than being accepted and starved.
        let slot = tokio::select! {
            _ = shutdown.cancelled() => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(s) => s,
                Err(_) => break,
            },
        };
        let (tcp, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors and the like: say so, breathe, go on.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // No Nagle: a response's last segment must not wait for an ACK.
        let _ = tcp.set_nodelay(true);
        let Ok(svc) = make.call(peer).await;
        let closing = shutdown.clone();
        connections.spawn(async move {
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(rules.header_timeout)
                .max_headers(rules.max_headers);
            let conn = http
                .serve_connection(TokioIo::new(tcp), TowerToHyperService::new(svc))
                .with_upgrades();
            let mut conn = std::pin::pin!(conn);
            let served = tokio::select! {
                served = conn.as_mut() => served,
                _ = closing.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = served {
                // Timeouts and clients going away are the usual end of a
                // connection, not something to alert on.
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    connections.close();
    if tokio::time::timeout(DRAIN, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            open = connections.len(),
            "connections still open after the drain; closing them"
        );
    }
}
