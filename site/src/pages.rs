//! The catalogue's pages: home, search, tags, profiles, cloudcasts and
//! their statistics, and the frames of the signed-in pages whose scripts
//! do the work (upload, dashboard, settings, moderation).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use cloudcast_core::states::Visibility;

use crate::api::Answer;
use crate::templates::{self, *};
use crate::views::*;
use crate::visit::*;
use crate::{SiteError, SiteState, enc, figures};

pub async fn home(
    State(state): State<SiteState>,
    peer: Peer,
    headers: HeaderMap,
) -> Result<Response, SiteError> {
    let v = visitor(&headers, peer);
    let (l, new, popular, trending, tags) = tokio::join!(
        layout(&state, &v, "Long mixes from DJs", "home"),
        cards(&state, "/api/v1/cloudcasts?sort=new&limit=10", &v),
        cards(&state, "/api/v1/cloudcasts?sort=popular&limit=10", &v),
        cards(&state, "/api/v1/cloudcasts?sort=trending&limit=10", &v),
        found::<Listing<Tag>>(&state, "/api/v1/tags?sort=popular&limit=30", &v),
    );
    let page = Home {
        l,
        lists: vec![
            ("new", "New", new?),
            ("popular", "Popular", popular?),
            ("trending", "Trending", trending?),
        ],
        tags: tags.map(|t| t.items).unwrap_or_default(),
    };
    Ok(templates::page(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub struct SearchParams {
    #[serde(default)]
    q: String,
}

pub async fn search(
    State(state): State<SiteState>,
    peer: Peer,
    headers: HeaderMap,
    Query(p): Query<SearchParams>,
) -> Result<Response, SiteError> {
    let v = visitor(&headers, peer);
    let q = p.q.trim().to_owned();
    let mut l = layout(&state, &v, format!("Search: {q}"), "search").await;
    l.q = q.clone();
    l.noindex = true;
    let mut page = ListPage {
        l,
        heading: if q.is_empty() {
            "Search".into()
        } else {
            format!("Results for “{q}”")
        },
        subtitle: None,
        users: Vec::new(),
        tags: Vec::new(),
        playlists: Vec::new(),
        cards: Vec::new(),
        empty: "Nothing matched. Try fewer or other words.",
        next: None,
    };
    if q.is_empty() {
        page.empty = "Type a title, a DJ or a tag in the search box.";
        return Ok(templates::page(StatusCode::OK, &page));
    }
    // The API answers one kind per query: mixes, people, tags and
    // playlists, asked at once.
    let ask =
        |kind: &str, limit: u32| format!("/api/v1/search?q={}&type={kind}&limit={limit}", enc(&q));
    let paths = [
        ask("cloudcast", 30),
        ask("user", 10),
        ask("tag", 15),
        ask("playlist", 10),
    ];
    let (mixes, users, tags, playlists) = tokio::join!(
        state.api.get::<SearchResults>(&paths[0], &v),
        state.api.get::<SearchResults>(&paths[1], &v),
        state.api.get::<SearchResults>(&paths[2], &v),
        state.api.get::<SearchResults>(&paths[3], &v),
    );
    match mixes? {
        Answer::Found(r) => page.cards = r.cloudcasts.unwrap_or_default(),
        // A query the API cannot take (too long, no words) is said on the page.
        Answer::Refused(status, message) => {
            page.subtitle = Some(message);
            return Ok(templates::page(status, &page));
        }
        Answer::Moved(_) => return Err(SiteError::NotFound("search")),
    }
    if let Answer::Found(r) = users? {
        page.users = r.users.unwrap_or_default();
    }
    if let Answer::Found(r) = tags? {
        page.tags = r.tags.unwrap_or_default();
    }
    if let Answer::Found(r) = playlists? {
        page.playlists = r.playlists.unwrap_or_default();
    }
    Ok(templates::page(StatusCode::OK, &page))
}

pub async fn tag(
    State(state): State<SiteState>,
    peer: Peer,
    headers: HeaderMap,
    Path(tag): Path<String>,
    Query(p): Query<CursorParams>,
) -> Result<Response, SiteError> {
    let v = visitor(&headers, peer);
    let mut path = format!("/api/v1/tags/{}/cloudcasts?limit=30", enc(&tag));
    if let Some(c) = &p.cursor {
        path.push_str(&format!("&cursor={}", enc(c)));
    }
    let (l, list) = tokio::join!(
        layout(&state, &v, format!("#{tag}"), "tag"),
        found::<Listing<Card>>(&state, &path, &v)
    );
    let list = list?;
    let page = ListPage {
        l,
        heading: format!("#{tag}"),
        subtitle: None,
        users: Vec::new(),
        tags: Vec::new(),
        playlists: Vec::new(),
        cards: list.items,
        empty: "No cloudcasts carry this tag yet.",
        next: list
            .next_cursor
            .map(|c: String| format!("/tags/{}?cursor={}", enc(&tag), enc(&c))),
    };
    Ok(templates::page(StatusCode::OK, &page))
}

pub async fn profile(
    State(state): State<SiteState>,
    peer: Peer,
    headers: HeaderMap,
    Path(username): Path<String>,
) -> Result<Response, SiteError> {
    let v = visitor(&headers, peer);
    let user: PublicUser = found(&state, &format!("/api/v1/users/{}", enc(&username)), &v).await?;
    if user.username != username {
        // One address per profile: another spelling moves to the stored one.
        return Ok(moved_permanently(&format!("/{}", user.username)).into_response());
    }
    let u = enc(&user.username);
    let paths = [
        format!("/api/v1/users/{u}/cloudcasts?limit=20"),
        format!("/api/v1/users/{u}/reposts?limit=10"),
        format!("/api/v1/users/{u}/favourites?limit=10"),
        format!("/api/v1/users/{u}/activity?limit=10"),
        format!("/api/v1/users/{u}/comments?limit=50"),
        format!("/api/v1/users/{u}/playlists"),
        format!("/api/v1/users/{u}/podcast"),
    ];
    let (l, uploads, reposts, favourites, activity, comments, playlists, podcast) = tokio::join!(
        layout(&state, &v, user.display_name(), "profile"),
        cards(&state, &paths[0], &v),
        marked_cards(&state, &paths[1], &v),
        marked_cards(&state, &paths[2], &v),
        state.api.get::<Activity>(&paths[3], &v),
        state.api.get::<CommentPage<Comment>>(&paths[4], &v),
        state.api.get::<Vec<PlaylistSummary>>(&paths[5], &v),
        state.api.get::<PublicFeed>(&paths[6], &v),
    );
    // Off, the profile names no feed.
    let podcast = match podcast? {
        Answer::Found(f) => Some(f.url),
        _ => None,
    };
    let playlists = match playlists? {
        Answer::Found(p) => p,
        _ => Vec::new(),
    };
    let comments = match comments? {
        Answer::Found(c) => crate::shown::threads(c.comments),
        _ => Vec::new(),
    };
    let mut l = l;
    let url = format!("{}/{}", state.public_url, user.username);
    let uploads = uploads?;
    // A profile shares as the player of its newest cloudcast, as oEmbed
    // answers for it.
    let player = uploads
        .first()
        .map(|c| format!("{}/embed/{}", state.public_url, c.id));
    l.meta = Some(Meta {
        kind: "profile",
        title: user.display_name(),
        description: format!(
            "{} on Cloudcast: {} cloudcasts.",
            user.display_name(),
            user.cloudcasts
        ),
        image: user
            .avatar_url
            .as_deref()
            .map(|a| absolute(&state, a))
            .unwrap_or_else(|| format!("{}/assets/cover.svg", state.public_url)),
        oembed: player
            .as_ref()
            .map(|_| format!("{}/oembed?url={}&format=json", state.public_url, enc(&url))),
        player,
        url,
        feed: podcast.clone(),
    });
    let own = l.is_viewer(&user.username);
    let (following, blocked) = if l.viewer.is_some() && !own {
        match state
            .api
            .get::<FollowState>(&format!("/api/v1/users/{u}/follow"), &v)
            .await?
        {
            Answer::Found(f) => (f.following, f.blocked),
            _ => (false, false),
        }
    } else {
        (false, false)
    };
    let page = ProfilePage {
        l,
        own,
        following,
        blocked,
        comments,
        playlists,
        podcast,
        cards: uploads,
        reposts: reposts?,
        favourites: favourites?,
        // The API answers 404 for a minor's activity: the section is left out.
        activity: match activity? {
            Answer::Found(a) => Some(a.activity),
            _ => None,
        },
        user,
    };
    Ok(templates::page(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub struct SecretParams {
    secret: Option<String>,
}

pub async fn cloudcast(
    State(state): State<SiteState>,
    peer: Peer,
    headers: HeaderMap,
    Path((username, slug)): Path<(String, String)>,
    Query(p): Query<SecretParams>,
) -> Result<Response, SiteError> {
    let v = visitor(&headers, peer);
    let cc = match by_slug(&state, &v, &username, &slug, p.secret.as_deref()).await? {
        Ok(cc) => cc,
        // A renamed cloudcast: temporary, as the API's (a slug can be taken back).
        Err(to) => return Ok(Redirect::to(&to).into_response()),
    };
    if cc.owner != username {
        return Ok(moved_permanently(&cc.url).into_response());
    }
    let comments_path = format!("/api/v1/cloudcasts/{}/comments?limit=50", cc.id);
    let related_path = format!("/api/v1/cloudcasts/{}/related?limit=6", cc.id);
    let (mut l, comments, related) = tokio::join!(
        layout(&state, &v, cc.title.clone(), "cloudcast"),
        state.api.get::<CommentPage<Comment>>(&comments_path, &v),
        state.api.get::<Related>(&related_path, &v)
    );
    let comments = match comments? {
        Answer::Found(c) => c.comments,
        _ => Vec::new(),
    };
    let related = match related? {
        Answer::Found(r) => r.items,
        _ => Vec::new(),
    };
    let page_url = absolute(&state, &cc.url);
    let embed_url = format!("{}/embed/{}", state.public_url, cc.id);
    l.noindex = cc.visibility != Visibility::Public;
    l.meta = Some(Meta {
        kind: "music.song",
        title: cc.title.clone(),
        description: description_of(&cc),
        url: page_url.clone(),
        image: absolute(&state, &cc.picture_urls.large),
        player: Some(embed_url.clone()),
        oembed: Some(format!(
            "{}/oembed?url={}&format=json",
            state.public_url,
            enc(&page_url)
        )),
        feed: None,
    });
    let own = l.is_viewer(&cc.owner);
    let comments = crate::shown::threads(comments);
    let page = CloudcastPage {
        embed_code: crate::embed::iframe(&embed_url, &cc.title, 480, 120),
        page_url,
        own,
        marks: CloudcastPage::marks_of(&comments, cc.duration_ms),
        comments,
        related,
        l,
        cc,
    };
    // Its waveform's URL is signed for this visitor.
    Ok(templates::for_visitor(templates::page(
        StatusCode::OK,
        &page,
    )))
}

/// The text an unfurled link shows: the description's start, else who and how long.
pub(crate) fn description_of(cc: &Cloudcast) -> String {
    // One line: unfurlers show a snippet, not the layout.
    let d = cc
        .description
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if d.is_empty() {
        return format!("A {} mix by {} on Cloudcast.", cc.duration(), cc.owner);
    }
    let mut out: String = d.chars().take(200).collect();
    if d.chars().count() > 200 {
        out.push('…');
    }
    out
}

/// `/listen/{id}`, the older address: 301 to the cloudcast's page.
pub async fn listen(
    State(state): State<SiteState>,
    peer: Peer,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, SiteError> {
    let cc = by_id(&state, &visitor(&headers, peer), &id).await?;
    Ok(moved_permanently(&cc.url).into_response())
}

/// `/playlists/{id}` (`?secret=` for an unlisted one): the mixes in order,
/// to play through; its owner orders, edits and deletes it here.
pub async fn playlist(
    State(state): State<SiteState>,
    peer: Peer,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(p): Query<SecretParams>,
) -> Result<Response, SiteError> {
    let v = visitor(&headers, peer);
    let id: uuid::Uuid = id.parse().map_err(|_| SiteError::NotFound("playlist"))?;
    let path = match &p.secret {
        Some(s) => format!("/api/v1/playlists/{id}?secret={}", enc(s)),
        None => format!("/api/v1/playlists/{id}"),
    };
    let (mut l, pl) = tokio::join!(
        layout(&state, &v, "Playlist", "playlist"),
        found::<Playlist>(&state, &path, &v)
    );
    let pl = pl?;
    l.title = pl.title.clone();
    let page_url = absolute(&state, &pl.url);
    // Its embed plays it through (a private one is embedded nowhere).
    let embed = (!pl.items.is_empty() && pl.visibility != Some(Visibility::Private))
        .then(|| crate::embed::playlist_src(&state.public_url, &pl.url));
    l.noindex =
        pl.url.contains("?secret=") || pl.visibility.is_some_and(|v| v != Visibility::Public);
    l.meta = Some(Meta {
        kind: "music.playlist",
        title: pl.title.clone(),
        description: if pl.description.is_empty() {
            format!(
                "A playlist by {} on Cloudcast: {} mixes.",
                pl.owner,
                pl.items.len()
            )
        } else {
            cloudcast_core::text::excerpt(&pl.description, 200)
        },
        url: page_url.clone(),
        image: pl
            .picture_urls
            .as_ref()
            .map(|p| absolute(&state, &p.large))
            .unwrap_or_else(|| format!("{}/assets/cover.svg", state.public_url)),
        player: embed.clone(),
        oembed: embed.as_ref().map(|_| {
            format!(
                "{}/oembed?url={}&format=json",
                state.public_url,
                enc(&page_url)
            )
        }),
        feed: None,
    });
    let own = l.is_viewer(&pl.owner);
    let embed_code = embed
        .map(|src| crate::embed::iframe(&src, &pl.title, 480, 300))
        .unwrap_or_default();
    Ok(templates::page(
        StatusCode::OK,
        &PlaylistPage {
            l,
            p: pl,
            own,
            page_url,
            embed_code,
        },
    ))
}

#[derive(Deserialize)]
pub struct RangeParams {
    from: Option<String>,
    to: Option<String>,
}

/// A DJ's statistics for one mix, drawn on the server.
pub async fn stats(
    State(state): State<SiteState>,
    peer: Peer,
    headers: HeaderMap,
    Path((username, slug)): Path<(String, String)>,
    Query(p): Query<RangeParams>,
) -> Result<Response, SiteError> {
    let v = visitor(&headers, peer);
    let mut l = layout(&state, &v, "Statistics", "stats").await;
    if l.viewer.is_none() {
        return Ok(sign_in_first(&format!("/{username}/{slug}/stats")));
    }
    let cc = match by_slug(&state, &v, &username, &slug, None).await? {
        Ok(cc) => cc,
        Err(to) => return Ok(Redirect::to(&format!("{to}/stats")).into_response()),
    };
    let mut path = format!("/api/v1/cloudcasts/{}/stats?", cc.id);
    for (k, val) in [("from", &p.from), ("to", &p.to)] {
        if let Some(val) = val.as_deref().filter(|s| !s.is_empty()) {
            path.push_str(&format!("{k}={}&", enc(val)));
        }
    }
    let mut s: Stats = found(&state, path.trim_end_matches(['?', '&']), &v).await?;
    l.title = format!("Statistics: {}", cc.title);
    l.noindex = true;
    let retention = s.retention.as_deref().and_then(|r| {
        figures::retention(r, cc.duration_ms.unwrap_or(0).max(0) as u64, &cc.tracklist)
    });
    let page = StatsPage {
        l,
        hours: format!("{:.1}", s.listened_seconds as f64 / 3600.0),
        days: bars(
            s.by_day
                .iter()
                .map(|d| (d.day.clone(), d.plays, d.listeners)),
        ),
        referrers: bars(s.referrers.iter().flatten().map(|r| {
            let name = if r.domain.is_empty() {
                "(direct)".to_owned()
            } else {
                r.domain.clone()
            };
            (name, r.listeners, 0)
        })),
        browsers: bars(
            s.browsers
                .iter()
                .flatten()
                .map(|r| (r.browser.clone(), r.listeners, 0)),
        ),
        links: s.purchase_links.take().unwrap_or_default(),
        reads: s.tracks.take().unwrap_or_default(),
        download_days: bars(
            s.downloads
                .iter()
                .flat_map(|d| &d.by_day)
                .map(|d| (d.day.clone(), d.downloads, 0)),
        ),
        download_apps: bars(
            s.downloads
                .iter()
                .flat_map(|d| &d.by_app)
                .map(|a| (a.app.clone(), a.downloads, 0)),
        ),
        retention,
        cc,
        s,
    };
    Ok(templates::page(StatusCode::OK, &page))
}

/// A DJ's insights across their catalogue, drawn on the server.
pub async fn insights(
    State(state): State<SiteState>,
    peer: Peer,
    headers: HeaderMap,
    Query(p): Query<RangeParams>,
) -> Result<Response, SiteError> {
    let v = visitor(&headers, peer);
    let mut l = layout(&state, &v, "Insights", "insights").await;
    if l.viewer.is_none() {
        return Ok(sign_in_first("/insights"));
    }
    let mut path = "/api/v1/me/insights?".to_string();
    for (k, val) in [("from", &p.from), ("to", &p.to)] {
        if let Some(val) = val.as_deref().filter(|s| !s.is_empty()) {
            path.push_str(&format!("{k}={}&", enc(val)));
        }
    }
    let i: Insights = found(&state, path.trim_end_matches(['?', '&']), &v).await?;
    l.noindex = true;
    let page = InsightsPage {
        l,
        hours: format!("{:.1}", i.totals.listened_seconds as f64 / 3600.0),
        // Days with listening; followers on the first day and where they changed.
        days: bars(
            i.by_day
                .iter()
                .filter(|d| d.listeners > 0)
                .map(|d| (d.day.clone(), d.plays, d.listeners)),
        ),
        followers: bars(
            i.by_day
                .iter()
                .enumerate()
                .filter(|(n, d)| *n == 0 || i.by_day[n - 1].followers != d.followers)
                .map(|(_, d)| (d.day.clone(), d.followers.max(0) as u64, 0)),
        ),
        referrers: bars(i.referrers.iter().map(|r| {
            let name = if r.domain.is_empty() {
                "(direct)".to_owned()
            } else {
                r.domain.clone()
            };
            (name, r.listeners, 0)
        })),
        devices: bars(i.devices.iter().map(|d| {
            let device = if d.device.is_empty() {
                "unknown device"
            } else {
                &d.device
            };
            (format!("{} · {device}", d.browser), d.listeners, 0)
        })),
        i,
    };
    Ok(templates::page(StatusCode::OK, &page))
}

pub async fn upload(
    State(state): State<SiteState>,
    peer: Peer,
    headers: HeaderMap,
) -> Result<Response, SiteError> {
    let v = visitor(&headers, peer);
    let mut l = layout(&state, &v, "My mixes", "upload").await;
    l.script = Some("/assets/upload.js");
    l.noindex = true;
    let mixes = match &l.viewer {
        Some(_) => Some(cards(&state, "/api/v1/me/cloudcasts?limit=100", &v).await?),
        None => None,
    };
    Ok(templates::page(StatusCode::OK, &UploadPage { l, mixes }))
}

async fn frame(
    state: &SiteState,
    headers: &HeaderMap,
    peer: Peer,
    title: &str,
    page: &'static str,
    script: Option<&'static str>,
) -> Layout {
    let v = visitor(headers, peer);
    let mut l = layout(state, &v, title, page).await;
    l.script = script;
    l.noindex = true;
    l
}

pub async fn dashboard(State(state): State<SiteState>, peer: Peer, headers: HeaderMap) -> Response {
    let l = frame(
        &state,
        &headers,
        peer,
        "Analytics",
        "dashboard",
        Some("/assets/dashboard.js"),
    )
    .await;
    templates::page(StatusCode::OK, &DashboardPage { l })
}

pub async fn settings(State(state): State<SiteState>, peer: Peer, headers: HeaderMap) -> Response {
    let l = frame(
        &state,
        &headers,
        peer,
        "Settings",
        "settings",
        Some("/assets/settings.js"),
    )
    .await;
    templates::page(StatusCode::OK, &SettingsPage { l })
}

pub async fn moderation(
    State(state): State<SiteState>,
    peer: Peer,
    headers: HeaderMap,
) -> Response {
    let l = frame(&state, &headers, peer, "Moderation", "moderation", None).await;
    match &l.viewer {
        None => sign_in_first("/moderation"),
        Some(me) if !me.is_admin => templates::error_page(
            StatusCode::FORBIDDEN,
            "The moderation queue is for administrators.",
        ),
        Some(_) => templates::page(StatusCode::OK, &ModerationPage { l }),
    }
}
