//! What the pages read from the API, as the API's JSON says it. The pages
//! are one more client of the API: these types take only the fields a page
//! shows, so the API's own rules (visibility, minors, hidden counts) decide
//! what a page can show.

use serde::Deserialize;
use uuid::Uuid;

#[derive(Debug, Deserialize)]
pub struct Listing<T> {
    pub items: Vec<T>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Pictures {
    #[serde(default)]
    pub small: String,
    #[serde(default)]
    pub medium: String,
    #[serde(default)]
    pub large: String,
}

/// A cloudcast in a list of marks (favourites, reposts): when, and which.
#[derive(Debug, Deserialize)]
pub struct Marked {
    pub cloudcast: Card,
}

/// One cloudcast in a list.
#[derive(Debug, Deserialize)]
pub struct Card {
    pub id: Uuid,
    pub title: String,
    pub owner: String,
    pub url: String,
    #[serde(default)]
    pub duration_ms: Option<i64>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub favourites: Option<i64>,
    #[serde(default)]
    pub reposts: Option<i64>,
    #[serde(default)]
    pub plays: Option<i64>,
    #[serde(default)]
    pub picture_urls: Pictures,
    /// The owner's own list only.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub visibility: Option<String>,
    #[serde(default)]
    pub progress: Option<i16>,
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Track {
    pub start_ms: u64,
    #[serde(default)]
    pub artist: String,
    #[serde(default)]
    pub title: String,
}

#[derive(Debug, Deserialize)]
pub struct PurchaseLink {
    pub label: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct ViewerState {
    #[serde(default)]
    pub favourited: bool,
    #[serde(default)]
    pub reposted: bool,
    #[serde(default)]
    pub listen_later: bool,
    #[serde(default)]
    pub following_owner: bool,
}

/// One cloudcast, as `GET /api/v1/cloudcasts/{id}` shows it to the viewer.
#[derive(Debug, Deserialize)]
pub struct Cloudcast {
    pub id: Uuid,
    pub title: String,
    pub owner: String,
    pub url: String,
    pub status: String,
    #[serde(default)]
    pub duration_ms: Option<i64>,
    pub visibility: String,
    #[serde(default)]
    pub published_at: String,
    #[serde(default)]
    pub disable_comments: bool,
    #[serde(default)]
    pub peaks_url: Option<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub tracklist: Vec<Track>,
    #[serde(default)]
    pub purchase_links: Vec<PurchaseLink>,
    #[serde(default)]
    pub favourites: Option<i64>,
    #[serde(default)]
    pub reposts: Option<i64>,
    #[serde(default)]
    pub plays: Option<i64>,
    #[serde(default)]
    pub picture_urls: Pictures,
    #[serde(default)]
    pub me: Option<ViewerState>,
    /// Its owner alone sees it while it is taken down.
    #[serde(default)]
    pub takedown: Option<Takedown>,
}

/// Why a moderator took a cloudcast down (its owner's view).
#[derive(Debug, Deserialize)]
pub struct Takedown {
    pub reason: String,
    #[serde(default)]
    pub counter_notice_open: bool,
}

#[derive(Debug, Deserialize)]
pub struct Comment {
    pub id: Uuid,
    pub author: String,
    pub body: String,
    #[serde(default)]
    pub created_at: String,
}

/// A profile, as anyone may see it.
#[derive(Debug, Deserialize)]
pub struct PublicUser {
    pub username: String,
    #[serde(default)]
    pub profile: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub avatar_url: Option<String>,
    #[serde(default)]
    pub cloudcasts: i64,
    #[serde(default)]
    pub followers: Option<i64>,
    #[serde(default)]
    pub following: Option<i64>,
}

/// `GET /api/v1/users/{username}/follow`, for the signed-in viewer.
#[derive(Debug, Deserialize)]
pub struct FollowState {
    pub following: bool,
}

#[derive(Debug, Deserialize)]
pub struct Tag {
    pub tag: String,
    pub cloudcasts: i64,
    pub url: String,
}

#[derive(Debug, Deserialize)]
pub struct UserCard {
    pub username: String,
    pub url: String,
    #[serde(default)]
    pub cloudcasts: i64,
}

#[derive(Debug, Deserialize)]
pub struct SearchResults {
    #[serde(default)]
    pub cloudcasts: Option<Vec<Card>>,
    #[serde(default)]
    pub users: Option<Vec<UserCard>>,
    #[serde(default)]
    pub tags: Option<Vec<Tag>>,
}

#[derive(Debug, Deserialize)]
pub struct CloudcastRef {
    pub id: Uuid,
    pub title: String,
}

#[derive(Debug, Deserialize)]
pub struct ActivityEntry {
    pub cloudcast: CloudcastRef,
    #[serde(default)]
    pub listened_at: String,
}

#[derive(Debug, Deserialize)]
pub struct Activity {
    #[serde(default)]
    pub activity: Vec<ActivityEntry>,
}

/// The signed-in viewer, from `GET /api/v1/me`.
#[derive(Debug, Clone, Deserialize)]
pub struct Me {
    pub username: String,
    #[serde(default)]
    pub is_admin: bool,
}

#[derive(Debug, Deserialize)]
pub struct DayRow {
    pub day: String,
    pub listeners: u64,
    pub plays: u64,
}

#[derive(Debug, Deserialize)]
pub struct RetentionRow {
    pub position_s: u64,
    pub listeners: u64,
}

#[derive(Debug, Deserialize)]
pub struct NamedRow {
    #[serde(alias = "browser", alias = "domain")]
    pub name: String,
    pub listeners: u64,
}

#[derive(Debug, Deserialize)]
pub struct LinkCount {
    pub label: String,
    pub clicks: i64,
    pub purchases: i64,
}

#[derive(Debug, Deserialize)]
pub struct Stats {
    pub from: String,
    pub to: String,
    pub plays: u64,
    pub listeners: u64,
    pub listened_seconds: u64,
    #[serde(default)]
    pub favourites: i64,
    #[serde(default)]
    pub by_day: Vec<DayRow>,
    #[serde(default)]
    pub retention: Option<Vec<RetentionRow>>,
    #[serde(default)]
    pub referrers: Option<Vec<NamedRow>>,
    #[serde(default)]
    pub browsers: Option<Vec<NamedRow>>,
    #[serde(default)]
    pub purchase_links: Option<Vec<LinkCount>>,
}
