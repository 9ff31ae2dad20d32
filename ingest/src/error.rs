use axum::http::StatusCode;
use cloudcast_core::error::{ApiError, CoreError, ErrorCode};
use cloudcast_core::impl_api_error;

/// Everything ingest can answer with; the code decides the HTTP status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    #[error("{0}")]
    InvalidField(String),
    #[error("registration refused: users under 13 may not register")]
    UnderAge,
    #[error("that email address is already registered")]
    EmailTaken,
    #[error("that username is taken")]
    UsernameTaken,
    #[error("login or password is wrong")]
    BadCredentials,
    #[error("{0}")]
    BadTusRequest(String),
    #[error("this server speaks tus 1.0.0; send `Tus-Resumable: 1.0.0`")]
    TusVersion,
    #[error("send the chunk as `Content-Type: application/offset+octet-stream`")]
    BadContentType,
    #[error(
        "Upload-Offset {sent} does not match the upload's offset {expected}; HEAD the upload and resume from there"
    )]
    OffsetMismatch { sent: u64, expected: u64 },
    #[error("another request is writing to this upload; retry when it ends")]
    Locked,
    #[error("{0}")]
    TooLarge(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("this upload is {0} and takes no more bytes")]
    NotReceiving(String),
    #[error("the request body was cut off: {0}")]
    BodyInterrupted(String),
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("database failed: {0}")]
    Database(#[from] sqlx::Error),
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("too many attempts; retry in {0} s")]
    RateLimited(u64),
    #[error("{0}")]
    UnsupportedImage(String),
    #[error("only the owner may change this cloudcast")]
    NotOwner,
    #[error("this upload is complete; delete the cloudcast instead")]
    UploadComplete,
    #[error("only a cloudcast whose processing failed can be retried")]
    NotRetryable,
    #[error("{0}")]
    Internal(String),
    /// The signed-in user may not do this (the message says who may).
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("you cannot report your own comment; delete it instead")]
    OwnComment,
    /// An error of the foundation's helpers (auth look-ups), passed on as is.
    #[error("{}", .0.message)]
    Api(ApiError),
}

impl From<ApiError> for IngestError {
    fn from(e: ApiError) -> Self {
        IngestError::Api(e)
    }
}

impl ErrorCode for IngestError {
    fn code(&self) -> &'static str {
        match self {
            IngestError::InvalidField(_) => "invalid_field",
            IngestError::UnderAge => "under_13",
            IngestError::EmailTaken => "email_taken",
            IngestError::UsernameTaken => "username_taken",
            IngestError::BadCredentials => "invalid_credentials",
            IngestError::BadTusRequest(_) => "bad_tus_request",
            IngestError::TusVersion => "tus_version",
            IngestError::BadContentType => "unsupported_media_type",
            IngestError::OffsetMismatch { .. } => "offset_mismatch",
            IngestError::Locked => "upload_locked",
            IngestError::TooLarge(_) => "too_large",
            IngestError::NotFound(_) => "not_found",
            IngestError::NotReceiving(_) => "upload_closed",
            IngestError::BodyInterrupted(_) => "body_interrupted",
            IngestError::Core(e) => e.code(),
            IngestError::Database(_) => "database",
            IngestError::Hash(_) => "internal",
            IngestError::RateLimited(_) => "rate_limited",
            IngestError::UnsupportedImage(_) => "unsupported_image",
            IngestError::NotOwner => "not_owner",
            IngestError::UploadComplete => "upload_complete",
            IngestError::NotRetryable => "not_retryable",
            IngestError::Internal(_) => "internal",
            IngestError::Forbidden(_) => "forbidden",
            IngestError::OwnComment => "own_comment",
            IngestError::Api(e) => e.code,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            IngestError::InvalidField(_) => StatusCode::UNPROCESSABLE_ENTITY,
            IngestError::UnderAge => StatusCode::UNPROCESSABLE_ENTITY,
            IngestError::EmailTaken | IngestError::UsernameTaken => StatusCode::CONFLICT,
            IngestError::BadCredentials => StatusCode::UNAUTHORIZED,
            IngestError::BadTusRequest(_) => StatusCode::BAD_REQUEST,
            IngestError::TusVersion => StatusCode::PRECONDITION_FAILED,
            IngestError::BadContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            IngestError::OffsetMismatch { .. } => StatusCode::CONFLICT,
            IngestError::Locked => StatusCode::LOCKED,
            IngestError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            IngestError::NotFound(_) => StatusCode::NOT_FOUND,
            IngestError::NotReceiving(_) => StatusCode::GONE,
            IngestError::BodyInterrupted(_) => StatusCode::BAD_REQUEST,
            IngestError::Core(e) => e.status(),
            IngestError::Database(sqlx::Error::PoolTimedOut) => StatusCode::SERVICE_UNAVAILABLE,
            IngestError::Database(_) | IngestError::Hash(_) | IngestError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            IngestError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            IngestError::UnsupportedImage(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            IngestError::NotOwner => StatusCode::FORBIDDEN,
            IngestError::UploadComplete | IngestError::NotRetryable => StatusCode::CONFLICT,
            IngestError::Forbidden(_) => StatusCode::FORBIDDEN,
            IngestError::OwnComment => StatusCode::BAD_REQUEST,
            IngestError::Api(e) => e.status,
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            IngestError::RateLimited(secs) => Some(*secs),
            IngestError::Api(e) => e.retry_after,
            _ => None,
        }
    }
}
impl_api_error!(IngestError);
