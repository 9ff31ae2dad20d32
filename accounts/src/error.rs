use axum::http::StatusCode;
use cloudcast_core::auth::AuthError;
use cloudcast_core::error::{ErrorCode, database_status};
use cloudcast_core::impl_api_error;
use cloudcast_core::storage::StorageError;

/// Everything the account routes can answer with; the code decides the status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountsError {
    #[error("{0}")]
    InvalidField(String),
    #[error("registration refused: users under 13 may not register")]
    UnderAge,
    #[error("that email address is already registered")]
    EmailTaken,
    #[error("that username is taken")]
    UsernameTaken,
    #[error("this account's email address is confirmed already")]
    AlreadyVerified,
    #[error("login or password is wrong")]
    BadCredentials,
    #[error("the password is wrong; this change needs the account's current password")]
    WrongPassword,
    #[error(
        "this account signs in with a code too: send `code`, from the authenticator app or a recovery code"
    )]
    SecondFactorRequired,
    #[error("the code is wrong or was used already")]
    WrongCode,
    #[error("an authenticator app is enrolled already; remove it first")]
    AlreadyEnrolled,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error(
        "passkeys need this server's public address (http.public_url) to name a host, not an IP address"
    )]
    PasskeysUnavailable,
    #[error("an account may hold at most {0} passkeys; remove one first")]
    TooManyPasskeys(i64),
    #[error("{0}")]
    PasskeyRefused(String),
    #[error("this passkey is registered already")]
    PasskeyTaken,
    #[error("recovery codes need an authenticator app or a passkey to recover: add one first")]
    NoSecondFactor,
    /// A ceremony's state that would not (de)serialise, or webauthn-rs
    /// failing on its own input: never the client's doing.
    #[error("the passkey ceremony failed: {0}")]
    Webauthn(String),
    #[error("too many attempts; retry in {0} s")]
    RateLimited(u64),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    UnsupportedImage(String),
    #[error(transparent)]
    Picture(#[from] cloudcast_pictures::PictureError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("database failed")]
    Database(#[from] sqlx::Error),
    #[error("password hashing failed")]
    Hash(#[source] argon2::password_hash::Error),
    #[error("the password hashing thread failed")]
    HashThread(#[from] tokio::task::JoinError),
}

impl ErrorCode for AccountsError {
    fn code(&self) -> &'static str {
        match self {
            AccountsError::InvalidField(_) => "invalid_field",
            AccountsError::WrongPassword => "wrong_password",
            AccountsError::SecondFactorRequired => "second_factor_required",
            AccountsError::WrongCode => "wrong_code",
            AccountsError::AlreadyEnrolled => "already_enrolled",
            AccountsError::UnderAge => "under_13",
            AccountsError::EmailTaken => "email_taken",
            AccountsError::UsernameTaken => "username_taken",
            AccountsError::AlreadyVerified => "already_verified",
            AccountsError::BadCredentials => "invalid_credentials",
            AccountsError::NotFound(_) => "not_found",
            AccountsError::PasskeysUnavailable => "passkeys_unavailable",
            AccountsError::TooManyPasskeys(_) => "too_many_passkeys",
            AccountsError::PasskeyRefused(_) => "passkey_refused",
            AccountsError::PasskeyTaken => "passkey_taken",
            AccountsError::NoSecondFactor => "no_second_factor",
            AccountsError::Webauthn(_) => "internal",
            AccountsError::RateLimited(_) => "rate_limited",
            AccountsError::TooLarge(_) => "too_large",
            AccountsError::UnsupportedImage(_) => "unsupported_image",
            AccountsError::Picture(e) => e.code(),
            AccountsError::Auth(e) => e.code(),
            AccountsError::Storage(e) => e.code(),
            AccountsError::Database(_) => "database",
            AccountsError::Hash(_) | AccountsError::HashThread(_) => "internal",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            AccountsError::WrongPassword
            | AccountsError::SecondFactorRequired
            | AccountsError::WrongCode => StatusCode::FORBIDDEN,
            AccountsError::InvalidField(_) | AccountsError::UnderAge => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            AccountsError::EmailTaken
            | AccountsError::UsernameTaken
            | AccountsError::AlreadyVerified
            | AccountsError::AlreadyEnrolled => StatusCode::CONFLICT,
            AccountsError::BadCredentials => StatusCode::UNAUTHORIZED,
            AccountsError::NotFound(_) => StatusCode::NOT_FOUND,
            AccountsError::PasskeysUnavailable
            | AccountsError::TooManyPasskeys(_)
            | AccountsError::PasskeyTaken
            | AccountsError::NoSecondFactor => StatusCode::CONFLICT,
            AccountsError::PasskeyRefused(_) => StatusCode::BAD_REQUEST,
            AccountsError::Webauthn(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AccountsError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            AccountsError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AccountsError::UnsupportedImage(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AccountsError::Picture(e) => {
                StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::UNSUPPORTED_MEDIA_TYPE)
            }
            AccountsError::Auth(e) => e.status(),
            AccountsError::Storage(e) => e.status(),
            AccountsError::Database(e) => database_status(e),
            AccountsError::Hash(_) | AccountsError::HashThread(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            AccountsError::RateLimited(secs) => Some(*secs),
            _ => None,
        }
    }
}
impl_api_error!(AccountsError);

impl AccountsError {
    /// A failure inside a passkey ceremony that is not the client's.
    pub fn passkey(e: impl std::fmt::Display) -> AccountsError {
        AccountsError::Webauthn(e.to_string())
    }
}

impl From<cloudcast_core::text::TextProblem> for AccountsError {
    fn from(p: cloudcast_core::text::TextProblem) -> Self {
        AccountsError::InvalidField(p.0)
    }
}
