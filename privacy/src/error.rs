use axum::http::StatusCode;
use cloudcast_core::auth::AuthError;
use cloudcast_core::error::{ErrorCode, database_status};
use cloudcast_core::impl_api_error;
use cloudcast_core::storage::StorageError;

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
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Accounts(#[from] cloudcast_accounts::AccountsError),
    #[error(transparent)]
    Analytics(#[from] cloudcast_analytics::AnalyticsError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("database failed")]
    Database(#[from] sqlx::Error),
    #[error("ClickHouse failed")]
    Clickhouse(#[from] clickhouse::error::Error),
    #[error("writing the archive failed")]
    Zip(#[from] zip::result::ZipError),
    #[error("writing the archive's Parquet failed")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("writing the archive's JSON failed")]
    Json(#[from] serde_json::Error),
    #[error("ClickHouse answered with text that is not UTF-8")]
    Utf8(#[from] std::string::FromUtf8Error),
    #[error("archive file I/O failed")]
    Io(#[from] std::io::Error),
    #[error("the archive's worker thread failed")]
    Thread(#[from] tokio::task::JoinError),
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
            PrivacyError::Auth(e) => e.code(),
            PrivacyError::Accounts(e) => e.code(),
            PrivacyError::Analytics(e) => e.code(),
            PrivacyError::Storage(e) => e.code(),
            PrivacyError::Database(_) => "database",
            PrivacyError::Clickhouse(_) => "analytics_unavailable",
            PrivacyError::Zip(_)
            | PrivacyError::Parquet(_)
            | PrivacyError::Json(_)
            | PrivacyError::Utf8(_)
            | PrivacyError::Io(_)
            | PrivacyError::Thread(_) => "internal",
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
            PrivacyError::Auth(e) => e.status(),
            PrivacyError::Accounts(e) => e.status(),
            PrivacyError::Analytics(e) => e.status(),
            PrivacyError::Storage(e) => e.status(),
            PrivacyError::Clickhouse(_) => StatusCode::SERVICE_UNAVAILABLE,
            PrivacyError::Database(e) => database_status(e),
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
    fn retry_after(&self) -> Option<u64> {
        match self {
            PrivacyError::RateLimited(s) => Some(*s),
            PrivacyError::Accounts(e) => e.retry_after(),
            _ => None,
        }
    }
}
impl_api_error!(PrivacyError);
