//! The pages' way to the API: requests made in-process to the same router
//! that serves `/api`, carrying the visitor's cookies, so a page shows what
//! the API would show that visitor and no rule has a second home here.

use std::net::SocketAddr;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use tower::ServiceExt;

use crate::error::SiteError;

/// What the API answered.
#[derive(Debug)]
pub enum Answer<T> {
    Found(T),
    /// A redirect; the `Location` it gave.
    Moved(String),
    /// A refusal (4xx): the status and the API's message.
    Refused(StatusCode, String),
}

/// The API's answer to a form's post.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// The error code of a refusal (`under_13`, ...), if it has one.
    pub fn code(&self) -> Option<String> {
        cloudcast_core::ApiError::code_in(&self.body)
    }

    /// The challenge of a `second_factor_required` answer to a password.
    pub fn challenge(&self) -> Option<String> {
        self.json()["error"]["challenge"]
            .as_str()
            .map(str::to_owned)
    }

    /// The message of a refusal, else the status's reason.
    pub fn message(&self) -> String {
        cloudcast_core::ApiError::message_in(&self.body).unwrap_or_else(|| {
            self.status
                .canonical_reason()
                .unwrap_or("refused")
                .to_owned()
        })
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }
}

/// The API an in-process page asks; cheap to clone.
#[derive(Clone)]
pub struct Api {
    router: Router,
}

/// API answers are small JSON documents; a page never needs more.
const MAX_ANSWER_BYTES: usize = 4 << 20;

/// Who the page is asking for: the visitor's cookies and address.
#[derive(Clone, Default)]
pub struct Visitor {
    pub cookie: Option<HeaderValue>,
    pub peer: Option<SocketAddr>,
    pub user_agent: Option<HeaderValue>,
}

impl Visitor {
    pub fn of(headers: &HeaderMap, peer: Option<SocketAddr>) -> Visitor {
        Visitor {
            cookie: headers.get(header::COOKIE).cloned(),
            peer,
            user_agent: headers.get(header::USER_AGENT).cloned(),
        }
    }

    /// The same visitor, signed out (a stale session cookie is not an
    /// error on a public page).
    pub fn anonymous(&self) -> Visitor {
        Visitor {
            cookie: None,
            ..self.clone()
        }
    }
}

impl Api {
    pub fn new(router: Router) -> Api {
        Api { router }
    }

    /// `GET path` as `visitor`; a session the API no longer knows is
    /// dropped and the request made again without it, and so is one whose
    /// account must first accept the terms or is suspended (the page shows
    /// what anyone sees, with the banner that says what to do).
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        visitor: &Visitor,
    ) -> Result<Answer<T>, SiteError> {
        let first = self.call(Method::GET, path, visitor, None).await?;
        let restricted = first.0 == StatusCode::FORBIDDEN
            && matches!(
                cloudcast_core::ApiError::code_in(&first.2).as_deref(),
                Some("terms_not_accepted" | "account_suspended")
            );
        let answer =
            if (first.0 == StatusCode::UNAUTHORIZED || restricted) && visitor.cookie.is_some() {
                self.call(Method::GET, path, &visitor.anonymous(), None)
                    .await?
            } else {
                first
            };
        decode(path, answer)
    }

    /// `POST path` with a JSON body as `visitor`, for the forms that work
    /// without scripts; the answer as it came (status, headers, body).
    pub async fn post(
        &self,
        path: &str,
        visitor: &Visitor,
        body: &serde_json::Value,
    ) -> Result<Reply, SiteError> {
        let json = Bytes::from(body.to_string());
        let (status, headers, body) = self.call(Method::POST, path, visitor, Some(json)).await?;
        if status.is_server_error() {
            return Err(SiteError::Unavailable(status));
        }
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// `GET path` as `visitor`, the answer as it came (a refusal's headers
    /// too, such as the `Location` of an authorization refused back to
    /// its app).
    pub async fn get_reply(&self, path: &str, visitor: &Visitor) -> Result<Reply, SiteError> {
        let (status, headers, body) = self.call(Method::GET, path, visitor, None).await?;
        if status.is_server_error() {
            return Err(SiteError::Unavailable(status));
        }
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        visitor: &Visitor,
        json: Option<Bytes>,
    ) -> Result<(StatusCode, HeaderMap, Bytes), SiteError> {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::ACCEPT, "application/json");
        if json.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let mut req = req
            .body(json.map(Body::from).unwrap_or_else(Body::empty))
            .map_err(|_| SiteError::BadPath)?;
        if let Some(c) = &visitor.cookie {
            req.headers_mut().insert(header::COOKIE, c.clone());
        }
        if let Some(ua) = &visitor.user_agent {
            req.headers_mut().insert(header::USER_AGENT, ua.clone());
        }
        if let Some(peer) = visitor.peer {
            req.extensions_mut().insert(ConnectInfo(peer));
        }
        let resp = self
            .router
            .clone()
            .oneshot(req)
            .await
            .unwrap_or_else(|e| match e {});
        let (parts, body) = resp.into_parts();
        let body = http_body_util::Limited::new(body, MAX_ANSWER_BYTES)
            .collect()
            .await
            .map_err(|_| SiteError::Upstream(path.to_owned()))?
            .to_bytes();
        Ok((parts.status, parts.headers, body))
    }
}

fn decode<T: DeserializeOwned>(
    path: &str,
    (status, headers, body): (StatusCode, HeaderMap, Bytes),
) -> Result<Answer<T>, SiteError> {
    if status.is_success() {
        return serde_json::from_slice(&body)
            .map(Answer::Found)
            .map_err(|e| SiteError::Decode(path.to_owned(), e));
    }
    if status.is_redirection() {
        let to = headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("/")
            .to_owned();
        return Ok(Answer::Moved(to));
    }
    if status.is_client_error() {
        let message = cloudcast_core::ApiError::message_in(&body)
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("refused").to_owned());
        return Ok(Answer::Refused(status, message));
    }
    Err(SiteError::Unavailable(status))
}
