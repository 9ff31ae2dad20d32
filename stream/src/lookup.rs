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

use crate::StreamError;
use crate::playlists::{self, PublishedRendition};

/// A ready cloudcast as the stream sees it.
#[derive(Debug)]
pub struct StreamInfo {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub private: bool,
    pub duration_ms: u64,
    /// Tags, carried by heartbeats into the ad-interest aggregates.
    pub tags: Arc<[String]>,
    pub renditions: Vec<PublishedRendition>,
}

impl StreamInfo {
    pub fn rendition(&self, name: &str) -> Option<&PublishedRendition> {
        self.renditions.iter().find(|r| r.name == name)
    }
    /// May `user` (None: anonymous) have this cloudcast?
    pub fn visible_to(&self, user: Option<Uuid>) -> bool {
        !self.private || user == Some(self.owner_id)
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
    tracing::error!(error = %e, "stream lookup failed");
    StreamError::DatabaseUnavailable
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
                let row: Option<(Uuid, bool, Option<i64>, Vec<String>)> = sqlx::query_as(
                    "SELECT owner_id, private, duration_ms, tags FROM cloudcasts
                      WHERE id = $1 AND status = 'ready'",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                let Some((owner_id, private, duration_ms, tags)) = row else {
                    return Ok(None);
                };
                let renditions = match playlists::published(&self.pool, id).await {
                    Ok(r) => r,
                    Err(StreamError::NotFound(_)) => return Ok(None),
                    Err(StreamError::Database(e)) => return Err(e),
                    Err(other) => {
                        tracing::error!(error = %other, cloudcast = %id, "unreadable renditions");
                        return Ok(None);
                    }
                };
                Ok(Some(Arc::new(StreamInfo {
                    id,
                    owner_id,
                    private,
                    duration_ms: duration_ms.unwrap_or(0).max(0) as u64,
                    tags: tags.into(),
                    renditions,
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
            Err(e) => return Err(StreamError::Unauthorized(e.message)),
        };
        let user = self
            .tokens
            .try_get_with(auth::hash_token(token), async {
                sqlx::query_scalar::<_, Uuid>(
                    "SELECT user_id FROM auth_tokens WHERE token_hash = $1 AND expires_at > now()",
                )
                .bind(auth::hash_token(token))
                .fetch_optional(&self.pool)
                .await
            })
            .await
            .map_err(unavailable)?;
        match user {
            Some(u) => Ok(Some(u)),
            None => Err(StreamError::Unauthorized(
                "token is unknown or expired".into(),
            )),
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
