//! Who may see what: the one home of the visibility rules every surface
//! applies (the catalogue and its lists, search, charts, feeds, comments,
//! favourites, statistics, history, the stream).
//!
//! - **May view** ([`Access::visible_to`], [`sql_visible`]): its owner
//!   always; anyone else a public or unlisted cloudcast once its
//!   `publish_at` has passed. A private or not yet published cloudcast does
//!   not exist for them (the same "not found" as an unknown id). An
//!   unlisted one is reached by its id or by its URL with its secret.
//! - **May list** ([`sql_listed`]): public, ready and published. Only such
//!   a cloudcast appears in a list, search result, chart, feed, tag page or
//!   someone's public activity, whoever asks; an owner's own lists
//!   (`/me/...`) use "may view" with themselves as the viewer.
//! - **A draft** (its DJ still describing it): hidden from everyone but
//!   its owner, whatever its visibility, until published.
//! - **Taken down** (a report upheld by a moderator, `reports.rs` of the
//!   catalogue): hidden from everyone but its owner, whatever its
//!   visibility, until a counter-notice reinstates it.
//! - Its owner or an administrator may manage it (delete, retry, read its
//!   full statistics), whatever its visibility.
//! - A minor's listening activity, favourites, reposts and follow lists are
//!   never public ([`public_activity_of`], [`sql_public_activity`]).
//! - An account whose sign-up is not confirmed yet (pending) is seen
//!   nowhere: looked up by name it is as missing as an unknown one
//!   ([`sql_account_active`]).
//! - **A block** ([`sql_blocked`], [`blocked`]): between two people, one of
//!   whom blocked the other, there are no follows, comments on each
//!   other's mixes or comments, nor notifications of each other's doing;
//!   the blocker sees none of the blocked one's comments, and neither
//!   does anyone on the blocker's own mixes ([`sql_comment_blocked`]).
//! - **A playlist** ([`sql_playlist_visible`], [`sql_playlist_listed`],
//!   [`sql_in_playlist`]): public, unlisted or private as a mix is; the
//!   mixes in it show as they would in a list, or to their own owner.
//! - **Comments on a profile** ([`sql_profile_comments_open`]): taken and
//!   shown while its owner's switch is on, never on a minor's profile.

use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::states::CloudcastStatus;
pub use crate::states::Visibility;

/// What the rule needs to know about a cloudcast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Access {
    pub owner_id: Uuid,
    pub visibility: Visibility,
    /// Hidden from others until then.
    pub publish_at: Option<OffsetDateTime>,
    /// Taken down after a report: hidden from all but its owner.
    pub taken_down: bool,
    /// Not published yet by its DJ: hidden from all but its owner.
    pub draft: bool,
    /// Its owner is suspended: hidden from all but its owner.
    pub owner_suspended: bool,
}

impl Access {
    /// May `viewer` (None: anonymous) see this cloudcast now?
    pub fn visible_to(&self, viewer: Option<Uuid>) -> bool {
        self.visible_at(viewer, OffsetDateTime::now_utc())
    }

    /// [`Access::visible_to`] at a given time (for tests and caches).
    pub fn visible_at(&self, viewer: Option<Uuid>, now: OffsetDateTime) -> bool {
        if viewer == Some(self.owner_id) {
            return true;
        }
        !self.taken_down
            && !self.draft
            && !self.owner_suspended
            && self.visibility != Visibility::Private
            && self.publish_at.is_none_or(|at| at <= now)
    }

    /// May `viewer` manage it (delete, retry, full statistics)?
    pub fn manageable_by(&self, viewer: Uuid, viewer_is_admin: bool) -> bool {
        viewer == self.owner_id || viewer_is_admin
    }

    /// Whether shared caches may keep its bytes: only those of a public
    /// cloudcast whose time has come.
    pub fn is_public(&self) -> bool {
        self.visibility == Visibility::Public
            && !self.taken_down
            && !self.draft
            && !self.owner_suspended
            && self
                .publish_at
                .is_none_or(|at| at <= OffsetDateTime::now_utc())
    }
}

/// The columns [`Access`] reads, for queries that select it with more.
pub const ACCESS_COLUMNS: &str =
    "owner_id, visibility, publish_at, taken_down_at IS NOT NULL AS taken_down, draft,
    COALESCE(owner_hidden_until > now(), false) AS owner_suspended";

/// The cloudcast's owner and visibility, if it exists.
pub async fn load(pool: &PgPool, cloudcast: Uuid) -> Result<Option<Access>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ACCESS_COLUMNS} FROM cloudcasts WHERE id = $1"
    ))
    .bind(cloudcast)
    .fetch_optional(pool)
    .await
}

/// A cloudcast's [`Access`] and whether the viewer is an administrator,
/// for the checks that need both.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct Viewed {
    #[sqlx(flatten)]
    pub access: Access,
    pub viewer_is_admin: bool,
    /// Its owner hides its counts from all but the owner and administrators.
    pub hide_stats: bool,
}

impl Viewed {
    /// May the viewer manage it (owner or administrator)? False when anonymous.
    pub fn manageable_by(&self, viewer: Option<Uuid>) -> bool {
        viewer.is_some_and(|v| self.access.manageable_by(v, self.viewer_is_admin))
    }

    /// May the viewer see its counts and statistics?
    pub fn stats_visible_to(&self, viewer: Option<Uuid>) -> bool {
        !self.hide_stats || self.manageable_by(viewer)
    }
}

/// [`load`] and the viewer's administrator flag in one round trip.
pub async fn load_for(
    pool: &PgPool,
    cloudcast: Uuid,
    viewer: Option<Uuid>,
) -> Result<Option<Viewed>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.owner_id, c.visibility, c.publish_at,
                c.taken_down_at IS NOT NULL AS taken_down, c.draft, c.hide_stats,
                COALESCE(c.owner_hidden_until > now(), false) AS owner_suspended,
                COALESCE((SELECT u.is_admin FROM users u WHERE u.id = $2), false) AS viewer_is_admin
           FROM cloudcasts c WHERE c.id = $1",
    )
    .bind(cloudcast)
    .bind(viewer)
    .fetch_optional(pool)
    .await
}

/// [`Access::visible_to`] in SQL: `alias` names the `cloudcasts` row and
/// `viewer` the bound parameter holding the viewer's id (NULL: anonymous).
/// Both are fixed strings of the calling query, never input.
pub fn sql_visible(alias: &str, viewer: &str) -> String {
    let private = Visibility::Private.as_str();
    format!(
        "({alias}.owner_id = {viewer} OR ({alias}.visibility <> '{private}' AND {alias}.listed_at <= now() AND {alias}.taken_down_at IS NULL AND NOT {alias}.draft AND {}))",
        sql_owner_shown(alias)
    )
}

/// "May list" in SQL: public, ready, published (`listed_at` is
/// `publish_at` when set; not a draft) and not taken down. The same for every viewer.
pub fn sql_listed(alias: &str) -> String {
    let (public, ready) = (Visibility::Public.as_str(), CloudcastStatus::Ready.as_str());
    format!(
        "({alias}.visibility = '{public}' AND {alias}.status = '{ready}' AND {alias}.listed_at <= now() AND {alias}.taken_down_at IS NULL AND NOT {alias}.draft AND {})",
        sql_owner_shown(alias)
    )
}

/// In SQL: the playlist row `alias` may be viewed by `viewer` holding
/// `secret` (SQL expressions; either may be NULL): its owner always;
/// anyone else a public one, or an unlisted one with its secret, while its
/// owner's account is shown and is no minor's (what a minor gathers is
/// their listening activity, never public). A private one does not exist
/// for others.
pub fn sql_playlist_visible(alias: &str, viewer: &str, secret: &str) -> String {
    let (public, unlisted) = (Visibility::Public.as_str(), Visibility::Unlisted.as_str());
    format!(
        "({alias}.owner_id = {viewer} OR (({alias}.visibility = '{public}'
            OR ({alias}.visibility = '{unlisted}' AND {alias}.secret = {secret}))
          AND {owner}))",
        owner = sql_playlist_owner_shown(alias),
    )
}

/// In SQL: the playlist row `alias` may be listed (a profile, search):
/// public, its owner's account shown and no minor's.
pub fn sql_playlist_listed(alias: &str) -> String {
    format!(
        "({alias}.visibility = '{}' AND {})",
        Visibility::Public.as_str(),
        sql_playlist_owner_shown(alias),
    )
}

/// The playlist row `alias`'s owner is shown to others: an account in use,
/// not a minor.
fn sql_playlist_owner_shown(alias: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM users po WHERE po.id = {alias}.owner_id AND NOT po.is_minor AND {})",
        sql_account_active("po")
    )
}

/// In SQL: the cloudcast row `alias` shows in a playlist to `viewer`: it
/// may be listed, or it is the viewer's own. An unlisted, private, taken
/// down or unpublished mix of someone else's is left out, so a playlist
/// never shows what its reader could not find, and never breaks.
pub fn sql_in_playlist(alias: &str, viewer: &str) -> String {
    format!("({} OR {alias}.owner_id = {viewer})", sql_listed(alias))
}

/// The cloudcast row `alias`'s owner is not suspended.
fn sql_owner_shown(alias: &str) -> String {
    format!("({alias}.owner_hidden_until IS NULL OR {alias}.owner_hidden_until <= now())")
}

/// In SQL: one of the people `a` and `b` (SQL expressions for user ids)
/// has blocked the other.
pub fn sql_blocked(a: &str, b: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM user_blocks ub
                  WHERE (ub.blocker_id = {a} AND ub.blocked_id = {b})
                     OR (ub.blocker_id = {b} AND ub.blocked_id = {a}))"
    )
}

/// In SQL: a comment by `author` on a mix owned by `owner` is hidden from
/// `viewer` (SQL expressions for user ids; `viewer` may be NULL): the
/// viewer or the mix's owner blocked its author.
pub fn sql_comment_blocked(author: &str, viewer: &str, owner: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM user_blocks ub WHERE ub.blocked_id = {author}
                  AND (ub.blocker_id = {viewer} OR ub.blocker_id = {owner}))"
    )
}

/// In SQL: the profile of the user row `alias` takes comments and shows
/// them: its owner's switch is on, the owner is no minor (a minor's
/// profile never takes comments), and the account is shown.
pub fn sql_profile_comments_open(alias: &str) -> String {
    format!(
        "(NOT {alias}.is_minor AND {alias}.profile_comments AND {})",
        sql_account_active(alias)
    )
}

/// Whether one of `a` and `b` has blocked the other ([`sql_blocked`]).
pub async fn blocked(conn: &mut sqlx::PgConnection, a: Uuid, b: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(&format!("SELECT {}", sql_blocked("$1", "$2")))
        .bind(a)
        .bind(b)
        .fetch_one(conn)
        .await
}

/// In SQL: the user row `alias` may have its activity (listening,
/// favourites, reposts, follows) shown to others: never a minor's, nor
/// that of someone who keeps it private.
pub fn sql_public_activity(alias: &str) -> String {
    format!(
        "(NOT {alias}.is_minor AND NOT {alias}.activity_private AND {})",
        sql_account_active(alias)
    )
}

/// An account shown: not a sign-up waiting for its mailed link (which
/// cannot be told from no account at all), not suspended. `alias` names
/// the `users` row.
pub fn sql_account_active(alias: &str) -> String {
    format!(
        "({} AND ({alias}.suspended_until IS NULL OR {alias}.suspended_until <= now()))",
        sql_account_confirmed(alias)
    )
}

/// An account whose sign-up was confirmed (a suspended one included: it
/// may sign in to read the decision, appeal, export or erase).
pub fn sql_account_confirmed(alias: &str) -> String {
    format!("({alias}.pending_until IS NULL)")
}

/// The id of the user called `username` (any case) if their activity may
/// be public: never a minor's. `None` for an unknown name too, so the two
/// cannot be told apart.
pub async fn public_activity_of(
    pool: &PgPool,
    username: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(&format!(
        "SELECT u.id FROM users u WHERE lower(u.username) = lower($1) AND {}",
        sql_public_activity("u")
    ))
    .bind(username)
    .fetch_optional(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    fn access(visibility: Visibility, publish_at: Option<OffsetDateTime>) -> Access {
        Access {
            owner_id: Uuid::from_u128(1),
            visibility,
            publish_at,
            taken_down: false,
            draft: false,
            owner_suspended: false,
        }
    }

    #[test]
    fn private_cloudcasts_are_seen_by_their_owner_alone() {
        let owner = Some(Uuid::from_u128(1));
        let other = Some(Uuid::from_u128(2));
        for v in [Visibility::Public, Visibility::Unlisted] {
            assert!(access(v, None).visible_to(None));
            assert!(access(v, None).visible_to(other));
        }
        let private = access(Visibility::Private, None);
        assert!(private.visible_to(owner));
        assert!(!private.visible_to(other));
        assert!(!private.visible_to(None));
    }

    #[test]
    fn scheduled_cloudcasts_wait_for_their_time() {
        let now = OffsetDateTime::now_utc();
        let later = access(Visibility::Public, Some(now + Duration::hours(1)));
        assert!(!later.visible_at(None, now));
        assert!(later.visible_at(Some(Uuid::from_u128(1)), now));
        assert!(later.visible_at(None, now + Duration::hours(2)));
    }

    #[test]
    fn a_taken_down_cloudcast_is_its_owners_alone() {
        let owner = Some(Uuid::from_u128(1));
        let mut a = access(Visibility::Public, None);
        a.taken_down = true;
        assert!(a.visible_to(owner));
        assert!(!a.visible_to(Some(Uuid::from_u128(2))));
        assert!(!a.visible_to(None));
        assert!(!a.is_public());
    }

    #[test]
    fn a_draft_is_its_owners_alone_until_published() {
        let owner = Some(Uuid::from_u128(1));
        let mut a = access(Visibility::Public, None);
        a.draft = true;
        assert!(a.visible_to(owner));
        assert!(!a.visible_to(Some(Uuid::from_u128(2))));
        assert!(!a.visible_to(None));
        assert!(!a.is_public());
        a.draft = false;
        assert!(a.visible_to(None));
    }

    #[test]
    fn a_suspended_owners_cloudcasts_are_theirs_alone() {
        let mut a = access(Visibility::Public, None);
        a.owner_suspended = true;
        assert!(a.visible_to(Some(Uuid::from_u128(1))));
        assert!(!a.visible_to(Some(Uuid::from_u128(2))));
        assert!(!a.visible_to(None));
        assert!(!a.is_public());
        assert!(sql_listed("c").contains("c.owner_hidden_until"));
        assert!(sql_visible("c", "$1").contains("c.owner_hidden_until"));
    }

    #[test]
    fn owners_and_admins_manage() {
        let owner = Uuid::from_u128(1);
        let other = Uuid::from_u128(2);
        let a = access(Visibility::Private, None);
        assert!(a.manageable_by(owner, false));
        assert!(a.manageable_by(other, true));
        assert!(!a.manageable_by(other, false));
    }

    #[test]
    fn the_sql_forms_name_the_same_columns() {
        assert_eq!(
            sql_visible("cc", "$3"),
            "(cc.owner_id = $3 OR (cc.visibility <> 'private' AND cc.listed_at <= now() AND cc.taken_down_at IS NULL AND NOT cc.draft AND (cc.owner_hidden_until IS NULL OR cc.owner_hidden_until <= now())))"
        );
        assert!(sql_listed("c").contains("NOT c.draft"));
        assert!(sql_listed("c").contains("c.taken_down_at IS NULL"));
        assert!(sql_listed("c").contains("c.visibility = 'public'"));
        assert!(sql_listed("c").contains("c.status = 'ready'"));
    }
}
