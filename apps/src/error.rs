use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cloudcast_core::auth::AuthError;
use cloudcast_core::error::{ErrorCode, database_status};
use cloudcast_core::impl_api_error;
use cloudcast_core::storage::StorageError;

/// What the JSON routes (developers' apps, connected apps, the consent
/// step) answer with; the code decides the status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppsError {
    #[error("{0}")]
    InvalidField(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("an account may register at most {0} apps; delete one first")]
    TooMany(u32),
    #[error("a public app has no secret: it proves itself with PKCE")]
    PublicClient,
    /// An authorization request that cannot go on; with `redirect`, where
    /// the person goes back to the app with the error (RFC 6749 §4.1.2.1).
    #[error("{message}")]
    Refused {
        code: &'static str,
        message: String,
        redirect: Option<String>,
    },
    #[error("{0}")]
    TooLarge(String),
    #[error(transparent)]
    Picture(#[from] cloudcast_pictures::PictureError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("database failed")]
    Database(#[from] sqlx::Error),
}

impl ErrorCode for AppsError {
    fn code(&self) -> &'static str {
        match self {
            AppsError::InvalidField(_) => "invalid_field",
            AppsError::NotFound(_) => "not_found",
            AppsError::TooMany(_) => "too_many_apps",
            AppsError::PublicClient => "public_client",
            AppsError::Refused { code, .. } => code,
            AppsError::TooLarge(_) => "too_large",
            AppsError::Picture(e) => e.code(),
            AppsError::Storage(e) => e.code(),
            AppsError::Auth(e) => e.code(),
            AppsError::Database(_) => "database",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            AppsError::InvalidField(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppsError::NotFound(_) => StatusCode::NOT_FOUND,
            AppsError::TooMany(_) | AppsError::PublicClient => StatusCode::CONFLICT,
            AppsError::Refused { .. } => StatusCode::BAD_REQUEST,
            AppsError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppsError::Picture(e) => {
                StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::UNSUPPORTED_MEDIA_TYPE)
            }
            AppsError::Storage(e) => e.status(),
            AppsError::Auth(e) => e.status(),
            AppsError::Database(e) => database_status(e),
        }
    }

    fn headers(&self, headers: &mut HeaderMap) {
        if let AppsError::Refused {
            redirect: Some(to), ..
        } = self
            && let Ok(v) = HeaderValue::from_str(to)
        {
            headers.insert(header::LOCATION, v);
        }
    }
}
impl_api_error!(AppsError);

impl From<cloudcast_core::text::TextProblem> for AppsError {
    fn from(p: cloudcast_core::text::TextProblem) -> Self {
        AppsError::InvalidField(p.0)
    }
}

/// The token and revocation endpoints' errors, in RFC 6749 §5.2's shape
/// (`{"error": "invalid_grant", "error_description": ".."}`), which OAuth
/// client libraries read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    #[error("{0}")]
    InvalidRequest(String),
    /// The client is unknown or did not prove itself (401).
    #[error("{0}")]
    InvalidClient(&'static str),
    #[error("{0}")]
    InvalidGrant(&'static str),
    #[error("{0}")]
    InvalidScope(String),
    #[error("grant_type must be authorization_code or refresh_token")]
    UnsupportedGrantType,
    #[error("the authorization server failed")]
    Database(#[from] sqlx::Error),
}

impl OAuthError {
    fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_) => "invalid_request",
            OAuthError::InvalidClient(_) => "invalid_client",
            OAuthError::InvalidGrant(_) => "invalid_grant",
            OAuthError::InvalidScope(_) => "invalid_scope",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::Database(_) => "server_error",
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = match &self {
            OAuthError::InvalidClient(_) => StatusCode::UNAUTHORIZED,
            OAuthError::Database(e) => database_status(e),
            _ => StatusCode::BAD_REQUEST,
        };
        let description = if status.is_server_error() {
            tracing::error!(error = %cloudcast_core::error::Chain(&self), "token endpoint failed");
            "the authorization server could not answer; retry shortly".to_string()
        } else {
            self.to_string()
        };
        let body = serde_json::json!({"error": self.code(), "error_description": description});
        let mut resp = (status, Json(body)).into_response();
        let h = resp.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let OAuthError::InvalidClient(_) = self {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"cloudcast\""),
            );
        }
        resp
    }
}
