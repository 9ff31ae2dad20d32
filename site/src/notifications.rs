//! My notifications (`/notifications`), and the page a mail's "stop these
//! mails" link opens (`/unsubscribe/{token}`): a button that posts, as a
//! mail client's one-click button does (RFC 8058), so a link checker that
//! only opens links stops nothing.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::templates::{self, NotificationsPage, UnsubscribePage};
use crate::views::*;
use crate::visit::*;
use crate::{SiteError, SiteState, enc};

/// Notifications on one page.
const PAGE: u32 = 30;

pub async fn page(
    State(state): State<SiteState>,
    peer: Peer,
    headers: HeaderMap,
    Query(p): Query<CursorParams>,
) -> Result<Response, SiteError> {
    let v = visitor(&headers, peer);
    let mut l = layout(&state, &v, "Notifications", "notifications").await;
    l.noindex = true;
    if l.viewer.is_none() {
        return Ok(sign_in_first("/notifications"));
    }
    let mut path = format!("/api/v1/me/notifications?limit={PAGE}");
    if let Some(c) = &p.cursor {
        path.push_str(&format!("&cursor={}", enc(c)));
    }
    let page: NotificationPage = found(&state, &path, &v).await?;
    // What the page shows is the count the bell shows.
    l.unread = Some(page.unread);
    let next = page
        .next_cursor
        .as_ref()
        .map(|c| format!("/notifications?cursor={}", enc(c)));
    Ok(templates::page(
        StatusCode::OK,
        &NotificationsPage { l, page, next },
    ))
}

/// The unsubscribe page's frame, before and after the click; kept out of
/// search engines (its address is a person's token).
async fn unsubscribe_layout(state: &SiteState, v: &crate::api::Visitor) -> templates::Layout {
    let mut l = layout(state, v, "Stop these mails", "unsubscribe").await;
    l.noindex = true;
    l
}

pub async fn unsubscribe(
    State(state): State<SiteState>,
    peer: Peer,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, SiteError> {
    let v = visitor(&headers, peer);
    let l = unsubscribe_layout(&state, &v).await;
    let action = Some(format!("/unsubscribe/{}", enc(&token)));
    Ok(templates::page(
        StatusCode::OK,
        &UnsubscribePage {
            l,
            action,
            said: None,
        },
    ))
}

/// The click: from the page's button or a mail client, signed in or not.
pub async fn unsubscribe_post(
    State(state): State<SiteState>,
    peer: Peer,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, SiteError> {
    let v = visitor(&headers, peer);
    let l = unsubscribe_layout(&state, &v).await;
    // The token alone says who and what; no session is needed or used.
    let reply = state
        .api
        .post(
            &format!("/api/v1/unsubscribe/{}", enc(&token)),
            &v.anonymous(),
            &serde_json::json!({}),
        )
        .await?;
    let (status, said) = match serde_json::from_slice::<Unsubscribed>(&reply.body) {
        Ok(done) if reply.status.is_success() => (
            StatusCode::OK,
            format!(
                "Done: you will no longer get {} by mail. It still shows under the bell when you sign in.",
                done.stopped
            ),
        ),
        _ => (reply.status, reply.message()),
    };
    Ok(templates::page(
        status,
        &UnsubscribePage {
            l,
            action: None,
            said: Some(said),
        },
    ))
}
