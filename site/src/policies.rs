//! The policy's own channels as pages: the privacy policy (`/privacy`) and
//! the terms (`/terms`), each with its earlier versions (`?version=`), the
//! terms' "I accept" for a signed-in person asked to, and the contact page
//! with its "Reports" option (`/contact`), open without an account.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use pulldown_cmark::{Event, Options, Parser, html};
use serde::Deserialize;

use cloudcast_accounts::policies::PolicyDocument;
use cloudcast_core::states::{CaseTopic, PolicyKind};

use crate::templates::{self, ContactPage, PolicyPage};
use crate::visit::*;
use crate::{SiteError, SiteState, enc};

/// The operator's Markdown as HTML. Raw HTML in it is shown as text, not
/// passed through: the page's scripts and styles stay the site's own.
pub fn markdown_html(md: &str) -> String {
    let events = Parser::new_ext(md, Options::ENABLE_TABLES).map(|e| match e {
        Event::Html(t) | Event::InlineHtml(t) => Event::Text(t),
        other => other,
    });
    let mut out = String::with_capacity(md.len() * 2);
    html::push_html(&mut out, events);
    out
}

/// The versions in force a sign-up shows: (privacy, terms).
pub async fn in_force(
    state: &SiteState,
    v: &crate::api::Visitor,
) -> (Option<String>, Option<String>) {
    let mut out = [None, None];
    for (i, kind) in [PolicyKind::Privacy, PolicyKind::Terms].iter().enumerate() {
        let path = format!("/api/v1/policies/{kind}");
        if let Ok(crate::api::Answer::Found(doc)) =
            state.api.get::<PolicyDocument>(&path, &v.anonymous()).await
        {
            out[i] = Some(doc.version);
        }
    }
    let [privacy, terms] = out;
    (privacy, terms)
}

#[derive(Deserialize)]
pub struct VersionParams {
    version: Option<String>,
}

async fn policy(
    state: &SiteState,
    peer: Peer,
    headers: &HeaderMap,
    kind: PolicyKind,
    version: Option<&str>,
) -> Result<Response, SiteError> {
    let v = visitor(headers, peer);
    let (title, page) = match kind {
        PolicyKind::Privacy => ("Privacy policy", "privacy"),
        PolicyKind::Terms => ("Terms of service", "terms"),
    };
    let mut l = layout(state, &v, title, page).await;
    let path = match version {
        Some(ver) => format!("/api/v1/policies/{kind}/versions/{}", enc(ver)),
        None => format!("/api/v1/policies/{kind}"),
    };
    let doc: PolicyDocument = found(state, &path, &v).await?;
    // An earlier version is a record, not the page to find.
    l.noindex = !doc.current;
    let accept = kind == PolicyKind::Terms
        && l.viewer
            .as_ref()
            .and_then(|me| me.terms_due.as_deref())
            .is_some_and(|due| due == doc.version);
    let body = markdown_html(&doc.body);
    Ok(templates::page(
        StatusCode::OK,
        &PolicyPage {
            l,
            heading: title,
            base: page,
            body,
            accept,
            doc,
        },
    ))
}

pub async fn privacy(
    State(state): State<SiteState>,
    peer: Peer,
    headers: HeaderMap,
    Query(p): Query<VersionParams>,
) -> Result<Response, SiteError> {
    policy(
        &state,
        peer,
        &headers,
        PolicyKind::Privacy,
        p.version.as_deref(),
    )
    .await
}

pub async fn terms(
    State(state): State<SiteState>,
    peer: Peer,
    headers: HeaderMap,
    Query(p): Query<VersionParams>,
) -> Result<Response, SiteError> {
    policy(
        &state,
        peer,
        &headers,
        PolicyKind::Terms,
        p.version.as_deref(),
    )
    .await
}

/// A choice of the contact form: its topic, its words, and its group.
pub struct Choice {
    pub topic: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

/// The contact form's choices, grouped as the policy names them.
fn groups(selected: Option<CaseTopic>) -> Vec<(&'static str, Vec<Choice>)> {
    let choice = |topic: CaseTopic, label| Choice {
        topic: topic.as_str(),
        label,
        selected: selected == Some(topic),
    };
    vec![
        (
            "Reports: an account",
            vec![
                choice(CaseTopic::Under13, "I believe its holder is under 13"),
                choice(CaseTopic::Impersonation, "It pretends to be someone else"),
                choice(CaseTopic::Harassment, "It harasses people"),
                choice(CaseTopic::Spam, "It is spam"),
                choice(CaseTopic::OtherAbuse, "Another abuse"),
            ],
        ),
        (
            "Reports: a privacy request",
            vec![
                choice(CaseTopic::WithdrawConsent, "Withdraw a consent"),
                choice(CaseTopic::DataAccess, "Ask for the data you hold about me"),
                choice(CaseTopic::PrivacyConcern, "A concern about my privacy"),
            ],
        ),
        (
            "Feedback",
            vec![choice(CaseTopic::Feedback, "Feedback on the site")],
        ),
    ]
}

#[derive(Deserialize)]
pub struct ContactParams {
    /// The account a profile's "Report" link names.
    account: Option<String>,
    topic: Option<String>,
}

pub async fn contact(
    State(state): State<SiteState>,
    peer: Peer,
    headers: HeaderMap,
    Query(p): Query<ContactParams>,
) -> Response {
    let v = visitor(&headers, peer);
    let l = layout(&state, &v, "Contact", "contact").await;
    let account = p
        .account
        .map(|a| a.trim().trim_start_matches('@').to_string())
        .filter(|a| !a.is_empty() && a.len() <= 30)
        .unwrap_or_default();
    let topic = p.topic.as_deref().and_then(CaseTopic::parse);
    templates::page(
        StatusCode::OK,
        &ContactPage {
            l,
            groups: groups(topic),
            account,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_html_in_a_policy_is_shown_as_text() {
        let html = markdown_html("# Title\n\nSee <script>alert(1)</script> and **this**.");
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(html.contains("<strong>this</strong>"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn every_topic_is_offered_once() {
        let offered: Vec<&str> = groups(None)
            .into_iter()
            .flat_map(|(_, c)| c.into_iter().map(|c| c.topic))
            .collect();
        assert_eq!(offered.len(), CaseTopic::ALL.len());
        for t in CaseTopic::ALL {
            assert!(offered.contains(&t.as_str()), "{t}");
        }
    }
}
