//! Downloads a DJ allows (`download.m4a`: the best AAC rendition;
//! `original`: the uploaded file), and the requests they are counted from.
//!
//! Every request for one records, once its body is done (sent or cut), the
//! bytes it delivered, the bytes that hold the first minute of audio, the
//! client (its address, IPv6 cut to the /64, and user agent, hashed under
//! the day's key: `core/src/listener.rs::download_hash`) and the app named
//! by the OPAWG user-agent list (`data/opawg-*.json`); bots and
//! non-listening agents on that list are not recorded at all. The rows go
//! to PostgreSQL (`download_requests`) through a bounded queue, and from
//! there to ClickHouse, where the IAB v2.1 rule counts them
//! (`analytics/queries/downloads.sql`).

use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;
use regex::RegexSet;
use serde::Deserialize;
use sqlx::PgPool;
use tokio::sync::mpsc;
use uuid::Uuid;

use cloudcast_media::FragmentIndex;

/// One request's delivery, recorded when its body ends.
#[derive(Debug, Clone)]
pub struct DownloadRequest {
    pub cloudcast: Uuid,
    /// When it began: the day its client hash was made for.
    pub at: time::OffsetDateTime,
    pub client_hash: String,
    pub app: String,
    pub bytes: u64,
    pub minute_bytes: u64,
}

/// Finished requests waiting for the writer: far more than the downloads
/// one node finishes between two inserts; past it a row is dropped (and
/// counted in a metric) rather than holding a response.
const QUEUE: usize = 4096;
/// Rows per insert.
const BATCH: usize = 500;

/// Hands finished requests to the writer task.
#[derive(Clone)]
pub struct Recorder(mpsc::Sender<DownloadRequest>);

impl Recorder {
    /// Starts the writer on `pool` (inside the runtime).
    pub fn start(pool: PgPool) -> Recorder {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(write(pool, rx));
        Recorder(tx)
    }

    fn record(&self, r: DownloadRequest) {
        if self.0.try_send(r).is_err() {
            crate::metrics::download_dropped();
        }
    }
}

/// Tries per batch: a brief PostgreSQL failover does not lose what is
/// queued (the queue fills meanwhile, and is bounded).
const TRIES: u32 = 3;

async fn write(pool: PgPool, mut rx: mpsc::Receiver<DownloadRequest>) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        for attempt in 1..=TRIES {
            match insert(&pool, &batch).await {
                Ok(()) => break,
                Err(e) if attempt < TRIES => {
                    tracing::debug!(error = %cloudcast_core::error::Chain(&e), attempt, "recording download requests failed; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(u64::from(attempt))).await;
                }
                Err(e) => {
                    tracing::warn!(error = %cloudcast_core::error::Chain(&e), rows = batch.len(), "recording download requests failed");
                }
            }
        }
        batch.clear();
    }
}

async fn insert(pool: &PgPool, rows: &[DownloadRequest]) -> Result<(), sqlx::Error> {
    let mut ids = Vec::with_capacity(rows.len());
    let mut ats = Vec::with_capacity(rows.len());
    let mut hashes = Vec::with_capacity(rows.len());
    let mut apps = Vec::with_capacity(rows.len());
    let mut bytes = Vec::with_capacity(rows.len());
    let mut minute = Vec::with_capacity(rows.len());
    for r in rows {
        ids.push(r.cloudcast);
        ats.push(r.at);
        hashes.push(r.client_hash.clone());
        apps.push(r.app.clone());
        bytes.push(i64::try_from(r.bytes).unwrap_or(i64::MAX));
        minute.push(i64::try_from(r.minute_bytes).unwrap_or(i64::MAX));
    }
    // A mix deleted meanwhile has no row to refer to: skipped.
    sqlx::query(
        "INSERT INTO download_requests (cloudcast_id, at, client_hash, app, bytes, minute_bytes)
         SELECT r.* FROM unnest($1::uuid[], $6::timestamptz[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])
                AS r(cloudcast_id, at, client_hash, app, bytes, minute_bytes)
          WHERE EXISTS (SELECT 1 FROM cloudcasts c WHERE c.id = r.cloudcast_id)",
    )
    .bind(&ids)
    .bind(&hashes)
    .bind(&apps)
    .bind(&bytes)
    .bind(&minute)
    .bind(&ats)
    .execute(pool)
    .await?;
    Ok(())
}

/// A body that counts the bytes it delivers and records the request when
/// it ends, however it ends.
pub struct Counted<S> {
    inner: S,
    sent: u64,
    pending: Option<(DownloadRequest, Recorder)>,
}

impl<S> Counted<S> {
    pub fn new(inner: S, request: DownloadRequest, recorder: Recorder) -> Counted<S> {
        Counted {
            inner,
            sent: 0,
            pending: Some((request, recorder)),
        }
    }
}

impl<S, E> Stream for Counted<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    type Item = Result<Bytes, E>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let next = Pin::new(&mut self.inner).poll_next(cx);
        if let Poll::Ready(Some(Ok(b))) = &next {
            self.sent += b.len() as u64;
        }
        next
    }
}

impl<S> Drop for Counted<S> {
    fn drop(&mut self) {
        if let Some((mut r, recorder)) = self.pending.take()
            && self.sent > 0
        {
            r.bytes = self.sent;
            recorder.record(r);
        }
    }
}

/// The bytes from the start of a rendition through the end of the
/// fragment that completes its first minute (the whole file if shorter).
pub fn minute_bytes_of_rendition(index: &FragmentIndex) -> u64 {
    let minute = u64::from(index.timescale) * 60;
    let mut ticks = 0u64;
    for s in &index.segments {
        ticks += s.ticks;
        if ticks >= minute {
            return s.offset + s.length;
        }
    }
    index.file_size
}

/// An original's first minute, from its average rate (rounded up; the
/// whole file when shorter than a minute or of unknown length).
pub fn minute_bytes_of_original(size: u64, duration_ms: u64) -> u64 {
    if duration_ms <= 60_000 {
        return size;
    }
    let bytes = u128::from(size) * 60_000;
    u64::try_from(bytes.div_ceil(u128::from(duration_ms))).unwrap_or(size)
}

/// What the OPAWG list says a user agent is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Client {
    /// A bot, or a library that does not listen: not counted.
    Bot,
    /// An app, library or browser by the list's name; `Other` when unlisted.
    App(String),
}

#[derive(Deserialize)]
struct Entries {
    entries: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    name: String,
    pattern: String,
    #[serde(default)]
    category: Option<String>,
}

/// One of the list's files, compiled: entries in file order.
struct List {
    set: RegexSet,
    entries: Vec<Entry>,
}

impl List {
    fn load(json: &str) -> Option<List> {
        let e: Entries = serde_json::from_str(json)
            .map_err(|e| tracing::error!(error = %e, "an OPAWG user-agent file does not parse"))
            .ok()?;
        let set = RegexSet::new(e.entries.iter().map(|x| &x.pattern))
            .map_err(|e| tracing::error!(error = %e, "an OPAWG user-agent file does not compile"))
            .ok()?;
        Some(List {
            set,
            entries: e.entries,
        })
    }

    /// The first entry (in file order) that matches.
    fn first(&self, ua: &str) -> Option<&Entry> {
        self.set
            .matches(ua)
            .iter()
            .next()
            .and_then(|i| self.entries.get(i))
    }
}

/// The list's files in the order it says to try them.
static LISTS: LazyLock<Vec<(&'static str, List)>> = LazyLock::new(|| {
    [
        ("bots", include_str!("../data/opawg-bots.json")),
        ("apps", include_str!("../data/opawg-apps.json")),
        ("libraries", include_str!("../data/opawg-libraries.json")),
        ("browsers", include_str!("../data/opawg-browsers.json")),
    ]
    .into_iter()
    .filter_map(|(name, json)| List::load(json).map(|l| (name, l)))
    .collect()
});

/// Answers by user agent: apps send the same few strings again and again.
static CLASSIFIED: LazyLock<moka::sync::Cache<String, Arc<Client>>> =
    LazyLock::new(|| moka::sync::Cache::new(10_000));

/// Classifies a user agent with the OPAWG list (bots, then apps,
/// libraries, browsers; the first match wins). An empty one is a bot.
pub fn classify(ua: &str) -> Arc<Client> {
    let ua = crate::agent::cut(ua).trim();
    if let Some(c) = CLASSIFIED.get(ua) {
        return c;
    }
    let client = Arc::new(classify_uncached(ua));
    CLASSIFIED.insert(ua.to_string(), client.clone());
    client
}

fn classify_uncached(ua: &str) -> Client {
    if ua.is_empty() {
        return Client::Bot;
    }
    for (file, list) in LISTS.iter() {
        if let Some(e) = list.first(ua) {
            return if *file == "bots" || e.category.as_deref() == Some("bot") {
                Client::Bot
            } else {
                Client::App(e.name.clone())
            };
        }
    }
    Client::App("Other".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudcast_media::Segment;

    #[test]
    fn every_file_of_the_list_compiles() {
        assert_eq!(
            LISTS.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            ["bots", "apps", "libraries", "browsers"]
        );
    }

    #[test]
    fn apps_bots_and_browsers() {
        let app = |ua: &str| match &*classify(ua) {
            Client::App(n) => n.clone(),
            Client::Bot => "bot".into(),
        };
        assert_eq!(
            app("Podcasts/1650.20 CFNetwork/1408.0.4 Darwin/22.5.0"),
            "Apple Podcasts"
        );
        // The system player, which Apple Podcasts and others use alike.
        assert_eq!(
            app("AppleCoreMedia/1.0.0.20E247 (iPhone; U; CPU OS 16_4_1 like Mac OS X; en_us)"),
            "AppleCoreMedia"
        );
        assert_eq!(
            app("AntennaPod/3.4.0 (Linux;Android 14) ExoPlayerLib/2.19.1"),
            "AntennaPod"
        );
        assert_eq!(app("Spotify/8.9.10 iOS/17.4 (iPhone15,2)"), "Spotify");
        assert_eq!(
            app("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
            "bot"
        );
        assert_eq!(app(""), "bot");
        assert_eq!(
            app(
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
            ),
            "Chrome"
        );
        assert_eq!(app("something nobody lists/1.0"), "Other");
    }

    #[test]
    fn the_first_minute_in_bytes() {
        let seg = |offset, length, ticks| Segment {
            offset,
            length,
            duration_ms: 0,
            samples: 0,
            ticks,
        };
        let index = FragmentIndex {
            init_length: 100,
            timescale: 1000,
            segments: vec![
                seg(164, 1000, 30_000),
                seg(1164, 1000, 30_000),
                seg(2164, 1000, 30_000),
            ],
            file_size: 3164,
            ..FragmentIndex::default()
        };
        assert_eq!(minute_bytes_of_rendition(&index), 2164);
        let short = FragmentIndex {
            segments: vec![seg(164, 1000, 30_000)],
            file_size: 1164,
            ..index
        };
        assert_eq!(minute_bytes_of_rendition(&short), 1164);
        assert_eq!(minute_bytes_of_original(6_000_000, 600_000), 600_000);
        assert_eq!(minute_bytes_of_original(500, 30_000), 500);
    }
}
