//! Third-party apps acting for a person: an OAuth 2.0 authorization
//! server. Developers register apps (`clients.rs`); a person allows one on
//! the consent page (`authorize.rs`, the page is the site's
//! `/oauth/authorize`); the app trades the code for tokens and refreshes
//! them (`tokens.rs`, with revocation and the RFC 8414 metadata); the
//! person sees and disconnects apps (`grants.rs`). What a token may reach
//! is `core/src/scopes.rs`.
//!
//! Written here rather than taken from a crate: the Rust OAuth server
//! crates (oxide-auth) bring their own storage and request types, while
//! here codes and tokens must be rows of the one PostgreSQL (every node
//! finishes what another began, erasure and export see them) and access
//! tokens must be sessions, so every route knows the app's user.

pub mod authorize;
pub mod clients;
pub mod error;
pub mod grants;
pub mod tokens;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cloudcast_core::storage::Storage;
use rand::RngCore;
use sqlx::PgPool;
use tower_http::cors::{Any, CorsLayer};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::{AppsError, OAuthError};

/// A code lives one minute.
pub const CODE_SECS: i64 = 60;
/// An access token lives an hour.
pub const ACCESS_SECS: i64 = 3600;
/// A refresh token lives 30 days (each use makes a new one).
pub const REFRESH_DAYS: i64 = 30;

#[derive(Clone)]
pub struct AppsState {
    pub pool: PgPool,
    /// Logos.
    pub storage: Storage,
    /// The issuer: the server's metadata and every redirect name it.
    pub public_url: Arc<str>,
    pub max_json_bytes: usize,
    pub max_logo_bytes: usize,
}

impl FromRef<AppsState> for PgPool {
    fn from_ref(s: &AppsState) -> PgPool {
        s.pool.clone()
    }
}

/// `prefix` and 256 random bits, base64url: codes, tokens, secrets.
pub(crate) fn random_secret(prefix: &str) -> String {
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(raw))
}

/// The routes by kind: the JSON API, the logo upload, and the OAuth
/// endpoints apps call from anywhere (CORS, no cookies).
fn routes() -> [OpenApiRouter<AppsState>; 3] {
    let api = OpenApiRouter::new()
        .routes(routes!(clients::create, clients::list))
        .routes(routes!(clients::change, clients::delete))
        .routes(routes!(clients::new_secret))
        .routes(routes!(clients::get_logo))
        .routes(routes!(authorize::consent, authorize::answer))
        .routes(routes!(grants::list))
        .routes(routes!(grants::disconnect));
    let logos = OpenApiRouter::new().routes(routes!(clients::put_logo));
    let oauth = OpenApiRouter::new()
        .routes(routes!(tokens::token))
        .routes(routes!(tokens::revoke))
        .routes(routes!(tokens::metadata));
    [api, logos, oauth]
}

/// This crate's part of the OpenAPI document.
pub fn api_doc() -> utoipa::openapi::OpenApi {
    let [api, logos, oauth] = routes();
    api.merge(logos).merge(oauth).split_for_parts().1
}

pub fn router(state: AppsState) -> Router {
    let [api, logos, oauth] = routes();
    let api = api
        .split_for_parts()
        .0
        .layer(DefaultBodyLimit::max(state.max_json_bytes));
    // A little over the limit so the handler can answer with its own 413.
    let logos = logos
        .split_for_parts()
        .0
        .layer(DefaultBodyLimit::max(state.max_logo_bytes + 1));
    // Apps in a browser call these from their own origin; no cookie is
    // read, so any origin may.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([
            axum::http::Method::GET,
            axum::http::Method::POST,
            axum::http::Method::OPTIONS,
        ])
        .allow_headers([
            axum::http::header::AUTHORIZATION,
            axum::http::header::CONTENT_TYPE,
        ]);
    let oauth = oauth
        .split_for_parts()
        .0
        .layer(DefaultBodyLimit::max(16 * 1024))
        .layer(cors);
    api.merge(logos).merge(oauth).with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudcast_core::apidoc::coverage_problems;

    /// Every route [`router`] serves.
    const SERVED: &[(&str, &str)] = &[
        ("post", "/api/v1/me/apps"),
        ("get", "/api/v1/me/apps"),
        ("patch", "/api/v1/me/apps/{id}"),
        ("delete", "/api/v1/me/apps/{id}"),
        ("post", "/api/v1/me/apps/{id}/secret"),
        ("put", "/api/v1/me/apps/{id}/logo"),
        ("get", "/api/v1/apps/{client_id}/logo"),
        ("get", "/api/v1/oauth/authorization"),
        ("post", "/api/v1/oauth/authorization"),
        ("get", "/api/v1/me/connected-apps"),
        ("delete", "/api/v1/me/connected-apps/{id}"),
        ("post", "/oauth/token"),
        ("post", "/oauth/revoke"),
        ("get", "/.well-known/oauth-authorization-server"),
    ];

    #[test]
    fn the_document_covers_every_route() {
        assert_eq!(
            coverage_problems(&api_doc(), SERVED, &["apps"]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn secrets_are_long_and_prefixed() {
        let s = random_secret("cca_");
        assert!(s.starts_with("cca_"));
        assert_eq!(s.len(), 4 + 43);
        assert_ne!(s, random_secret("cca_"));
    }
}
