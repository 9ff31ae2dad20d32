//! Privacy: the user's rights that span every store. Access to one's data
//! (`export.rs`), erasure of an account or a reported under-13 user
//! (`erasure.rs`), the keys and limits of the open API (`apikeys.rs`), the
//! list of users partners may contact (`partners.rs`), and legally
//! compelled disclosure with its audit record (`disclosure.rs`).

pub mod apikeys;
pub mod config;
pub mod disclosure;
pub mod erasure;
pub mod error;
pub mod export;
pub mod export_jobs;
pub mod exports;
pub mod metrics;
pub mod partners;
pub mod registry;

use std::sync::Arc;

use crate::config::PrivacyConfig;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use cloudcast_accounts::SigninLimits;
use cloudcast_core::storage::Storage;
use sqlx::PgPool;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::PrivacyError;

#[derive(Clone)]
pub struct PrivacyState {
    pub pool: PgPool,
    pub storage: Storage,
    pub clickhouse: clickhouse::Client,
    pub config: Arc<PrivacyConfig>,
    /// The sign-in limits, shared with sign-in: a password asked again
    /// (account deletion) counts as an attempt there too.
    pub limits: SigninLimits,
    /// The session cookie's `Secure` flag follows it.
    pub public_url: Arc<str>,
    pub max_json_bytes: usize,
    pub keys: apikeys::KeyGate,
}

impl FromRef<PrivacyState> for PgPool {
    fn from_ref(s: &PrivacyState) -> PgPool {
        s.pool.clone()
    }
}

/// The routes and their documentation.
fn routes() -> OpenApiRouter<PrivacyState> {
    OpenApiRouter::new()
        .routes(routes!(erasure::delete_me))
        .routes(routes!(exports::export_me))
        .routes(routes!(exports::list, exports::create))
        .routes(routes!(exports::status))
        .routes(routes!(exports::archive))
        .routes(routes!(apikeys::list, apikeys::create))
        .routes(routes!(apikeys::delete))
}

/// This crate's part of the OpenAPI document.
pub fn api_doc() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

pub fn router(state: PrivacyState) -> Router {
    let json_limit = state.max_json_bytes;
    let (router, _) = routes().split_for_parts();
    router
        .layer(DefaultBodyLimit::max(json_limit))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudcast_core::apidoc::coverage_problems;

    /// Every route [`router`] serves.
    const SERVED: &[(&str, &str)] = &[
        ("delete", "/api/v1/me"),
        ("get", "/api/v1/me/export"),
        ("get", "/api/v1/me/exports"),
        ("post", "/api/v1/me/exports"),
        ("get", "/api/v1/me/exports/{id}"),
        ("get", "/api/v1/me/exports/{id}/archive"),
        ("get", "/api/v1/me/api-keys"),
        ("post", "/api/v1/me/api-keys"),
        ("delete", "/api/v1/me/api-keys/{id}"),
    ];

    #[test]
    fn the_document_covers_every_route() {
        assert_eq!(
            coverage_problems(&api_doc(), SERVED, &["privacy"]),
            Vec::<String>::new()
        );
    }
}
