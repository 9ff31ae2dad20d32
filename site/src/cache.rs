//! Anonymous pages may be kept by a shared cache (a CDN, nginx's
//! `proxy_cache`) for a few seconds and served stale while it asks again:
//! a page is the same for everyone who is not signed in. A page answered
//! to a signed-in visitor never is: it keeps the templates' `private,
//! no-cache`, which the server's outer layer turns into `no-store`.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// A shared cache may serve a page for 10 s without asking again (the
/// longest a signed-out reader waits for a new mix, comment or count), then
/// for 60 s more while it asks again in the background (RFC 5861), so no
/// reader waits for a render.
const CACHE_CONTROL: &str = "public, max-age=10, stale-while-revalidate=60";
/// A rendered page is in memory already; this only bounds the copy.
const MAX_PAGE_BYTES: usize = 16 << 20;

/// The site's layer: tags an anonymous page (`ETag`, a hash of its bytes,
/// the same on every node), makes it cacheable, and answers 304 when the
/// reader has it already.
pub(crate) async fn anonymous_pages(req: Request, next: Next) -> Response {
    // Anonymous: no credential at all (a malformed one may sit beside a
    // session cookie the page is rendered for).
    let anonymous = matches!(*req.method(), Method::GET | Method::HEAD)
        && !cloudcast_core::auth::any_credential(req.headers())
        && !carries_secret(req.uri());
    let if_none_match = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let resp = next.run(req).await;
    if !anonymous
        || resp.status() != StatusCode::OK
        || resp.extensions().get::<ForVisitor>().is_some()
        || !is_shared_page(resp.headers())
    {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_PAGE_BYTES).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let etag = etag_of(&bytes);
    let h = &mut parts.headers;
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    // A shared cache must not give this page to a reader with cookies of
    // their own (a session it does not know about is still a session). The
    // 304 must vary as the 200 does, which compression may also vary.
    h.append(header::VARY, HeaderValue::from_static("cookie"));
    h.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if if_none_match.is_some_and(|inm| cloudcast_core::validators::none_match(&inm, &etag)) {
        parts.status = StatusCode::NOT_MODIFIED;
        h.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::empty());
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// A page made for its visitor alone: it carries a URL signed for them
/// (a mix's waveform, bound to the listener), so no shared cache may keep
/// it, whoever asks. Set by `templates::for_visitor`.
#[derive(Clone, Copy)]
pub(crate) struct ForVisitor;

/// A URL holding what only its holder should have (a mailed token, an
/// unlisted playlist's secret, an authorization code): no shared cache
/// keeps a copy of the page.
fn carries_secret(uri: &Uri) -> bool {
    uri.path().starts_with("/unsubscribe/")
        || uri.query().is_some_and(|q| {
            q.split('&')
                .any(|kv| matches!(kv.split('=').next(), Some("token" | "secret" | "code")))
        })
}

/// A page as the templates made it (`private, no-cache`, no cookie set):
/// not one that chose its own caching (the mailbox, a form's answer).
fn is_shared_page(h: &HeaderMap) -> bool {
    !h.contains_key(header::SET_COOKIE)
        && h.get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"))
        && h.get(header::CACHE_CONTROL)
            .is_some_and(|v| v == crate::templates::PAGE_CACHE_CONTROL)
}

/// A weak tag (compression may change the bytes, not the page): the
/// first 16 bytes of the page's SHA-256.
fn etag_of(page: &[u8]) -> String {
    let digest = Sha256::digest(page);
    format!("W/\"{}\"", hex::encode(&digest[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_with_secrets_are_never_shared() {
        let secret = |u: &str| carries_secret(&u.parse::<Uri>().expect("uri"));
        assert!(secret("/reset-password?token=abc"));
        assert!(secret("/playlists/1?x=1&secret=s"));
        assert!(secret("/unsubscribe/t0ken"));
        assert!(!secret("/search?q=token"));
        assert!(!secret("/dj/mix?tokens=1"));
        assert!(!secret("/"));
    }

    #[test]
    fn tags_follow_the_bytes() {
        assert_eq!(etag_of(b"<p>a</p>"), etag_of(b"<p>a</p>"));
        assert_ne!(etag_of(b"<p>a</p>"), etag_of(b"<p>b</p>"));
        assert!(etag_of(b"").starts_with("W/\""));
    }
}
