//! How the API's values read on a page: clocks, dates, counts and states
//! in words. Traits, because the types are the API's own (`views.rs`);
//! the templates call them as methods.

use time::OffsetDateTime;

use crate::views::*;

/// 0:07, 12:34, 1:02:03
pub fn clock(ms: u64) -> String {
    let s = ms / 1000;
    let (h, m, s) = (s / 3600, (s % 3600) / 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// `one` or `many`, as `n` asks ("1 play", "2 plays").
pub fn plural(
    n: impl std::borrow::Borrow<i64>,
    one: &'static str,
    many: &'static str,
) -> &'static str {
    if *n.borrow() == 1 { one } else { many }
}

/// A duration the API may not know yet, as a clock.
fn clock_of(duration_ms: Option<i64>) -> String {
    clock(duration_ms.unwrap_or(0).max(0) as u64)
}

/// A page URL without its query (an unlisted one's secret).
fn path_of(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// The day of a time, as 2026-12-07 (UTC, as the API gives it).
fn day(t: &OffsetDateTime) -> String {
    t.date().to_string()
}

pub trait CardShown {
    fn duration(&self) -> String;
    fn counts(&self) -> String;
    fn url_path(&self) -> &str;
    fn status_text(&self) -> String;
    /// Where the owner's own mix stands (empty in anyone else's list).
    fn status_name(&self) -> &'static str;
}

impl CardShown for Card {
    fn duration(&self) -> String {
        clock_of(self.duration_ms)
    }

    fn counts(&self) -> String {
        let mut parts = Vec::new();
        if let Some(n) = self.plays {
            parts.push(format!("{n} {}", plural(n, "play", "plays")));
        }
        if let Some(n) = self.favourites {
            parts.push(format!("{n} {}", plural(n, "favourite", "favourites")));
        }
        if let Some(n) = self.reposts {
            parts.push(format!("{n} {}", plural(n, "repost", "reposts")));
        }
        parts.join(" · ")
    }

    fn url_path(&self) -> &str {
        path_of(&self.url)
    }

    fn status_name(&self) -> &'static str {
        self.status.map_or("", |s| s.as_str())
    }

    /// As `web/src/mix_editor.js::statusText` words it.
    fn status_text(&self) -> String {
        let text = match (self.status.map(|s| s.as_str()), self.progress) {
            (Some("processing"), Some(p)) => format!("processing, {p}%"),
            (Some("failed"), _) => format!(
                "failed: {}",
                self.error.as_deref().unwrap_or("processing failed")
            ),
            (Some(s), _) => format!("{s}, {}", self.visibility.map_or("public", |v| v.as_str())),
            (None, _) => return String::new(),
        };
        if self.draft {
            format!("{text} · draft: only you see it until you publish it")
        } else {
            text
        }
    }
}

pub trait CloudcastShown {
    fn duration(&self) -> String;
    fn duration_secs(&self) -> i64;
    fn published(&self) -> String;
    fn url_path(&self) -> &str;
    fn pressed(&self, what: &str) -> &'static str;
}

impl CloudcastShown for Cloudcast {
    fn duration(&self) -> String {
        clock_of(self.duration_ms)
    }

    fn duration_secs(&self) -> i64 {
        self.duration_ms.unwrap_or(0).max(0) / 1000
    }

    fn published(&self) -> String {
        day(&self.published_at)
    }

    fn url_path(&self) -> &str {
        path_of(&self.url)
    }

    /// `aria-pressed` of the viewer's buttons, as the API says they stand.
    fn pressed(&self, what: &str) -> &'static str {
        let on = self.me.as_ref().is_some_and(|m| match what {
            "favourite" => m.favourited,
            "repost" => m.reposted,
            "listen-later" => m.listen_later,
            _ => m.following_owner,
        });
        if on { "true" } else { "false" }
    }
}

pub trait TrackShown {
    fn at(&self) -> String;
    fn name(&self) -> String;
}

impl TrackShown for Track {
    fn at(&self) -> String {
        clock(self.start_ms)
    }

    fn name(&self) -> String {
        let artist = if self.artist.is_empty() {
            "Unknown artist"
        } else {
            &self.artist
        };
        let title = if self.title.is_empty() {
            "Untitled"
        } else {
            &self.title
        };
        format!("{artist} – {title}")
    }
}

pub trait CommentShown {
    fn when(&self) -> String;
}

impl CommentShown for Comment {
    fn when(&self) -> String {
        day(&self.created_at)
    }
}

pub trait TimedShown {
    /// The moment of the mix a comment is about, as a clock.
    fn at(&self) -> Option<String>;
}

impl TimedShown for Comment {
    fn at(&self) -> Option<String> {
        self.position_ms.map(|p| clock(p.max(0) as u64))
    }
}

/// A comment's text with its mentions picked out: the catalogue's rule,
/// the one the notifications follow.
pub use cloudcast_catalog::mentions::{Piece, mentions};

/// A top-level comment and the replies to it, as the page shows them.
pub struct Thread {
    pub comment: Comment,
    pub replies: Vec<Comment>,
}

impl Thread {
    /// The top-level comment, as a list of one (the page's templates walk
    /// it as they walk the replies).
    pub fn top(&self) -> Vec<&Comment> {
        vec![&self.comment]
    }
}

/// The comments in threads: top-level ones in order, each with its
/// replies in order (a reply whose comment is not on this page stands alone).
pub fn threads(comments: Vec<Comment>) -> Vec<Thread> {
    let mut out: Vec<Thread> = Vec::new();
    let mut waiting = Vec::new();
    for c in comments {
        match c.parent_id {
            Some(_) => waiting.push(c),
            None => out.push(Thread {
                comment: c,
                replies: Vec::new(),
            }),
        }
    }
    for r in waiting {
        match out.iter_mut().find(|t| Some(t.comment.id) == r.parent_id) {
            Some(t) => t.replies.push(r),
            None => out.push(Thread {
                comment: r,
                replies: Vec::new(),
            }),
        }
    }
    out
}

impl CommentShown for ActivityEntry {
    fn when(&self) -> String {
        day(&self.listened_at)
    }
}

pub trait UserShown {
    fn display_name(&self) -> String;
    fn fields(&self) -> Vec<(String, String)>;
    fn bio(&self) -> Option<String>;
    fn links(&self) -> Vec<String>;
}

impl UserShown for PublicUser {
    /// Their real name when they made it public, else the username.
    fn display_name(&self) -> String {
        self.profile
            .get("real_name")
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .unwrap_or(&self.username)
            .to_owned()
    }

    /// The short public fields, as text (the real name is the heading;
    /// the bio and the links have their own places).
    fn fields(&self) -> Vec<(String, String)> {
        self.profile
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "real_name" | "bio" | "links"))
            .filter_map(|(k, v)| {
                let text = match v {
                    serde_json::Value::String(s) if !s.is_empty() => s.clone(),
                    serde_json::Value::Number(n) => n.to_string(),
                    _ => return None,
                };
                Some((k.replace('_', " "), text))
            })
            .collect()
    }

    fn bio(&self) -> Option<String> {
        self.profile
            .get("bio")
            .and_then(|v| v.as_str())
            .filter(|s| !s.trim().is_empty())
            .map(str::to_owned)
    }

    /// The public links; only web addresses (the API checks them so).
    fn links(&self) -> Vec<String> {
        self.profile
            .get("links")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|l| l.as_str())
                    .filter(|l| l.starts_with("https://") || l.starts_with("http://"))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub trait TagShown {
    /// The tag's page on this site (the API's `url` is its API list).
    fn page(&self) -> String;
}

impl TagShown for Tag {
    fn page(&self) -> String {
        format!("/tags/{}", crate::enc(&self.tag))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_singular_for_one() {
        assert_eq!(plural(1, "play", "plays"), "play");
        assert_eq!(plural(0, "play", "plays"), "plays");
        assert_eq!(plural(2_i64, "play", "plays"), "plays");
    }
}
