//! Every error a client can see has a stable code and an HTTP status.
//!
//! Domain crates define their own `thiserror` enums, implement [`ErrorCode`]
//! and call [`impl_api_error!`](crate::impl_api_error) to turn them into JSON
//! responses of the form `{"error": {"code": "...", "message": "..."}}`.
//! Server-side failures (5xx) are logged in full and answered with a generic
//! message so internals never leak to clients.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A stable, machine-readable code plus the HTTP status it maps to.
pub trait ErrorCode: std::fmt::Display {
    fn code(&self) -> &'static str;
    fn status(&self) -> StatusCode;
    /// Seconds a client should wait before retrying (sent as `Retry-After`).
    fn retry_after(&self) -> Option<u64> {
        None
    }
}

/// A ready-to-send API error.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
    /// Converts any domain error, logging server-side ones.
    pub fn from_code<E: ErrorCode + std::fmt::Debug>(err: &E) -> Self {
        let mut api = Self::from_code_inner(err);
        api.retry_after = err.retry_after().or(api.retry_after);
        api
    }

    fn from_code_inner<E: ErrorCode + std::fmt::Debug>(err: &E) -> Self {
        let status = err.status();
        if status.is_server_error() {
            tracing::error!(code = err.code(), error = ?err, "request failed");
            let message = if status == StatusCode::SERVICE_UNAVAILABLE {
                err.to_string()
            } else {
                "internal error; it has been logged".to_string()
            };
            Self::new(status, err.code(), message)
        } else {
            Self::new(status, err.code(), err.to_string())
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        let mut resp = (self.status, Json(body)).into_response();
        let retry = match (self.retry_after, self.status) {
            (Some(s), _) => Some(s),
            (None, StatusCode::SERVICE_UNAVAILABLE) => Some(5),
            _ => None,
        };
        if let Some(secs) = retry {
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(secs),
            );
        }
        resp
    }
}

/// Implements `IntoResponse` for a domain error enum that implements [`ErrorCode`].
#[macro_export]
macro_rules! impl_api_error {
    ($ty:ty) => {
        impl ::axum::response::IntoResponse for $ty {
            fn into_response(self) -> ::axum::response::Response {
                $crate::error::ApiError::from_code(&self).into_response()
            }
        }
    };
}

/// Errors of the foundation itself (config, storage, database).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    #[error("configuration is invalid: {0}")]
    Config(String),
    #[error("object storage failed: {0}")]
    Storage(String),
    #[error("object not found in storage: {0}")]
    NotFound(String),
    #[error("database failed: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("i/o failed: {0}")]
    Io(#[from] std::io::Error),
}

impl ErrorCode for CoreError {
    fn code(&self) -> &'static str {
        match self {
            CoreError::Config(_) => "config",
            CoreError::Storage(_) => "storage_unavailable",
            CoreError::NotFound(_) => "not_found",
            CoreError::Database(_) | CoreError::Migrate(_) => "database",
            CoreError::Io(_) => "io",
        }
    }
    fn status(&self) -> StatusCode {
        match self {
            CoreError::NotFound(_) => StatusCode::NOT_FOUND,
            CoreError::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}
impl_api_error!(CoreError);

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        ApiError::from_code(&e)
    }
}
