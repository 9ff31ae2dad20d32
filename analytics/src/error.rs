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
    #[error("{0}")]
    BadQuery(String),
    #[error("{0}")]
    Forbidden(&'static str),
    /// A rejection from the shared auth helpers, passed through as is.
    #[error("{}", .0.message)]
    Api(cloudcast_core::error::ApiError),
    #[error("could not encode the download: {0}")]
    Encode(String),
    #[error("object storage failed: {0}")]
    Storage(String),
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
            AnalyticsError::BadQuery(_) => "bad_query",
            AnalyticsError::Forbidden(_) => "forbidden",
            AnalyticsError::Encode(_) => "encode",
            AnalyticsError::Storage(_) => "storage",
            AnalyticsError::Api(e) => e.code,
            AnalyticsError::Migration { .. } => "migration",
        }
    }
    fn status(&self) -> StatusCode {
        match self {
            AnalyticsError::Clickhouse(_) => StatusCode::SERVICE_UNAVAILABLE,
            AnalyticsError::NotFound(_) => StatusCode::NOT_FOUND,
            AnalyticsError::BadQuery(_) => StatusCode::BAD_REQUEST,
            AnalyticsError::Forbidden(_) => StatusCode::FORBIDDEN,
            AnalyticsError::Api(e) => e.status,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}
impl_api_error!(AnalyticsError);

impl From<cloudcast_core::error::ApiError> for AnalyticsError {
    fn from(e: cloudcast_core::error::ApiError) -> Self {
        AnalyticsError::Api(e)
    }
}
