//! Podcast apps: a DJ's feed (`/{username}/podcast.rss`: RSS 2.0 with the
//! `itunes:` and Podcasting 2.0 `podcast:` namespaces), its settings, each
//! mix's chapters (Podcasting 2.0 JSON chapters, from the timed tracklist),
//! and the stable download URLs the feed and the mix page name, which
//! redirect to a stream URL signed for whoever asks (an app without
//! cookies by its address and user agent), so a copied link plays for
//! nobody else.
//!
//! A feed carries only the DJ's listed mixes (public, ready, published,
//! not taken down) that the DJ offers for download. It never carries the
//! account's email: `itunes:owner` appears only with the contact address
//! the DJ set for the feed.

use std::fmt::Write as _;
use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;
use uuid::Uuid;

use cloudcast_core::auth::{AuthUser, MaybeUser};
use cloudcast_core::extract::{ApiJson, ApiPath};
use cloudcast_core::signing::unix_now;
use cloudcast_core::states::{CloudcastStatus, Downloads};
use cloudcast_core::validators::{http_date, none_match};
use cloudcast_core::visibility;

use crate::cloudcasts::listener_of;
use crate::metadata::Track;
use crate::{CatalogError, CatalogState, cards, pictures};

/// The Podcasting 2.0 namespace's own UUID, the namespace of every
/// `podcast:guid` (podcastindex.org/namespace/1.0#guid).
const PODCAST_GUID_NAMESPACE: Uuid = uuid::uuid!("ead4c236-bf58-58c6-a2c6-a6b28d128cb6");
/// Items in a feed: apps read the newest; a DJ's whole history is on the site.
const MAX_ITEMS: i64 = 300;
/// Apps poll about hourly; a shared cache may keep the feed this long.
const FEED_CACHE: &str = "public, max-age=900";
/// Apple's top-level categories (a feed names one).
pub const CATEGORIES: &[&str] = &[
    "Arts",
    "Business",
    "Comedy",
    "Education",
    "Fiction",
    "Government",
    "History",
    "Health & Fitness",
    "Kids & Family",
    "Leisure",
    "Music",
    "News",
    "Religion & Spirituality",
    "Science",
    "Society & Culture",
    "Sports",
    "Technology",
    "True Crime",
    "TV & Film",
];

/// `podcast:guid`: the UUIDv5 of the feed's URL without its scheme and
/// trailing slashes.
pub fn podcast_guid(feed_url: &str) -> Uuid {
    let bare = feed_url
        .split_once("://")
        .map_or(feed_url, |(_, rest)| rest)
        .trim_end_matches('/');
    Uuid::new_v5(&PODCAST_GUID_NAMESPACE, bare.as_bytes())
}

fn feed_url(state: &CatalogState, username: &str) -> String {
    format!("{}/{username}/podcast.rss", state.public_url)
}

/// A DJ's feed settings.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FeedSettings {
    /// The feed answers; off, `/{username}/podcast.rss` is not found.
    pub enabled: bool,
    /// One of Apple's top-level categories.
    pub category: String,
    pub explicit: bool,
    /// Shown in the feed (`itunes:owner`) when set; the account's own
    /// address never is.
    pub contact_email: Option<String>,
}

/// My feed: its settings, URL and `podcast:guid`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MyFeed {
    #[serde(flatten)]
    pub settings: FeedSettings,
    /// Where apps subscribe.
    pub url: String,
    pub guid: Uuid,
    /// Mixes the feed carries now (those offered for download and listed).
    pub items: i64,
}

#[derive(sqlx::FromRow)]
struct FeedRow {
    guid: Uuid,
    enabled: bool,
    category: String,
    explicit: bool,
    contact_email: Option<String>,
    /// The feed's body digest as last served, and when it last changed:
    /// its Last-Modified (never an earlier time, and nothing a hidden mix did).
    etag: Option<String>,
    changed_at: OffsetDateTime,
}

/// The feed's settings row, made (with its guid, from today's URL) on
/// first use; later URLs never change the guid.
async fn feed_row(
    state: &CatalogState,
    user: Uuid,
    username: &str,
) -> Result<FeedRow, CatalogError> {
    let guid = podcast_guid(&feed_url(state, username));
    let made: Option<FeedRow> = sqlx::query_as(&format!(
        "INSERT INTO podcast_feeds (user_id, guid) VALUES ($1, $2)
         ON CONFLICT (user_id) DO NOTHING RETURNING {FEED_COLUMNS}"
    ))
    .bind(user)
    .bind(guid)
    .fetch_optional(&state.pool)
    .await?;
    if let Some(row) = made {
        return Ok(row);
    }
    // Made before, or by a request at the same moment (whose row this
    // statement's snapshot may not see; this one's does).
    Ok(sqlx::query_as(&format!(
        "SELECT {FEED_COLUMNS} FROM podcast_feeds WHERE user_id = $1"
    ))
    .bind(user)
    .fetch_one(&state.pool)
    .await?)
}

/// The columns of [`FeedRow`].
const FEED_COLUMNS: &str = "guid, enabled, category, explicit, contact_email, etag, changed_at";

async fn my_feed(state: &CatalogState, user: Uuid) -> Result<MyFeed, CatalogError> {
    let username: String = sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
        .bind(user)
        .fetch_optional(&state.pool)
        .await?
        .ok_or(CatalogError::NotFound("user"))?;
    let row = feed_row(state, user, &username).await?;
    let items: i64 = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM cloudcasts c WHERE c.owner_id = $1 AND c.downloads <> 'off' AND {}",
        visibility::sql_listed("c")
    ))
    .bind(user)
    .fetch_one(&state.pool)
    .await?;
    Ok(MyFeed {
        settings: FeedSettings {
            enabled: row.enabled,
            category: row.category,
            explicit: row.explicit,
            contact_email: row.contact_email,
        },
        url: feed_url(state, &username),
        guid: row.guid,
        items,
    })
}

/// `GET /api/v1/me/podcast`
#[utoipa::path(get, path = "/api/v1/me/podcast", tag = "podcasts",
    summary = "My podcast feed: its URL, guid and settings",
    responses(
        (status = 200, description = "The feed", body = MyFeed),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn get_mine(
    State(state): State<CatalogState>,
    AuthUser(user): AuthUser,
) -> Result<Json<MyFeed>, CatalogError> {
    Ok(Json(my_feed(&state, user).await?))
}

/// `PUT /api/v1/me/podcast`
#[utoipa::path(put, path = "/api/v1/me/podcast", tag = "podcasts",
    summary = "Change my podcast feed's settings (on or off, category, explicit, a public contact address)",
    request_body = FeedSettings,
    responses(
        (status = 200, description = "The feed", body = MyFeed),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "An unknown category, or a contact address that is not one", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn put_mine(
    State(state): State<CatalogState>,
    AuthUser(user): AuthUser,
    ApiJson(s): ApiJson<FeedSettings>,
) -> Result<Json<MyFeed>, CatalogError> {
    if !CATEGORIES.contains(&s.category.as_str()) {
        return Err(CatalogError::InvalidField(format!(
            "category: must be one of {}",
            CATEGORIES.join(", ")
        )));
    }
    let contact = s
        .contact_email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty());
    if let Some(e) = contact
        && !plausible_email(e)
    {
        return Err(CatalogError::InvalidField(
            "contact_email: must be an email address".into(),
        ));
    }
    // Made first, so its guid comes from the URL it had.
    my_feed(&state, user).await?;
    sqlx::query(
        "UPDATE podcast_feeds SET enabled = $2, category = $3, explicit = $4, contact_email = $5,
                updated_at = now()
          WHERE user_id = $1",
    )
    .bind(user)
    .bind(s.enabled)
    .bind(&s.category)
    .bind(s.explicit)
    .bind(contact)
    .execute(&state.pool)
    .await?;
    Ok(Json(my_feed(&state, user).await?))
}

/// One address, short, with a domain that has a dot and nothing that
/// breaks a feed.
fn plausible_email(e: &str) -> bool {
    e.len() <= 254
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
        })
        && !e
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>\"'&".contains(c))
}

/// A DJ's feed as anyone sees it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PublicFeed {
    /// Where apps subscribe.
    pub url: String,
    pub guid: Uuid,
}

/// `GET /api/v1/users/{username}/podcast`
#[utoipa::path(get, path = "/api/v1/users/{username}/podcast", tag = "podcasts",
    summary = "A DJ's podcast feed: where to subscribe",
    params(("username" = String, Path, description = "The DJ")),
    responses(
        (status = 200, description = "The feed", body = PublicFeed),
        (status = 404, description = "No such DJ, or their feed is off", body = cloudcast_core::apidoc::ErrorBody)),
    security((), ("session" = [])))]
pub async fn of_user(
    State(state): State<CatalogState>,
    ApiPath(username): ApiPath<String>,
) -> Result<Json<PublicFeed>, CatalogError> {
    let (id, username) = crate::lists::user_named(&state.pool, &username).await?;
    let row = feed_row(&state, id, &username).await?;
    if !row.enabled {
        return Err(CatalogError::NotFound("feed"));
    }
    Ok(Json(PublicFeed {
        url: feed_url(&state, &username),
        guid: row.guid,
    }))
}

#[derive(sqlx::FromRow)]
struct Owner {
    id: Uuid,
    username: String,
    real_name: Option<String>,
    bio: Option<String>,
    avatar_public: bool,
}

#[derive(sqlx::FromRow)]
struct Item {
    id: Uuid,
    title: String,
    slug: Option<String>,
    secret: String,
    description: String,
    tracklist: serde_json::Value,
    duration_ms: Option<i64>,
    listed_at: OffsetDateTime,
    picture_version: Option<Uuid>,
    size_bytes: i64,
    tags: Vec<String>,
}

/// `GET /{username}/podcast.rss`
#[utoipa::path(get, path = "/{username}/podcast.rss", tag = "podcasts",
    summary = "A DJ's podcast feed (RSS 2.0 with the itunes and Podcasting 2.0 namespaces)",
    description = "The DJ's listed mixes they offer for download, newest first (at most 300). \
        Each item's enclosure is a stable URL that redirects to an `.m4a` signed for the app \
        that asks; its `length` is the bytes served. Answers `ETag` and `Last-Modified`, and \
        304 to a poll that holds the current one.",
    params(("username" = String, Path, description = "The DJ"),
        ("If-None-Match" = Option<String>, Header, nullable = false, description = "The feed's ETag, as last read"),
        ("If-Modified-Since" = Option<String>, Header, nullable = false, description = "Its Last-Modified, as last read")),
    responses(
        (status = 200, description = "The feed", content_type = "application/rss+xml"),
        (status = 304, description = "Unchanged since the poll's ETag or date"),
        (status = 404, description = "No such DJ, or their feed is off (an HTML page, as every page path answers)", content_type = "text/html")),
    security(()))]
pub async fn feed(
    State(state): State<CatalogState>,
    ApiPath(username): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, CatalogError> {
    let owner: Owner = sqlx::query_as(&format!(
        "SELECT u.id, u.username,
                CASE WHEN p.visibility->>'real_name' = 'public' THEN p.real_name END AS real_name,
                CASE WHEN p.visibility->>'bio' = 'public' THEN p.bio END AS bio,
                COALESCE(p.avatar_key IS NOT NULL AND p.visibility->>'avatar' = 'public', false) AS avatar_public
           FROM users u LEFT JOIN profiles p ON p.user_id = u.id
          WHERE lower(u.username) = lower($1) AND {}",
        visibility::sql_account_active("u")
    ))
    .bind(&username)
    .fetch_optional(&state.pool)
    .await?
    .ok_or(CatalogError::NotFound("feed"))?;
    let settings = feed_row(&state, owner.id, &owner.username).await?;
    if !settings.enabled {
        return Err(CatalogError::NotFound("feed"));
    }
    let items: Vec<Item> = sqlx::query_as(&format!(
        "SELECT c.id, c.title, c.slug, c.secret, c.description, c.tracklist, c.duration_ms,
                c.listed_at, c.picture_version, r.size_bytes, c.tags
           FROM cloudcasts c
           JOIN LATERAL (SELECT r.size_bytes FROM renditions r
                          WHERE r.cloudcast_id = c.id AND r.version = c.media_version
                          ORDER BY r.bitrate_kbps DESC LIMIT 1) r ON true
          WHERE c.owner_id = $1 AND c.downloads <> 'off' AND {}
          ORDER BY c.listed_at DESC LIMIT $2",
        visibility::sql_listed("c")
    ))
    .bind(owner.id)
    .bind(MAX_ITEMS)
    .fetch_all(&state.pool)
    .await?;

    let body = render(&state, &owner, &settings, &items);
    let etag = format!(
        "\"{}\"",
        hex::encode(&Sha256::digest(body.as_bytes())[..12])
    );
    let changed = if settings.etag.as_deref() == Some(etag.as_str()) {
        settings.changed_at
    } else {
        // The body changed since it was last served: from now. Two nodes
        // serving the same new body both write it; either time is right.
        sqlx::query_scalar(
            "UPDATE podcast_feeds SET etag = $2, changed_at = now() WHERE user_id = $1
             RETURNING changed_at",
        )
        .bind(owner.id)
        .bind(&etag)
        .fetch_one(&state.pool)
        .await?
    };
    let last_modified = http_date(changed);
    let unchanged = match headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        Some(inm) => none_match(inm, &etag),
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ims| {
                !cloudcast_core::validators::modified_since(ims, changed.unix_timestamp())
            }),
    };
    let mut resp = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = body.into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/rss+xml; charset=utf-8"),
        );
        r
    };
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(FEED_CACHE));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&last_modified) {
        h.insert(header::LAST_MODIFIED, v);
    }
    Ok(resp)
}

/// Text for XML: escaped, and without the control characters XML 1.0 forbids.
fn x(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            // Not characters in XML 1.0, though text may hold them.
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// `h:mm:ss` of a tracklist entry.
fn clock(ms: u64) -> String {
    let s = ms / 1000;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// A mix's description with its tracklist after it.
fn item_description(description: &str, tracks: &[Track]) -> String {
    let mut d = description.trim().to_string();
    if !tracks.is_empty() {
        if !d.is_empty() {
            d.push_str("\n\n");
        }
        d.push_str("Tracklist:\n");
        for t in tracks {
            let _ = writeln!(d, "{} {} - {}", clock(t.start_ms), t.artist, t.title);
        }
    }
    d
}

fn render(state: &CatalogState, owner: &Owner, settings: &FeedRow, items: &[Item]) -> String {
    let base = &*state.public_url;
    let name = owner.real_name.as_deref().unwrap_or(&owner.username);
    let link = format!("{base}/{}", owner.username);
    let description = owner
        .bio
        .clone()
        .filter(|b| !b.trim().is_empty())
        .unwrap_or_else(|| format!("Mixes by {name} on Cloudcast"));
    // The avatar when public, else the newest cover.
    let image = if owner.avatar_public {
        format!("{base}/api/v1/users/{}/avatar", owner.username)
    } else {
        let newest = items.first().and_then(|i| i.picture_version);
        let id = items.first().map_or(Uuid::nil(), |i| i.id);
        format!("{base}{}", pictures::urls(id, newest).large)
    };
    let explicit = if settings.explicit { "true" } else { "false" };
    let mut o = String::with_capacity(2048 + items.len() * 1536);
    o.push_str(concat!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
        "<rss version=\"2.0\" xmlns:itunes=\"http://www.itunes.com/dtds/podcast-1.0.dtd\" ",
        "xmlns:podcast=\"https://podcastindex.org/namespace/1.0\" ",
        "xmlns:atom=\"http://www.w3.org/2005/Atom\">\n<channel>\n"
    ));
    let _ = write!(
        o,
        "<title>{title}</title>\n<link>{link}</link>\n\
         <atom:link href=\"{feed}\" rel=\"self\" type=\"application/rss+xml\"/>\n\
         <description>{desc}</description>\n<generator>Cloudcast</generator>\n\
         <itunes:author>{title}</itunes:author>\n<itunes:summary>{desc}</itunes:summary>\n\
         <itunes:image href=\"{image}\"/>\n\
         <image><url>{image}</url><title>{title}</title><link>{link}</link></image>\n\
         <itunes:category text=\"{category}\"/>\n<itunes:explicit>{explicit}</itunes:explicit>\n\
         <itunes:type>episodic</itunes:type>\n<podcast:guid>{guid}</podcast:guid>\n",
        title = x(name),
        link = x(&link),
        feed = x(&feed_url(state, &owner.username)),
        desc = x(&description),
        image = x(&image),
        category = x(&settings.category),
        guid = settings.guid,
    );
    match settings.contact_email.as_deref() {
        Some(email) => {
            let _ = write!(
                o,
                "<itunes:owner><itunes:name>{n}</itunes:name><itunes:email>{e}</itunes:email></itunes:owner>\n\
                 <podcast:locked owner=\"{e}\">yes</podcast:locked>\n",
                n = x(name),
                e = x(email)
            );
        }
        None => o.push_str("<podcast:locked>yes</podcast:locked>\n"),
    }
    if let Some(newest) = items.first()
        && let Ok(d) = newest.listed_at.format(&Rfc2822)
    {
        let _ = writeln!(o, "<lastBuildDate>{d}</lastBuildDate>");
    }
    for i in items {
        let tracks: Vec<Track> = serde_json::from_value(i.tracklist.clone()).unwrap_or_default();
        let page = format!(
            "{base}{}",
            cards::url(
                &owner.username,
                i.slug.as_deref(),
                i.id,
                cloudcast_core::states::Visibility::Public,
                &i.secret
            )
        );
        let api = format!("{base}/api/v1/cloudcasts/{}", i.id);
        let _ = write!(
            o,
            "<item>\n<title>{title}</title>\n<link>{page}</link>\n\
             <guid isPermaLink=\"false\">{id}</guid>\n<pubDate>{date}</pubDate>\n\
             <description>{desc}</description>\n\
             <enclosure url=\"{api}/enclosure.m4a\" length=\"{len}\" type=\"audio/mp4\"/>\n\
             <itunes:duration>{secs}</itunes:duration>\n<itunes:image href=\"{cover}\"/>\n\
             <itunes:explicit>{explicit}</itunes:explicit>\n<itunes:episodeType>full</itunes:episodeType>\n",
            title = x(&i.title),
            page = x(&page),
            id = i.id,
            date = i.listed_at.format(&Rfc2822).unwrap_or_default(),
            desc = x(&item_description(&i.description, &tracks)),
            len = i.size_bytes.max(0),
            secs = i.duration_ms.unwrap_or(0).max(0) / 1000,
            cover = x(&format!(
                "{base}{}",
                pictures::urls(i.id, i.picture_version).large
            )),
        );
        if !i.tags.is_empty() {
            let _ = writeln!(
                o,
                "<itunes:keywords>{}</itunes:keywords>",
                x(&i.tags.join(","))
            );
        }
        if !tracks.is_empty() {
            let _ = writeln!(
                o,
                "<podcast:chapters url=\"{api}/chapters.json\" type=\"application/json+chapters\"/>"
            );
        }
        o.push_str("</item>\n");
    }
    o.push_str("</channel>\n</rss>\n");
    o
}

/// One chapter of a mix (Podcasting 2.0 JSON chapters 1.2).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Chapter {
    /// Seconds from the start.
    #[serde(rename = "startTime")]
    pub start_time: f64,
    /// `Artist - Title`.
    pub title: String,
}

/// A mix's chapters file.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Chapters {
    pub version: String,
    pub chapters: Vec<Chapter>,
}

/// The chapters of a tracklist: one per track, in order.
pub fn chapters_of(tracks: &[Track]) -> Chapters {
    Chapters {
        version: "1.2.0".into(),
        chapters: tracks
            .iter()
            .map(|t| Chapter {
                start_time: t.start_ms as f64 / 1000.0,
                title: format!("{} - {}", t.artist, t.title),
            })
            .collect(),
    }
}

/// `GET /api/v1/cloudcasts/{id}/chapters.json`
#[utoipa::path(get, path = "/api/v1/cloudcasts/{id}/chapters.json", tag = "podcasts",
    summary = "A mix's chapters (Podcasting 2.0 JSON chapters), from its timed tracklist",
    params(("id" = Uuid, Path, description = "The cloudcast")),
    responses(
        (status = 200, description = "The chapters", body = Chapters, content_type = "application/json+chapters"),
        (status = 404, description = "No such cloudcast (or not visible)", body = cloudcast_core::apidoc::ErrorBody)),
    security((), ("session" = [])))]
pub async fn chapters(
    State(state): State<CatalogState>,
    MaybeUser(user): MaybeUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, CatalogError> {
    let access = visibility::load(&state.pool, id)
        .await?
        .filter(|a| a.visible_to(user))
        .ok_or(CatalogError::NotFound("cloudcast"))?;
    let tracklist: serde_json::Value =
        sqlx::query_scalar("SELECT tracklist FROM cloudcasts WHERE id = $1")
            .bind(id)
            .fetch_one(&state.pool)
            .await?;
    let tracks: Vec<Track> = serde_json::from_value(tracklist).unwrap_or_default();
    let mut resp = Json(chapters_of(&tracks)).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json+chapters"),
    );
    // Only a public mix's chapters may sit in a shared cache.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if access.is_public() {
            "public, max-age=300"
        } else {
            "private, max-age=300"
        }),
    );
    Ok(resp)
}

/// Which stable download URL was asked.
#[derive(Clone, Copy)]
enum Asked {
    /// The feed's enclosure: the AAC file, played in place.
    Enclosure,
    /// The page's download: what the DJ offers, saved as a file.
    Download,
}

/// `GET /api/v1/cloudcasts/{id}/enclosure.m4a`
#[utoipa::path(get, path = "/api/v1/cloudcasts/{id}/enclosure.m4a", tag = "podcasts",
    summary = "A mix's podcast enclosure: redirects to its AAC file, signed for the caller",
    description = "The stable URL a feed names. Redirects (302) to `download.m4a` under the \
        mix's stream URL, signed for whoever asks (an app without cookies by its address and \
        user agent): progressive players play and seek it (it starts with a segment index) \
        and may ask ranges. Requests are counted as downloads by the IAB rule.",
    params(("id" = Uuid, Path, description = "The cloudcast")),
    responses(
        (status = 302, description = "To the signed file", headers(("Location" = String, description = "The signed URL"))),
        (status = 404, description = "No such cloudcast, not visible, or its DJ offers no download", body = cloudcast_core::apidoc::ErrorBody)),
    security((), ("session" = [])))]
pub async fn enclosure(
    State(state): State<CatalogState>,
    MaybeUser(user): MaybeUser,
    ApiPath(id): ApiPath<Uuid>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, CatalogError> {
    redirect(&state, id, user, peer, &headers, Asked::Enclosure).await
}

/// `GET /api/v1/cloudcasts/{id}/download`
#[utoipa::path(get, path = "/api/v1/cloudcasts/{id}/download", tag = "podcasts",
    summary = "Download a mix its DJ offers: redirects to the file, signed for the caller",
    description = "Redirects (302) to the best AAC rendition (`.m4a`) or the uploaded \
        original, as the DJ chose, saved as a file (`Content-Disposition: attachment`).",
    params(("id" = Uuid, Path, description = "The cloudcast")),
    responses(
        (status = 302, description = "To the signed file", headers(("Location" = String, description = "The signed URL"))),
        (status = 404, description = "No such cloudcast, not visible, or its DJ offers no download", body = cloudcast_core::apidoc::ErrorBody)),
    security((), ("session" = [])))]
pub async fn download(
    State(state): State<CatalogState>,
    MaybeUser(user): MaybeUser,
    ApiPath(id): ApiPath<Uuid>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, CatalogError> {
    redirect(&state, id, user, peer, &headers, Asked::Download).await
}

async fn redirect(
    state: &CatalogState,
    id: Uuid,
    user: Option<Uuid>,
    peer: SocketAddr,
    headers: &HeaderMap,
    asked: Asked,
) -> Result<Response, CatalogError> {
    // What the redirect needs, in one small read (not the whole view).
    #[derive(sqlx::FromRow)]
    struct Offered {
        #[sqlx(flatten)]
        access: visibility::Access,
        status: CloudcastStatus,
        downloads: Downloads,
        media_version: Option<Uuid>,
    }
    let offered: Option<Offered> = sqlx::query_as(&format!(
        "SELECT {}, status, downloads, media_version FROM cloudcasts WHERE id = $1",
        visibility::ACCESS_COLUMNS
    ))
    .bind(id)
    .fetch_optional(&state.pool)
    .await?;
    let offered = offered
        .filter(|o| o.access.visible_to(user) && o.status == CloudcastStatus::Ready)
        .ok_or(CatalogError::NotFound("cloudcast"))?;
    let file = match (asked, offered.downloads) {
        (_, Downloads::Off) => return Err(CatalogError::NotFound("download")),
        (Asked::Enclosure, _) | (Asked::Download, Downloads::Aac) => "download.m4a",
        (Asked::Download, Downloads::Original) => "original",
    };
    let (me, new_cookie) = listener_of(state, user, peer.ip(), headers).await?;
    let signed = state.signer.sign(id, &me, unix_now()).query();
    let attachment = if matches!(asked, Asked::Download) {
        "&a=1"
    } else {
        ""
    };
    // The AAC file of the version published now: a download resumed after
    // the mix is republished still gets the bytes it began with.
    let version = match (file, offered.media_version) {
        ("download.m4a", Some(v)) => format!("&v={v}"),
        _ => String::new(),
    };
    let location = format!(
        "{}/stream/{id}/{file}?{signed}{attachment}{version}",
        state.public_url
    );
    let mut resp = StatusCode::FOUND.into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&location) {
        h.insert(header::LOCATION, v);
    }
    // Signed for this caller: never kept by a shared cache.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    if let Some(c) = new_cookie {
        h.insert(header::SET_COOKIE, c);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guid_is_the_namespaces_uuid_of_the_bare_url() {
        // The namespace's own example: podcastindex.org/namespace/1.0#guid.
        assert_eq!(
            podcast_guid("https://mp3s.nashownotes.com/pc20rss.xml").to_string(),
            "917393e3-1b1e-5cef-ace4-edaa54e1f810"
        );
        assert_eq!(
            podcast_guid("http://mp3s.nashownotes.com/pc20rss.xml/"),
            podcast_guid("mp3s.nashownotes.com/pc20rss.xml")
        );
    }

    #[test]
    fn text_is_escaped_and_control_characters_dropped() {
        assert_eq!(
            x("a & <b> \"c\" 'd'\u{1}"),
            "a &amp; &lt;b&gt; &quot;c&quot; &apos;d&apos;"
        );
        assert!(!plausible_email("no at sign"));
        assert!(!plausible_email("a@b"));
        assert!(!plausible_email("a\"@b.example"));
        assert!(plausible_email("bookings@dj.example"));
    }

    #[test]
    fn chapters_follow_the_tracklist() {
        let t = |ms, a: &str, ti: &str| Track {
            start_ms: ms,
            artist: a.into(),
            title: ti.into(),
        };
        let c = chapters_of(&[t(0, "A", "One"), t(61_500, "B", "Two")]);
        assert_eq!(c.version, "1.2.0");
        assert_eq!(c.chapters.len(), 2);
        assert_eq!(c.chapters[1].start_time, 61.5);
        assert_eq!(c.chapters[1].title, "B - Two");
        assert_eq!(
            item_description("Set.", &[t(3_723_000, "C", "Three")]),
            "Set.\n\nTracklist:\n1:02:03 C - Three\n"
        );
    }
}
