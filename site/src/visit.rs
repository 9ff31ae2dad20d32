//! What every page does on a visit: who is asking ([`Peer`], [`visitor`],
//! [`viewer`]), reading the API on their behalf ([`found`], [`cards`],
//! [`by_slug`], [`by_id`]) and the frame and redirects around the answer.
//! The pages (`pages.rs`, `accounts.rs`) and the embeds (`embed.rs`) share
//! them.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use cloudcast_core::auth::SESSION_COOKIE;

use crate::api::{Answer, Visitor};
use crate::templates::Layout;
use crate::views::*;
use crate::{SiteError, SiteState, enc};

/// The client's address, where the server recorded it (in-process test
/// requests have none).
pub struct Peer(Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
        ))
    }
}

/// The visitor, from the request.
pub(crate) fn visitor(headers: &HeaderMap, peer: Peer) -> Visitor {
    Visitor::of(headers, peer.0)
}

/// Who is signed in, if a session cookie says so and the API agrees.
pub(crate) async fn viewer(state: &SiteState, v: &Visitor) -> Option<Me> {
    let has_session = v
        .cookie
        .as_ref()
        .and_then(|c| c.to_str().ok())
        .is_some_and(|c| c.contains(SESSION_COOKIE));
    if !has_session {
        return None;
    }
    match state.api.get::<Me>("/api/v1/me", v).await {
        Ok(Answer::Found(me)) => Some(me),
        _ => None,
    }
}

pub(crate) async fn layout(
    state: &SiteState,
    v: &Visitor,
    title: impl Into<String>,
    page: &'static str,
) -> Layout {
    let viewer = viewer(state, v).await;
    let unread = match viewer {
        Some(_) => match state
            .api
            .get::<Unread>("/api/v1/me/notifications/unread", v)
            .await
        {
            Ok(Answer::Found(u)) => Some(u.unread),
            _ => None,
        },
        None => None,
    };
    Layout {
        title: title.into(),
        viewer,
        page,
        beat_batch_secs: state.beat_batch_secs,
        min_password_len: state.min_password_len,
        unread,
        poll_secs: state.notification_poll_secs,
        ..Layout::default()
    }
}

/// The API's answer, where anything but a found document is the page's error.
pub(crate) async fn found<T: DeserializeOwned>(
    state: &SiteState,
    path: &str,
    v: &Visitor,
) -> Result<T, SiteError> {
    match state.api.get::<T>(path, v).await? {
        Answer::Found(t) => Ok(t),
        Answer::Refused(status, message) => Err(SiteError::Refused(status, message)),
        Answer::Moved(_) => Err(SiteError::NotFound("that page")),
    }
}

/// A list for a page section: empty when the API refuses it (a section
/// the visitor may not see is left out, not an error for the whole page).
pub(crate) async fn cards(
    state: &SiteState,
    path: &str,
    v: &Visitor,
) -> Result<Vec<Card>, SiteError> {
    match state.api.get::<Listing<Card>>(path, v).await? {
        Answer::Found(l) => Ok(l.items),
        _ => Ok(Vec::new()),
    }
}

/// The cloudcasts of a list of marks (favourites, reposts), which the API
/// answers as `{at, cloudcast}`.
pub(crate) async fn marked_cards(
    state: &SiteState,
    path: &str,
    v: &Visitor,
) -> Result<Vec<Card>, SiteError> {
    match state.api.get::<Listing<Marked>>(path, v).await? {
        Answer::Found(l) => Ok(l.items.into_iter().map(|m| m.cloudcast).collect()),
        _ => Ok(Vec::new()),
    }
}

/// A link the API gave, made absolute for other sites.
pub(crate) fn absolute(state: &SiteState, href: &str) -> String {
    if href.starts_with("http://") || href.starts_with("https://") {
        href.to_owned()
    } else {
        format!("{}{href}", state.public_url)
    }
}

/// The API's view of `/{username}/{slug}`, or where that address moved.
pub(crate) async fn by_slug(
    state: &SiteState,
    v: &Visitor,
    username: &str,
    slug: &str,
    secret: Option<&str>,
) -> Result<Result<Cloudcast, String>, SiteError> {
    let mut path = format!("/api/v1/users/{}/cloudcasts/{}", enc(username), enc(slug));
    if let Some(s) = secret {
        path.push_str(&format!("?secret={}", enc(s)));
    }
    match state.api.get::<Cloudcast>(&path, v).await? {
        Answer::Found(cc) => Ok(Ok(cc)),
        // `/api/v1/users/{u}/cloudcasts/{slug}?..` is the page `/{u}/{slug}?..`.
        Answer::Moved(to) => Ok(Err(to
            .strip_prefix("/api/v1/users")
            .map(|rest| rest.replacen("/cloudcasts/", "/", 1))
            .unwrap_or_else(|| "/".into()))),
        Answer::Refused(status, message) => Err(SiteError::Refused(status, message)),
    }
}

/// The cloudcast with id `id` (text that is not an id is not found), as `v` may see it.
pub(crate) async fn by_id(
    state: &SiteState,
    v: &Visitor,
    id: &str,
) -> Result<Cloudcast, SiteError> {
    let id: Uuid = id.parse().map_err(|_| SiteError::NotFound("cloudcast"))?;
    found(state, &format!("/api/v1/cloudcasts/{id}"), v).await
}

/// 301: the address this page lives at for good.
pub(crate) fn moved_permanently(to: &str) -> Response {
    let mut resp = StatusCode::MOVED_PERMANENTLY.into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(to) {
        resp.headers_mut().insert(axum::http::header::LOCATION, v);
    }
    resp
}

/// A page for the signed-in only, asked for by someone who is not.
pub(crate) fn sign_in_first(next: &str) -> Response {
    Redirect::to(&format!("/sign-in?next={}", enc(next))).into_response()
}

/// `?cursor=`: where a paged list goes on.
#[derive(serde::Deserialize)]
pub struct CursorParams {
    pub cursor: Option<String>,
}
