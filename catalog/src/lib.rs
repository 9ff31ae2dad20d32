//! The catalogue: cloudcasts as listeners and their owners see them
//! (`cloudcasts.rs`) and their metadata rules (`metadata.rs`), comments and
//! their moderation (`comments.rs`, `moderation.rs`), favourites
//! (`favourites.rs`) and purchase links (`purchase_links.rs`). Everything
//! here lives in PostgreSQL; statistics over it are the analytics crate's.

pub mod cloudcasts;
pub mod comments;
pub mod error;
pub mod favourites;
pub mod metadata;
pub mod moderation;
pub mod purchase_links;

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
    /// Stream URLs are built on it.
    pub public_url: Arc<str>,
    pub max_json_bytes: usize,
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
        .routes(routes!(comments::list, comments::create))
        .routes(routes!(comments::delete))
        .routes(routes!(comments::report))
        .routes(routes!(comments::admin_list))
        .routes(routes!(comments::admin_remove))
        .routes(routes!(comments::admin_approve))
        .routes(routes!(favourites::add, favourites::remove))
        .routes(routes!(favourites::mine))
        .routes(routes!(favourites::of_user))
        .routes(routes!(purchase_links::follow))
        .routes(routes!(purchase_links::confirm_purchases))
}

/// This crate's part of the OpenAPI document.
pub fn api_doc() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

pub fn router(state: CatalogState) -> Router {
    let (router, _) = routes().split_for_parts();
    router
        .layer(DefaultBodyLimit::max(state.max_json_bytes))
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
        ("get", "/api/v1/cloudcasts/{id}/comments"),
        ("post", "/api/v1/cloudcasts/{id}/comments"),
        ("delete", "/api/v1/comments/{id}"),
        ("post", "/api/v1/comments/{id}/report"),
        ("get", "/api/v1/admin/comments"),
        ("delete", "/api/v1/admin/comments/{id}"),
        ("post", "/api/v1/admin/comments/{id}/approve"),
        ("put", "/api/v1/cloudcasts/{id}/favourite"),
        ("delete", "/api/v1/cloudcasts/{id}/favourite"),
        ("get", "/api/v1/me/favourites"),
        ("get", "/api/v1/users/{username}/favourites"),
        ("get", "/api/v1/cloudcasts/{id}/links/{n}"),
        ("post", "/api/v1/cloudcasts/{id}/links/{n}/purchases"),
    ];

    #[test]
    fn the_document_covers_every_route() {
        assert_eq!(
            coverage_problems(
                &api_doc(),
                SERVED,
                &["cloudcasts", "comments", "favourites"]
            ),
            Vec::<String>::new()
        );
    }
}
