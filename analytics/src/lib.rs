//! Analytics: the ClickHouse schema and its migrations, the batching
//! heartbeat writer, and the queries behind the statistics API.

pub mod error;
pub mod queries;
pub mod schema;
pub mod writer;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use cloudcast_core::Config;
use sqlx::PgPool;

pub use error::AnalyticsError;
pub use writer::{BeatSender, HeartbeatRow};

/// The ClickHouse client type, re-exported for the binary.
pub type ClickhouseClient = clickhouse::Client;

#[derive(Clone)]
pub struct AnalyticsState {
    pub clickhouse: clickhouse::Client,
    pub pool: PgPool,
    pub config: Arc<Config>,
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

pub fn router(state: AnalyticsState) -> Router {
    Router::new()
        .route(
            "/api/v1/cloudcasts/{id}/stats",
            get(queries::cloudcast_stats),
        )
        .with_state(state)
}
