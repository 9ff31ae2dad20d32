use axum::http::StatusCode;
use cloudcast_core::error::ErrorCode;
use cloudcast_core::impl_api_error;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnalyticsError {
    #[error("ClickHouse failed: {0}")]
    Clickhouse(#[from] clickhouse::error::Error),
    #[error("database failed: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("ClickHouse migration {name} failed: {source}")]
    Migration {
        name: &'static str,
        source: clickhouse::error::Error,
    },
}

impl ErrorCode for AnalyticsError {
    fn code(&self) -> &'static str {
        match self {
            AnalyticsError::Clickhouse(_) => "analytics_unavailable",
            AnalyticsError::Database(_) => "database",
            AnalyticsError::NotFound(_) => "not_found",
            AnalyticsError::Migration { .. } => "migration",
        }
    }
    fn status(&self) -> StatusCode {
        match self {
            AnalyticsError::Clickhouse(_) => StatusCode::SERVICE_UNAVAILABLE,
            AnalyticsError::NotFound(_) => StatusCode::NOT_FOUND,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}
impl_api_error!(AnalyticsError);
