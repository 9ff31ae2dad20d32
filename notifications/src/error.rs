use axum::http::StatusCode;
use cloudcast_core::error::{ErrorCode, database_status};
use cloudcast_core::impl_api_error;
use cloudcast_core::page::PageError;

/// Everything the notification routes can answer with; the code decides
/// the status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotificationsError {
    #[error("{0}")]
    InvalidField(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("this link to stop mail is not one this site made (or was cut short)")]
    BadToken,
    #[error(
        "this node has as many live streams open as it keeps; ask for the count every {0} s instead"
    )]
    StreamsFull(u64),
    #[error(transparent)]
    Page(#[from] PageError),
    #[error("database failed")]
    Database(#[from] sqlx::Error),
}

impl ErrorCode for NotificationsError {
    fn code(&self) -> &'static str {
        match self {
            NotificationsError::InvalidField(_) => "invalid_field",
            NotificationsError::NotFound(_) => "not_found",
            NotificationsError::BadToken => "bad_token",
            NotificationsError::StreamsFull(_) => "streams_full",
            NotificationsError::Page(e) => e.code(),
            NotificationsError::Database(_) => "database",
        }
    }
    fn status(&self) -> StatusCode {
        match self {
            NotificationsError::InvalidField(_) => StatusCode::UNPROCESSABLE_ENTITY,
            NotificationsError::NotFound(_) | NotificationsError::BadToken => StatusCode::NOT_FOUND,
            NotificationsError::StreamsFull(_) => StatusCode::SERVICE_UNAVAILABLE,
            NotificationsError::Page(e) => e.status(),
            NotificationsError::Database(e) => database_status(e),
        }
    }
    fn retry_after(&self) -> Option<u64> {
        match self {
            NotificationsError::StreamsFull(s) => Some(*s),
            _ => None,
        }
    }
    fn public_message(&self) -> Option<&'static str> {
        match self {
            // A 503 a client is expected to act on: say what to do.
            NotificationsError::StreamsFull(_) => Some(
                "this node keeps no more live streams; poll GET /api/v1/me/notifications/unread (Retry-After says how often)",
            ),
            _ => None,
        }
    }
}
impl_api_error!(NotificationsError);
