//! Stream: HLS playlists rendered from the fragment index, byte ranges of the
//! renditions straight from S3, signed URLs, and heartbeat intake.

pub mod delivery;
pub mod error;
pub mod heartbeats;
pub mod playlists;
pub mod range;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::routing::{get, post};
use cloudcast_analytics::BeatSender;
use cloudcast_core::Config;
use cloudcast_core::signing::UrlSigner;
use cloudcast_core::storage::Storage;
use sqlx::PgPool;

pub use error::StreamError;

#[derive(Clone)]
pub struct StreamState {
    pub pool: PgPool,
    pub storage: Storage,
    pub config: Arc<Config>,
    pub signer: UrlSigner,
    pub beats: BeatSender,
}

impl FromRef<StreamState> for PgPool {
    fn from_ref(s: &StreamState) -> PgPool {
        s.pool.clone()
    }
}

/// Largest heartbeat POST body: a full batch with room for long referrers.
pub const MAX_HEARTBEAT_BODY: usize = 256 * 1024;

pub fn router(state: StreamState) -> Router {
    Router::new()
        .route(
            "/stream/{id}/{file}",
            get(delivery::get_file).head(delivery::get_file),
        )
        .route(
            "/api/v1/heartbeats",
            post(heartbeats::intake).layer(DefaultBodyLimit::max(MAX_HEARTBEAT_BODY)),
        )
        .with_state(state)
}
