//! Cross-site request forgery, refused by origin: a write that the browser
//! authenticates with the session cookie must come from this site's own
//! pages. Browsers say where a request comes from in `Sec-Fetch-Site` and,
//! on every write, in `Origin`; another site's page, a sandboxed frame
//! (`Origin: null`) or a request that names no origin at all cannot use
//! the cookie to change anything. Bearer tokens and API keys are not sent
//! by browsers on their own, so they are not affected.

use axum::http::{HeaderMap, Method, header};

use crate::auth::{SESSION_COOKIE, cookie};

/// Why a write was refused; the message names what to do.
pub const REFUSAL: &str = "this change was sent from another site (or from no site): \
    with the session cookie, writes are accepted only from this site's own pages";

/// Does this request use the session cookie to write from anywhere but
/// this site? `site_origin` is `scheme://host[:port]` of `http.public_url`;
/// the request's own `Host` also counts as this site (the address a
/// browser used, behind a proxy or on another loopback name).
pub fn is_cross_site_write(method: &Method, headers: &HeaderMap, site_origin: &str) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    let session_cookie = cookie(headers, SESSION_COOKIE).is_some_and(|v| !v.is_empty());
    if !session_cookie
        || headers.contains_key(header::AUTHORIZATION)
        || headers.contains_key("x-api-key")
    {
        return false;
    }
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        return site != "same-origin";
    }
    let Some(origin) = text("origin") else {
        return true;
    };
    let host_origin = |scheme: &str| {
        text("host").is_some_and(|h| origin.eq_ignore_ascii_case(&format!("{scheme}://{h}")))
    };
    !(origin.eq_ignore_ascii_case(site_origin) || host_origin("http") || host_origin("https"))
}

/// `scheme://host[:port]` of a base URL (what browsers send as `Origin`).
pub fn origin_of(base_url: &str) -> String {
    match base_url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split('/').next().unwrap_or_default();
            format!(
                "{}://{}",
                scheme.to_ascii_lowercase(),
                host.to_ascii_lowercase()
            )
        }
        None => base_url.trim_end_matches('/').to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    const SITE: &str = "https://cloudcast.example";

    #[test]
    fn cookie_writes_need_this_sites_origin() {
        let cookie = ("cookie", "cc_session=abc");
        let post = Method::POST;
        for refused in [
            vec![cookie, ("origin", "https://evil.example")],
            vec![cookie, ("origin", "null")],
            vec![cookie],
            vec![cookie, ("sec-fetch-site", "cross-site"), ("origin", SITE)],
            vec![cookie, ("sec-fetch-site", "same-site")],
            vec![cookie, ("origin", "https://cloudcast.example.evil.example")],
        ] {
            assert!(
                is_cross_site_write(&post, &headers(&refused), SITE),
                "{refused:?}"
            );
        }
        for allowed in [
            vec![cookie, ("origin", SITE)],
            vec![cookie, ("origin", "HTTPS://Cloudcast.Example")],
            vec![cookie, ("sec-fetch-site", "same-origin")],
            vec![
                cookie,
                ("origin", "http://127.0.0.1:8080"),
                ("host", "127.0.0.1:8080"),
            ],
            // Not the cookie: a token or a key is never sent by a browser on its own.
            vec![
                cookie,
                ("authorization", "Bearer t"),
                ("origin", "https://evil.example"),
            ],
            vec![("origin", "https://evil.example")],
            vec![("cookie", "cc_listener=x"), ("origin", "null")],
        ] {
            assert!(
                !is_cross_site_write(&post, &headers(&allowed), SITE),
                "{allowed:?}"
            );
        }
        for safe in [Method::GET, Method::HEAD, Method::OPTIONS] {
            assert!(!is_cross_site_write(&safe, &headers(&[cookie]), SITE));
        }
        for unsafe_method in [Method::PUT, Method::PATCH, Method::DELETE] {
            assert!(is_cross_site_write(
                &unsafe_method,
                &headers(&[cookie]),
                SITE
            ));
        }
    }

    #[test]
    fn origins_are_scheme_and_host() {
        assert_eq!(
            origin_of("https://Cloudcast.example/base/"),
            "https://cloudcast.example"
        );
        assert_eq!(origin_of("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    }
}
