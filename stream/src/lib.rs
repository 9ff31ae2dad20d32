//! Stream: HLS playlists rendered from the fragment index, byte ranges of the
//! renditions from S3 through a chunk cache, signed URLs bound to a
//! listener, and heartbeat intake with its enrichment.
//!
//! `delivery.rs` answers `/stream/{id}/{file}` (with `conditional.rs` for
//! RFC 9110 ranges and validators, `playlists.rs` for the playlists and
//! `cache.rs` for the bytes); `heartbeats.rs` takes beats into the log
//! (`beats/`), enriched by `agent.rs` (user agents) and
//! `core/src/listener.rs` (who is listening, hashed addresses); `lookup.rs` caches what every request asks PostgreSQL;
//! `downloads.rs` records the requests for downloads a DJ allows.

pub mod agent;
pub mod cache;
pub mod conditional;
pub mod config;
pub mod delivery;
pub mod downloads;
pub mod error;
pub mod heartbeats;
pub mod lookup;
pub mod metrics;
pub mod playlists;

use std::net::IpAddr;
use std::sync::Arc;

use crate::config::StreamConfig;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use cloudcast_beats::BeatSender;
use cloudcast_core::listener::Listeners;
use cloudcast_core::ratelimit::KeyedLimit;
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
    pub config: StreamConfig,
    /// `analytics.max_beats_per_request`: the largest heartbeat batch.
    pub max_beats_per_request: usize,
    pub signer: UrlSigner,
    pub beats: BeatSender,
    pub chunks: cache::ChunkCache,
    pub lookups: lookup::Lookups,
    /// Who is listening: signed cookies, hashed addresses.
    pub listeners: Listeners,
    pub intake_limit: KeyedLimit<IpAddr>,
    /// Where finished download requests are recorded.
    pub downloads: downloads::Recorder,
}

impl StreamState {
    pub fn new(
        pool: PgPool,
        storage: Storage,
        config: StreamConfig,
        max_beats_per_request: usize,
        signer: UrlSigner,
        listeners: Listeners,
        beats: BeatSender,
    ) -> StreamState {
        metrics::register();
        StreamState(Arc::new(Shared {
            chunks: cache::ChunkCache::new(
                storage,
                config.cache_bytes,
                config.chunk_bytes,
                config.s3_timeout,
            ),
            lookups: lookup::Lookups::new(pool.clone()),
            downloads: downloads::Recorder::start(pool.clone()),
            intake_limit: KeyedLimit::per_second(config.intake_per_ip_per_sec, config.intake_burst),
            pool,
            config,
            max_beats_per_request,
            signer,
            listeners,
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
}

/// This crate's part of the OpenAPI document.
pub fn api_doc() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

pub fn router(state: StreamState) -> Router {
    let (router, _) = routes().split_for_parts();
    router.with_state(state)
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
    ];

    #[test]
    fn the_document_covers_every_route() {
        let doc = api_doc();
        assert_eq!(
            coverage_problems(&doc, SERVED, &["stream"]),
            Vec::<String>::new()
        );
    }
}
