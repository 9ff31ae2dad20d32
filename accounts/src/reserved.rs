//! Accounts whose username became one of the site's own addresses
//! (`core/src/paths.rs`): renamed at start-up to the first free `name-N`,
//! and told by mail through the outbox. Run after every migration, so a
//! name reserved in a later release is handled the same way; a no-op when
//! nothing collides.

use sqlx::PgPool;
use uuid::Uuid;

use cloudcast_core::paths::RESERVED_USERNAMES;

use crate::AccountsError;

/// Longest username (as sign-up allows).
const MAX_USERNAME: usize = 30;

/// `name-n`, shortened so it stays within the username length.
fn renamed(name: &str, n: u32) -> String {
    let suffix = format!("-{n}");
    let keep = MAX_USERNAME.saturating_sub(suffix.len());
    let stem: String = name.chars().take(keep).collect();
    format!("{stem}{suffix}")
}

/// Renames every colliding account; returns how many were renamed. Nodes
/// starting together take turns (an advisory lock), and each account is
/// renamed in its own transaction, re-read under the lock.
pub async fn rename_reserved(pool: &PgPool, public_url: &str) -> Result<usize, AccountsError> {
    let reserved: Vec<String> = RESERVED_USERNAMES.iter().map(|s| s.to_string()).collect();
    let mut renamed_count = 0;
    // A sign-up may take a candidate name between the check and the update:
    // that transaction fails on the unique index and the account is tried
    // again (a bounded number of times).
    let mut conflicts = 0;
    loop {
        let mut tx = cloudcast_core::db::begin_startup_repair(pool).await?;
        let found: Option<(Uuid, String, String)> = sqlx::query_as(
            "SELECT id, username, email FROM users WHERE lower(username) = ANY($1)
              ORDER BY id LIMIT 1 FOR UPDATE",
        )
        .bind(&reserved)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((id, old, email)) = found else {
            return Ok(renamed_count);
        };
        let mut n = 1;
        let new = loop {
            let candidate = renamed(&old, n);
            n += 1;
            let taken: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM users WHERE lower(username) = lower($1))",
            )
            .bind(&candidate)
            .fetch_one(&mut *tx)
            .await?;
            if !taken {
                break candidate;
            }
        };
        let updated = sqlx::query("UPDATE users SET username = $2 WHERE id = $1")
            .bind(id)
            .bind(&new)
            .execute(&mut *tx)
            .await;
        match updated {
            Ok(_) => {}
            Err(sqlx::Error::Database(db))
                if db.constraint() == Some("users_username_ci") && conflicts < 10 =>
            {
                conflicts += 1;
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        let body = format!(
            "Hello {new},\n\nYour username was \"{old}\". That name is now one of the \
             addresses of the site itself ({public_url}/{old}), so your profile could not \
             live there. Your username is now \"{new}\"; your profile is at \
             {public_url}/{new}.\n\nYour cloudcasts, followers and everything else are \
             unchanged. You can sign in with your email address as before.\n",
            public_url = public_url.trim_end_matches('/'),
        );
        cloudcast_core::outbox::queue(
            &mut tx,
            Some(id),
            &email,
            "username_changed",
            "Your Cloudcast username has changed",
            &body,
        )
        .await?;
        tx.commit().await?;
        renamed_count += 1;
        tracing::info!(user_id = %id, "reserved username renamed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_names_keep_within_the_length() {
        assert_eq!(renamed("settings", 1), "settings-1");
        let long = "a".repeat(30);
        assert_eq!(renamed(&long, 12).len(), 30);
        assert!(renamed(&long, 12).ends_with("-12"));
    }
}
