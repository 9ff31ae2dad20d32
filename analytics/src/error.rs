use axum::http::StatusCode;
use cloudcast_core::auth::AuthError;
use cloudcast_core::error::{ErrorCode, database_status};
use cloudcast_core::impl_api_error;
use cloudcast_core::storage::StorageError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnalyticsError {
    #[error("ClickHouse failed")]
    Clickhouse(#[from] clickhouse::error::Error),
    #[error("database failed")]
    Database(#[from] sqlx::Error),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("the owner of this cloudcast keeps its statistics to themselves")]
    StatsHidden,
    #[error("only the cloudcast's owner or an administrator may read this")]
    NotOwner,
    #[error("{0}")]
    BadQuery(String),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Catalog(#[from] cloudcast_catalog::CatalogError),
    #[error("could not encode the download: {0}")]
    Encode(String),
    #[error("could not build the Arrow data")]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error("could not write the Parquet file")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Work that is not done yet and will be tried again (never an answer).
    #[error("{0}")]
    Pending(String),
    #[error("ClickHouse migration {name} failed")]
    Migration {
        name: &'static str,
        #[source]
        source: clickhouse::error::Error,
    },
    #[error("ClickHouse migration {name} has no cluster form: {why}")]
    ClusterForm { name: &'static str, why: String },
    #[error("another node has held the ClickHouse DDL lock for {waited_secs} s: {holder}")]
    DdlBusy { holder: String, waited_secs: u64 },
    #[error(
        "ClickHouse DDL did not run on every replica: not run by {replicas} (docs/deploy.md: a replica that stopped running DDL)"
    )]
    DdlStuck {
        replicas: String,
        #[source]
        source: Box<AnalyticsError>,
    },
}

impl ErrorCode for AnalyticsError {
    fn code(&self) -> &'static str {
        match self {
            AnalyticsError::Clickhouse(_) => "analytics_unavailable",
            AnalyticsError::Database(_) => "database",
            AnalyticsError::NotFound(_) => "not_found",
            AnalyticsError::StatsHidden => "stats_hidden",
            AnalyticsError::NotOwner => "not_owner",
            AnalyticsError::BadQuery(_) => "bad_query",
            AnalyticsError::Auth(e) => e.code(),
            AnalyticsError::Catalog(e) => e.code(),
            AnalyticsError::Encode(_) | AnalyticsError::Arrow(_) | AnalyticsError::Parquet(_) => {
                "encode"
            }
            AnalyticsError::Storage(e) => e.code(),
            AnalyticsError::Migration { .. } | AnalyticsError::ClusterForm { .. } => "migration",
            AnalyticsError::DdlBusy { .. } | AnalyticsError::DdlStuck { .. } => "clickhouse_ddl",
            AnalyticsError::Pending(_) => "internal",
        }
    }
    fn status(&self) -> StatusCode {
        match self {
            AnalyticsError::Clickhouse(_) => StatusCode::SERVICE_UNAVAILABLE,
            AnalyticsError::NotFound(_) => StatusCode::NOT_FOUND,
            AnalyticsError::StatsHidden | AnalyticsError::NotOwner => StatusCode::FORBIDDEN,
            AnalyticsError::BadQuery(_) => StatusCode::BAD_REQUEST,
            AnalyticsError::Auth(e) => e.status(),
            AnalyticsError::Catalog(e) => e.status(),
            AnalyticsError::Database(e) => database_status(e),
            AnalyticsError::Storage(e) => e.status(),
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
    fn public_message(&self) -> Option<&'static str> {
        match self {
            AnalyticsError::Clickhouse(_) => Some("analytics are unavailable; retry shortly"),
            _ => None,
        }
    }
}
impl_api_error!(AnalyticsError);
