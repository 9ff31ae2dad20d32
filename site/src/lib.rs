//! The web site: server-rendered pages for everything public (crawlers,
//! link unfurlers and readers without scripts get the content; the scripts
//! in `web/` enhance them), the embeddable player, oEmbed, and HTML error
//! pages. Pages read the API in-process (`api.rs`) as the visitor, so the
//! API's rules decide what a page shows; this crate adds none of its own.

mod accounts;
mod api;
mod apps;
mod cache;
mod embed;
mod error;
mod figures;
mod library;
mod notifications;
mod pages;
mod policies;
mod shown;
mod templates;
mod views;
mod visit;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use api::Api;
pub use error::SiteError;
pub use templates::{MailView, error_page, mailbox_page};

/// What the pages need: the API to read, and where the site is reached.
#[derive(Clone)]
pub struct SiteState {
    pub api: Api,
    /// The site's base URL (`http.public_url`), for links that leave it:
    /// OpenGraph tags, oEmbed, embed code.
    pub public_url: Arc<str>,
    /// How many seconds of heartbeats the player sends in one request.
    pub beat_batch_secs: u32,
    /// `auth.min_password_len`, said where a password is chosen.
    pub min_password_len: usize,
    /// `notifications.poll_secs`: how often a page without a live stream
    /// asks for the unread count.
    pub notification_poll_secs: u64,
}

/// Paths whose errors stay JSON: the API, media and oEmbed (machines read them).
pub fn is_machine_path(path: &str) -> bool {
    [
        "/api/",
        "/stream/",
        "/oembed",
        "/healthz",
        "/metrics",
        "/.well-known/",
    ]
    .iter()
    .any(|p| path.starts_with(p))
        || matches!(path, "/api" | "/oauth/token" | "/oauth/revoke")
}

fn oembed_routes() -> OpenApiRouter<SiteState> {
    OpenApiRouter::new().routes(routes!(embed::oembed))
}

pub fn api_doc() -> utoipa::openapi::OpenApi {
    oembed_routes().into_openapi()
}

/// The first segment of every path the site serves besides profiles
/// (`/{username}`): each must be a reserved username (`core/src/paths.rs`).
pub const TOP_LEVEL: &[&str] = &[
    "search",
    "tags",
    "sign-up",
    "sign-in",
    "verify-email",
    "confirm-email",
    "reset-password",
    "upload",
    "dashboard",
    "settings",
    "moderation",
    "listen",
    "playlists",
    "library",
    "feed",
    "history",
    "listen-later",
    "notifications",
    "unsubscribe",
    "privacy",
    "terms",
    "contact",
    "embed",
    "oembed",
    "assets",
    "oauth",
    "developers",
];

/// Every page of the site, and `/oembed`.
pub fn router(state: SiteState) -> Router {
    let (oembed, _) = oembed_routes().split_for_parts();
    Router::new()
        .route("/", get(pages::home))
        .route("/search", get(pages::search))
        .route("/tags/{tag}", get(pages::tag))
        .route(
            "/sign-up",
            get(accounts::sign_up).post(accounts::sign_up_post),
        )
        .route(
            "/sign-in",
            get(accounts::sign_in).post(accounts::sign_in_post),
        )
        .route(
            "/verify-email",
            get(accounts::verify_email).post(accounts::resend_post),
        )
        .route("/confirm-email", get(accounts::confirm_email))
        .route(
            "/reset-password",
            get(accounts::reset_password).post(accounts::reset_password_post),
        )
        .route("/upload", get(pages::upload))
        .route("/dashboard", get(pages::dashboard))
        .route("/settings", get(pages::settings))
        .route("/insights", get(pages::insights))
        .route("/moderation", get(pages::moderation))
        .route("/library", get(library::library))
        .route("/library/{section}", get(library::section))
        // The short names people type; the library's sections are the pages.
        .route("/feed", get(|| library::moved(library::Section::Feed)))
        .route(
            "/history",
            get(|| library::moved(library::Section::History)),
        )
        .route(
            "/listen-later",
            get(|| library::moved(library::Section::ListenLater)),
        )
        .route("/notifications", get(notifications::page))
        .route(
            "/oauth/authorize",
            get(apps::consent).post(apps::consent_post),
        )
        .route("/developers", get(apps::developers))
        .route("/privacy", get(policies::privacy))
        .route("/terms", get(policies::terms))
        .route("/contact", get(policies::contact))
        .route(
            "/unsubscribe/{token}",
            get(notifications::unsubscribe).post(notifications::unsubscribe_post),
        )
        .route("/listen/{id}", get(pages::listen))
        .route("/playlists/{id}", get(pages::playlist))
        .route("/embed/{id}", get(embed::embed))
        .route("/embed/playlist/{id}", get(embed::embed_playlist))
        .route("/{username}", get(pages::profile))
        .route("/{username}/followers", get(library::people::<true>))
        .route("/{username}/following", get(library::people::<false>))
        .route("/{username}/{slug}", get(pages::cloudcast))
        .route("/{username}/{slug}/stats", get(pages::stats))
        .merge(oembed)
        .layer(axum::middleware::from_fn(cache::anonymous_pages))
        .with_state(state)
}

/// Percent-encodes a path segment or a query value: everything but
/// letters and digits, so a space is `%20` in both (form encoding's `+` is
/// a literal plus in a path, which made `/tags/deep house` ask the API for
/// the tag `deep+house`).
pub(crate) fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_keeps_spaces_in_paths() {
        assert_eq!(enc("deep house"), "deep%20house");
        assert_eq!(enc("a+b/c?"), "a%2Bb%2Fc%3F");
    }

    #[test]
    fn no_one_can_take_a_page_of_the_site_as_a_username() {
        for p in TOP_LEVEL {
            assert!(cloudcast_core::paths::is_reserved_username(p), "{p}");
        }
    }

    #[test]
    fn machine_paths_keep_json_errors() {
        assert!(is_machine_path("/api/v1/cloudcasts"));
        assert!(is_machine_path("/oembed"));
        assert!(is_machine_path("/stream/x/y"));
        assert!(!is_machine_path("/dj_one"));
        assert!(!is_machine_path("/apis-of-mine"));
    }
}
