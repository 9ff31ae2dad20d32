//! Rendition bytes come from S3 in aligned chunks kept in a bounded
//! in-memory cache (moka: size-weighted, TinyLFU admission). Concurrent
//! misses on one chunk share a single S3 request (`try_get_with` runs one
//! loader per key and hands its result to every waiter). S3 is given a
//! bounded time; past it the request fails with 503 and nothing is cached,
//! so the next request tries S3 afresh.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cloudcast_core::storage::{Storage, StorageError};
use moka::future::Cache;

use crate::{StreamError, metrics};

/// (S3 key, chunk index). Keys name immutable, versioned objects, so a
/// cached chunk never goes stale.
type ChunkKey = (Arc<str>, u64);

/// Why a chunk could not be had. `Clone`: every request waiting on one
/// load gets the same answer, so the source is shared.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    #[error("S3 did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the media object is missing from S3")]
    Missing,
    #[error("S3 returned {got} bytes for a {want}-byte range")]
    ShortRead { got: usize, want: u64 },
    #[error("reading a media range from S3 failed")]
    Failed(#[source] Arc<dyn std::error::Error + Send + Sync>),
}

#[derive(Clone)]
pub struct ChunkCache {
    cache: Cache<ChunkKey, Bytes>,
    storage: Storage,
    chunk: u64,
    timeout: Duration,
}

impl ChunkCache {
    pub fn new(storage: Storage, capacity_bytes: u64, chunk_bytes: u64, timeout: Duration) -> Self {
        let cache = Cache::builder()
            .max_capacity(capacity_bytes)
            // Weigh by size so the bound is in bytes; chunks are far below 4 GiB.
            .weigher(|_k: &ChunkKey, v: &Bytes| u32::try_from(v.len()).unwrap_or(u32::MAX))
            .build();
        ChunkCache {
            cache,
            storage,
            // At least 4 KiB (validated when the configuration is loaded).
            chunk: chunk_bytes,
            timeout,
        }
    }

    pub fn chunk_size(&self) -> u64 {
        self.chunk
    }

    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// Chunk `index` of object `key` (`size` bytes long).
    pub async fn chunk(&self, key: &Arc<str>, index: u64, size: u64) -> Result<Bytes, StreamError> {
        let ck = (key.clone(), index);
        if let Some(b) = self.cache.get(&ck).await {
            metrics::cache_hit();
            return Ok(b);
        }
        metrics::cache_miss();
        let first = index * self.chunk;
        let last = (first + self.chunk).min(size).saturating_sub(1);
        let loader = async {
            metrics::s3_fetch();
            let got = tokio::time::timeout(self.timeout, self.fetch(key, first, last)).await;
            let result = match got {
                Ok(r) => r,
                Err(_) => Err(FetchError::Timeout(self.timeout)),
            };
            if result.is_err() {
                metrics::s3_failure();
            }
            result
        };
        self.cache
            .try_get_with(ck, loader)
            .await
            .map_err(|e| StreamError::from((*e).clone()))
    }

    async fn fetch(&self, key: &str, first: u64, last: u64) -> Result<Bytes, FetchError> {
        let object = self
            .storage
            .get_range(key, first, last)
            .await
            .map_err(|e| match e {
                StorageError::NotFound { .. } => FetchError::Missing,
                other => FetchError::Failed(Arc::new(other)),
            })?;
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| FetchError::Failed(Arc::new(e)))?
            .into_bytes();
        let want = last - first + 1;
        if bytes.len() as u64 != want {
            return Err(FetchError::ShortRead {
                got: bytes.len(),
                want,
            });
        }
        Ok(bytes)
    }
}

/// The chunk indices and in-chunk offsets covering bytes `first..=last`.
pub fn spans(chunk: u64, first: u64, last: u64) -> impl Iterator<Item = (u64, usize, usize)> {
    (first / chunk..=last / chunk).map(move |i| {
        let start = i * chunk;
        let from = first.max(start) - start;
        let to = last.min(start + chunk - 1) - start;
        (i, from as usize, to as usize + 1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_cover_exactly_the_range() {
        let s: Vec<_> = spans(100, 0, 99).collect();
        assert_eq!(s, vec![(0, 0, 100)]);
        let s: Vec<_> = spans(100, 150, 349).collect();
        assert_eq!(s, vec![(1, 50, 100), (2, 0, 100), (3, 0, 50)]);
        let s: Vec<_> = spans(100, 42, 42).collect();
        assert_eq!(s, vec![(0, 42, 43)]);
        // Lengths always add up to the range.
        for (first, last) in [(0u64, 0u64), (5, 1005), (99, 100), (100, 199)] {
            let n: usize = spans(100, first, last).map(|(_, a, b)| b - a).sum();
            assert_eq!(n as u64, last - first + 1);
        }
    }
}
