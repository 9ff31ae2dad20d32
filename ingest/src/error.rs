use axum::http::StatusCode;
use cloudcast_core::auth::AuthError;
use cloudcast_core::error::{ErrorCode, database_status};
use cloudcast_core::impl_api_error;
use cloudcast_core::states::UploadState;
use cloudcast_core::storage::StorageError;

/// Everything the upload routes can answer with; the code decides the status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    #[error("{0}")]
    InvalidField(String),
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
    #[error("{0}")]
    OverQuota(cloudcast_core::quotas::OverQuota),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("this upload is {0} and takes no more bytes")]
    NotReceiving(UploadState),
    #[error("this upload is complete; delete the cloudcast instead")]
    UploadComplete,
    #[error("the request body was cut off")]
    BodyInterrupted(#[source] axum::Error),
    #[error("the upload's stored tail ({0} bytes) is longer than a part")]
    CorruptTail(usize),
    #[error("a part upload task failed")]
    PartTask(#[source] tokio::task::JoinError),
    #[error("mapping a part buffer failed")]
    PartBuffer(#[source] std::io::Error),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("database failed")]
    Database(#[from] sqlx::Error),
}

impl ErrorCode for IngestError {
    fn code(&self) -> &'static str {
        match self {
            IngestError::InvalidField(_) => "invalid_field",
            IngestError::BadTusRequest(_) => "bad_tus_request",
            IngestError::TusVersion => "tus_version",
            IngestError::BadContentType => "unsupported_media_type",
            IngestError::OffsetMismatch { .. } => "offset_mismatch",
            IngestError::Locked => "upload_locked",
            IngestError::TooLarge(_) => "too_large",
            IngestError::OverQuota(q) => q.code(),
            IngestError::NotFound(_) => "not_found",
            IngestError::NotReceiving(_) => "upload_closed",
            IngestError::UploadComplete => "upload_complete",
            IngestError::BodyInterrupted(_) => "body_interrupted",
            IngestError::CorruptTail(_) | IngestError::PartTask(_) | IngestError::PartBuffer(_) => {
                "internal"
            }
            IngestError::Auth(e) => e.code(),
            IngestError::Storage(e) => e.code(),
            IngestError::Database(_) => "database",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            IngestError::InvalidField(_) => StatusCode::UNPROCESSABLE_ENTITY,
            IngestError::BadTusRequest(_) | IngestError::BodyInterrupted(_) => {
                StatusCode::BAD_REQUEST
            }
            IngestError::TusVersion => StatusCode::PRECONDITION_FAILED,
            IngestError::BadContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            IngestError::OffsetMismatch { .. } | IngestError::UploadComplete => {
                StatusCode::CONFLICT
            }
            IngestError::Locked => StatusCode::LOCKED,
            IngestError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            // Over what the account may hold or have open: not until it
            // frees some (403); over today's volume: tomorrow (429).
            IngestError::OverQuota(cloudcast_core::quotas::OverQuota::Daily { .. }) => {
                StatusCode::TOO_MANY_REQUESTS
            }
            IngestError::OverQuota(_) => StatusCode::FORBIDDEN,
            IngestError::NotFound(_) => StatusCode::NOT_FOUND,
            IngestError::NotReceiving(_) => StatusCode::GONE,
            IngestError::CorruptTail(_) | IngestError::PartTask(_) | IngestError::PartBuffer(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            IngestError::Auth(e) => e.status(),
            IngestError::Storage(e) => e.status(),
            IngestError::Database(e) => database_status(e),
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            IngestError::OverQuota(cloudcast_core::quotas::OverQuota::Daily {
                retry_after_secs,
                ..
            }) => Some(*retry_after_secs),
            _ => None,
        }
    }
}
impl_api_error!(IngestError);
