use axum::http::StatusCode;
use cloudcast_core::auth::AuthError;
use cloudcast_core::error::{ErrorCode, database_status};
use cloudcast_core::impl_api_error;
use cloudcast_core::storage::StorageError;

/// Everything the catalogue's routes can answer with; the code decides the status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    #[error("{0}")]
    InvalidField(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("only the owner may change this cloudcast")]
    NotOwner,
    #[error("only a cloudcast whose processing failed can be retried")]
    NotRetryable,
    #[error("this cloudcast is not ready yet: publish it once its processing is done")]
    NotReady,
    /// The signed-in user may not do this (the message says who may).
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("you cannot report your own comment; delete it instead")]
    OwnComment,
    #[error("the owner of this cloudcast has turned comments off")]
    CommentsDisabled,
    #[error("this profile takes no comments")]
    ProfileCommentsOff,
    #[error("you cannot report your own cloudcast; delete it or change its visibility instead")]
    OwnReport,
    #[error("this {0} has been decided already")]
    Decided(&'static str),
    #[error("this cloudcast is not taken down")]
    NotTakenDown,
    #[error("a counter-notice on this cloudcast is waiting for a moderator already")]
    CounterNoticeOpen,
    #[error("you cannot follow yourself")]
    SelfFollow,
    #[error("you cannot block yourself")]
    SelfBlock,
    /// As many of these as one may keep.
    #[error("{0}: you have as many as one may keep")]
    LimitReached(&'static str),
    /// One of the two blocked the other (which one is not said).
    #[error(
        "a block stands between you and this user: neither may follow the other or comment on the other's mixes or comments"
    )]
    Blocked,
    #[error("you cannot repost your own cloudcast")]
    OwnRepost,
    #[error("q: {0}")]
    Query(String),
    #[error("{0}")]
    UnsupportedImage(String),
    #[error("{0}")]
    TooLarge(String),
    #[error(transparent)]
    Picture(#[from] cloudcast_pictures::PictureError),
    #[error(transparent)]
    Page(#[from] cloudcast_core::page::PageError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("database failed")]
    Database(#[from] sqlx::Error),
}

impl ErrorCode for CatalogError {
    fn code(&self) -> &'static str {
        match self {
            CatalogError::InvalidField(_) => "invalid_field",
            CatalogError::BadRequest(_) => "bad_query",
            CatalogError::NotFound(_) => "not_found",
            CatalogError::NotOwner => "not_owner",
            CatalogError::NotRetryable => "not_retryable",
            CatalogError::NotReady => "not_ready",
            CatalogError::Forbidden(_) => "forbidden",
            CatalogError::OwnComment => "own_comment",
            CatalogError::CommentsDisabled | CatalogError::ProfileCommentsOff => {
                "comments_disabled"
            }
            CatalogError::SelfFollow => "self_follow",
            CatalogError::SelfBlock => "self_block",
            CatalogError::LimitReached(_) => "limit_reached",
            CatalogError::Blocked => "blocked",
            CatalogError::OwnRepost | CatalogError::OwnReport => "own_cloudcast",
            CatalogError::Decided(_) => "already_decided",
            CatalogError::NotTakenDown => "not_taken_down",
            CatalogError::CounterNoticeOpen => "counter_notice_open",
            CatalogError::Query(_) => "bad_query",
            CatalogError::UnsupportedImage(_) => "unsupported_image",
            CatalogError::TooLarge(_) => "too_large",
            CatalogError::Picture(e) => e.code(),
            CatalogError::Page(e) => e.code(),
            CatalogError::Auth(e) => e.code(),
            CatalogError::Storage(e) => e.code(),
            CatalogError::Database(_) => "database",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            CatalogError::InvalidField(_) => StatusCode::UNPROCESSABLE_ENTITY,
            CatalogError::BadRequest(_)
            | CatalogError::OwnComment
            | CatalogError::SelfFollow
            | CatalogError::SelfBlock
            | CatalogError::OwnRepost
            | CatalogError::OwnReport
            | CatalogError::Query(_) => StatusCode::BAD_REQUEST,
            CatalogError::CommentsDisabled
            | CatalogError::ProfileCommentsOff
            | CatalogError::Blocked => StatusCode::FORBIDDEN,
            CatalogError::UnsupportedImage(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            CatalogError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            CatalogError::Picture(e) => {
                StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::UNSUPPORTED_MEDIA_TYPE)
            }
            CatalogError::Page(e) => e.status(),
            CatalogError::NotFound(_) => StatusCode::NOT_FOUND,
            CatalogError::NotOwner | CatalogError::Forbidden(_) => StatusCode::FORBIDDEN,
            CatalogError::NotRetryable
            | CatalogError::NotReady
            | CatalogError::Decided(_)
            | CatalogError::NotTakenDown
            | CatalogError::CounterNoticeOpen
            | CatalogError::LimitReached(_) => StatusCode::CONFLICT,
            CatalogError::Auth(e) => e.status(),
            CatalogError::Storage(e) => e.status(),
            CatalogError::Database(e) => database_status(e),
        }
    }
}
impl_api_error!(CatalogError);

impl From<cloudcast_core::text::TextProblem> for CatalogError {
    fn from(p: cloudcast_core::text::TextProblem) -> Self {
        CatalogError::InvalidField(p.0)
    }
}

/// A foreign key that vanished under a concurrent delete is "not found".
pub(crate) fn gone(what: &'static str) -> impl Fn(sqlx::Error) -> CatalogError {
    move |e| match &e {
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => CatalogError::NotFound(what),
        _ => CatalogError::Database(e),
    }
}
