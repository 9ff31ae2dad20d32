//! The heartbeat write-ahead log: accepted beats are appended to a local
//! segment file and fsynced before intake answers 202, so a crash or a
//! ClickHouse outage loses nothing.
//!
//! One appender thread owns the open segment (blocking file I/O stays off
//! the async runtime). Requests queue in a bounded channel; the thread takes
//! every request waiting, writes them as one Arrow IPC record batch, fsyncs
//! once and answers them all (group commit). A segment is sealed (renamed
//! `*.open` -> `*.seg`) when it holds `batch_rows` beats or is `flush_ms`
//! old; the shipper (`analytics/src/ship.rs`) takes sealed segments through
//! [`Segments`], sends them to ClickHouse and deletes them once ClickHouse
//! has them. The folder is bounded: past
//! `wal_max_bytes` of unshipped segments, appends are refused (503).
//!
//! Segment files are Arrow IPC streams. After a crash the open segment is
//! read up to its last complete batch: a torn tail was never fsynced, so it
//! was never acknowledged either.

use std::fs::{self, File};
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use tokio::sync::{Notify, oneshot};

use crate::metrics;
use crate::row::{self, HeartbeatRow};

/// Why an append or a read failed. `Clone`: one write's result answers
/// every request of its group, so sources are shared.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum WalError {
    #[error("the heartbeat log is full (ClickHouse has been away); retry shortly")]
    Full,
    #[error("the heartbeat log is busy; retry shortly")]
    Busy,
    #[error("the heartbeat log is closed")]
    Closed,
    #[error(
        "{} is in use by another process; give each process its own analytics.wal_dir",
        dir.display()
    )]
    Locked { dir: PathBuf },
    #[error("heartbeat log I/O failed")]
    Io(#[source] Arc<std::io::Error>),
    #[error("a heartbeat log segment could not be encoded or decoded")]
    Format(#[source] Arc<arrow_schema::ArrowError>),
}

impl From<std::io::Error> for WalError {
    fn from(e: std::io::Error) -> Self {
        WalError::Io(Arc::new(e))
    }
}

impl From<arrow_schema::ArrowError> for WalError {
    fn from(e: arrow_schema::ArrowError) -> Self {
        WalError::Format(Arc::new(e))
    }
}

pub struct WalConfig {
    pub dir: PathBuf,
    pub max_bytes: u64,
    pub segment_rows: usize,
    pub seal_after: Duration,
    pub queue: usize,
}

struct Append {
    rows: Vec<HeartbeatRow>,
    done: oneshot::Sender<Result<(), WalError>>,
}

/// The log's state shared by the appender, intake and the shipper; the
/// shipper's side of it is [`Segments`].
struct Shared {
    dir: PathBuf,
    /// Bytes of segment files on disk (open and sealed).
    bytes: AtomicU64,
    max_bytes: u64,
    /// Wakes the shipper when a segment is sealed.
    sealed: Notify,
    /// This log's id: segment ids are `<log id>-<sequence>`.
    log_id: String,
}

impl Shared {
    fn add_bytes(&self, n: u64) {
        let now = self.bytes.fetch_add(n, Ordering::Relaxed) + n;
        metrics::log_bytes(now);
    }

    fn sub_bytes(&self, n: u64) {
        let before = self.bytes.load(Ordering::Relaxed);
        let n = n.min(before);
        let now = self.bytes.fetch_sub(n, Ordering::Relaxed).saturating_sub(n);
        metrics::log_bytes(now);
    }
}

/// Intake's handle: appends beats and waits for them to be on disk.
#[derive(Clone)]
pub struct BeatSender {
    tx: SyncSender<Append>,
    shared: Arc<Shared>,
}

/// The shipper's handle on the sealed segments: list, read, and delete
/// them once shipped (which frees their bytes for intake).
#[derive(Clone)]
pub struct Segments(Arc<Shared>);

impl Segments {
    /// This log's id; a segment's id is `<log id>-<sequence>`.
    pub fn log_id(&self) -> &str {
        &self.0.log_id
    }

    pub fn segment_id(&self, seq: u64) -> String {
        format!("{}-{seq}", self.0.log_id)
    }

    /// Sequence numbers of the sealed segments, oldest first.
    pub fn sealed(&self) -> std::io::Result<Vec<u64>> {
        segments(&self.0.dir, SEALED)
    }

    /// Every complete batch of sealed segment `seq`.
    pub fn read(&self, seq: u64) -> Result<Vec<HeartbeatRow>, WalError> {
        read_segment(&sealed_path(&self.0.dir, seq))
    }

    /// Deletes a shipped segment and frees its bytes.
    pub fn remove(&self, seq: u64) -> std::io::Result<()> {
        let path = sealed_path(&self.0.dir, seq);
        let size = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        fs::remove_file(&path)?;
        self.0.sub_bytes(size);
        Ok(())
    }

    /// Moves an unreadable segment out of the way (`.bad`), keeping its
    /// bytes on disk for a person to look at.
    pub fn set_aside(&self, seq: u64) -> std::io::Result<()> {
        let path = sealed_path(&self.0.dir, seq);
        fs::rename(&path, path.with_extension("bad"))
    }

    /// Waits until a segment is sealed (or returns at once if one was
    /// sealed since the last wait).
    pub async fn wait_sealed(&self) {
        self.0.sealed.notified().await;
    }

    /// Bytes of unshipped segments on disk.
    pub fn bytes(&self) -> u64 {
        self.0.bytes.load(Ordering::Relaxed)
    }
}

impl BeatSender {
    /// Appends `rows` durably. `Full` or `Busy` mean "retry later" (503).
    pub async fn append(&self, rows: Vec<HeartbeatRow>) -> Result<(), WalError> {
        if self.shared.bytes.load(Ordering::Relaxed) >= self.shared.max_bytes {
            return Err(WalError::Full);
        }
        let (done, wait) = oneshot::channel();
        self.tx
            .try_send(Append { rows, done })
            .map_err(|e| match e {
                TrySendError::Full(_) => WalError::Busy,
                TrySendError::Disconnected(_) => WalError::Closed,
            })?;
        wait.await.map_err(|_| WalError::Closed)?
    }
}

const OPEN: &str = "open";
const SEALED: &str = "seg";

fn segment_path(dir: &Path, seq: u64, ext: &str) -> PathBuf {
    dir.join(format!("{seq:016}.{ext}"))
}

/// Sequence numbers of the segment files in `dir` with extension `ext`
/// (`open` or `seg`).
pub fn segments(dir: &Path, ext: &str) -> std::io::Result<Vec<u64>> {
    let mut seqs: Vec<u64> = fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let (stem, found) = name.rsplit_once('.')?;
            (found == ext).then(|| stem.parse().ok())?
        })
        .collect();
    seqs.sort_unstable();
    Ok(seqs)
}

pub fn sealed_path(dir: &Path, seq: u64) -> PathBuf {
    segment_path(dir, seq, SEALED)
}

/// Every complete batch of a segment, in order; a torn tail is dropped.
pub fn read_segment(path: &Path) -> Result<Vec<HeartbeatRow>, WalError> {
    let file = File::open(path)?;
    let reader = match StreamReader::try_new(BufReader::new(file), None) {
        Ok(r) => r,
        // Not even a schema made it to disk: nothing was acknowledged.
        Err(_) => return Ok(Vec::new()),
    };
    let mut rows = Vec::new();
    for batch in reader {
        match batch {
            Ok(b) => rows.extend(row::from_batch(&b)?),
            Err(e) => {
                tracing::warn!(segment = %path.display(), error = %e, "segment ends in a torn write; its complete batches are kept");
                break;
            }
        }
    }
    Ok(rows)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Opens the log in `cfg.dir` (locked against a second process), seals what
/// a previous run left open, and starts the appender thread.
pub fn open(cfg: WalConfig) -> Result<(BeatSender, Segments), WalError> {
    fs::create_dir_all(&cfg.dir)?;
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(cfg.dir.join("LOCK"))?;
    lock.try_lock().map_err(|_| WalError::Locked {
        dir: cfg.dir.clone(),
    })?;
    let log_id = log_id(&cfg.dir)?;
    // A segment left open by a crash is complete up to its last fsync.
    for seq in segments(&cfg.dir, OPEN)? {
        fs::rename(
            segment_path(&cfg.dir, seq, OPEN),
            segment_path(&cfg.dir, seq, SEALED),
        )?;
    }
    sync_dir(&cfg.dir)?;
    let sealed = segments(&cfg.dir, SEALED)?;
    let mut bytes = 0;
    for seq in &sealed {
        bytes += fs::metadata(sealed_path(&cfg.dir, *seq))?.len();
    }
    // Never reuse a number (ids name rows in ClickHouse), even once every
    // segment has been shipped and deleted.
    let next = sealed.last().map_or(1, |s| s + 1).max(read_next(&cfg.dir));
    let shared = Arc::new(Shared {
        dir: cfg.dir.clone(),
        bytes: AtomicU64::new(bytes),
        max_bytes: cfg.max_bytes,
        sealed: Notify::new(),
        log_id,
    });
    metrics::log_bytes(bytes);
    // Bounded: each entry is one intake request (up to 100 beats) waiting
    // for the next fsync; `analytics.queue_capacity`, 4096 by default
    // (validated to be at least 1 when the configuration is loaded).
    let (tx, rx) = sync_channel(cfg.queue);
    let appender = Appender {
        shared: shared.clone(),
        segment_rows: cfg.segment_rows,
        seal_after: cfg.seal_after,
        next,
        open: None,
        _lock: lock,
    };
    std::thread::Builder::new()
        .name("heartbeat-wal".into())
        .spawn(move || appender.run(rx))?;
    if !sealed.is_empty() {
        tracing::info!(
            segments = sealed.len(),
            bytes,
            "unshipped heartbeat segments found; shipping them"
        );
    }
    Ok((
        BeatSender {
            tx,
            shared: shared.clone(),
        },
        Segments(shared),
    ))
}

/// A random id kept in the folder, so segment ids never repeat across
/// processes (or across a wiped and recreated folder).
fn log_id(dir: &Path) -> Result<String, WalError> {
    let path = dir.join("LOG_ID");
    if let Ok(id) = fs::read_to_string(&path) {
        let id = id.trim().to_string();
        if !id.is_empty() {
            return Ok(id);
        }
    }
    let id = uuid::Uuid::new_v4().simple().to_string();
    let tmp = dir.join("LOG_ID.tmp");
    let mut f = File::create(&tmp)?;
    f.write_all(id.as_bytes())?;
    f.sync_all()?;
    fs::rename(&tmp, &path)?;
    sync_dir(dir)?;
    Ok(id)
}

const NEXT_FILE: &str = "NEXT_SEQ";

fn read_next(dir: &Path) -> u64 {
    fs::read_to_string(dir.join(NEXT_FILE))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1)
}

/// Records that numbers below `next` are taken (written before use).
fn write_next(dir: &Path, next: u64) -> std::io::Result<()> {
    let tmp = dir.join("NEXT_SEQ.tmp");
    let mut f = File::create(&tmp)?;
    f.write_all(next.to_string().as_bytes())?;
    f.sync_all()?;
    fs::rename(&tmp, dir.join(NEXT_FILE))
}

struct OpenSegment {
    seq: u64,
    writer: StreamWriter<File>,
    rows: usize,
    bytes: u64,
    opened: Instant,
}

struct Appender {
    shared: Arc<Shared>,
    segment_rows: usize,
    seal_after: Duration,
    next: u64,
    open: Option<OpenSegment>,
    /// Held for the life of the thread: the folder's lock.
    _lock: File,
}

impl Appender {
    fn run(mut self, rx: Receiver<Append>) {
        loop {
            let wait = match &self.open {
                Some(seg) => self.seal_after.saturating_sub(seg.opened.elapsed()),
                None => Duration::from_secs(3600),
            };
            match rx.recv_timeout(wait) {
                Ok(first) => {
                    let mut group = vec![first];
                    while let Ok(more) = rx.try_recv() {
                        group.push(more);
                    }
                    self.commit(group);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            let due = self.open.as_ref().is_some_and(|s| {
                s.rows >= self.segment_rows || s.opened.elapsed() >= self.seal_after
            });
            if due && let Err(e) = self.seal() {
                tracing::error!(error = %e, "sealing a heartbeat segment failed");
            }
        }
        // Shutting down: what is on disk is shipped now or at the next start.
        if let Err(e) = self.seal() {
            tracing::error!(error = %e, "sealing the last heartbeat segment failed");
        }
    }

    fn commit(&mut self, mut group: Vec<Append>) {
        let rows: Vec<HeartbeatRow> = group
            .iter_mut()
            .flat_map(|a| std::mem::take(&mut a.rows))
            .collect();
        let result = self.write(&rows);
        if let Err(e) = &result {
            tracing::error!(error = %e, rows = rows.len(), "writing heartbeats to the log failed");
            // The segment may hold a partial batch now; seal it (readers stop
            // at the torn tail) and start afresh.
            let _ = self.seal();
        }
        for a in group {
            let _ = a.done.send(result.clone());
        }
    }

    fn write(&mut self, rows: &[HeartbeatRow]) -> Result<(), WalError> {
        if self.open.is_none() {
            let seq = self.next;
            write_next(&self.shared.dir, seq + 1)?;
            self.next += 1;
            let file = File::create(segment_path(&self.shared.dir, seq, OPEN))?;
            sync_dir(&self.shared.dir)?;
            let writer = StreamWriter::try_new(file, &row::schema())?;
            self.open = Some(OpenSegment {
                seq,
                writer,
                rows: 0,
                bytes: 0,
                opened: Instant::now(),
            });
        }
        let Some(seg) = self.open.as_mut() else {
            return Err(WalError::Closed);
        };
        seg.writer.write(&row::to_batch(rows)?)?;
        seg.writer.flush()?;
        let file = seg.writer.get_ref();
        file.sync_data()?;
        let len = file.metadata()?.len();
        self.shared.add_bytes(len.saturating_sub(seg.bytes));
        seg.bytes = len;
        seg.rows += rows.len();
        metrics::beats_logged(rows.len());
        Ok(())
    }

    fn seal(&mut self) -> Result<(), WalError> {
        let Some(mut seg) = self.open.take() else {
            return Ok(());
        };
        // Even if the end marker cannot be written, the segment is renamed:
        // readers keep every complete batch, and the shipper must see it.
        let finished: Result<(), WalError> = seg
            .writer
            .finish()
            .map_err(WalError::from)
            .and_then(|()| seg.writer.get_ref().sync_data().map_err(WalError::from));
        if let Ok(meta) = seg.writer.get_ref().metadata() {
            self.shared.add_bytes(meta.len().saturating_sub(seg.bytes));
        }
        fs::rename(
            segment_path(&self.shared.dir, seg.seq, OPEN),
            segment_path(&self.shared.dir, seg.seq, SEALED),
        )?;
        sync_dir(&self.shared.dir)?;
        self.shared.sealed.notify_one();
        finished
    }
}
