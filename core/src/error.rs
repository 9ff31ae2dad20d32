//! Every error a client can see has a stable code and an HTTP status.
//!
//! Domain crates define their own `thiserror` enums (sources kept with
//! `#[source]`/`#[from]`), implement [`ErrorCode`] and call
//! [`impl_api_error!`](crate::impl_api_error); every error response then goes
//! through [`ApiError`]: `{"error": {"code": "...", "message": "..."}}`.
//!
//! A 4xx names the problem in its message. A 5xx never carries internal
//! text: its body has the code, a generic message and the request's id
//! (`request_id`, also sent as `X-Request-Id`), and the whole error with its
//! chain of causes goes to the log under that id.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::request_id;

/// A stable, machine-readable code plus the HTTP status it maps to.
pub trait ErrorCode: std::error::Error {
    fn code(&self) -> &'static str;
    fn status(&self) -> StatusCode;
    /// Seconds a client should wait before retrying (sent as `Retry-After`).
    fn retry_after(&self) -> Option<u64> {
        None
    }
    /// Headers the answer carries besides the body (e.g. `Content-Range`).
    fn headers(&self, _headers: &mut HeaderMap) {}
    /// For a 5xx, a fixed message clients may see instead of the generic
    /// one (a `&'static str`, so no runtime detail can leak through it).
    fn public_message(&self) -> Option<&'static str> {
        None
    }
}

/// `error: cause: cause ...`: an error and its sources on one line, for logs.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'a));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

/// A ready-to-send API error.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<u64>,
    pub headers: HeaderMap,
}

/// What a 5xx body says, by status: nothing of the failure itself.
fn generic_message(status: StatusCode) -> &'static str {
    match status {
        StatusCode::SERVICE_UNAVAILABLE => {
            "a service this request needs is unavailable; retry shortly"
        }
        StatusCode::GATEWAY_TIMEOUT => "a service this request needs did not answer in time",
        _ => "internal error; it has been logged with this request's id",
    }
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
            headers: HeaderMap::new(),
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
    /// A server-side error: its code and the generic message, nothing else.
    pub fn server(status: StatusCode, code: &'static str) -> Self {
        Self::new(status, code, generic_message(status))
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// Converts any domain error. A server-side one is logged in full with
    /// the request's id, and answered with a generic message.
    pub fn from_code<E: ErrorCode>(err: &E) -> Self {
        let status = err.status();
        let mut api = if status.is_server_error() {
            tracing::error!(
                code = err.code(),
                request_id = request_id::current().as_deref().unwrap_or("-"),
                error = %Chain(err),
                "request failed"
            );
            match err.public_message() {
                Some(message) => Self::new(status, err.code(), message),
                None => Self::server(status, err.code()),
            }
        } else {
            Self::new(status, err.code(), err.to_string())
        };
        api.retry_after = err.retry_after();
        err.headers(&mut api.headers);
        crate::metrics::error_answered(api.code, status);
        api
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl ApiError {
    /// The JSON body; a 5xx's carries the request's id.
    pub fn body(&self) -> serde_json::Value {
        if self.status.is_server_error() {
            let id = request_id::current().unwrap_or_default();
            json!({"error": {"code": self.code, "message": self.message, "request_id": id}})
        } else {
            json!({"error": {"code": self.code, "message": self.message}})
        }
    }

    /// The `message` of an error body as [`ApiError::body`] writes it, if
    /// `body` is one.
    pub fn message_in(body: &[u8]) -> Option<String> {
        serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
    }

    /// The stable code in an error body this API wrote (`under_13`, ...).
    pub fn code_in(body: &[u8]) -> Option<String> {
        serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, Json(self.body())).into_response();
        let retry = match (self.retry_after, self.status) {
            (Some(s), _) => Some(s),
            (None, StatusCode::SERVICE_UNAVAILABLE) => Some(5),
            _ => None,
        };
        let h = resp.headers_mut();
        if let Some(secs) = retry {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        for (name, value) in self.headers.iter() {
            h.insert(name.clone(), value.clone());
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
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    #[error("database failed")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("i/o failed")]
    Io(#[from] std::io::Error),
}

/// The status of a database error: a pool that timed out (the database is
/// away or saturated) is 503, anything else 500.
pub fn database_status(e: &sqlx::Error) -> StatusCode {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl ErrorCode for CoreError {
    fn code(&self) -> &'static str {
        match self {
            CoreError::Config(_) => "config",
            CoreError::Storage(e) => e.code(),
            CoreError::Database(_) | CoreError::Migrate(_) => "database",
            CoreError::Io(_) => "io",
        }
    }
    fn status(&self) -> StatusCode {
        match self {
            CoreError::Storage(e) => e.status(),
            CoreError::Database(e) => database_status(e),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("the store failed")]
    struct Outer(#[source] std::io::Error);

    impl ErrorCode for Outer {
        fn code(&self) -> &'static str {
            "storage_unavailable"
        }
        fn status(&self) -> StatusCode {
            StatusCode::SERVICE_UNAVAILABLE
        }
    }

    #[test]
    fn chains_show_every_cause() {
        let e = Outer(std::io::Error::other("connection refused by 10.0.0.7"));
        assert_eq!(
            Chain(&e).to_string(),
            "the store failed: connection refused by 10.0.0.7"
        );
    }

    #[test]
    fn server_errors_keep_their_details_out_of_the_body() {
        let e = Outer(std::io::Error::other("connection refused by 10.0.0.7"));
        let api = ApiError::from_code(&e);
        assert_eq!(api.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(api.code, "storage_unavailable");
        assert!(!api.message.contains("10.0.0.7"), "{}", api.message);
        assert!(!api.message.contains("store failed"), "{}", api.message);
    }
}
