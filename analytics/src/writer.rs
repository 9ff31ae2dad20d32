//! The heartbeat writer: intake hands rows to a bounded queue; one task
//! batches them (by rows and by time) into large ClickHouse inserts.
//!
//! While ClickHouse is down the current batch is retried with back-off and
//! the queue fills; a full queue makes intake answer 503 so players retry,
//! rather than beats being dropped silently.

use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// One heartbeat as stored in `heartbeats` (field order = column order).
#[derive(Debug, Clone, clickhouse::Row, Serialize)]
pub struct HeartbeatRow {
    /// Server receive time, Unix seconds (`DateTime`).
    pub ts: u32,
    pub cloudcast_id: String,
    pub session_id: String,
    pub seq: u32,
    pub position_ms: u64,
    pub listener_id: String,
    pub user_id: String,
    pub rendition: String,
    pub referrer_domain: String,
    /// IPv4 /24 or IPv6 /48; the whole address is never stored.
    pub ip_prefix: String,
    /// Keyed hash of the whole address; the key rotates daily.
    pub ip_hash: String,
    pub browser: String,
    pub browser_major: String,
    pub os: String,
    /// `desktop`, `mobile`, `tablet`, `bot` or `other`.
    pub device: String,
    pub is_bot: u8,
    /// Personalised-ads consent of the user when the beat arrived.
    pub ads_consent: u8,
}

#[derive(Clone)]
pub struct BeatSender {
    tx: mpsc::Sender<HeartbeatRow>,
}

#[derive(Debug, thiserror::Error)]
#[error("the heartbeat queue is full")]
pub struct QueueFull;

impl BeatSender {
    /// Queues all rows or none.
    pub fn try_send_all(&self, rows: Vec<HeartbeatRow>) -> Result<(), QueueFull> {
        let permits = self
            .tx
            .try_reserve_many(rows.len())
            .map_err(|_| QueueFull)?;
        for (permit, row) in permits.zip(rows) {
            permit.send(row);
        }
        Ok(())
    }
}

pub struct WriterConfig {
    pub batch_rows: usize,
    pub flush: Duration,
    pub capacity: usize,
}

/// Creates the queue; run the returned future to write batches.
pub fn channel(
    client: clickhouse::Client,
    cfg: WriterConfig,
    shutdown: CancellationToken,
) -> (BeatSender, impl std::future::Future<Output = ()>) {
    // Capacity is config (`analytics.queue_capacity`, 100k by default): about
    // a minute of beats from a few thousand listeners, a few tens of MB.
    let (tx, rx) = mpsc::channel(cfg.capacity.max(1));
    (BeatSender { tx }, run(client, cfg, rx, shutdown))
}

async fn run(
    client: clickhouse::Client,
    cfg: WriterConfig,
    mut rx: mpsc::Receiver<HeartbeatRow>,
    shutdown: CancellationToken,
) {
    let mut batch: Vec<HeartbeatRow> = Vec::with_capacity(cfg.batch_rows);
    loop {
        // Wait for the first row of a batch.
        let first = tokio::select! {
            r = rx.recv() => r,
            _ = shutdown.cancelled() => { rx.close(); rx.recv().await }
        };
        let Some(first) = first else { break };
        batch.push(first);
        let deadline = Instant::now() + cfg.flush;
        while batch.len() < cfg.batch_rows {
            tokio::select! {
                r = rx.recv() => match r { Some(row) => batch.push(row), None => break },
                _ = tokio::time::sleep_until(deadline) => break,
                _ = shutdown.cancelled(), if !rx.is_closed() => rx.close(),
            }
        }
        write_with_retry(&client, &mut batch, &shutdown).await;
    }
    if !batch.is_empty() {
        write_with_retry(&client, &mut batch, &shutdown).await;
    }
}

async fn write_with_retry(
    client: &clickhouse::Client,
    batch: &mut Vec<HeartbeatRow>,
    shutdown: &CancellationToken,
) {
    let mut delay = Duration::from_millis(200);
    loop {
        match insert(client, batch).await {
            Ok(()) => {
                tracing::debug!(rows = batch.len(), "heartbeats written");
                batch.clear();
                return;
            }
            Err(e) => {
                tracing::warn!(rows = batch.len(), error = %e, retry_in_ms = delay.as_millis() as u64, "writing heartbeats failed");
                if shutdown.is_cancelled() && delay >= Duration::from_secs(5) {
                    tracing::error!(
                        rows = batch.len(),
                        "giving up on a heartbeat batch at shutdown"
                    );
                    batch.clear();
                    return;
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}

async fn insert(
    client: &clickhouse::Client,
    rows: &[HeartbeatRow],
) -> Result<(), clickhouse::error::Error> {
    let mut insert = client.insert::<HeartbeatRow>("heartbeats").await?;
    for row in rows {
        insert.write(row).await?;
    }
    insert.end().await
}
