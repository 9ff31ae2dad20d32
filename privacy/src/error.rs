use axum::http::StatusCode;
use cloudcast_core::error::{ApiError, CoreError, ErrorCode};
use cloudcast_core::impl_api_error;

/// Everything the privacy routes can answer with; the code decides the status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrivacyError {
    #[error("{0}")]
    InvalidField(String),
    #[error("the password is wrong; deleting an account needs the account's password")]
    BadPassword,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("the export is still being built; ask again shortly")]
    NotReady,
    #[error("the export failed: {0}; ask for a new one")]
    ExportFailed(String),
    #[error("{0}")]
    TooMany(String),
    #[error("too many requests for this API key; retry in {0} s")]
    RateLimited(u64),
    #[error("that API key is unknown or was revoked")]
    BadKey,
    #[error("an API key only reads (GET); changes need the account's own session")]
    KeyReadOnly,
    /// A rejection from a shared helper, passed through as is.
    #[error("{}", .0.message)]
    Api(ApiError),
    #[error(transparent)]
    Ingest(#[from] cloudcast_ingest::IngestError),
    #[error(transparent)]
    Analytics(#[from] cloudcast_analytics::AnalyticsError),
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("database failed: {0}")]
    Database(#[from] sqlx::Error),
    #[error("ClickHouse failed: {0}")]
    Clickhouse(#[from] clickhouse::error::Error),
    #[error("building the archive failed: {0}")]
    Archive(String),
}

impl ErrorCode for PrivacyError {
    fn code(&self) -> &'static str {
        match self {
            PrivacyError::InvalidField(_) => "invalid_field",
            PrivacyError::BadPassword => "invalid_credentials",
            PrivacyError::NotFound(_) => "not_found",
            PrivacyError::NotReady => "export_not_ready",
            PrivacyError::ExportFailed(_) => "export_failed",
            PrivacyError::TooMany(_) => "too_many",
            PrivacyError::RateLimited(_) => "rate_limited",
            PrivacyError::BadKey => "invalid_api_key",
            PrivacyError::KeyReadOnly => "api_key_read_only",
            PrivacyError::Api(e) => e.code,
            PrivacyError::Ingest(e) => e.code(),
            PrivacyError::Analytics(e) => e.code(),
            PrivacyError::Core(e) => e.code(),
            PrivacyError::Database(_) => "database",
            PrivacyError::Clickhouse(_) => "analytics_unavailable",
            PrivacyError::Archive(_) => "internal",
        }
    }
    fn status(&self) -> StatusCode {
        match self {
            PrivacyError::InvalidField(_) => StatusCode::BAD_REQUEST,
            PrivacyError::BadPassword | PrivacyError::BadKey => StatusCode::UNAUTHORIZED,
            PrivacyError::NotFound(_) => StatusCode::NOT_FOUND,
            PrivacyError::KeyReadOnly => StatusCode::FORBIDDEN,
            PrivacyError::NotReady => StatusCode::ACCEPTED,
            PrivacyError::ExportFailed(_) => StatusCode::GONE,
            PrivacyError::TooMany(_) => StatusCode::CONFLICT,
            PrivacyError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            PrivacyError::Api(e) => e.status,
            PrivacyError::Ingest(e) => e.status(),
            PrivacyError::Analytics(e) => e.status(),
            PrivacyError::Core(e) => e.status(),
            PrivacyError::Clickhouse(_) => StatusCode::SERVICE_UNAVAILABLE,
            PrivacyError::Database(_) | PrivacyError::Archive(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
    fn retry_after(&self) -> Option<u64> {
        match self {
            PrivacyError::RateLimited(s) => Some(*s),
            PrivacyError::Ingest(e) => e.retry_after(),
            PrivacyError::Api(e) => e.retry_after,
            _ => None,
        }
    }
}
impl_api_error!(PrivacyError);

impl From<ApiError> for PrivacyError {
    fn from(e: ApiError) -> Self {
        PrivacyError::Api(e)
    }
}
