//! Readable cloudcast URLs: `/{username}/{slug}`, the slug made from the
//! title, unique per owner. Every slug a cloudcast has had stays in
//! `cloudcast_slugs`, so an old link still resolves (and redirects) after a
//! rename. Upload completion, a title change and the start-up backfill of
//! older rows all assign slugs here.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::paths::is_reserved_slug;

/// Longest slug made from a title (in bytes; slugs are ASCII).
const MAX_SLUG: usize = 80;
/// What a title with nothing to transliterate becomes.
const FALLBACK: &str = "cloudcast";

/// The slug of a title: transliterated to ASCII, lower case, words joined
/// by `-` (the `slug` crate, on `deunicode`), cut at a word boundary.
pub fn slugify(title: &str) -> String {
    let mut s = slug::slugify(title);
    if s.len() > MAX_SLUG {
        let cut = s[..MAX_SLUG].rfind('-').unwrap_or(MAX_SLUG);
        s.truncate(cut);
    }
    if s.is_empty() {
        FALLBACK.to_string()
    } else {
        s
    }
}

/// Candidates for `base`, in order: `base`, `base-2`, `base-3`, ...
fn candidate(base: &str, n: u32) -> String {
    if n <= 1 {
        base.to_string()
    } else {
        format!("{base}-{n}")
    }
}

/// Gives the cloudcast the slug of `title` (reusing one it already had for
/// that title) and makes it current; returns it. Runs in the caller's
/// transaction.
pub async fn assign(
    conn: &mut PgConnection,
    cloudcast: Uuid,
    owner: Uuid,
    title: &str,
) -> Result<String, sqlx::Error> {
    let base = slugify(title);
    let owned: Vec<String> = sqlx::query_scalar(
        "SELECT slug FROM cloudcast_slugs WHERE owner_id = $1 AND cloudcast_id = $2",
    )
    .bind(owner)
    .bind(cloudcast)
    .fetch_all(&mut *conn)
    .await?;
    let mut n = 1;
    let slug = loop {
        let slug = candidate(&base, n);
        n += 1;
        if owned.contains(&slug) {
            break slug;
        }
        if is_reserved_slug(&slug) {
            continue;
        }
        // Taken by another cloudcast of the owner (now or once): next one.
        let inserted = sqlx::query(
            "INSERT INTO cloudcast_slugs (owner_id, slug, cloudcast_id) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(owner)
        .bind(&slug)
        .bind(cloudcast)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if inserted == 1 {
            break slug;
        }
    };
    sqlx::query("UPDATE cloudcasts SET slug = $2 WHERE id = $1")
        .bind(cloudcast)
        .bind(&slug)
        .execute(&mut *conn)
        .await?;
    Ok(slug)
}

/// Gives every cloudcast without a slug (rows older than slugs) one; run
/// at start-up after the migrations. Returns how many were assigned.
pub async fn backfill(pool: &sqlx::PgPool) -> Result<usize, sqlx::Error> {
    let mut done = 0;
    loop {
        let mut tx = crate::db::begin_startup_repair(pool).await?;
        // Read under the lock and the rows' own locks, so a title changed
        // meanwhile is the one its slug is made from.
        let rows: Vec<(Uuid, Uuid, String)> = sqlx::query_as(
            "SELECT id, owner_id, title FROM cloudcasts WHERE slug IS NULL
              ORDER BY id LIMIT 500 FOR UPDATE",
        )
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Ok(done);
        }
        for (id, owner, title) in &rows {
            assign(&mut tx, *id, *owner, title).await?;
        }
        tx.commit().await?;
        done += rows.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_become_readable_ascii() {
        assert_eq!(slugify("Summer Mix 2026 (Live!)"), "summer-mix-2026-live");
        assert_eq!(slugify("Déjà Vu — Ünïcode"), "deja-vu-unicode");
        assert_eq!(slugify("   "), "cloudcast");
        assert_eq!(slugify("../../etc"), "etc");
        let long = slugify(&"word ".repeat(40));
        assert!(long.len() <= MAX_SLUG && !long.ends_with('-'), "{long}");
    }

    #[test]
    fn candidates_count_from_two() {
        assert_eq!(candidate("mix", 1), "mix");
        assert_eq!(candidate("mix", 2), "mix-2");
    }
}
