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
use cloudcast_core::Config;
use cloudcast_core::signing::UrlSigner;
use cloudcast_core::storage::Storage;
use sqlx::PgPool;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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

/// The routes and their documentation, by body limit: JSON, avatars, and
/// tus uploads (whose bodies the handlers stream and limit themselves).
fn routes() -> [OpenApiRouter<IngestState>; 3] {
    let api = OpenApiRouter::new()
        .routes(routes!(accounts::register))
        .routes(routes!(accounts::verify_email))
        .routes(routes!(accounts::sign_in, accounts::sign_out))
        .routes(routes!(accounts::me))
        .routes(routes!(consents::get, consents::put))
        .routes(routes!(profiles::get_own, profiles::put_own))
        .routes(routes!(profiles::get_public))
        .routes(routes!(profiles::get_avatar))
        .routes(routes!(
            catalog::get_cloudcast,
            catalog::update_metadata,
            catalog::delete
        ))
        .routes(routes!(catalog::retry))
        .routes(routes!(comments::list, comments::create))
        .routes(routes!(comments::delete))
        .routes(routes!(comments::report))
        .routes(routes!(comments::admin_list))
        .routes(routes!(comments::admin_remove))
        .routes(routes!(comments::admin_approve));
    let avatars = OpenApiRouter::new().routes(routes!(profiles::put_avatar));
    let uploads = OpenApiRouter::new()
        .routes(routes!(uploads::create, uploads::options))
        .routes(routes!(
            uploads::status,
            uploads::head,
            uploads::patch,
            uploads::terminate,
            uploads::options_one
        ));
    [api, avatars, uploads]
}

/// This crate's part of the OpenAPI document.
pub fn api_doc() -> utoipa::openapi::OpenApi {
    let [api, avatars, uploads] = routes();
    api.merge(avatars).merge(uploads).split_for_parts().1
}

pub fn router(state: IngestState) -> Router {
    let json_limit = state.config.http.max_json_bytes;
    let avatar_limit = state.config.uploads.max_avatar_bytes;
    let [api, avatars, uploads] = routes();
    let api = api
        .split_for_parts()
        .0
        .layer(DefaultBodyLimit::max(json_limit));
    // A little over the limit so the handler can answer with its own 413.
    let avatars = avatars
        .split_for_parts()
        .0
        .layer(DefaultBodyLimit::max(avatar_limit + 1));
    let uploads = uploads
        .split_for_parts()
        .0
        .layer(DefaultBodyLimit::disable());
    api.merge(avatars).merge(uploads).with_state(state)
}
