//! The account pages: sign-up, sign-in, the landings of the mailed links
//! (verify an email, confirm a new one, reset a password). The forms post
//! to the API from the page's script; the landings ask the API on the
//! server, so a mailed link works without scripts.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use crate::api::Answer;
use crate::pages::{Peer, layout, visitor};
use crate::templates::{self, MessagePage, ResetPassword, SignIn, SignUp};
use crate::{SiteError, SiteState, enc};

pub async fn sign_up(State(state): State<SiteState>, peer: Peer, headers: HeaderMap) -> Response {
    let l = layout(&state, &visitor(&headers, peer), "Sign up", "sign-up").await;
    templates::page(StatusCode::OK, &SignUp { l })
}

#[derive(Deserialize)]
pub struct NextParams {
    next: Option<String>,
}

pub async fn sign_in(
    State(state): State<SiteState>,
    peer: Peer,
    headers: HeaderMap,
    Query(p): Query<NextParams>,
) -> Response {
    let l = layout(&state, &visitor(&headers, peer), "Sign in", "sign-in").await;
    // Only a path of this site: `next` must not send anyone elsewhere.
    let next = p
        .next
        .filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or_else(|| "/".into());
    templates::page(StatusCode::OK, &SignIn { l, next })
}

#[derive(Deserialize)]
pub struct TokenParams {
    #[serde(default)]
    token: String,
}

/// Asks the API to take a mailed token; the page says what came of it.
async fn landing(
    state: &SiteState,
    headers: &HeaderMap,
    peer: Peer,
    api_path: &str,
    token: &str,
    texts: (&'static str, &'static str),
) -> Result<Response, SiteError> {
    let v = visitor(headers, peer);
    let path = format!("{api_path}?token={}", enc(token));
    let answer = state.api.get::<serde_json::Value>(&path, &v).await?;
    let l = layout(state, &v, texts.0, "landing").await;
    let (status, message, failed) = match answer {
        Answer::Found(_) => (StatusCode::OK, texts.1.to_owned(), false),
        Answer::Refused(status, message) => (status, message, true),
        Answer::Moved(_) => (
            StatusCode::BAD_REQUEST,
            "This link is not valid.".into(),
            true,
        ),
    };
    let link = if l.viewer.is_some() {
        Some(("/upload", "Go to my mixes"))
    } else {
        Some(("/sign-in", "Sign in"))
    };
    let page = MessagePage {
        l,
        heading: texts.0,
        message,
        failed,
        link,
    };
    Ok(templates::page(status, &page))
}

pub async fn verify_email(
    State(state): State<SiteState>,
    peer: Peer,
    headers: HeaderMap,
    Query(p): Query<TokenParams>,
) -> Result<Response, SiteError> {
    landing(
        &state,
        &headers,
        peer,
        "/api/v1/accounts/verify-email",
        &p.token,
        (
            "Email address",
            "Your email address is confirmed. Thank you.",
        ),
    )
    .await
}

pub async fn confirm_email(
    State(state): State<SiteState>,
    peer: Peer,
    headers: HeaderMap,
    Query(p): Query<TokenParams>,
) -> Result<Response, SiteError> {
    landing(
        &state,
        &headers,
        peer,
        "/api/v1/accounts/confirm-email-change",
        &p.token,
        (
            "New email address",
            "Your new email address is confirmed and now in use.",
        ),
    )
    .await
}

pub async fn reset_password(
    State(state): State<SiteState>,
    peer: Peer,
    headers: HeaderMap,
    Query(p): Query<TokenParams>,
) -> Response {
    let mut l = layout(
        &state,
        &visitor(&headers, peer),
        "New password",
        "reset-password",
    )
    .await;
    l.noindex = true;
    templates::page(StatusCode::OK, &ResetPassword { l, token: p.token })
}
