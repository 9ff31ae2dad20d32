//! Analytics: the ClickHouse schema and its migrations (`schema.rs`), the
//! heartbeat shipper from the write-ahead log (`ship.rs`, with
//! `tombstones.rs` for erased accounts), the copy of favourite and repost
//! events (`event_sync.rs`), the roll-up of finished days (`rollup.rs`), the
//! charts computed into PostgreSQL (`charts.rs`) with "more like this"
//! from co-listening (`related.rs`), the removals erasure,
//! cloudcast deletion and consent withdrawal queue (`purge.rs`), and the
//! queries over the materialized views with the API built on them:
//! statistics (`stats.rs`, with the room read track by track in
//! `tracks.rs`), insights across a DJ's catalogue
//! (`insights.rs`), the rights report (`rights.rs`: seconds heard
//! of each tracklist entry, CSV), history (`history.rs`) and the analysts'
//! dashboard and downloads (`dashboard.rs`, `columnar.rs`). The queries are
//! files in `analytics/queries/` (`sql.rs`); date ranges are `dates.rs`.
//! DDL sent to every replica goes one issuer at a time, and a replica that
//! does not run it is named (`ddl.rs`).

pub mod charts;
pub mod cluster;
pub mod columnar;
pub mod config;
pub mod dashboard;
pub mod dates;
pub mod ddl;
pub mod error;
pub mod event_sync;
pub mod history;
pub mod insights;
pub mod lifecycle;
pub mod metrics;
pub mod purge;
pub mod related;
pub mod rights;
pub mod rollup;
pub mod schema;
pub mod ship;
pub mod sql;
pub mod stats;
pub mod tombstones;
pub mod tracks;

use std::sync::Arc;

use crate::config::{AnalyticsConfig, ClickhouseConfig};
use axum::Router;
use axum::extract::FromRef;
use sqlx::PgPool;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::AnalyticsError;

/// The ClickHouse client type, re-exported for the binary.
pub type ClickhouseClient = clickhouse::Client;

#[derive(Clone)]
pub struct AnalyticsState {
    pub clickhouse: clickhouse::Client,
    pub pool: PgPool,
    pub config: Arc<AnalyticsConfig>,
}

impl FromRef<AnalyticsState> for PgPool {
    fn from_ref(s: &AnalyticsState) -> PgPool {
        s.pool.clone()
    }
}

/// A client bound to the configured database. Validation is off because
/// ClickHouse 18.16 knows neither `RowBinaryWithNamesAndTypes` nor the
/// settings the validating path sends.
/// In a cluster, inserts through a Distributed table return once every
/// shard holds its rows (`insert_distributed_sync`): an asynchronous one
/// would acknowledge rows still queued on this server, which a crash loses
/// after the shipper has deleted their segment.
pub fn client(cfg: &ClickhouseConfig) -> clickhouse::Client {
    let client = server_client(cfg).with_database(&cfg.database);
    if cfg.cluster.is_empty() {
        client
    } else {
        // An `ON CLUSTER` statement a replica does not run fails after
        // this, and its error names the replica (`ddl.rs`).
        client
            .with_setting("insert_distributed_sync", "1")
            .with_setting(
                "distributed_ddl_task_timeout",
                cfg.ddl_timeout.as_secs().to_string(),
            )
    }
}

/// A client with no database selected (to create the database).
pub fn server_client(cfg: &ClickhouseConfig) -> clickhouse::Client {
    clickhouse::Client::default()
        .with_url(&cfg.url)
        .with_user(&cfg.user)
        .with_password(cfg.password.expose())
        .with_validation(false)
}

/// The routes and their documentation.
fn routes() -> OpenApiRouter<AnalyticsState> {
    OpenApiRouter::new()
        .routes(routes!(stats::cloudcast_stats))
        .routes(routes!(rights::of_cloudcast))
        .routes(routes!(rights::mine))
        .routes(routes!(rights::all))
        .routes(routes!(insights::mine))
        .routes(routes!(history::mine))
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
        ("get", "/api/v1/cloudcasts/{id}/rights-report"),
        ("get", "/api/v1/me/rights-report"),
        ("get", "/api/v1/admin/rights-report"),
        ("get", "/api/v1/me/insights"),
        ("get", "/api/v1/me/history"),
        ("get", "/api/v1/users/{username}/activity"),
        ("get", "/api/v1/ads/audiences"),
        ("get", "/api/v1/analytics/overview"),
        ("get", "/api/v1/analytics/datasets/{name}"),
    ];

    #[test]
    fn the_document_covers_every_route() {
        let doc = api_doc();
        assert_eq!(
            coverage_problems(&doc, SERVED, &["analytics"]),
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
