//! Analytics: the ClickHouse schema and its migrations, the heartbeat
//! write-ahead log and its shipper, the queries over the materialized views,
//! and the API built on them (statistics, history, favourites, purchase-link
//! counts, ad audiences, the analysts' dashboard and downloads).

pub mod dashboard;
pub mod error;
pub mod export;
pub mod favourites;
pub mod history;
pub mod links;
pub mod purge;
pub mod range;
pub mod rollup;
pub mod rows;
pub mod schema;
pub mod ship;
pub mod sql;
pub mod stats;
pub mod tombstones;
pub mod wal;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use cloudcast_core::Config;
use sqlx::PgPool;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::AnalyticsError;
pub use rows::HeartbeatRow;
pub use wal::{BeatSender, WalError};

/// Opens the heartbeat log and starts its shipper; returns intake's handle.
pub fn start_log(
    cfg: &cloudcast_core::config::AnalyticsConfig,
    client: clickhouse::Client,
    pool: PgPool,
    shutdown: tokio_util::sync::CancellationToken,
) -> Result<(BeatSender, tokio::task::JoinHandle<()>), WalError> {
    let (sender, shared) = wal::open(wal::WalConfig {
        dir: cfg.wal_dir.clone(),
        max_bytes: cfg.wal_max_bytes,
        segment_rows: cfg.batch_rows,
        seal_after: std::time::Duration::from_millis(cfg.flush_ms.max(1)),
        queue: cfg.queue_capacity,
    })?;
    let shipper = tokio::spawn(ship::run(shared, client, pool, shutdown));
    Ok((sender, shipper))
}

/// The ClickHouse client type, re-exported for the binary.
pub type ClickhouseClient = clickhouse::Client;

#[derive(Clone)]
pub struct AnalyticsState {
    pub clickhouse: clickhouse::Client,
    pub pool: PgPool,
    pub config: Arc<Config>,
}

impl FromRef<AnalyticsState> for PgPool {
    fn from_ref(s: &AnalyticsState) -> PgPool {
        s.pool.clone()
    }
}

/// Ok when `user` is an administrator, else 403 saying `why`.
pub(crate) async fn require_admin(
    state: &AnalyticsState,
    user: uuid::Uuid,
    why: &'static str,
) -> Result<(), AnalyticsError> {
    if cloudcast_core::auth::is_admin(&state.pool, user).await? {
        Ok(())
    } else {
        Err(AnalyticsError::Forbidden(why))
    }
}

/// A client bound to the configured database. Validation is off because
/// ClickHouse 18.16 knows neither `RowBinaryWithNamesAndTypes` nor the
/// settings the validating path sends.
pub fn client(cfg: &cloudcast_core::config::ClickhouseConfig) -> clickhouse::Client {
    server_client(cfg).with_database(&cfg.database)
}

/// A client with no database selected (to create the database).
pub fn server_client(cfg: &cloudcast_core::config::ClickhouseConfig) -> clickhouse::Client {
    clickhouse::Client::default()
        .with_url(&cfg.url)
        .with_user(&cfg.user)
        .with_password(&cfg.password)
        .with_validation(false)
}

/// The routes and their documentation.
fn routes() -> OpenApiRouter<AnalyticsState> {
    OpenApiRouter::new()
        .routes(routes!(stats::cloudcast_stats))
        .routes(routes!(favourites::add, favourites::remove))
        .routes(routes!(links::follow))
        .routes(routes!(links::confirm_purchases))
        .routes(routes!(favourites::mine))
        .routes(routes!(history::mine))
        .routes(routes!(favourites::of_user))
        .routes(routes!(history::of_user))
        .routes(routes!(dashboard::ad_audiences))
        .routes(routes!(dashboard::overview))
        .routes(routes!(dashboard::download))
}

/// This crate's part of the OpenAPI document.
pub fn api_doc() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

pub fn router(state: AnalyticsState) -> Router {
    let (router, _) = routes().split_for_parts();
    router.with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudcast_core::apidoc::{coverage_problems, operations};

    /// Every route [`router`] serves.
    const SERVED: &[(&str, &str)] = &[
        ("get", "/api/v1/cloudcasts/{id}/stats"),
        ("put", "/api/v1/cloudcasts/{id}/favourite"),
        ("delete", "/api/v1/cloudcasts/{id}/favourite"),
        ("get", "/api/v1/cloudcasts/{id}/links/{n}"),
        ("post", "/api/v1/cloudcasts/{id}/links/{n}/purchases"),
        ("get", "/api/v1/me/favourites"),
        ("get", "/api/v1/me/history"),
        ("get", "/api/v1/users/{username}/favourites"),
        ("get", "/api/v1/users/{username}/activity"),
        ("get", "/api/v1/ads/audiences"),
        ("get", "/api/v1/analytics/overview"),
        ("get", "/api/v1/analytics/datasets/{name}"),
    ];

    #[test]
    fn the_document_covers_every_route() {
        let doc = api_doc();
        assert_eq!(
            coverage_problems(&doc, SERVED, "analytics"),
            Vec::<String>::new()
        );
        let mut ids: Vec<&str> = doc
            .paths
            .paths
            .values()
            .flat_map(operations)
            .filter_map(|(_, op)| op.operation_id.as_deref())
            .collect();
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), before, "operation ids repeat");
    }
}
