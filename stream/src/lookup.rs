//! Short-lived caches of what every stream request and heartbeat asks
//! PostgreSQL: the cloudcast (owner, privacy, duration, renditions), the user
//! behind a session token, and a user's consent flags. Hot requests then
//! cost no database round trip; changes (a deletion, a privacy switch, a
//! sign-out, a consent withdrawal) take effect within the TTLs below.

use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
use moka::future::Cache;
use sqlx::PgPool;
use uuid::Uuid;

use cloudcast_core::auth;
use cloudcast_core::metrics::timed_pg;
use cloudcast_core::states::{CloudcastStatus, Downloads};
use cloudcast_core::visibility::{self, Access};

use crate::StreamError;
use crate::playlists::{self, PublishedRendition};

/// A ready cloudcast as the stream sees it.
#[derive(Debug)]
pub struct StreamInfo {
    pub id: Uuid,
    pub access: Access,
    pub duration_ms: u64,
    /// Tags, carried by heartbeats into the ad-interest aggregates.
    pub tags: Arc<[String]>,
    pub renditions: Vec<PublishedRendition>,
    /// What its DJ offers for download.
    pub downloads: Downloads,
    /// The uploaded file, when it is what is offered.
    pub original: Option<Original>,
    /// For the name a download is saved under.
    pub title: String,
}

/// The uploaded original of a mix offered as its download.
#[derive(Debug)]
pub struct Original {
    pub s3_key: Arc<str>,
    pub size: u64,
    /// The name it was uploaded under (its extension names its type).
    pub filename: String,
}

impl StreamInfo {
    pub fn rendition(&self, name: &str) -> Option<&PublishedRendition> {
        self.renditions.iter().find(|r| r.name == name)
    }
    /// May `user` (None: anonymous) have this cloudcast?
    pub fn visible_to(&self, user: Option<Uuid>) -> bool {
        self.access.visible_to(user)
    }
    /// The best AAC rendition (the ladder is read in ascending bit rate).
    pub fn best(&self) -> Option<&PublishedRendition> {
        self.renditions.last()
    }
}

/// Cloudcasts: a deletion or privacy change shows within this time.
const INFO_TTL: Duration = Duration::from_secs(5);
/// Sessions: a sign-out stops stream access within this time.
const TOKEN_TTL: Duration = Duration::from_secs(30);
/// Consent: a withdrawal applies to new heartbeats within this time.
const CONSENT_TTL: Duration = Duration::from_secs(60);
/// Entries per cache: far more than the cloudcasts and sessions one node
/// serves at once, and each entry is small (a few KB for a cloudcast).
const ENTRIES: u64 = 100_000;

#[derive(Clone)]
pub struct Lookups {
    pool: PgPool,
    info: Cache<Uuid, Option<Arc<StreamInfo>>>,
    tokens: Cache<Vec<u8>, Option<Uuid>>,
    consent: Cache<Uuid, bool>,
}

fn bounded<K, V>(ttl: Duration) -> Cache<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    Cache::builder()
        .max_capacity(ENTRIES)
        .time_to_live(ttl)
        .build()
}

fn unavailable(e: Arc<sqlx::Error>) -> StreamError {
    StreamError::DatabaseUnavailable(e)
}

impl Lookups {
    pub fn new(pool: PgPool) -> Lookups {
        Lookups {
            pool,
            info: bounded(INFO_TTL),
            tokens: bounded(TOKEN_TTL),
            consent: bounded(CONSENT_TTL),
        }
    }

    /// The ready cloudcast `id`, or None (unknown ids are cached too, so a
    /// flood of bogus ids does not reach the database).
    pub async fn info(&self, id: Uuid) -> Result<Option<Arc<StreamInfo>>, StreamError> {
        self.info
            .try_get_with(id, async {
                #[derive(sqlx::FromRow)]
                struct Row {
                    #[sqlx(flatten)]
                    access: Access,
                    duration_ms: Option<i64>,
                    tags: Vec<String>,
                    title: String,
                    downloads: Downloads,
                    original_key: Option<String>,
                    original_size: Option<i64>,
                    original_name: Option<String>,
                }
                let row: Option<Row> = timed_pg(
                    "stream_cloudcast_lookup",
                    sqlx::query_as(&format!(
                        "SELECT {}, duration_ms, tags, title, downloads, original_key,
                                (SELECT u.length FROM uploads u WHERE u.cloudcast_id = cloudcasts.id) AS original_size,
                                (SELECT u.filename FROM uploads u WHERE u.cloudcast_id = cloudcasts.id) AS original_name
                           FROM cloudcasts WHERE id = $1 AND status = $2",
                        visibility::ACCESS_COLUMNS
                    ))
                    .bind(id)
                    .bind(CloudcastStatus::Ready)
                    .fetch_optional(&self.pool),
                )
                .await?;
                let Some(r) = row else {
                    return Ok(None);
                };
                let original = match (r.downloads, r.original_key, r.original_size) {
                    (Downloads::Original, Some(key), Some(size)) => Some(Original {
                        s3_key: key.into(),
                        size: size.max(0) as u64,
                        filename: r.original_name.unwrap_or_default(),
                    }),
                    _ => None,
                };
                let renditions = match playlists::published(&self.pool, id).await {
                    Ok(r) => r,
                    Err(StreamError::NotFound(_)) => return Ok(None),
                    Err(StreamError::Database(e)) => return Err(e),
                    Err(other) => {
                        tracing::error!(error = %cloudcast_core::error::Chain(&other), cloudcast_id = %id, "unreadable renditions");
                        return Ok(None);
                    }
                };
                Ok(Some(Arc::new(StreamInfo {
                    id,
                    access: r.access,
                    duration_ms: r.duration_ms.unwrap_or(0).max(0) as u64,
                    tags: r.tags.into(),
                    renditions,
                    downloads: r.downloads,
                    original,
                    title: r.title,
                })))
            })
            .await
            .map_err(unavailable)
    }

    /// The signed-in user of the request. `Err(Unauthorized)` when a
    /// credential is sent but unknown or expired.
    pub async fn user(&self, headers: &HeaderMap) -> Result<Option<Uuid>, StreamError> {
        let token = match auth::credential(headers) {
            Ok(Some(t)) => t,
            Ok(None) => return Ok(None),
            Err(auth::AuthError::Unauthorized(m)) => return Err(StreamError::Unauthorized(m)),
            Err(_) => return Err(StreamError::Unauthorized("the credential is not valid")),
        };
        let hash = auth::hash_token(token);
        let user = self
            .tokens
            .try_get_with_by_ref(&hash, auth::user_for_token_hash(&self.pool, &hash))
            .await
            .map_err(unavailable)?;
        match user {
            Some(u) => Ok(Some(u)),
            None => Err(StreamError::Unauthorized("token is unknown or expired")),
        }
    }

    /// Does `user` allow personalised ads right now?
    pub async fn ads_consent(&self, user: Uuid) -> Result<bool, StreamError> {
        self.consent
            .try_get_with(user, async {
                sqlx::query_scalar::<_, bool>("SELECT ads_consent FROM users WHERE id = $1")
                    .bind(user)
                    .fetch_optional(&self.pool)
                    .await
                    .map(|c| c.unwrap_or(false))
            })
            .await
            .map_err(unavailable)
    }
}
