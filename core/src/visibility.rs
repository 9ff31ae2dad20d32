//! Who may see what: the one home of the visibility rules every surface
//! applies (the catalogue, comments, favourites, statistics, history, the
//! stream).
//!
//! - A private cloudcast is seen by its owner alone; to everyone else it
//!   does not exist (the same "not found" as an unknown id).
//! - Its owner or an administrator may manage it (delete, retry, read its
//!   full statistics), whatever its privacy.
//! - A minor's listening activity and favourites are never public.
//!
//! [`sql_visible`] is the SQL form of [`Access::visible_to`], for queries
//! that filter lists in the database.

use sqlx::PgPool;
use uuid::Uuid;

/// What the rule needs to know about a cloudcast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Access {
    pub owner_id: Uuid,
    pub private: bool,
}

impl Access {
    /// May `viewer` (None: anonymous) see this cloudcast?
    pub fn visible_to(&self, viewer: Option<Uuid>) -> bool {
        !self.private || viewer == Some(self.owner_id)
    }

    /// May `viewer` manage it (delete, retry, full statistics)?
    pub fn manageable_by(&self, viewer: Uuid, viewer_is_admin: bool) -> bool {
        viewer == self.owner_id || viewer_is_admin
    }
}

/// The cloudcast's owner and privacy, if it exists.
pub async fn load(pool: &PgPool, cloudcast: Uuid) -> Result<Option<Access>, sqlx::Error> {
    sqlx::query_as("SELECT owner_id, private FROM cloudcasts WHERE id = $1")
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
}

impl Viewed {
    /// May the viewer manage it (owner or administrator)? False when anonymous.
    pub fn manageable_by(&self, viewer: Option<Uuid>) -> bool {
        viewer.is_some_and(|v| self.access.manageable_by(v, self.viewer_is_admin))
    }
}

/// [`load`] and the viewer's administrator flag in one round trip.
pub async fn load_for(
    pool: &PgPool,
    cloudcast: Uuid,
    viewer: Option<Uuid>,
) -> Result<Option<Viewed>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.owner_id, c.private,
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
    format!("(NOT {alias}.private OR {alias}.owner_id = {viewer})")
}

/// The id of the user called `username` (any case) if their activity may
/// be public: never a minor's. `None` for an unknown name too, so the two
/// cannot be told apart.
pub async fn public_activity_of(
    pool: &PgPool,
    username: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM users WHERE lower(username) = lower($1) AND NOT is_minor")
        .bind(username)
        .fetch_optional(pool)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_cloudcasts_are_seen_by_their_owner_alone() {
        let owner = Uuid::from_u128(1);
        let other = Uuid::from_u128(2);
        let public = Access {
            owner_id: owner,
            private: false,
        };
        let private = Access {
            owner_id: owner,
            private: true,
        };
        assert!(public.visible_to(None));
        assert!(public.visible_to(Some(other)));
        assert!(private.visible_to(Some(owner)));
        assert!(!private.visible_to(Some(other)));
        assert!(!private.visible_to(None));
    }

    #[test]
    fn owners_and_admins_manage() {
        let owner = Uuid::from_u128(1);
        let other = Uuid::from_u128(2);
        let a = Access {
            owner_id: owner,
            private: true,
        };
        assert!(a.manageable_by(owner, false));
        assert!(a.manageable_by(other, true));
        assert!(!a.manageable_by(other, false));
    }

    #[test]
    fn the_sql_form_names_the_same_columns() {
        assert_eq!(
            sql_visible("cc", "$3"),
            "(NOT cc.private OR cc.owner_id = $3)"
        );
    }
}
