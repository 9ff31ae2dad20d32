//! A listener's library (`/library`): the feed of the DJs they follow,
//! what they listened to (each with where it stopped), what they saved to
//! listen later, their favourites and reposts; and anyone's follower and
//! followed lists (`/{username}/followers`, `/{username}/following`). Each
//! is the API's own list, read as the visitor.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::api::Answer;
use crate::templates::{self, *};
use crate::views::*;
use crate::visit::*;
use crate::{SiteError, SiteState, enc};

/// Items in each section of the library's overview.
const PREVIEW: u32 = 6;
/// Items on a section's own page.
const PAGE: u32 = 30;

/// The library's sections, in the order the page shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Feed,
    History,
    ListenLater,
    Favourites,
    Reposts,
}

impl Section {
    pub const ALL: [Section; 5] = [
        Section::Feed,
        Section::History,
        Section::ListenLater,
        Section::Favourites,
        Section::Reposts,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Section::Feed => "feed",
            Section::History => "history",
            Section::ListenLater => "listen-later",
            Section::Favourites => "favourites",
            Section::Reposts => "reposts",
        }
    }

    pub fn heading(self) -> &'static str {
        match self {
            Section::Feed => "From DJs you follow",
            Section::History => "Listened to",
            Section::ListenLater => "Listen later",
            Section::Favourites => "Favourites",
            Section::Reposts => "Your reposts",
        }
    }

    fn empty(self) -> &'static str {
        match self {
            Section::Feed => "Follow DJs and their new mixes and reposts show here.",
            Section::History => "Mixes you listen to show here, with where you stopped.",
            Section::ListenLater => "Save a mix with “Listen later” and it waits here.",
            Section::Favourites => "Mixes you favourite show here.",
            Section::Reposts => "Mixes you repost show here, and to your followers.",
        }
    }

    fn parse(s: &str) -> Option<Section> {
        Section::ALL.into_iter().find(|x| x.slug() == s)
    }

    /// The API list behind the section, for `me`.
    fn path(self, me: &str, limit: u32, cursor: Option<&str>) -> String {
        let mut p = match self {
            Section::Feed => format!("/api/v1/me/feed?limit={limit}"),
            // Sessions, not mixes: more than shown, as one mix may fill several.
            Section::History => format!("/api/v1/me/history?limit={}", limit * 4),
            Section::ListenLater => format!("/api/v1/me/listen-later?limit={limit}"),
            Section::Favourites => format!("/api/v1/me/favourites?limit={limit}"),
            Section::Reposts => format!("/api/v1/users/{}/reposts?limit={limit}", enc(me)),
        };
        if let Some(c) = cursor {
            p.push_str(&format!("&cursor={}", enc(c)));
        }
        p
    }
}

/// One entry of a library section.
pub enum Entry {
    Card(Card),
    /// A feed entry: who uploaded or reposted it.
    Feed {
        by: String,
        repost: bool,
        card: Card,
    },
    /// A history entry: the mix, when, and where it stopped.
    Heard {
        id: uuid::Uuid,
        title: String,
        when: String,
        stopped_at: String,
        stopped_at_secs: u64,
    },
}

/// A section as a page shows it.
pub struct Shelf {
    pub section: Section,
    pub entries: Vec<Entry>,
    pub empty: &'static str,
    pub next: Option<String>,
}

/// Reads `section` of `me`'s library; a list the API refuses is empty.
async fn shelf(
    state: &SiteState,
    v: &crate::api::Visitor,
    me: &str,
    section: Section,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Shelf, SiteError> {
    let path = section.path(me, limit, cursor);
    let (entries, next) = match section {
        Section::Feed => match state.api.get::<Listing<FeedEntry>>(&path, v).await? {
            Answer::Found(l) => (
                l.items
                    .into_iter()
                    .map(|e| Entry::Feed {
                        by: e.by,
                        repost: e.kind == FeedKind::Repost,
                        card: e.cloudcast,
                    })
                    .collect(),
                l.next_cursor,
            ),
            _ => (Vec::new(), None),
        },
        Section::History => match state.api.get::<History>(&path, v).await? {
            Answer::Found(h) => (heard(h, limit as usize), None),
            _ => (Vec::new(), None),
        },
        _ => match state.api.get::<Listing<Marked>>(&path, v).await? {
            Answer::Found(l) => (
                l.items
                    .into_iter()
                    .map(|m| Entry::Card(m.cloudcast))
                    .collect(),
                l.next_cursor,
            ),
            _ => (Vec::new(), None),
        },
    };
    Ok(Shelf {
        section,
        entries,
        empty: section.empty(),
        next: next.map(|c| format!("/library/{}?cursor={}", section.slug(), enc(&c))),
    })
}

/// The newest session of each mix, newest first: where to resume it.
fn heard(h: History, limit: usize) -> Vec<Entry> {
    let mut seen = std::collections::HashSet::new();
    h.history
        .into_iter()
        .filter(|e| seen.insert(e.cloudcast.id))
        .take(limit)
        .map(|e| Entry::Heard {
            id: e.cloudcast.id,
            title: e.cloudcast.title,
            when: e.started_at.date().to_string(),
            stopped_at: crate::shown::clock(e.stopped_at_ms),
            stopped_at_secs: e.stopped_at_ms / 1000,
        })
        .collect()
}

/// `/library`: every section's newest few.
/// `/feed`, `/history` and `/listen-later`: permanently the library's section.
pub async fn moved(section: Section) -> axum::response::Redirect {
    axum::response::Redirect::permanent(&format!("/library/{}", section.slug()))
}

pub async fn library(
    State(state): State<SiteState>,
    peer: Peer,
    headers: HeaderMap,
) -> Result<Response, SiteError> {
    let v = visitor(&headers, peer);
    let mut l = layout(&state, &v, "Library", "library").await;
    l.noindex = true;
    let Some(me) = l.viewer.as_ref().map(|m| m.username.clone()) else {
        return Ok(sign_in_first("/library"));
    };
    let (feed, history, later, favourites, reposts) = tokio::join!(
        shelf(&state, &v, &me, Section::Feed, PREVIEW, None),
        shelf(&state, &v, &me, Section::History, PREVIEW, None),
        shelf(&state, &v, &me, Section::ListenLater, PREVIEW, None),
        shelf(&state, &v, &me, Section::Favourites, PREVIEW, None),
        shelf(&state, &v, &me, Section::Reposts, PREVIEW, None),
    );
    let page = LibraryPage {
        l,
        current: None,
        shelves: vec![feed?, history?, later?, favourites?, reposts?],
    };
    Ok(templates::page(StatusCode::OK, &page))
}

/// `/library/{section}`: one section, a page at a time.
pub async fn section(
    State(state): State<SiteState>,
    peer: Peer,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(p): Query<CursorParams>,
) -> Result<Response, SiteError> {
    let section = Section::parse(&name).ok_or(SiteError::NotFound("that page"))?;
    let v = visitor(&headers, peer);
    let mut l = layout(&state, &v, section.heading(), "library").await;
    l.noindex = true;
    let Some(me) = l.viewer.as_ref().map(|m| m.username.clone()) else {
        return Ok(sign_in_first(&format!("/library/{}", section.slug())));
    };
    let shelf = shelf(&state, &v, &me, section, PAGE, p.cursor.as_deref()).await?;
    let page = LibraryPage {
        l,
        current: Some(section),
        shelves: vec![shelf],
    };
    Ok(templates::page(StatusCode::OK, &page))
}

/// Which side of someone's follows a page lists.
#[derive(Debug, Clone, Copy)]
pub enum Side {
    Followers,
    Following,
}

async fn follows(
    state: SiteState,
    peer: Peer,
    headers: HeaderMap,
    username: String,
    side: Side,
    cursor: Option<String>,
) -> Result<Response, SiteError> {
    let v = visitor(&headers, peer);
    let user: PublicUser = found(&state, &format!("/api/v1/users/{}", enc(&username)), &v).await?;
    let word = match side {
        Side::Followers => "followers",
        Side::Following => "following",
    };
    if user.username != username {
        return Ok(moved_permanently(&format!("/{}/{word}", user.username)).into_response());
    }
    let mut path = format!("/api/v1/users/{}/{word}?limit={PAGE}", enc(&user.username));
    if let Some(c) = &cursor {
        path.push_str(&format!("&cursor={}", enc(c)));
    }
    let heading = match side {
        Side::Followers => format!("Following {}", user.display_name()),
        Side::Following => format!("Followed by {}", user.display_name()),
    };
    let (l, list) = tokio::join!(
        layout(&state, &v, heading.clone(), "follows"),
        // A minor's lists are never public: the API's 404 is the page's.
        found::<Listing<FollowEntry>>(&state, &path, &v)
    );
    let list = list?;
    let page = FollowsPage {
        l,
        heading,
        username: user.username.clone(),
        people: list.items,
        next: list
            .next_cursor
            .map(|c| format!("/{}/{word}?cursor={}", user.username, enc(&c))),
    };
    Ok(templates::page(StatusCode::OK, &page))
}

/// `/{username}/followers` (`FOLLOWERS`) or `/{username}/following`.
pub async fn people<const FOLLOWERS: bool>(
    State(state): State<SiteState>,
    peer: Peer,
    headers: HeaderMap,
    Path(username): Path<String>,
    Query(p): Query<CursorParams>,
) -> Result<Response, SiteError> {
    let side = if FOLLOWERS {
        Side::Followers
    } else {
        Side::Following
    };
    follows(state, peer, headers, username, side, p.cursor).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_round_trip_their_slugs() {
        for s in Section::ALL {
            assert_eq!(Section::parse(s.slug()), Some(s));
        }
        assert_eq!(Section::parse("nope"), None);
    }
}
