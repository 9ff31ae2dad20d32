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
use axum::routing::{get, post, put};
use cloudcast_core::Config;
use sqlx::PgPool;

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
    let tombstones = tombstones::Tombstones::default();
    // Reloaded as often as the other PostgreSQL-driven analytics work.
    tokio::spawn(
        tombstones
            .clone()
            .run(pool, std::time::Duration::from_secs(2), shutdown.clone()),
    );
    let shipper = tokio::spawn(ship::run(shared, client, tombstones, shutdown));
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

pub fn router(state: AnalyticsState) -> Router {
    Router::new()
        .route("/api/v1/cloudcasts/{id}/stats", get(stats::cloudcast_stats))
        .route(
            "/api/v1/cloudcasts/{id}/favourite",
            put(favourites::add).delete(favourites::remove),
        )
        .route("/api/v1/cloudcasts/{id}/links/{n}", get(links::follow))
        .route(
            "/api/v1/cloudcasts/{id}/links/{n}/purchases",
            post(links::confirm_purchases),
        )
        .route("/api/v1/me/favourites", get(favourites::mine))
        .route("/api/v1/me/history", get(history::mine))
        .route(
            "/api/v1/users/{username}/favourites",
            get(favourites::of_user),
        )
        .route("/api/v1/users/{username}/activity", get(history::of_user))
        .route("/api/v1/ads/audiences", get(dashboard::ad_audiences))
        .route("/api/v1/analytics/overview", get(dashboard::overview))
        .route(
            "/api/v1/analytics/datasets/{name}",
            get(dashboard::download),
        )
        .with_state(state)
}
