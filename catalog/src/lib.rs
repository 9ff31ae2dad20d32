//! The catalogue: cloudcasts as listeners and their owners see them
//! (`cloudcasts.rs`) and their metadata rules (`metadata.rs`); the lists
//! that find them (`lists.rs`: a user's, mine, the charts, by readable URL;
//! `tags.rs`; `search.rs`), all made of the same cards (`cards.rs`);
//! follows and the feed (`follows.rs`); blocks (`blocks.rs`); what users mark cloudcasts with
//! (`marks.rs`: `favourites.rs`, `reposts.rs`, `listen_later.rs`);
//! comments on mixes and profiles and their moderation (`comments.rs`,
//! `moderation.rs`);
//! reports on cloudcasts and notice-and-takedown (`reports.rs` the
//! notices, `takedowns.rs` the decisions, `counter_notices.rs` the DJ's
//! answer); and
//! purchase links (`purchase_links.rs`); playlists (`playlists.rs`); podcast
//! feeds, chapters and the download URLs (`podcast.rs`); "more like
//! this" (`related.rs`, read from what the analytics crate computes). Everything here lives in
//! PostgreSQL; statistics over it (and the charts' play counts) are the
//! analytics crate's.

pub mod blocks;
pub mod cards;
pub mod cloudcasts;
pub mod comments;
pub mod counter_notices;
pub mod error;
pub mod favourites;
pub mod follows;
pub mod listen_later;
pub mod lists;
pub mod marks;
pub mod mentions;
pub mod metadata;
pub mod moderation;
pub mod pictures;
pub mod playlists;
pub mod podcast;
pub mod purchase_links;
pub mod related;
pub mod reports;
pub mod reposts;
pub mod search;
pub mod tags;
pub mod takedowns;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use cloudcast_core::signing::UrlSigner;
use cloudcast_core::storage::Storage;
use sqlx::PgPool;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::CatalogError;

#[derive(Clone)]
pub struct CatalogState {
    pub pool: PgPool,
    /// Deleting a cloudcast deletes its objects.
    pub storage: Storage,
    /// Signs the stream URLs a cloudcast's view carries.
    pub signer: UrlSigner,
    /// Who the URLs are signed for (`core/src/listener.rs`).
    pub listeners: cloudcast_core::listener::Listeners,
    /// Stream URLs are built on it.
    pub public_url: Arc<str>,
    pub max_json_bytes: usize,
    /// Largest cover picture upload.
    pub max_picture_bytes: usize,
}

impl FromRef<CatalogState> for PgPool {
    fn from_ref(s: &CatalogState) -> PgPool {
        s.pool.clone()
    }
}

fn routes() -> OpenApiRouter<CatalogState> {
    OpenApiRouter::new()
        .routes(routes!(
            cloudcasts::get_cloudcast,
            cloudcasts::update_metadata,
            cloudcasts::delete
        ))
        .routes(routes!(cloudcasts::retry))
        .routes(routes!(cloudcasts::publish))
        .routes(routes!(comments::list, comments::create))
        .routes(routes!(
            comments::list_on_profile,
            comments::create_on_profile
        ))
        .routes(routes!(comments::delete))
        .routes(routes!(comments::report))
        .routes(routes!(comments::admin_list))
        .routes(routes!(comments::admin_remove))
        .routes(routes!(comments::admin_approve))
        .routes(routes!(reports::report))
        .routes(routes!(takedowns::admin_reports))
        .routes(routes!(takedowns::decide_report))
        .routes(routes!(counter_notices::counter_notice))
        .routes(routes!(counter_notices::admin_counter_notices))
        .routes(routes!(counter_notices::decide_counter_notice))
        .routes(routes!(favourites::add, favourites::remove))
        .routes(routes!(favourites::mine))
        .routes(routes!(favourites::of_user))
        .routes(routes!(purchase_links::follow))
        .routes(routes!(purchase_links::confirm_purchases))
        .routes(routes!(lists::charts))
        .routes(routes!(lists::user_cloudcasts))
        .routes(routes!(lists::my_cloudcasts))
        .routes(routes!(lists::by_slug))
        .routes(routes!(related::related))
        .routes(routes!(tags::list))
        .routes(routes!(tags::cloudcasts))
        .routes(routes!(search::search))
        .routes(routes!(
            follows::follow,
            follows::unfollow,
            follows::follow_state
        ))
        .routes(routes!(blocks::block, blocks::unblock))
        .routes(routes!(blocks::mine))
        .routes(routes!(follows::followers))
        .routes(routes!(follows::following))
        .routes(routes!(follows::feed))
        .routes(routes!(reposts::add, reposts::remove))
        .routes(routes!(reposts::of_user))
        .routes(routes!(listen_later::add, listen_later::remove))
        .routes(routes!(listen_later::mine))
        .routes(routes!(pictures::get))
        .routes(routes!(playlists::create))
        .routes(routes!(
            playlists::get,
            playlists::update,
            playlists::delete
        ))
        .routes(routes!(playlists::put_item, playlists::delete_item))
        .routes(routes!(playlists::of_user))
        .routes(routes!(playlists::mine))
        .routes(routes!(podcast::get_mine, podcast::put_mine))
        .routes(routes!(podcast::feed))
        .routes(routes!(podcast::of_user))
        .routes(routes!(podcast::chapters))
        .routes(routes!(podcast::enclosure))
        .routes(routes!(podcast::download))
}

/// Routes whose bodies are larger than JSON: their own body limit.
fn upload_routes() -> OpenApiRouter<CatalogState> {
    OpenApiRouter::new().routes(routes!(pictures::put))
}

/// This crate's part of the OpenAPI document.
pub fn api_doc() -> utoipa::openapi::OpenApi {
    routes().merge(upload_routes()).split_for_parts().1
}

pub fn router(state: CatalogState) -> Router {
    let (json, _) = routes().split_for_parts();
    let (uploads, _) = upload_routes().split_for_parts();
    json.layer(DefaultBodyLimit::max(state.max_json_bytes))
        .merge(uploads.layer(DefaultBodyLimit::max(state.max_picture_bytes)))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudcast_core::apidoc::coverage_problems;

    /// Every route [`router`] serves.
    const SERVED: &[(&str, &str)] = &[
        ("get", "/api/v1/cloudcasts/{id}"),
        ("patch", "/api/v1/cloudcasts/{id}"),
        ("delete", "/api/v1/cloudcasts/{id}"),
        ("post", "/api/v1/cloudcasts/{id}/retry"),
        ("post", "/api/v1/cloudcasts/{id}/publish"),
        ("get", "/api/v1/cloudcasts/{id}/related"),
        ("get", "/api/v1/me/podcast"),
        ("put", "/api/v1/me/podcast"),
        ("get", "/{username}/podcast.rss"),
        ("get", "/api/v1/users/{username}/podcast"),
        ("get", "/api/v1/cloudcasts/{id}/chapters.json"),
        ("get", "/api/v1/cloudcasts/{id}/enclosure.m4a"),
        ("get", "/api/v1/cloudcasts/{id}/download"),
        ("get", "/api/v1/cloudcasts/{id}/comments"),
        ("post", "/api/v1/cloudcasts/{id}/comments"),
        ("get", "/api/v1/users/{username}/comments"),
        ("post", "/api/v1/users/{username}/comments"),
        ("delete", "/api/v1/comments/{id}"),
        ("post", "/api/v1/comments/{id}/report"),
        ("get", "/api/v1/admin/comments"),
        ("delete", "/api/v1/admin/comments/{id}"),
        ("post", "/api/v1/admin/comments/{id}/approve"),
        ("post", "/api/v1/cloudcasts/{id}/report"),
        ("get", "/api/v1/admin/reports"),
        ("post", "/api/v1/admin/reports/{id}/decision"),
        ("post", "/api/v1/cloudcasts/{id}/counter-notice"),
        ("get", "/api/v1/admin/counter-notices"),
        ("post", "/api/v1/admin/counter-notices/{id}/decision"),
        ("put", "/api/v1/cloudcasts/{id}/favourite"),
        ("delete", "/api/v1/cloudcasts/{id}/favourite"),
        ("get", "/api/v1/me/favourites"),
        ("get", "/api/v1/users/{username}/favourites"),
        ("get", "/api/v1/cloudcasts/{id}/links/{n}"),
        ("post", "/api/v1/cloudcasts/{id}/links/{n}/purchases"),
        ("get", "/api/v1/cloudcasts"),
        ("get", "/api/v1/users/{username}/cloudcasts"),
        ("get", "/api/v1/me/cloudcasts"),
        ("get", "/api/v1/users/{username}/cloudcasts/{slug}"),
        ("get", "/api/v1/tags"),
        ("get", "/api/v1/tags/{tag}/cloudcasts"),
        ("get", "/api/v1/search"),
        ("put", "/api/v1/users/{username}/follow"),
        ("delete", "/api/v1/users/{username}/follow"),
        ("get", "/api/v1/users/{username}/follow"),
        ("put", "/api/v1/me/blocks/{username}"),
        ("delete", "/api/v1/me/blocks/{username}"),
        ("get", "/api/v1/me/blocks"),
        ("get", "/api/v1/users/{username}/followers"),
        ("get", "/api/v1/users/{username}/following"),
        ("get", "/api/v1/me/feed"),
        ("put", "/api/v1/cloudcasts/{id}/repost"),
        ("delete", "/api/v1/cloudcasts/{id}/repost"),
        ("get", "/api/v1/users/{username}/reposts"),
        ("put", "/api/v1/cloudcasts/{id}/listen-later"),
        ("delete", "/api/v1/cloudcasts/{id}/listen-later"),
        ("get", "/api/v1/me/listen-later"),
        ("put", "/api/v1/cloudcasts/{id}/picture"),
        ("get", "/api/v1/cloudcasts/{id}/picture/{size}"),
        ("post", "/api/v1/playlists"),
        ("get", "/api/v1/playlists/{id}"),
        ("patch", "/api/v1/playlists/{id}"),
        ("delete", "/api/v1/playlists/{id}"),
        ("put", "/api/v1/playlists/{id}/items/{cloudcast_id}"),
        ("delete", "/api/v1/playlists/{id}/items/{cloudcast_id}"),
        ("get", "/api/v1/users/{username}/playlists"),
        ("get", "/api/v1/me/playlists"),
    ];

    #[test]
    fn the_document_covers_every_route() {
        assert_eq!(
            coverage_problems(
                &api_doc(),
                SERVED,
                &[
                    "cloudcasts",
                    "comments",
                    "favourites",
                    "catalogue",
                    "follows",
                    "reposts",
                    "listen later",
                    "podcasts",
                    "moderation",
                    "playlists"
                ]
            ),
            Vec::<String>::new()
        );
    }
}
