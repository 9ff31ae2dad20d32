//! Moderation of accounts and the contact page: the "Reports" option and
//! the other channels the privacy policy names (`contact.rs`: reports on
//! accounts, privacy requests, feedback, from anyone), decisions on
//! accounts with their statement of reasons and appeal (`decisions.rs`),
//! and what runs on its own (`sweep.rs`: under-13s erased after the
//! contest period, senders' contacts forgotten). Reports on cloudcasts and
//! comments stay with the catalogue; the rule of what a decision lets an
//! account do is `cloudcast_core::standing`.

pub mod config;
pub mod contact;
pub mod decisions;
pub mod error;
pub mod sweep;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use sqlx::PgPool;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::ModerationError;

use crate::config::ModerationConfig;

#[derive(Clone)]
pub struct ModerationState {
    pub pool: PgPool,
    pub config: Arc<ModerationConfig>,
    /// The erasure (and its storage) and the API-key gate.
    pub privacy: cloudcast_privacy::PrivacyState,
    /// Mail and profile links start here.
    pub public_url: Arc<str>,
    pub max_json_bytes: usize,
}

impl FromRef<ModerationState> for PgPool {
    fn from_ref(s: &ModerationState) -> PgPool {
        s.pool.clone()
    }
}

fn routes() -> OpenApiRouter<ModerationState> {
    OpenApiRouter::new()
        .routes(routes!(contact::create))
        .routes(routes!(contact::list))
        .routes(routes!(contact::answer))
        .routes(routes!(decisions::decide))
        .routes(routes!(decisions::mine))
        .routes(routes!(decisions::appeal))
        .routes(routes!(decisions::appeals))
        .routes(routes!(decisions::decide_appeal))
        .routes(routes!(decisions::lift_decision))
}

/// This crate's part of the OpenAPI document.
pub fn api_doc() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

pub fn router(state: ModerationState) -> Router {
    routes()
        .split_for_parts()
        .0
        .layer(DefaultBodyLimit::max(state.max_json_bytes))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudcast_core::apidoc::coverage_problems;

    const SERVED: &[(&str, &str)] = &[
        ("post", "/api/v1/contact"),
        ("get", "/api/v1/admin/cases"),
        ("post", "/api/v1/admin/cases/{id}/answer"),
        ("post", "/api/v1/admin/users/{username}/decisions"),
        ("get", "/api/v1/me/decisions"),
        ("post", "/api/v1/me/decisions/{id}/appeal"),
        ("get", "/api/v1/admin/appeals"),
        ("post", "/api/v1/admin/appeals/{id}/decision"),
        ("post", "/api/v1/admin/decisions/{id}/lift"),
    ];

    #[test]
    fn the_document_covers_every_route() {
        assert_eq!(
            coverage_problems(&api_doc(), SERVED, &["contact", "moderation"]),
            Vec::<String>::new()
        );
    }
}
