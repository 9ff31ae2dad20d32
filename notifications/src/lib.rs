//! Notifications: people hear what happens to them. The writer lives in
//! `cloudcast_core::notify` (every crate that causes one calls it in its
//! own transaction); this crate reads them (`list.rs`), keeps the bell live
//! across nodes (`live.rs`), mails them at once or in digests
//! (`mail.rs`), announces new mixes to followers (`announce.rs`), and
//! holds each kind's defaults and words (`kinds.rs`) and each person's
//! choices with one-click unsubscribe (`settings.rs`).

pub mod announce;
pub mod config;
pub mod error;
pub mod kinds;
pub mod list;
pub mod live;
pub mod mail;
pub mod metrics;
pub mod settings;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::NotificationsError;
pub use live::Hub;

use crate::config::NotificationsConfig;

/// What every node shares for notifications: its live streams, and the
/// key that signs one-click unsubscribe links (the same on every node).
#[derive(Clone)]
pub struct Shared {
    pub hub: Hub,
    pub unsubscribe_key: Arc<Vec<u8>>,
}

impl Shared {
    pub async fn load(pool: &PgPool, config: &NotificationsConfig) -> Result<Shared, sqlx::Error> {
        Ok(Shared {
            hub: Hub::new(config.max_streams),
            unsubscribe_key: Arc::new(
                cloudcast_core::secrets::shared_secret(pool, "unsubscribe").await?,
            ),
        })
    }
}

#[derive(Clone)]
pub struct NotificationsState {
    pub pool: PgPool,
    pub config: Arc<NotificationsConfig>,
    pub hub: Hub,
    pub unsubscribe_key: Arc<Vec<u8>>,
    /// Mail links start here.
    pub public_url: Arc<str>,
    pub max_json_bytes: usize,
}

impl FromRef<NotificationsState> for PgPool {
    fn from_ref(s: &NotificationsState) -> PgPool {
        s.pool.clone()
    }
}

/// The routes and their documentation.
fn routes() -> OpenApiRouter<NotificationsState> {
    OpenApiRouter::new()
        .routes(routes!(list::list))
        .routes(routes!(list::unread))
        .routes(routes!(list::read_one))
        .routes(routes!(list::read_all))
        .routes(routes!(live::stream))
        .routes(routes!(settings::get, settings::put))
        .routes(routes!(settings::unsubscribe))
}

/// This crate's part of the OpenAPI document.
pub fn api_doc() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

pub fn router(state: NotificationsState) -> Router {
    let json_limit = state.max_json_bytes;
    let (router, _) = routes().split_for_parts();
    router
        .layer(DefaultBodyLimit::max(json_limit))
        .with_state(state)
}

/// The background work of an API node: the listener that wakes its
/// streams, the announcements of new mixes and the mail.
pub fn spawn(
    state: NotificationsState,
    shutdown: CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    vec![
        tokio::spawn(
            state
                .hub
                .clone()
                .listen(state.pool.clone(), shutdown.clone()),
        ),
        tokio::spawn(announce::run(
            state.pool.clone(),
            state.config.announce,
            shutdown.clone(),
        )),
        tokio::spawn(mail::run(state, shutdown)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudcast_core::apidoc::coverage_problems;

    /// Every route [`router`] serves.
    const SERVED: &[(&str, &str)] = &[
        ("get", "/api/v1/me/notifications"),
        ("get", "/api/v1/me/notifications/unread"),
        ("post", "/api/v1/me/notifications/{id}/read"),
        ("post", "/api/v1/me/notifications/read"),
        ("get", "/api/v1/me/notifications/stream"),
        ("get", "/api/v1/me/notification-settings"),
        ("put", "/api/v1/me/notification-settings"),
        ("post", "/api/v1/unsubscribe/{token}"),
    ];

    #[test]
    fn the_document_covers_every_route() {
        assert_eq!(
            coverage_problems(&api_doc(), SERVED, &["notifications"]),
            Vec::<String>::new()
        );
    }
}
