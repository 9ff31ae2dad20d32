//! The account pages: sign-up, sign-in, the landings of the mailed links
//! (verify an email, confirm a new one, reset a password). The page's
//! script posts the forms to the API; without scripts they post here and
//! the server asks the API the same (a password never lands in a URL).
//! The landings ask the API on the server, so a mailed link works without
//! scripts.

use axum::Form;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use crate::api::{Answer, Reply, Visitor};
use crate::templates::{self, MessagePage, ResetPassword, SignIn, SignUp};
use crate::visit::{Peer, layout, visitor};
use cloudcast_core::paths::local_path;

use crate::{SiteError, SiteState, enc};

/// What an under-13 is told; the API has stored nothing of them.
const UNDER_13: &str =
    "Sorry: you must be 13 or older to use Cloudcast. Nothing you entered has been stored.";

pub async fn sign_up(
    State(state): State<SiteState>,
    peer: Peer,
    headers: HeaderMap,
    Query(p): Query<NextParams>,
) -> Response {
    let v = visitor(&headers, peer);
    let l = layout(&state, &v, "Sign up", "sign-up").await;
    let (privacy_version, terms_version) = crate::policies::in_force(&state, &v).await;
    let page = SignUp {
        l,
        next: local_path(p.next.as_deref()),
        username: String::new(),
        email: String::new(),
        birth_date: String::new(),
        message: String::new(),
        privacy_version,
        terms_version,
    };
    templates::page(StatusCode::OK, &page)
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
    let page = SignIn {
        l,
        next: local_path(p.next.as_deref()),
        login: String::new(),
        message: String::new(),
        challenge: String::new(),
    };
    templates::page(StatusCode::OK, &page)
}

/// A form posted from another site is refused: it could sign a visitor in
/// to an account of the attacker's (login CSRF). Browsers say where a post
/// comes from in `Sec-Fetch-Site`, older ones in `Origin`.
pub(crate) fn from_another_site(headers: &HeaderMap) -> bool {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    if let Some(site) = text("sec-fetch-site") {
        return !matches!(site, "same-origin" | "none");
    }
    match (text("origin"), text("host")) {
        (Some(origin), Some(host)) => {
            let origin_host = origin.split_once("://").map_or(origin, |(_, h)| h);
            !origin_host.eq_ignore_ascii_case(host)
        }
        _ => false,
    }
}

/// The visitor of a form posted from one of this site's own pages, as the
/// anonymous visitor the API is asked for; a post from another site is
/// refused (403) before the form is read.
pub struct OwnForm(Visitor);

impl<S: Send + Sync> FromRequestParts<S> for OwnForm {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        if from_another_site(&parts.headers) {
            return Err(templates::error_page(
                StatusCode::FORBIDDEN,
                "This form can only be sent from Cloudcast's own pages.",
            ));
        }
        let Ok(peer) = Peer::from_request_parts(parts, state).await;
        Ok(OwnForm(visitor(&parts.headers, peer).anonymous()))
    }
}

/// The API's `Set-Cookie` (the session) carried over to the page's answer.
fn with_cookies(mut resp: Response, reply: &Reply) -> Response {
    for c in reply.headers.get_all(header::SET_COOKIE) {
        resp.headers_mut().append(header::SET_COOKIE, c.clone());
    }
    resp
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
    /// The second step: the challenge a right password opened, and the code.
    #[serde(default)]
    challenge: String,
    #[serde(default)]
    code: String,
}

/// `POST /sign-in`, the sign-in form without scripts: signed in, on to
/// `next`; for an account with an authenticator app the page comes back
/// asking for the code, which is posted with the challenge.
pub async fn sign_in_post(
    State(state): State<SiteState>,
    OwnForm(v): OwnForm,
    Form(f): Form<SignInForm>,
) -> Result<Response, SiteError> {
    let reply = if f.challenge.is_empty() {
        let body = json!({"login": f.login.trim(), "password": f.password});
        state.api.post("/api/v1/sessions", &v, &body).await?
    } else {
        let body = json!({"challenge": f.challenge, "code": f.code.trim()});
        state
            .api
            .post("/api/v1/sessions/second-factor", &v, &body)
            .await?
    };
    let next = local_path(f.next.as_deref());
    if reply.status.is_success() {
        return Ok(with_cookies(Redirect::to(&next).into_response(), &reply));
    }
    let challenge = if reply.code().as_deref() == Some("second_factor_required") {
        reply.challenge().unwrap_or_default()
    } else {
        String::new()
    };
    let page = SignIn {
        l: layout(&state, &v, "Sign in", "sign-in").await,
        next,
        login: f.login,
        message: reply.message(),
        challenge,
    };
    Ok(templates::page(reply.status, &page))
}

#[derive(Deserialize)]
pub struct SignUpForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    birth_date: String,
    next: Option<String>,
    /// The terms version the "I accept" box carries, when ticked.
    terms: Option<String>,
    /// The personalised-ads box, when ticked.
    personalised_ads: Option<String>,
}

/// `POST /sign-up`, the sign-up form without scripts: "check your mail"
/// (with the parental advice for a minor), whether or not the address had
/// an account, as the API answers.
pub async fn sign_up_post(
    State(state): State<SiteState>,
    OwnForm(v): OwnForm,
    Form(f): Form<SignUpForm>,
) -> Result<Response, SiteError> {
    let next = local_path(f.next.as_deref());
    let body = json!({
        "username": f.username.trim(),
        "email": f.email.trim(),
        "password": f.password,
        "birth_date": f.birth_date,
        "next": next,
        "terms": f.terms,
        "personalised_ads": f.personalised_ads.is_some(),
    });
    let created = state.api.post("/api/v1/accounts", &v, &body).await?;
    if !created.status.is_success() {
        let under_13 = created.code().as_deref() == Some("under_13");
        // Nothing of an under-13 is kept, not even in the form sent back.
        let (username, email, birth_date, message) = if under_13 {
            Default::default()
        } else {
            (f.username, f.email, f.birth_date, created.message())
        };
        let (privacy_version, terms_version) = crate::policies::in_force(&state, &v).await;
        let page = SignUp {
            l: layout(&state, &v, "Sign up", "sign-up").await,
            privacy_version,
            terms_version,
            next,
            message: if under_13 { UNDER_13.into() } else { message },
            username,
            email,
            birth_date,
        };
        return Ok(templates::page(created.status, &page));
    }
    let received = created.json();
    let mut message = format!(
        "Thank you, {}! We sent a link to {}: open it within 24 hours to start using your account.",
        received["username"].as_str().unwrap_or_default(),
        f.email.trim()
    );
    if let Some(advice) = received["parental_advice"].as_str() {
        message.push(' ');
        message.push_str(advice);
    }
    let page = MessagePage {
        l: layout(&state, &v, "Check your mail", "landing").await,
        heading: "Check your mail",
        message,
        failed: false,
        link: None,
    };
    Ok(templates::page(StatusCode::ACCEPTED, &page))
}

#[derive(Deserialize)]
pub struct TokenParams {
    #[serde(default)]
    token: String,
    next: Option<String>,
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

/// The link mailed to confirm an address (a sign-up's, or a later one's):
/// the address is confirmed, the visitor signed in and sent on to `next`.
pub async fn verify_email(
    State(state): State<SiteState>,
    peer: Peer,
    headers: HeaderMap,
    Query(p): Query<TokenParams>,
) -> Result<Response, SiteError> {
    let v = visitor(&headers, peer);
    let reply = state
        .api
        .post("/api/v1/accounts/confirm", &v, &json!({"token": p.token}))
        .await?;
    if reply.status.is_success() {
        let next = local_path(p.next.as_deref());
        return Ok(with_cookies(Redirect::to(&next).into_response(), &reply));
    }
    if reply.code().as_deref() == Some("second_factor_required") {
        // Confirmed; the account signs in with its code, on the sign-in page.
        let next = local_path(p.next.as_deref());
        return Ok(Redirect::to(&format!("/sign-in?next={}", crate::enc(&next))).into_response());
    }
    let page = MessagePage {
        l: layout(&state, &v, "Email address", "landing").await,
        heading: "Email address",
        message: reply.message(),
        failed: true,
        link: Some(("/sign-in", "Sign in")),
    };
    Ok(templates::page(reply.status, &page))
}

#[derive(Deserialize)]
pub struct ResendForm {
    #[serde(default)]
    login: String,
}

/// `POST /verify-email` without scripts (the sign-in page's "mail me the
/// link again"): the same answer whether or not a sign-up waits.
pub async fn resend_post(
    State(state): State<SiteState>,
    OwnForm(v): OwnForm,
    Form(f): Form<ResendForm>,
) -> Result<Response, SiteError> {
    let reply = state
        .api
        .post(
            "/api/v1/accounts/confirmation",
            &v,
            &json!({"login": f.login.trim()}),
        )
        .await?;
    let (message, failed) = if reply.status.is_success() {
        (RESENT.to_owned(), false)
    } else {
        (reply.message(), true)
    };
    let page = MessagePage {
        l: layout(&state, &v, "Check your mail", "landing").await,
        heading: "Check your mail",
        message,
        failed,
        link: Some(("/sign-in", "Sign in")),
    };
    Ok(templates::page(reply.status, &page))
}

/// What "mail me the link again" is told, whether or not a sign-up waits.
const RESENT: &str = "If a sign-up waits under that name or address, a new link is on its way.";

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
    let page = ResetPassword {
        l,
        token: p.token,
        message: String::new(),
    };
    templates::page(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct ResetForm {
    /// Asking for a link: the account's username or email.
    login: Option<String>,
    /// Using the link: its token and the new password.
    token: Option<String>,
    #[serde(default)]
    password: String,
}

/// `POST /reset-password` without scripts: asks for a mailed link (from
/// the sign-in page) or sets the new password (from the mailed link).
pub async fn reset_password_post(
    State(state): State<SiteState>,
    OwnForm(v): OwnForm,
    Form(f): Form<ResetForm>,
) -> Result<Response, SiteError> {
    let (reply, done) = match (f.token, f.login) {
        (Some(token), _) => {
            let body = json!({"token": token, "password": f.password});
            let reply = state
                .api
                .post("/api/v1/accounts/password-reset/confirm", &v, &body)
                .await?;
            if !reply.status.is_success() {
                let mut l = layout(&state, &v, "New password", "reset-password").await;
                l.noindex = true;
                let page = ResetPassword {
                    l,
                    token,
                    message: reply.message(),
                };
                return Ok(templates::page(reply.status, &page));
            }
            (reply, "Your password is changed. Sign in with it.")
        }
        (None, Some(login)) => {
            let body = json!({"login": login.trim()});
            let reply = state
                .api
                .post("/api/v1/accounts/password-reset", &v, &body)
                .await?;
            (
                reply,
                "If an account matches, a link to choose a new password is on its way.",
            )
        }
        (None, None) => return Err(SiteError::BadPath),
    };
    let failed = !reply.status.is_success();
    let page = MessagePage {
        l: layout(&state, &v, "Password", "landing").await,
        heading: "Password",
        message: if failed { reply.message() } else { done.into() },
        failed,
        link: Some(("/sign-in", "Sign in")),
    };
    let status = if failed { reply.status } else { StatusCode::OK };
    Ok(templates::page(status, &page))
}
