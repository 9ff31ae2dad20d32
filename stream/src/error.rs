use axum::http::StatusCode;
use cloudcast_core::error::{CoreError, ErrorCode};
use cloudcast_core::impl_api_error;
use cloudcast_core::signing::SignatureError;

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
    BadHeartbeat(String),
    #[error("heartbeat intake is saturated; retry shortly")]
    Saturated,
    #[error("the body must be JSON (`application/json` or `text/plain`)")]
    BadContentType,
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("database failed: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the stored fragment index is unreadable: {0}")]
    CorruptIndex(String),
}

impl ErrorCode for StreamError {
    fn code(&self) -> &'static str {
        match self {
            StreamError::NotFound(_) => "not_found",
            StreamError::Forbidden(SignatureError::Expired) => "url_expired",
            StreamError::Forbidden(SignatureError::Invalid) => "bad_signature",
            StreamError::Unsigned => "unsigned_url",
            StreamError::BadHeartbeat(_) => "invalid_heartbeat",
            StreamError::Saturated => "intake_saturated",
            StreamError::BadContentType => "unsupported_media_type",
            StreamError::Core(e) => e.code(),
            StreamError::Database(_) => "database",
            StreamError::CorruptIndex(_) => "internal",
        }
    }
    fn status(&self) -> StatusCode {
        match self {
            StreamError::NotFound(_) => StatusCode::NOT_FOUND,
            StreamError::Forbidden(_) | StreamError::Unsigned => StatusCode::FORBIDDEN,
            StreamError::BadHeartbeat(_) => StatusCode::UNPROCESSABLE_ENTITY,
            StreamError::Saturated => StatusCode::SERVICE_UNAVAILABLE,
            StreamError::BadContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            StreamError::Core(e) => e.status(),
            StreamError::Database(sqlx::Error::PoolTimedOut) => StatusCode::SERVICE_UNAVAILABLE,
            StreamError::Database(_) | StreamError::CorruptIndex(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}
impl_api_error!(StreamError);
