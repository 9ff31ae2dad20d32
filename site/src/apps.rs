//! The pages of third-party apps: the consent page an app sends a person
//! to (`/oauth/authorize`, RFC 6749 §4.1.1), which asks the API whether
//! the request is sound and posts the person's answer to it, and the
//! developer page (`/developers`, its script `web/src/developers.js`).

use axum::Form;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use cloudcast_core::scopes::Scope;
use serde::Deserialize;
use serde_json::json;

use crate::accounts::from_another_site;
use crate::api::Reply;
use crate::templates::{self, ConsentPage, ConsentRefusedPage, DevelopersPage};
use crate::visit::{Peer, layout, sign_in_first, visitor};
use crate::{SiteError, SiteState};

/// The parameters the consent form carries back, in the order sent.
const PARAMS: [&str; 7] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
];

/// The consent page may not be framed by anyone (a framed "Allow" could be
/// clicked through a disguise).
fn unframed(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    resp
}

/// A refusal from the API: back to the app when it says where (`Location`),
/// else the error page (an unknown app or redirect URI is never followed).
fn refused(reply: &Reply) -> Response {
    match reply
        .headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
    {
        Some(to) => Redirect::to(to).into_response(),
        None => templates::error_page(reply.status, &reply.message()),
    }
}

/// `GET /oauth/authorize`: what the app asks, in plain words, with Allow
/// and Deny; signed out, the sign-in page first and back here.
pub async fn consent(
    State(state): State<SiteState>,
    peer: Peer,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, SiteError> {
    let query = query.unwrap_or_default();
    let here = format!("/oauth/authorize?{query}");
    let v = visitor(&headers, peer);
    let l = layout(&state, &v, "Allow an app?", "consent").await;
    let Some(me) = l.viewer.as_ref().map(|m| m.username.clone()) else {
        return Ok(sign_in_first(&here));
    };
    let reply = state
        .api
        .get_reply(&format!("/api/v1/oauth/authorization?{query}"), &v)
        .await?;
    if !reply.status.is_success() {
        let back = reply
            .headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        return Ok(unframed(match back {
            Some(back) => templates::page(
                reply.status,
                &ConsentRefusedPage {
                    l,
                    message: reply.message(),
                    back,
                },
            ),
            None => templates::error_page(reply.status, &reply.message()),
        }));
    }
    let c = reply.json();
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    let fields: Vec<(&'static str, String)> = url::form_urlencoded::parse(query.as_bytes())
        .filter_map(|(k, v)| {
            PARAMS
                .iter()
                .find(|p| **p == k)
                .map(|p| (*p, v.into_owned()))
        })
        .collect();
    let redirect = text(&c["redirect_uri"]).unwrap_or_default();
    let redirect_host = url::Url::parse(&redirect)
        .ok()
        .map(|u| match u.host_str() {
            Some(h) => format!("{}://{h}", u.scheme()),
            None => format!("{}:", u.scheme()),
        })
        .unwrap_or(redirect);
    let page = ConsentPage {
        l,
        username: me,
        app_name: text(&c["app"]["name"]).unwrap_or_default(),
        developer: text(&c["app"]["developer"]).unwrap_or_default(),
        website: text(&c["app"]["website"]),
        logo_url: text(&c["app"]["logo_url"]),
        scopes: c["scopes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| Some((text(&s["scope"])?, text(&s["words"])?)))
            .collect(),
        granted_before: c["granted_before"].as_bool().unwrap_or(false),
        redirect_host,
        fields,
    };
    Ok(unframed(templates::page(StatusCode::OK, &page)))
}

#[derive(Deserialize)]
pub struct ConsentForm {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    #[serde(default)]
    decision: String,
}

/// `POST /oauth/authorize`: the person's answer; on to the app.
pub async fn consent_post(
    State(state): State<SiteState>,
    peer: Peer,
    headers: HeaderMap,
    Form(f): Form<ConsentForm>,
) -> Result<Response, SiteError> {
    if from_another_site(&headers) {
        return Ok(templates::error_page(
            StatusCode::FORBIDDEN,
            "This form can only be sent from Cloudcast's own pages.",
        ));
    }
    let v = visitor(&headers, peer);
    let body = json!({
        "response_type": f.response_type,
        "client_id": f.client_id,
        "redirect_uri": f.redirect_uri,
        "scope": f.scope,
        "state": f.state,
        "code_challenge": f.code_challenge,
        "code_challenge_method": f.code_challenge_method,
        "approve": f.decision == "allow",
    });
    let reply = state
        .api
        .post("/api/v1/oauth/authorization", &v, &body)
        .await?;
    if reply.status == StatusCode::UNAUTHORIZED {
        return Ok(sign_in_first("/settings#connected-apps"));
    }
    if !reply.status.is_success() {
        return Ok(refused(&reply));
    }
    match reply.json()["redirect"].as_str() {
        Some(to) => Ok(Redirect::to(to).into_response()),
        None => Err(SiteError::Upstream("/api/v1/oauth/authorization".into())),
    }
}

/// `GET /developers`: how apps work here, and (signed in) my apps.
pub async fn developers(
    State(state): State<SiteState>,
    peer: Peer,
    headers: HeaderMap,
) -> Response {
    let v = visitor(&headers, peer);
    let mut l = layout(&state, &v, "Developers", "developers").await;
    l.script = Some("/assets/developers.js");
    let scopes = Scope::ALL.iter().map(|s| (s.as_str(), s.words())).collect();
    templates::page(StatusCode::OK, &DevelopersPage { l, scopes })
}
