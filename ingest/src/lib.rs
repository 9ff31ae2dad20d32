//! Ingest: accounts and sessions, resumable tus uploads into S3 multipart
//! uploads, the catalogue, and the transcode job enqueued on completion.

pub mod accounts;
pub mod catalog;
pub mod error;
pub mod tus;
pub mod uploads;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::routing::{get, post};
use cloudcast_core::Config;
use cloudcast_core::signing::UrlSigner;
use cloudcast_core::storage::Storage;
use sqlx::PgPool;

pub use error::IngestError;

#[derive(Clone)]
pub struct IngestState {
    pub pool: PgPool,
    pub storage: Storage,
    pub config: Arc<Config>,
    pub signer: UrlSigner,
}

impl FromRef<IngestState> for PgPool {
    fn from_ref(s: &IngestState) -> PgPool {
        s.pool.clone()
    }
}

pub fn router(state: IngestState) -> Router {
    let json_limit = state.config.http.max_json_bytes;
    let api = Router::new()
        .route("/api/v1/accounts", post(accounts::register))
        .route("/api/v1/sessions", post(accounts::sign_in))
        .route("/api/v1/cloudcasts/{id}", get(catalog::get_cloudcast))
        .layer(DefaultBodyLimit::max(json_limit));
    // Upload bodies are streamed and limited by the tus handlers themselves.
    let uploads = Router::new()
        .route(
            "/api/v1/uploads",
            post(uploads::create).options(uploads::options),
        )
        .route(
            "/api/v1/uploads/{id}",
            get(uploads::status)
                .head(uploads::head)
                .patch(uploads::patch)
                .options(uploads::options),
        )
        .layer(DefaultBodyLimit::disable());
    api.merge(uploads).with_state(state)
}
