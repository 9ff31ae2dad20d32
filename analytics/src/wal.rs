//! The heartbeat write-ahead log: accepted beats are appended to a local
//! segment file and fsynced before intake answers 202, so a crash or a
//! ClickHouse outage loses nothing.
//!
//! One appender thread owns the open segment (blocking file I/O stays off
//! the async runtime). Requests queue in a bounded channel; the thread takes
//! every request waiting, writes them as one Arrow IPC record batch, fsyncs
//! once and answers them all (group commit). A segment is sealed (renamed
//! `*.open` -> `*.seg`) when it holds `batch_rows` beats or is `flush_ms`
//! old; the shipper (`ship.rs`) sends sealed segments to ClickHouse and
//! deletes them once ClickHouse has them. The folder is bounded: past
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

use crate::rows::{self, HeartbeatRow};

#[derive(Debug, Clone, thiserror::Error)]
pub enum WalError {
    #[error("the heartbeat log is full (ClickHouse has been away); retry shortly")]
    Full,
    #[error("the heartbeat log is busy; retry shortly")]
    Busy,
    #[error("the heartbeat log failed: {0}")]
    Io(String),
}

impl From<std::io::Error> for WalError {
    fn from(e: std::io::Error) -> Self {
        WalError::Io(e.to_string())
    }
}

impl From<arrow_schema::ArrowError> for WalError {
    fn from(e: arrow_schema::ArrowError) -> Self {
        WalError::Io(e.to_string())
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

/// Shared between the appender, the shipper and intake.
pub struct Shared {
    pub(crate) dir: PathBuf,
    /// Bytes of segment files on disk (open and sealed).
    pub(crate) bytes: AtomicU64,
    pub(crate) max_bytes: u64,
    /// Wakes the shipper when a segment is sealed.
    pub(crate) sealed: Notify,
    /// This log's id: segment ids are `<log id>-<sequence>`.
    pub(crate) log_id: String,
}

/// Intake's handle: appends beats and waits for them to be on disk.
#[derive(Clone)]
pub struct BeatSender {
    tx: SyncSender<Append>,
    shared: Arc<Shared>,
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
                TrySendError::Disconnected(_) => WalError::Io("the log is closed".into()),
            })?;
        wait.await
            .map_err(|_| WalError::Io("the log stopped before the write".into()))?
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
            Ok(b) => rows.extend(rows::from_batch(&b)?),
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
pub fn open(cfg: WalConfig) -> Result<(BeatSender, Arc<Shared>), WalError> {
    fs::create_dir_all(&cfg.dir)?;
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(cfg.dir.join("LOCK"))?;
    lock.try_lock().map_err(|_| {
        WalError::Io(format!(
            "{} is in use by another process; give each process its own analytics.wal_dir",
            cfg.dir.display()
        ))
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
    // Bounded: each entry is one intake request (up to 100 beats) waiting
    // for the next fsync; `analytics.queue_capacity`, 4096 by default.
    let (tx, rx) = sync_channel(cfg.queue.max(1));
    let appender = Appender {
        shared: shared.clone(),
        segment_rows: cfg.segment_rows.max(1),
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
        shared,
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
            let writer = StreamWriter::try_new(file, &rows::schema())?;
            self.open = Some(OpenSegment {
                seq,
                writer,
                rows: 0,
                bytes: 0,
                opened: Instant::now(),
            });
        }
        let Some(seg) = self.open.as_mut() else {
            return Err(WalError::Io("no open segment".into()));
        };
        seg.writer.write(&rows::to_batch(rows)?)?;
        seg.writer.flush()?;
        let file = seg.writer.get_ref();
        file.sync_data()?;
        let len = file.metadata()?.len();
        self.shared
            .bytes
            .fetch_add(len.saturating_sub(seg.bytes), Ordering::Relaxed);
        seg.bytes = len;
        seg.rows += rows.len();
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
            self.shared
                .bytes
                .fetch_add(meta.len().saturating_sub(seg.bytes), Ordering::Relaxed);
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
