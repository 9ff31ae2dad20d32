//! What a third-party app may do for a person: the one home of the OAuth
//! scopes (`apps/src` issues tokens carrying them) and of the routes each
//! covers.
//!
//! An app's access token is a session (`auth_tokens`) tied to a grant and
//! carrying its scopes, so every route that knows who is asking knows the
//! app's user; [`gate`], on every request, holds the token to [`need`]: 403
//! `insufficient_scope` past it. A route no scope names (the account's
//! password, email, second factor, keys, apps, export, erasure, consents,
//! moderation and administration) is the person's own: no app reaches it.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sqlx::PgPool;

use crate::error::ApiError;
use crate::paths::fits;

/// Prefix of an app's access token, so the gate looks up only those (a
/// session's token is 43 characters of base64url with no prefix).
pub const ACCESS_PREFIX: &str = "cca_";
/// Prefix of an app's refresh token.
pub const REFRESH_PREFIX: &str = "ccr_";

macro_rules! scopes {
    ($($(#[$doc:meta])* $v:ident = $s:literal, $words:literal;)*) => {
        /// One permission an app asks for.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Scope { $($(#[$doc])* $v,)* }

        impl Scope {
            pub const ALL: &'static [Scope] = &[$(Scope::$v,)*];
            pub fn as_str(self) -> &'static str {
                match self { $(Scope::$v => $s,)* }
            }
            pub fn parse(s: &str) -> Option<Scope> {
                match s { $($s => Some(Scope::$v),)* _ => None }
            }
            /// What granting it lets an app do, in the consent page's words.
            pub fn words(self) -> &'static str {
                match self { $(Scope::$v => $words,)* }
            }
        }
    };
}

scopes! {
    /// Read the person's own lists and private mixes, and listen as them.
    Read = "read", "See your username, your mixes (private ones too), favourites, feed, playlists, listen-later list and history, and play mixes as you (your plays count in your history)";
    /// Favourites, follows, reposts, comments, playlists, listen later.
    Write = "write", "Favourite, repost, follow and unfollow, comment, and make and change playlists and your listen-later list for you";
    /// Upload mixes and edit, publish or delete one's own.
    Upload = "upload", "Upload mixes for you, and edit, publish or delete your mixes";
    /// The statistics of the person's own mixes.
    Stats = "stats", "See the listening statistics and insights of your mixes";
}

/// A space-separated scope list (RFC 6749 §3.3) as scopes, in their
/// order, without repeats; `Err` names the first unknown one.
pub fn parse_list(s: &str) -> Result<Vec<Scope>, String> {
    let mut out: Vec<Scope> = Vec::new();
    for word in s.split(' ').filter(|w| !w.is_empty()) {
        let scope = Scope::parse(word).ok_or_else(|| word.to_string())?;
        if !out.contains(&scope) {
            out.push(scope);
        }
    }
    out.sort();
    Ok(out)
}

/// Scopes as stored and sent: `read write`.
pub fn join(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a request needs of an app's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Nothing (a CORS preflight).
    Nothing,
    Scope(Scope),
    /// The person's own: no app may.
    Never,
}

/// The person's own, whatever the method: no app reaches these.
const NEVER: &[&str] = &[
    "/api/v1/sessions/**",
    "/api/v1/sessions",
    "/api/v1/accounts/**",
    "/api/v1/accounts",
    "/api/v1/admin/**",
    "/api/v1/analytics/**",
    "/api/v1/ads/**",
    "/api/v1/oauth/**",
    "/api/v1/contact",
    "/api/v1/unsubscribe/**",
    "/api/v1/me/api-keys/**",
    "/api/v1/me/api-keys",
    "/api/v1/me/second-factor/**",
    "/api/v1/me/second-factor",
    "/api/v1/me/password",
    "/api/v1/me/email",
    "/api/v1/me/export",
    "/api/v1/me/exports/**",
    "/api/v1/me/exports",
    "/api/v1/me/consents",
    "/api/v1/me/policies/**",
    "/api/v1/me/policies",
    "/api/v1/me/verification",
    "/api/v1/me/preferences",
    "/api/v1/me/notification-settings",
    "/api/v1/me/decisions/**",
    "/api/v1/me/decisions",
    "/api/v1/me/blocks/**",
    "/api/v1/me/blocks",
    "/api/v1/me/podcast",
    "/api/v1/me/profile",
    "/api/v1/me/avatar",
    "/api/v1/me/apps/**",
    "/api/v1/me/apps",
    "/api/v1/me/connected-apps/**",
    "/api/v1/me/connected-apps",
    "/api/v1/cloudcasts/{id}/report",
    "/api/v1/comments/{id}/report",
    "/api/v1/cloudcasts/{id}/counter-notice",
];

/// The person's own lists an app may read with `read`; any other
/// `/api/v1/me/...` route is the person's alone, so one added later is
/// closed to apps until it is named here.
const OWN_READS: &[&str] = &[
    "/api/v1/me",
    "/api/v1/me/cloudcasts",
    "/api/v1/me/favourites",
    "/api/v1/me/feed",
    "/api/v1/me/history",
    "/api/v1/me/listen-later",
    "/api/v1/me/playlists",
];

/// Statistics of one's own mixes (any method).
const STATS: &[&str] = &[
    "/api/v1/cloudcasts/{id}/stats",
    "/api/v1/cloudcasts/{id}/stats/**",
    "/api/v1/cloudcasts/{id}/rights-report",
    "/api/v1/me/rights-report",
    "/api/v1/me/insights",
    "/api/v1/me/insights/**",
];

/// Uploading and managing one's own mixes: any method on the first two,
/// writes on the rest.
const UPLOAD_ANY: &[&str] = &["/api/v1/uploads", "/api/v1/uploads/**"];
const UPLOAD_WRITES: &[&str] = &[
    "/api/v1/cloudcasts/{id}",
    "/api/v1/cloudcasts/{id}/picture",
    "/api/v1/cloudcasts/{id}/publish",
    "/api/v1/cloudcasts/{id}/retry",
];

/// The social writes.
const WRITES: &[&str] = &[
    "/api/v1/cloudcasts/{id}/favourite",
    "/api/v1/cloudcasts/{id}/repost",
    "/api/v1/cloudcasts/{id}/listen-later",
    "/api/v1/cloudcasts/{id}/comments",
    "/api/v1/users/{id}/comments",
    "/api/v1/comments/{id}",
    "/api/v1/users/{id}/follow",
    "/api/v1/playlists",
    "/api/v1/playlists/**",
    "/api/v1/cloudcasts/{id}/links/{id}/purchases",
];

/// What `method` on `path` needs of an app's token.
pub fn need(method: &Method, path: &str) -> Need {
    let any = |list: &[&str]| list.iter().any(|p| fits(p, path));
    if *method == Method::OPTIONS {
        return Need::Nothing;
    }
    if any(NEVER) {
        return Need::Never;
    }
    if any(STATS) {
        return Need::Scope(Scope::Stats);
    }
    if any(UPLOAD_ANY) {
        return Need::Scope(Scope::Upload);
    }
    let reads = matches!(*method, Method::GET | Method::HEAD);
    // Erasing the account is the person's alone; reading it is `read`.
    if path == "/api/v1/me" && !reads {
        return Need::Never;
    }
    let api = path.starts_with("/api/v1/") || path.starts_with("/stream/");
    if !api {
        // The site's pages and everything else: a person's browser, not an app.
        return Need::Never;
    }
    // Playing: heartbeats and the stream's own posts are listening.
    if path == "/api/v1/heartbeats" || path.starts_with("/stream/") {
        return Need::Scope(Scope::Read);
    }
    if reads {
        let own = path == "/api/v1/me" || path.starts_with("/api/v1/me/");
        return if own && !any(OWN_READS) {
            Need::Never
        } else {
            Need::Scope(Scope::Read)
        };
    }
    if any(UPLOAD_WRITES) {
        return Need::Scope(Scope::Upload);
    }
    if any(WRITES) {
        return Need::Scope(Scope::Write);
    }
    Need::Never
}

/// Why an app's token was refused here: 403 `insufficient_scope` with the
/// RFC 6750 header naming the scope it needs.
pub fn refusal(need: Need) -> ApiError {
    let (message, scope) = match need {
        Need::Scope(s) => (
            format!(
                "this app's token does not cover this request: it needs the `{}` scope (ask the person again with it)",
                s.as_str()
            ),
            Some(s),
        ),
        _ => (
            "no app may do this for a person: only the person, signed in themselves, can".into(),
            None,
        ),
    };
    let mut e = ApiError::new(StatusCode::FORBIDDEN, "insufficient_scope", message);
    let value = match scope {
        Some(s) => format!(
            "Bearer error=\"insufficient_scope\", scope=\"{}\"",
            s.as_str()
        ),
        None => "Bearer error=\"insufficient_scope\"".into(),
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        e.headers.insert(header::WWW_AUTHENTICATE, v);
    }
    e
}

/// Set on a request made with an app's token (after the gate let it
/// through): what the app was granted. A handler that shows more than a
/// scope's words promise holds it back (`GET /api/v1/me` drops the email).
#[derive(Debug, Clone)]
pub struct Delegated {
    pub scopes: Vec<String>,
}

/// Middleware on every request: a credential that is an app's access token
/// must cover the request. Sessions pass untouched (no look-up); an unknown
/// or expired token passes too, and the route's extractor answers 401.
pub async fn gate(State(pool): State<PgPool>, mut req: Request, next: Next) -> Response {
    let token = match crate::auth::credential(req.headers()) {
        Ok(Some(t)) if t.starts_with(ACCESS_PREFIX) => t,
        _ => return next.run(req).await,
    };
    let need = need(req.method(), req.uri().path());
    if need == Need::Nothing {
        return next.run(req).await;
    }
    let hash = crate::auth::hash_token(token);
    let scopes: Option<Option<Vec<String>>> = match crate::metrics::timed_pg(
        "app_token_lookup",
        sqlx::query_scalar(
            "SELECT scopes FROM auth_tokens WHERE token_hash = $1 AND expires_at > now()",
        )
        .bind(&hash)
        .fetch_optional(&pool),
    )
    .await
    {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "looking up an app's token failed");
            return ApiError::server(crate::error::database_status(&e), "database_unavailable")
                .into_response();
        }
    };
    match scopes {
        // Unknown or expired: the extractor says so (401).
        None => next.run(req).await,
        // A session's own token that happens to carry the prefix.
        Some(None) => next.run(req).await,
        Some(Some(granted)) => match need {
            Need::Scope(s) if granted.iter().any(|g| g == s.as_str()) => {
                req.extensions_mut().insert(Delegated { scopes: granted });
                next.run(req).await
            }
            _ => refusal(need).into_response(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_route_needs_its_scope() {
        let cases = [
            (Method::GET, "/api/v1/me", Need::Scope(Scope::Read)),
            (Method::DELETE, "/api/v1/me", Need::Never),
            (
                Method::GET,
                "/api/v1/me/favourites",
                Need::Scope(Scope::Read),
            ),
            (
                Method::PUT,
                "/api/v1/cloudcasts/x/favourite",
                Need::Scope(Scope::Write),
            ),
            (
                Method::PUT,
                "/api/v1/users/ana/follow",
                Need::Scope(Scope::Write),
            ),
            (Method::POST, "/api/v1/playlists", Need::Scope(Scope::Write)),
            (Method::POST, "/api/v1/uploads", Need::Scope(Scope::Upload)),
            (
                Method::HEAD,
                "/api/v1/uploads/u",
                Need::Scope(Scope::Upload),
            ),
            (
                Method::PATCH,
                "/api/v1/uploads/u",
                Need::Scope(Scope::Upload),
            ),
            (
                Method::PATCH,
                "/api/v1/cloudcasts/x",
                Need::Scope(Scope::Upload),
            ),
            (
                Method::GET,
                "/api/v1/cloudcasts/x",
                Need::Scope(Scope::Read),
            ),
            (
                Method::GET,
                "/api/v1/cloudcasts/x/stats",
                Need::Scope(Scope::Stats),
            ),
            (
                Method::GET,
                "/api/v1/me/insights",
                Need::Scope(Scope::Stats),
            ),
            (Method::PUT, "/api/v1/me/password", Need::Never),
            (Method::GET, "/api/v1/me/api-keys", Need::Never),
            (Method::POST, "/api/v1/me/exports", Need::Never),
            (Method::GET, "/api/v1/me/second-factor", Need::Never),
            (Method::GET, "/api/v1/me/notifications", Need::Never),
            (Method::GET, "/api/v1/me/passkeys", Need::Never),
            (Method::GET, "/api/v1/me/some-new-thing", Need::Never),
            (Method::GET, "/api/v1/me/history", Need::Scope(Scope::Read)),
            (Method::DELETE, "/api/v1/me/connected-apps/g", Need::Never),
            (Method::POST, "/api/v1/cloudcasts/x/report", Need::Never),
            (Method::DELETE, "/api/v1/sessions", Need::Never),
            (Method::GET, "/api/v1/admin/reports", Need::Never),
            (Method::GET, "/settings", Need::Never),
            (Method::POST, "/api/v1/heartbeats", Need::Scope(Scope::Read)),
            (
                Method::GET,
                "/stream/x/master.m3u8",
                Need::Scope(Scope::Read),
            ),
            (Method::OPTIONS, "/api/v1/uploads", Need::Nothing),
            (Method::POST, "/api/v1/something/new", Need::Never),
        ];
        for (m, p, want) in cases {
            assert_eq!(need(&m, p), want, "{m} {p}");
        }
    }

    #[test]
    fn scope_lists_parse_in_order_without_repeats() {
        assert_eq!(
            parse_list("write  read write"),
            Ok(vec![Scope::Read, Scope::Write])
        );
        assert_eq!(parse_list("read admin"), Err("admin".into()));
        assert_eq!(join(&[Scope::Read, Scope::Upload]), "read upload");
    }
}
