//! Privacy: the user's rights of the policy that span every store. Data
//! export (seed §9), erasure of an account or a reported under-13 user (§12,
//! §16), and the keys and limits of the open API (§4, §10).

pub mod apikeys;
pub mod erasure;
pub mod error;
pub mod export;
pub mod partners;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::routing::{delete, get};
use cloudcast_ingest::IngestState;
use sqlx::PgPool;

pub use error::PrivacyError;

#[derive(Clone)]
pub struct PrivacyState {
    /// Accounts, S3 and the sign-in limits live with ingest.
    pub ingest: IngestState,
    pub clickhouse: clickhouse::Client,
    pub keys: apikeys::KeyGate,
}

impl PrivacyState {
    pub fn new(ingest: IngestState, clickhouse: clickhouse::Client) -> PrivacyState {
        let keys = apikeys::KeyGate::new(ingest.config.privacy.api_key_per_minute);
        PrivacyState {
            ingest,
            clickhouse,
            keys,
        }
    }
}

impl FromRef<PrivacyState> for PgPool {
    fn from_ref(s: &PrivacyState) -> PgPool {
        s.ingest.pool.clone()
    }
}

pub fn router(state: PrivacyState) -> Router {
    let json_limit = state.ingest.config.http.max_json_bytes;
    Router::new()
        .route("/api/v1/me", delete(erasure::delete_me))
        .route("/api/v1/me/export", get(export::export_me))
        .route("/api/v1/me/exports", get(export::list).post(export::create))
        .route("/api/v1/me/exports/{id}", get(export::status))
        .route("/api/v1/me/exports/{id}/archive", get(export::archive))
        .route(
            "/api/v1/me/api-keys",
            get(apikeys::list).post(apikeys::create),
        )
        .route("/api/v1/me/api-keys/{id}", delete(apikeys::delete))
        .layer(DefaultBodyLimit::max(json_limit))
        .with_state(state)
}
