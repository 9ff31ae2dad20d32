//! Ingest: accounts and sessions, resumable tus uploads into S3 multipart
//! uploads, the catalogue, comments and their moderation, and the transcode
//! job enqueued on completion.

pub mod accounts;
pub mod admin;
pub mod catalog;
pub mod comments;
pub mod consents;
pub mod error;
pub mod limits;
pub mod mail;
pub mod moderation;
pub mod partbuf;
pub mod probe;
pub mod profiles;
pub mod tus;
pub mod uploads;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::routing::{delete, get, post, put};
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
    pub limits: limits::LoginLimits,
}

impl IngestState {
    pub fn new(
        pool: PgPool,
        storage: Storage,
        config: Arc<Config>,
        signer: UrlSigner,
    ) -> IngestState {
        let limits = limits::LoginLimits::new(
            config.auth.login_per_minute_per_ip,
            config.auth.login_per_minute_per_account,
        );
        IngestState {
            pool,
            storage,
            config,
            signer,
            limits,
        }
    }
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
        .route("/api/v1/accounts/verify-email", get(accounts::verify_email))
        .route(
            "/api/v1/sessions",
            post(accounts::sign_in).delete(accounts::sign_out),
        )
        .route("/api/v1/me", get(accounts::me))
        .route("/api/v1/me/consents", get(consents::get).put(consents::put))
        .route(
            "/api/v1/me/profile",
            get(profiles::get_own).put(profiles::put_own),
        )
        .route("/api/v1/users/{username}", get(profiles::get_public))
        .route("/api/v1/users/{username}/avatar", get(profiles::get_avatar))
        .route(
            "/api/v1/cloudcasts/{id}",
            get(catalog::get_cloudcast)
                .patch(catalog::update_metadata)
                .delete(catalog::delete),
        )
        .route("/api/v1/cloudcasts/{id}/retry", post(catalog::retry))
        .route(
            "/api/v1/cloudcasts/{id}/comments",
            get(comments::list).post(comments::create),
        )
        .route("/api/v1/comments/{id}", delete(comments::delete))
        .route("/api/v1/comments/{id}/report", post(comments::report))
        .route("/api/v1/admin/comments", get(comments::admin_list))
        .route(
            "/api/v1/admin/comments/{id}",
            delete(comments::admin_remove),
        )
        .route(
            "/api/v1/admin/comments/{id}/approve",
            post(comments::admin_approve),
        )
        .layer(DefaultBodyLimit::max(json_limit));
    let avatar_limit = state.config.uploads.max_avatar_bytes;
    let avatars = Router::new()
        .route("/api/v1/me/avatar", put(profiles::put_avatar))
        // A little over the limit so the handler can answer with its own 413.
        .layer(DefaultBodyLimit::max(avatar_limit + 1));
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
                .delete(uploads::terminate)
                .options(uploads::options),
        )
        .layer(DefaultBodyLimit::disable());
    api.merge(avatars).merge(uploads).with_state(state)
}
