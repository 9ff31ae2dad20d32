//! An account's standing: the one home of what a decision on an account
//! (suspension, a restriction) and the terms in force let it do.
//!
//! - **Terms due**: the current terms (the newest version of
//!   `policy_versions` in effect) are not the ones the person accepted.
//!   Until they accept, the API answers 403 `terms_not_accepted` to all but
//!   [`allowed`]: reading and accepting the policies, reading the account,
//!   export, erasure and signing out.
//! - **Suspended** (`users.suspended_until` in the future): its sessions
//!   and keys were revoked with the decision; a new sign-in may only read
//!   the decision, appeal, export, erase and sign out (403
//!   `account_suspended` elsewhere). Its mixes, comments and profile are
//!   hidden (`visibility.rs` reads the same columns).
//! - **Restricted** (`no_uploads_until`, `no_comments_until`): may not
//!   upload or comment ([`require`]).

use axum::http::Method;
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::AuthError;

/// What a decision "for good" stores as its end: far enough that no
/// comparison with now ever passes it, near enough for every date type.
pub fn for_good() -> OffsetDateTime {
    time::macros::datetime!(9999-12-31 0:00 UTC)
}

/// What a signed-in account may do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    Good,
    /// The terms in force (this version) are not accepted yet.
    TermsDue(String),
    /// Suspended by a moderator.
    Suspended,
}

/// The standing columns, for the session look-up: `u` is the user row.
pub const SQL_STANDING: &str = "COALESCE(u.suspended_until > now(), false) AS suspended,
    (SELECT pv.version FROM policy_versions pv
      WHERE pv.kind = 'terms' AND pv.effective_at <= now()
      ORDER BY pv.effective_at DESC LIMIT 1) AS terms_current,
    u.terms_version";

impl Standing {
    /// From the [`SQL_STANDING`] columns.
    pub fn of(suspended: bool, terms_current: Option<String>, accepted: Option<String>) -> Self {
        match (suspended, terms_current) {
            (true, _) => Standing::Suspended,
            (false, Some(current)) if accepted.as_deref() != Some(current.as_str()) => {
                Standing::TermsDue(current)
            }
            _ => Standing::Good,
        }
    }
}

/// May an account in `standing` make this request? Everything when in
/// good standing; otherwise what lets a person leave or put things right.
pub fn allowed(standing: &Standing, method: &Method, path: &str) -> bool {
    let under = |prefix: &str| path == prefix || path.starts_with(&format!("{prefix}/"));
    // Either way: read the account and the policies, export, erase, sign out.
    let always = (method == Method::GET && (path == "/api/v1/me" || under("/api/v1/policies")))
        || under("/api/v1/me/policies")
        || under("/api/v1/me/export")
        || under("/api/v1/me/exports")
        || (method == Method::DELETE && (path == "/api/v1/me" || path == "/api/v1/sessions"));
    match standing {
        Standing::Good => true,
        Standing::TermsDue(_) => always,
        // Read the decision and appeal it.
        Standing::Suspended => always || under("/api/v1/me/decisions"),
    }
}

/// What a restriction forbids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restriction {
    Uploads,
    Comments,
}

/// Refuses `what` to an account a moderator restricted (or suspended).
pub async fn require(pool: &PgPool, user: Uuid, what: Restriction) -> Result<(), AuthError> {
    let column = match what {
        Restriction::Uploads => "no_uploads_until",
        Restriction::Comments => "no_comments_until",
    };
    let until: Option<Option<OffsetDateTime>> = sqlx::query_scalar(&format!(
        "SELECT GREATEST({column}, suspended_until) FROM users WHERE id = $1"
    ))
    .bind(user)
    .fetch_optional(pool)
    .await?;
    match until.flatten() {
        Some(t) if t > OffsetDateTime::now_utc() => Err(AuthError::Restricted(match what {
            Restriction::Uploads => "upload",
            Restriction::Comments => "comment",
        })),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standing_follows_the_columns() {
        assert_eq!(Standing::of(false, None, None), Standing::Good);
        assert_eq!(
            Standing::of(false, Some("2".into()), Some("2".into())),
            Standing::Good
        );
        assert_eq!(
            Standing::of(false, Some("2".into()), Some("1".into())),
            Standing::TermsDue("2".into())
        );
        assert_eq!(
            Standing::of(false, Some("2".into()), None),
            Standing::TermsDue("2".into())
        );
        assert_eq!(
            Standing::of(true, Some("2".into()), Some("2".into())),
            Standing::Suspended
        );
    }

    #[test]
    fn a_restricted_account_may_leave_or_put_things_right() {
        let due = Standing::TermsDue("2".into());
        let get = Method::GET;
        for (m, p) in [
            (&get, "/api/v1/policies/terms"),
            (&Method::POST, "/api/v1/me/policies/terms/accept"),
            (&get, "/api/v1/me"),
            (&Method::POST, "/api/v1/me/exports"),
            (&Method::DELETE, "/api/v1/me"),
            (&Method::DELETE, "/api/v1/sessions"),
        ] {
            assert!(allowed(&due, m, p), "{m} {p}");
            assert!(allowed(&Standing::Suspended, m, p), "{m} {p}");
        }
        for (m, p) in [
            (&Method::POST, "/api/v1/cloudcasts/x/favourite"),
            (&Method::PUT, "/api/v1/me"),
            (&get, "/api/v1/me/notifications"),
            (&get, "/api/v1/policiesx"),
            (&Method::POST, "/api/v1/me/decisions/x/appeal"),
        ] {
            assert!(!allowed(&due, m, p), "{m} {p}");
        }
        assert!(allowed(
            &Standing::Suspended,
            &Method::POST,
            "/api/v1/me/decisions/x/appeal"
        ));
        assert!(!allowed(
            &Standing::Suspended,
            &Method::POST,
            "/api/v1/cloudcasts/x/comments"
        ));
        assert!(allowed(&Standing::Good, &Method::POST, "/anything"));
    }

    #[test]
    fn for_good_is_later_than_any_real_time() {
        assert!(for_good() > OffsetDateTime::now_utc() + time::Duration::days(365 * 1000));
    }
}
