use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use cloudcast_beats::WalError;
use cloudcast_core::error::{ErrorCode, database_status};
use cloudcast_core::impl_api_error;
use cloudcast_core::signing::SignatureError;
use cloudcast_core::storage::StorageError;

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
    Unauthorized(&'static str),
    #[error("{0}")]
    BadHeartbeat(String),
    #[error("the requested range lies outside the file")]
    RangeNotSatisfiable { size: u64 },
    #[error("heartbeat intake is saturated; retry shortly")]
    Saturated(#[source] WalError),
    #[error("the heartbeat log failed")]
    LogFailed(#[source] WalError),
    #[error("too many heartbeat requests from this address; retry in {0} s")]
    RateLimited(u64),
    #[error("the body must be JSON (`application/json` or `text/plain`)")]
    BadContentType,
    #[error("media storage is unavailable")]
    StorageUnavailable(#[source] FetchError),
    #[error("reading the waveform from storage failed")]
    Storage(#[source] StorageError),
    #[error("the database is unavailable")]
    DatabaseUnavailable(#[source] std::sync::Arc<sqlx::Error>),
    #[error("database failed")]
    Database(#[from] sqlx::Error),
    #[error("the stored fragment index is unreadable")]
    CorruptIndex(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<FetchError> for StreamError {
    fn from(e: FetchError) -> Self {
        match e {
            FetchError::Missing => StreamError::NotFound("media object"),
            other => StreamError::StorageUnavailable(other),
        }
    }
}

impl From<WalError> for StreamError {
    fn from(e: WalError) -> Self {
        match e {
            WalError::Full | WalError::Busy => StreamError::Saturated(e),
            other => StreamError::LogFailed(other),
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
            StreamError::RangeNotSatisfiable { .. } => "range_not_satisfiable",
            StreamError::Saturated(_) => "intake_saturated",
            StreamError::LogFailed(_) => "log_failed",
            StreamError::RateLimited(_) => "rate_limited",
            StreamError::BadContentType => "unsupported_media_type",
            StreamError::StorageUnavailable(_) => "storage_unavailable",
            StreamError::Storage(e) => e.code(),
            StreamError::DatabaseUnavailable(_) => "database_unavailable",
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
            StreamError::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            StreamError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            StreamError::Saturated(_)
            | StreamError::LogFailed(_)
            | StreamError::StorageUnavailable(_)
            | StreamError::DatabaseUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            StreamError::Storage(e) => e.status(),
            StreamError::BadContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            StreamError::Database(e) => database_status(e),
            StreamError::CorruptIndex(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
    fn retry_after(&self) -> Option<u64> {
        match self {
            StreamError::RateLimited(s) => Some(*s),
            StreamError::Saturated(_)
            | StreamError::LogFailed(_)
            | StreamError::StorageUnavailable(_)
            | StreamError::DatabaseUnavailable(_) => Some(2),
            _ => None,
        }
    }
    fn headers(&self, headers: &mut HeaderMap) {
        if let StreamError::RangeNotSatisfiable { size } = self
            && let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}"))
        {
            headers.insert(header::CONTENT_RANGE, v);
        }
    }
    fn public_message(&self) -> Option<&'static str> {
        // Fixed texts that tell a player what to do, and nothing of the cause.
        match self {
            StreamError::Saturated(_) => Some("heartbeat intake is saturated; retry shortly"),
            StreamError::StorageUnavailable(_) => {
                Some("media storage is unavailable; retry shortly")
            }
            StreamError::DatabaseUnavailable(_) => {
                Some("the database is unavailable; retry shortly")
            }
            _ => None,
        }
    }
}
impl_api_error!(StreamError);
