//! Why a page could not be shown. Pages answer in HTML (the API's JSON
//! shape stays for `/api`, `/stream` and `/oembed`); a 5xx page says only
//! that something failed and the request's id, the cause goes to the log.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use cloudcast_core::error::Chain;
use cloudcast_core::request_id;

use crate::templates;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SiteError {
    #[error("{0}")]
    NotFound(&'static str),
    /// The API refused the page's request (a 4xx): its status and message.
    #[error("{1}")]
    Refused(StatusCode, String),
    #[error("the address is not valid")]
    BadPath,
    #[error("the API answered {0}")]
    Unavailable(StatusCode),
    #[error("reading the API's answer to {0} failed")]
    Upstream(String),
    #[error("the API's answer to {0} did not parse")]
    Decode(String, #[source] serde_json::Error),
    #[error("rendering the page failed")]
    Render(#[from] askama::Error),
}

impl SiteError {
    pub fn code(&self) -> &'static str {
        match self {
            SiteError::NotFound(_) => "not_found",
            SiteError::Refused(..) => "refused",
            SiteError::BadPath => "bad_request",
            SiteError::Unavailable(_) => "unavailable",
            SiteError::Upstream(_) | SiteError::Decode(..) | SiteError::Render(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            SiteError::NotFound(_) => StatusCode::NOT_FOUND,
            SiteError::Refused(s, _) => *s,
            SiteError::BadPath => StatusCode::BAD_REQUEST,
            // The API's own 503 (a store away) stays a 503.
            SiteError::Unavailable(s) if *s == StatusCode::SERVICE_UNAVAILABLE => *s,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for SiteError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = if status.is_server_error() {
            tracing::error!(code = self.code(), error = %Chain(&self), "page failed");
            format!(
                "Something went wrong on our side. If it keeps happening, quote request {}.",
                request_id::current().unwrap_or_default()
            )
        } else {
            self.to_string()
        };
        templates::error_page(status, &message)
    }
}
