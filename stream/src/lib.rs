//! Stream: HLS playlists rendered from the fragment index, byte ranges of the
//! renditions from S3 through a chunk cache, signed URLs bound to a
//! listener, and heartbeat intake with its enrichment.

pub mod agent;
pub mod cache;
pub mod delivery;
pub mod error;
pub mod heartbeats;
pub mod iphash;
pub mod lookup;
pub mod playlists;
pub mod range;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef, State};
use axum::http::header;
use axum::response::IntoResponse;
use cloudcast_analytics::BeatSender;
use cloudcast_core::Config;
use cloudcast_core::limits::KeyedLimit;
use cloudcast_core::signing::UrlSigner;
use cloudcast_core::storage::Storage;
use sqlx::PgPool;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

pub use error::StreamError;

/// Shared by every request; cloned per request, so it is one `Arc`.
#[derive(Clone)]
pub struct StreamState(Arc<Shared>);

impl std::ops::Deref for StreamState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub pool: PgPool,
    pub config: Arc<Config>,
    pub signer: UrlSigner,
    pub beats: BeatSender,
    pub chunks: cache::ChunkCache,
    pub lookups: lookup::Lookups,
    pub ip_hasher: iphash::IpHasher,
    pub intake_limit: KeyedLimit<IpAddr>,
}

impl StreamState {
    pub fn new(
        pool: PgPool,
        storage: Storage,
        config: Arc<Config>,
        signer: UrlSigner,
        beats: BeatSender,
    ) -> StreamState {
        let s = &config.stream;
        StreamState(Arc::new(Shared {
            chunks: cache::ChunkCache::new(
                storage,
                s.cache_bytes,
                s.chunk_bytes,
                Duration::from_millis(s.s3_timeout_ms.max(1)),
            ),
            lookups: lookup::Lookups::new(pool.clone()),
            ip_hasher: iphash::IpHasher::new(pool.clone()),
            intake_limit: KeyedLimit::per_second(s.intake_per_ip_per_sec, s.intake_burst),
            pool,
            config,
            signer,
            beats,
        }))
    }
}

impl FromRef<StreamState> for PgPool {
    fn from_ref(s: &StreamState) -> PgPool {
        s.pool.clone()
    }
}

/// Largest heartbeat POST body: a full batch with room for long referrers.
pub const MAX_HEARTBEAT_BODY: usize = 256 * 1024;

/// The routes and their documentation.
fn routes() -> OpenApiRouter<StreamState> {
    OpenApiRouter::new()
        .routes(routes!(delivery::get_file))
        .routes(routes!(heartbeats::intake).layer(DefaultBodyLimit::max(MAX_HEARTBEAT_BODY)))
        .routes(routes!(metrics))
}

/// This crate's part of the OpenAPI document.
pub fn api_doc() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

pub fn router(state: StreamState) -> Router {
    let (router, _) = routes().split_for_parts();
    router.with_state(state)
}

/// Prometheus text format: the chunk cache's effect on S3.
#[utoipa::path(get, path = "/metrics", tag = "stream",
    summary = "Stream metrics (Prometheus)",
    description = "The chunk cache's effect on S3: hits, misses, S3 fetches and failures.",
    responses(
        (status = 200, description = "Prometheus text exposition format", body = String,
            content_type = "text/plain; version=0.0.4")))]
async fn metrics(State(state): State<StreamState>) -> impl IntoResponse {
    let s = state.chunks.stats();
    let n = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    let body = format!(
        "# TYPE cloudcast_stream_cache_hits_total counter\n\
         cloudcast_stream_cache_hits_total {}\n\
         # TYPE cloudcast_stream_cache_misses_total counter\n\
         cloudcast_stream_cache_misses_total {}\n\
         # TYPE cloudcast_stream_s3_fetches_total counter\n\
         cloudcast_stream_s3_fetches_total {}\n\
         # TYPE cloudcast_stream_s3_failures_total counter\n\
         cloudcast_stream_s3_failures_total {}\n",
        n(&s.hits),
        n(&s.misses),
        n(&s.s3_fetches),
        n(&s.s3_failures),
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudcast_core::apidoc::coverage_problems;

    /// Every route [`router`] serves.
    const SERVED: &[(&str, &str)] = &[
        ("get", "/stream/{id}/{file}"),
        ("head", "/stream/{id}/{file}"),
        ("post", "/api/v1/heartbeats"),
        ("get", "/metrics"),
    ];

    #[test]
    fn the_document_covers_every_route() {
        let doc = api_doc();
        assert_eq!(
            coverage_problems(&doc, SERVED, "stream"),
            Vec::<String>::new()
        );
    }
}
