use axum::http::StatusCode;
use cloudcast_core::error::{CoreError, ErrorCode};
use cloudcast_core::impl_api_error;
use cloudcast_core::signing::SignatureError;

use crate::cache::FetchError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(#[from] SignatureError),
    #[error("this stream URL is not signed; get it from the cloudcast's `stream_url`")]
    Unsigned,
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    BadHeartbeat(String),
    #[error("heartbeat intake is saturated; retry shortly")]
    Saturated,
    #[error("the heartbeat log failed: {0}")]
    LogFailed(String),
    #[error("too many heartbeat requests from this address; retry in {0} s")]
    RateLimited(u64),
    #[error("the body must be JSON (`application/json` or `text/plain`)")]
    BadContentType,
    #[error("media storage is unavailable ({0}); retry shortly")]
    StorageUnavailable(String),
    #[error("the database is unavailable; retry shortly")]
    DatabaseUnavailable,
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("database failed: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the stored fragment index is unreadable: {0}")]
    CorruptIndex(String),
}

impl From<FetchError> for StreamError {
    fn from(e: FetchError) -> Self {
        match e {
            FetchError::Missing => StreamError::NotFound("media object"),
            other => StreamError::StorageUnavailable(other.to_string()),
        }
    }
}

impl ErrorCode for StreamError {
    fn code(&self) -> &'static str {
        match self {
            StreamError::NotFound(_) => "not_found",
            StreamError::Forbidden(SignatureError::Expired) => "url_expired",
            StreamError::Forbidden(SignatureError::Invalid) => "bad_signature",
            StreamError::Forbidden(SignatureError::OtherListener) => "other_listener",
            StreamError::Unsigned => "unsigned_url",
            StreamError::Unauthorized(_) => "unauthorized",
            StreamError::BadHeartbeat(_) => "invalid_heartbeat",
            StreamError::Saturated => "intake_saturated",
            StreamError::LogFailed(_) => "log_failed",
            StreamError::RateLimited(_) => "rate_limited",
            StreamError::BadContentType => "unsupported_media_type",
            StreamError::StorageUnavailable(_) => "storage_unavailable",
            StreamError::DatabaseUnavailable => "database_unavailable",
            StreamError::Core(e) => e.code(),
            StreamError::Database(_) => "database",
            StreamError::CorruptIndex(_) => "internal",
        }
    }
    fn status(&self) -> StatusCode {
        match self {
            StreamError::NotFound(_) => StatusCode::NOT_FOUND,
            StreamError::Forbidden(_) | StreamError::Unsigned => StatusCode::FORBIDDEN,
            StreamError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            StreamError::BadHeartbeat(_) => StatusCode::UNPROCESSABLE_ENTITY,
            StreamError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            StreamError::Saturated
            | StreamError::LogFailed(_)
            | StreamError::StorageUnavailable(_)
            | StreamError::DatabaseUnavailable
            | StreamError::Database(sqlx::Error::PoolTimedOut) => StatusCode::SERVICE_UNAVAILABLE,
            StreamError::BadContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            StreamError::Core(e) => e.status(),
            StreamError::Database(_) | StreamError::CorruptIndex(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
    fn retry_after(&self) -> Option<u64> {
        match self {
            StreamError::RateLimited(s) => Some(*s),
            StreamError::Saturated
            | StreamError::LogFailed(_)
            | StreamError::StorageUnavailable(_)
            | StreamError::DatabaseUnavailable => Some(2),
            _ => None,
        }
    }
}
impl_api_error!(StreamError);
