//! Who is listening: a signed-in user, or an anonymous browser known by a
//! random first-party cookie. Stream URLs are signed for one listener and
//! heartbeats are attributed to one.

use axum::http::{HeaderMap, HeaderValue};
use rand::RngCore;
use uuid::Uuid;

/// HttpOnly cookie holding an anonymous listener's random id (32 hex digits).
pub const LISTENER_COOKIE: &str = "cc_listener";

/// A listener's stable key: `u:<user id>` or `a:<cookie id>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Listener(String);

impl Listener {
    pub fn user(id: Uuid) -> Listener {
        Listener(format!("u:{id}"))
    }
    pub fn anonymous(id: &str) -> Listener {
        Listener(format!("a:{id}"))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The anonymous listener id in the request's cookie, if well-formed.
pub fn cookie_id(headers: &HeaderMap) -> Option<&str> {
    crate::auth::cookie(headers, LISTENER_COOKIE)
        .filter(|v| v.len() == 32 && v.bytes().all(|c| c.is_ascii_hexdigit()))
}

/// A fresh anonymous listener id.
pub fn new_id() -> String {
    let mut raw = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut raw);
    hex::encode(raw)
}

/// `Set-Cookie` for an anonymous listener id, kept for a year.
pub fn set_cookie(id: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{LISTENER_COOKIE}={id}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax"
    ))
    .ok()
}

/// The listener a request speaks for, or `None` for a request with neither a
/// user nor a listener cookie (a bare HTTP client such as ffmpeg).
pub fn of_request(user: Option<Uuid>, headers: &HeaderMap) -> Option<Listener> {
    match user {
        Some(u) => Some(Listener::user(u)),
        None => cookie_id(headers).map(Listener::anonymous),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header;

    #[test]
    fn cookie_ids_must_be_32_hex_digits() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; cc_listener=0123456789abcdef0123456789abcdef"),
        );
        assert_eq!(cookie_id(&h), Some("0123456789abcdef0123456789abcdef"));
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("cc_listener=../../etc"),
        );
        assert_eq!(cookie_id(&h), None);
        assert_eq!(new_id().len(), 32);
        let u = Uuid::nil();
        assert_eq!(of_request(Some(u), &h), Some(Listener(format!("u:{u}"))));
        assert_eq!(of_request(None, &h), None);
    }
}
