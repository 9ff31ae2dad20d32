//! Ingest: resumable tus uploads streamed into S3 multipart uploads, and
//! the completion that probes the file and queues its transcode.
//!
//! One file per stage: `tus.rs` (the protocol's headers and rules),
//! `handlers.rs` (the routes), `lock.rs` (one writer per upload),
//! `parts.rs` (a PATCH's bytes into committed parts and a tail, with
//! `partbuf.rs` for their memory), `completion.rs` (the last byte: probe,
//! cloudcast, job), `expiry.rs` (tus expiration), `upload.rs` (the stored
//! upload), `probe.rs` (GStreamer's discoverer).

pub mod completion;
pub mod config;
pub mod error;
pub mod expiry;
pub mod handlers;
pub mod lock;
pub mod metrics;
pub mod partbuf;
pub mod parts;
pub mod probe;
pub mod tus;
pub mod upload;

use std::sync::Arc;

use crate::config::UploadsConfig;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use cloudcast_core::storage::Storage;
use sqlx::PgPool;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::IngestError;

#[derive(Clone)]
pub struct IngestState {
    pub pool: PgPool,
    pub storage: Storage,
    pub uploads: Arc<UploadsConfig>,
    /// Checked when an upload is created.
    pub quotas: Arc<cloudcast_core::config::QuotasConfig>,
}

impl FromRef<IngestState> for PgPool {
    fn from_ref(s: &IngestState) -> PgPool {
        s.pool.clone()
    }
}

fn routes() -> OpenApiRouter<IngestState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::create, handlers::options))
        .routes(routes!(
            handlers::status,
            handlers::head,
            handlers::patch,
            handlers::terminate,
            handlers::options_one
        ))
}

/// This crate's part of the OpenAPI document.
pub fn api_doc() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

/// The handlers stream upload bodies and limit them themselves.
pub fn router(state: IngestState) -> Router {
    let (router, _) = routes().split_for_parts();
    router.layer(DefaultBodyLimit::disable()).with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudcast_core::apidoc::coverage_problems;

    const SERVED: &[(&str, &str)] = &[
        ("post", "/api/v1/uploads"),
        ("options", "/api/v1/uploads"),
        ("get", "/api/v1/uploads/{id}"),
        ("head", "/api/v1/uploads/{id}"),
        ("patch", "/api/v1/uploads/{id}"),
        ("delete", "/api/v1/uploads/{id}"),
        ("options", "/api/v1/uploads/{id}"),
    ];

    #[test]
    fn the_document_covers_every_route() {
        assert_eq!(
            coverage_problems(&api_doc(), SERVED, &["uploads"]),
            Vec::<String>::new()
        );
    }
}
