use axum::http::StatusCode;
use cloudcast_core::auth::AuthError;
use cloudcast_core::error::{ErrorCode, database_status};
use cloudcast_core::impl_api_error;
use cloudcast_core::page::PageError;
use cloudcast_privacy::PrivacyError;

/// Everything the moderation routes can answer with; the code decides the
/// status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModerationError {
    #[error("{0}")]
    InvalidField(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("this {0} was decided already")]
    Decided(&'static str),
    #[error("you cannot report your own account")]
    OwnAccount,
    #[error("this decision has an open appeal already; a moderator will answer it")]
    AppealOpen,
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Privacy(#[from] PrivacyError),
    #[error(transparent)]
    Page(#[from] PageError),
    #[error("database failed")]
    Database(#[from] sqlx::Error),
}

impl ErrorCode for ModerationError {
    fn code(&self) -> &'static str {
        match self {
            ModerationError::InvalidField(_) => "invalid_field",
            ModerationError::NotFound(_) => "not_found",
            ModerationError::Decided(_) => "already_decided",
            ModerationError::OwnAccount => "own_account",
            ModerationError::AppealOpen => "appeal_open",
            ModerationError::Auth(e) => e.code(),
            ModerationError::Privacy(e) => e.code(),
            ModerationError::Page(e) => e.code(),
            ModerationError::Database(_) => "database",
        }
    }
    fn status(&self) -> StatusCode {
        match self {
            ModerationError::InvalidField(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ModerationError::NotFound(_) => StatusCode::NOT_FOUND,
            ModerationError::Decided(_) | ModerationError::AppealOpen => StatusCode::CONFLICT,
            ModerationError::OwnAccount => StatusCode::BAD_REQUEST,
            ModerationError::Auth(e) => e.status(),
            ModerationError::Privacy(e) => e.status(),
            ModerationError::Page(e) => e.status(),
            ModerationError::Database(e) => database_status(e),
        }
    }
}
impl_api_error!(ModerationError);

impl From<cloudcast_core::text::TextProblem> for ModerationError {
    fn from(p: cloudcast_core::text::TextProblem) -> Self {
        ModerationError::InvalidField(p.0)
    }
}
