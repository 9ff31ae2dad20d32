//! A cloudcast as every list shows it (a "card"), its readable URL, and the
//! SQL that selects one, shared by the lists, search, charts, tag pages,
//! the feed and listen-later so they cannot disagree on what a card shows.

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use cloudcast_core::states::{CloudcastStatus, Visibility};

/// The page of a cloudcast: `/{username}/{slug}`; an unlisted one's URL
/// carries its secret, so it cannot be guessed from the slug.
pub fn url(
    owner: &str,
    slug: Option<&str>,
    id: Uuid,
    visibility: Visibility,
    secret: &str,
) -> String {
    let Some(slug) = slug else {
        return format!("/listen/{id}");
    };
    match visibility {
        Visibility::Unlisted => format!("/{owner}/{slug}?secret={secret}"),
        _ => format!("/{owner}/{slug}"),
    }
}

/// One cloudcast in a list.
#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct CloudcastCard {
    pub id: Uuid,
    pub title: String,
    /// The owner's username.
    pub owner: String,
    pub slug: Option<String>,
    /// Its page, `/{owner}/{slug}`.
    pub url: String,
    pub duration_ms: Option<i64>,
    pub tags: Vec<String>,
    /// When it appeared (its scheduled time, else its upload).
    #[serde(with = "time::serde::rfc3339")]
    pub published_at: OffsetDateTime,
    /// Counts; `null` when its owner hides them (`hide_stats`) from others.
    pub favourites: Option<i64>,
    pub reposts: Option<i64>,
    /// Plays in the last 30 days (as the charts count them).
    pub plays: Option<i64>,
    pub picture_urls: crate::pictures::PictureUrls,
    /// The owner's own lists only: where it stands.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<CloudcastStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visibility: Option<Visibility>,
    /// Not published yet: only in its owner's own lists (`POST
    /// /api/v1/cloudcasts/{id}/publish`).
    #[serde(default)]
    pub draft: bool,
    /// Transcoding progress in percent, while `processing` (owner only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<i16>,
    /// Why processing failed or the upload was rejected (owner only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub publish_at: Option<OffsetDateTime>,
    /// Set when a moderator took it down (in the owner's own list only;
    /// nobody else sees it).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub taken_down_at: Option<OffsetDateTime>,
}

/// The columns a [`CardRow`] reads: `c` is the `cloudcasts` row and `u` its
/// owner's `users` row. Progress is looked up only while processing (public
/// lists hold ready cloudcasts only).
pub const CARD_COLUMNS: &str = concat!(
    "c.id, c.title, u.username AS owner, c.owner_id, c.slug,
    c.visibility, c.secret, c.status, c.duration_ms, c.tags, c.listed_at, c.publish_at,
    c.hide_stats, c.error, c.picture_version, c.taken_down_at, c.draft,
    (SELECT count(*) FROM favourites f WHERE f.cloudcast_id = c.id) AS favourites,
    (SELECT count(*) FROM reposts r WHERE r.cloudcast_id = c.id) AS reposts,
    COALESCE((SELECT ch.plays_30d FROM cloudcast_charts ch WHERE ch.cloudcast_id = c.id), 0) AS plays,
    CASE WHEN c.status = 'processing' THEN ",
    cloudcast_core::job_progress_of_c!(),
    " END AS progress"
);

#[derive(Debug, sqlx::FromRow)]
pub struct CardRow {
    pub id: Uuid,
    pub title: String,
    pub owner: String,
    pub owner_id: Uuid,
    pub slug: Option<String>,
    pub visibility: Visibility,
    pub secret: String,
    pub status: CloudcastStatus,
    pub duration_ms: Option<i64>,
    pub tags: Vec<String>,
    pub listed_at: OffsetDateTime,
    pub publish_at: Option<OffsetDateTime>,
    pub hide_stats: bool,
    pub error: Option<String>,
    pub picture_version: Option<Uuid>,
    pub taken_down_at: Option<OffsetDateTime>,
    pub draft: bool,
    pub favourites: i64,
    pub reposts: i64,
    pub plays: i64,
    pub progress: Option<i16>,
}

impl CardRow {
    /// The card as `viewer` sees it; `own_list` adds what only the owner
    /// reads (state, visibility, errors).
    pub fn card(self, viewer: Option<Uuid>, own_list: bool) -> CloudcastCard {
        let is_owner = viewer == Some(self.owner_id);
        let counts = !self.hide_stats || is_owner;
        let own = own_list && is_owner;
        CloudcastCard {
            url: url(
                &self.owner,
                self.slug.as_deref(),
                self.id,
                self.visibility,
                &self.secret,
            ),
            picture_urls: crate::pictures::urls(self.id, self.picture_version),
            id: self.id,
            title: self.title,
            owner: self.owner,
            slug: self.slug,
            duration_ms: self.duration_ms,
            tags: self.tags,
            published_at: self.listed_at,
            favourites: counts.then_some(self.favourites),
            reposts: counts.then_some(self.reposts),
            plays: counts.then_some(self.plays),
            status: own.then_some(self.status),
            visibility: own.then_some(self.visibility),
            draft: self.draft,
            progress: if own && self.status == CloudcastStatus::Processing {
                Some(self.progress.unwrap_or(0))
            } else {
                None
            },
            error: if own { self.error } else { None },
            publish_at: if own { self.publish_at } else { None },
            taken_down_at: if own { self.taken_down_at } else { None },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_card_sql_spells_states_as_states_rs_does() {
        let processing = format!("c.status = '{}'", CloudcastStatus::Processing.as_str());
        assert!(CARD_COLUMNS.contains(&processing));
    }

    #[test]
    fn unlisted_urls_carry_the_secret() {
        let id = Uuid::from_u128(9);
        assert_eq!(
            url("dj", Some("mix"), id, Visibility::Public, "s3cr3t"),
            "/dj/mix"
        );
        assert_eq!(
            url("dj", Some("mix"), id, Visibility::Unlisted, "s3cr3t"),
            "/dj/mix?secret=s3cr3t"
        );
        assert_eq!(
            url("dj", None, id, Visibility::Public, "x"),
            format!("/listen/{id}")
        );
    }
}
