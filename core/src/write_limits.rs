//! Limits on every write, per account and per address, and on anonymous
//! reads per address: the one table of what is limited ([`LIMITED`]), the
//! allowances from `[limits]`, and the middleware that applies them before
//! any handler runs (429, `Retry-After` and the API's JSON error).
//!
//! Writes are counted in PostgreSQL ([`SharedLimit`]), so two nodes behind a
//! load balancer allow what one allows; a write is a rare request, one
//! statement per limit is cheap beside it. Anonymous reads are counted per
//! node in memory ([`KeyedLimit`]): they are the common request, and a
//! statement each would make PostgreSQL the bottleneck.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sqlx::PgPool;
use uuid::Uuid;

use crate::ApiError;
use crate::auth;
use crate::config::LimitsConfig;
use crate::paths::fits;
use crate::ratelimit::{KeyedLimit, SharedLimit};

/// A kind of write with an allowance of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Write {
    SignUp,
    Upload,
    Comment,
    Report,
    Follow,
    Favourite,
    Repost,
    /// Playlists made and mixes put in them.
    Playlist,
    ApiKey,
    Export,
    VerificationMail,
    Picture,
    /// Requests to the OAuth token and revocation endpoints.
    AppToken,
    /// Passkey sign-ins started (each a stored ceremony).
    PasskeyCeremony,
}

impl Write {
    /// What the refusal says was too much.
    fn noun(self) -> &'static str {
        match self {
            Write::SignUp => "sign-ups from this address",
            Write::Upload => "uploads started",
            Write::Comment => "comments",
            Write::Report => "reports",
            Write::Follow => "follows",
            Write::Favourite => "favourites",
            Write::Repost => "reposts",
            Write::Playlist => "playlist changes",
            Write::ApiKey => "API keys created",
            Write::Export => "data exports",
            Write::VerificationMail => "verification mails",
            Write::Picture => "pictures set",
            Write::AppToken => "token requests from this address",
            Write::PasskeyCeremony => "passkey sign-ins started from this address",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Who {
    Account,
    Address,
}

/// Every limited write: method, route pattern (`{..}` is one segment) and
/// kind. The pages' own forms that create something are here as well as
/// the API routes they call (pages call the API in-process, past this).
pub const LIMITED: &[(Method, &str, Write)] = &[
    (Method::POST, "/api/v1/accounts", Write::SignUp),
    (Method::POST, "/sign-up", Write::SignUp),
    (Method::POST, "/api/v1/uploads", Write::Upload),
    (
        Method::POST,
        "/api/v1/cloudcasts/{id}/comments",
        Write::Comment,
    ),
    (
        Method::POST,
        "/api/v1/users/{username}/comments",
        Write::Comment,
    ),
    (Method::POST, "/api/v1/comments/{id}/report", Write::Report),
    (Method::POST, "/api/v1/contact", Write::Report),
    (
        Method::POST,
        "/api/v1/cloudcasts/{id}/report",
        Write::Report,
    ),
    (
        Method::PUT,
        "/api/v1/users/{username}/follow",
        Write::Follow,
    ),
    // A block is counted as a follow is: both change who reaches whom.
    (Method::PUT, "/api/v1/me/blocks/{username}", Write::Follow),
    (
        Method::PUT,
        "/api/v1/cloudcasts/{id}/favourite",
        Write::Favourite,
    ),
    (Method::PUT, "/api/v1/cloudcasts/{id}/repost", Write::Repost),
    (Method::POST, "/api/v1/playlists", Write::Playlist),
    (
        Method::PUT,
        "/api/v1/playlists/{id}/items/{cloudcast_id}",
        Write::Playlist,
    ),
    (Method::POST, "/api/v1/me/api-keys", Write::ApiKey),
    // Apps are developers' credentials, as keys are.
    (Method::POST, "/api/v1/me/apps", Write::ApiKey),
    (Method::POST, "/api/v1/me/apps/{id}/secret", Write::ApiKey),
    (Method::POST, "/oauth/token", Write::AppToken),
    (Method::POST, "/oauth/revoke", Write::AppToken),
    (
        Method::POST,
        "/api/v1/sessions/passkey/challenge",
        Write::PasskeyCeremony,
    ),
    (Method::POST, "/api/v1/me/exports", Write::Export),
    (Method::GET, "/api/v1/me/export", Write::Export),
    (
        Method::POST,
        "/api/v1/me/verification",
        Write::VerificationMail,
    ),
    (
        Method::POST,
        "/api/v1/accounts/confirmation",
        Write::VerificationMail,
    ),
    (Method::POST, "/verify-email", Write::VerificationMail),
    (Method::PUT, "/api/v1/me/email", Write::VerificationMail),
    (
        Method::PUT,
        "/api/v1/cloudcasts/{id}/picture",
        Write::Picture,
    ),
    (Method::PUT, "/api/v1/me/avatar", Write::Picture),
    (Method::PUT, "/api/v1/me/apps/{id}/logo", Write::Picture),
];

/// The limited write a request is, if any.
pub fn write_of(method: &Method, path: &str) -> Option<Write> {
    LIMITED
        .iter()
        .find(|(m, pattern, _)| m == method && fits(pattern, path))
        .map(|(_, _, w)| *w)
}

/// Paths no anonymous-read allowance applies to: media (a player fetches
/// a mix range by range, behind signed URLs), the page assets, probes.
fn reads_exempt(path: &str) -> bool {
    ["/stream/", "/assets/", "/healthz", "/metrics"]
        .iter()
        .any(|p| path.starts_with(p))
}

/// An address as a limit counts it: IPv4 whole, IPv6 by its /64 (one
/// subscriber's block, which it can walk through at will).
fn address_key(ip: IpAddr) -> String {
    match crate::netaddr::canonical(ip) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// Every limited write's allowances: (write, counted per, the cells' scope
/// in `rate_limits`, allowance, window).
fn cells(cfg: &LimitsConfig) -> [(Write, Who, &'static str, u32, Duration); 22] {
    const MINUTE: Duration = Duration::from_secs(60);
    const HOUR: Duration = Duration::from_secs(3600);
    use Who::*;
    use Write::*;
    [
        (
            SignUp,
            Address,
            "signup_address",
            cfg.signups_per_hour_per_address,
            HOUR,
        ),
        (
            Upload,
            Account,
            "upload_account",
            cfg.uploads_per_hour_per_account,
            HOUR,
        ),
        (
            Upload,
            Address,
            "upload_address",
            cfg.uploads_per_hour_per_address,
            HOUR,
        ),
        (
            Comment,
            Account,
            "comment_account",
            cfg.comments_per_minute_per_account,
            MINUTE,
        ),
        (
            Comment,
            Address,
            "comment_address",
            cfg.comments_per_minute_per_address,
            MINUTE,
        ),
        (
            Report,
            Account,
            "report_account",
            cfg.reports_per_hour_per_account,
            HOUR,
        ),
        (
            Report,
            Address,
            "report_address",
            cfg.reports_per_hour_per_address,
            HOUR,
        ),
        (
            Follow,
            Account,
            "follow_account",
            cfg.marks_per_minute_per_account,
            MINUTE,
        ),
        (
            Follow,
            Address,
            "follow_address",
            cfg.marks_per_minute_per_address,
            MINUTE,
        ),
        (
            Favourite,
            Account,
            "favourite_account",
            cfg.marks_per_minute_per_account,
            MINUTE,
        ),
        (
            Favourite,
            Address,
            "favourite_address",
            cfg.marks_per_minute_per_address,
            MINUTE,
        ),
        (
            Repost,
            Account,
            "repost_account",
            cfg.marks_per_minute_per_account,
            MINUTE,
        ),
        (
            Repost,
            Address,
            "repost_address",
            cfg.marks_per_minute_per_address,
            MINUTE,
        ),
        // A playlist is a mark of many mixes: the marks' allowance.
        (
            Playlist,
            Account,
            "playlist_account",
            cfg.marks_per_minute_per_account,
            MINUTE,
        ),
        (
            Playlist,
            Address,
            "playlist_address",
            cfg.marks_per_minute_per_address,
            MINUTE,
        ),
        (
            ApiKey,
            Account,
            "api_key_account",
            cfg.api_keys_per_hour_per_account,
            HOUR,
        ),
        (
            Export,
            Account,
            "export_account",
            cfg.exports_per_hour_per_account,
            HOUR,
        ),
        (
            VerificationMail,
            Account,
            "verification_mail_account",
            cfg.verification_mails_per_hour_per_account,
            HOUR,
        ),
        (
            VerificationMail,
            Address,
            "account_mail_address",
            cfg.account_mails_per_hour_per_address,
            HOUR,
        ),
        (
            Picture,
            Account,
            "picture_account",
            cfg.pictures_per_hour_per_account,
            HOUR,
        ),
        (
            AppToken,
            Address,
            "app_token_address",
            cfg.app_tokens_per_minute_per_address,
            MINUTE,
        ),
        (
            PasskeyCeremony,
            Address,
            "passkey_ceremony_address",
            cfg.passkey_sign_ins_per_minute_per_address,
            MINUTE,
        ),
    ]
}

/// The allowances of one node (each write's cells shared with every node).
pub struct Limits {
    pool: PgPool,
    shared: HashMap<(Write, Who), SharedLimit>,
    reads: KeyedLimit<String>,
}

impl Limits {
    pub fn new(pool: PgPool, cfg: &LimitsConfig) -> Limits {
        let shared = cells(cfg)
            .into_iter()
            .map(|(write, who, scope, n, window)| {
                (
                    (write, who),
                    SharedLimit::per(pool.clone(), scope, n, window),
                )
            })
            .collect();
        Limits {
            pool,
            shared,
            reads: KeyedLimit::per_minute(cfg.anonymous_reads_per_minute_per_address),
        }
    }

    /// Counts `write` for its account (if signed in) and its address.
    async fn check_write(
        &self,
        write: Write,
        user: Option<Uuid>,
        ip: IpAddr,
    ) -> Result<(), ApiError> {
        let checks = [
            (Who::Account, user.map(|u| u.to_string())),
            (Who::Address, Some(address_key(ip))),
        ];
        for (who, key) in checks {
            let (Some(limit), Some(key)) = (self.shared.get(&(write, who)), key) else {
                continue;
            };
            match limit.check(&key).await {
                Ok(Ok(())) => {}
                Ok(Err(wait)) => return Err(too_many(write.noun(), wait)),
                Err(e) => {
                    tracing::error!(error = %e, "checking a write limit failed");
                    return Err(ApiError::server(
                        crate::error::database_status(&e),
                        "database_unavailable",
                    ));
                }
            }
        }
        Ok(())
    }

    /// The account a credential (its hash) names, if it names a live one.
    async fn account(&self, token_hash: Option<Vec<u8>>) -> Option<Uuid> {
        auth::user_for_token_hash(&self.pool, &token_hash?)
            .await
            .ok()
            .flatten()
    }
}

fn too_many(what: &str, wait: u64) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("too many {what}; retry in {wait} s"),
    );
    e.retry_after = Some(wait);
    e
}

/// Is this request anonymous: no session, no bearer token, no API key
/// (keys have allowances of their own)?
fn anonymous(req: &Request) -> bool {
    let h = req.headers();
    !h.contains_key(axum::http::header::AUTHORIZATION)
        && !h.contains_key("x-api-key")
        && auth::cookie(h, auth::SESSION_COOKIE).is_none_or(|t| t.is_empty())
}

/// Middleware: a limited write is counted (and refused past its allowance)
/// before its handler runs; an anonymous read is counted per address.
pub async fn enforce(State(limits): State<Arc<Limits>>, req: Request, next: Next) -> Response {
    // The hot paths (media ranges, heartbeats) are neither: no work at all.
    let path = req.uri().path();
    if path.starts_with("/stream/") || path == "/api/v1/heartbeats" {
        return next.run(req).await;
    }
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let method = req.method().clone();
    if let Some(write) = write_of(&method, req.uri().path()) {
        // Read before the await: a request's body is not `Sync`.
        let token = auth::credential(req.headers())
            .ok()
            .flatten()
            .map(auth::hash_token);
        let user = limits.account(token).await;
        if let Err(e) = limits.check_write(write, user, ip).await {
            return e.into_response();
        }
    } else if matches!(method, Method::GET | Method::HEAD)
        && !reads_exempt(req.uri().path())
        && anonymous(&req)
        && let Err(wait) = limits.reads.check(&address_key(ip))
    {
        return too_many("requests from this address", wait).into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_fit_their_patterns_segment_by_segment() {
        let id = "0191f3a4-0000-7000-8000-000000000000";
        assert_eq!(
            write_of(&Method::POST, &format!("/api/v1/cloudcasts/{id}/comments")),
            Some(Write::Comment)
        );
        assert_eq!(
            write_of(&Method::GET, &format!("/api/v1/cloudcasts/{id}/comments")),
            None
        );
        assert_eq!(
            write_of(&Method::POST, "/api/v1/accounts"),
            Some(Write::SignUp)
        );
        assert_eq!(
            write_of(&Method::POST, "/api/v1/accounts/password-reset"),
            None
        );
        assert_eq!(
            write_of(&Method::PUT, "/api/v1/users/dj/follow"),
            Some(Write::Follow)
        );
        assert_eq!(write_of(&Method::PUT, "/api/v1/users/dj/follow/x"), None);
        assert_eq!(
            write_of(&Method::POST, "/api/v1/uploads"),
            Some(Write::Upload)
        );
        assert_eq!(write_of(&Method::PATCH, "/api/v1/uploads/x"), None);
    }

    #[test]
    fn every_limited_write_has_its_cells_under_scopes_of_their_own() {
        let cells = cells(&LimitsConfig::default());
        for (_, _, write) in LIMITED {
            assert!(cells.iter().any(|c| c.0 == *write), "{write:?}");
        }
        let mut scopes: Vec<&str> = cells.iter().map(|c| c.2).collect();
        scopes.sort_unstable();
        scopes.dedup();
        assert_eq!(scopes.len(), cells.len(), "one scope per cell");
    }

    #[test]
    fn ipv6_addresses_count_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1"
            .parse()
            .unwrap_or(IpAddr::from([0; 4]));
        let b: IpAddr = "2001:db8:1:2:bbbb::9"
            .parse()
            .unwrap_or(IpAddr::from([0; 4]));
        assert_eq!(address_key(a), address_key(b));
        assert_eq!(address_key(IpAddr::from([203, 0, 113, 7])), "203.0.113.7");
    }
}
