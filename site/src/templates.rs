//! The pages' templates (askama, checked when the crate compiles, HTML
//! escaped by default) and the small formatting the templates call.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

pub use crate::shown::*;
use crate::views::*;

/// What every page's frame shows: who is signed in, the search box, the
/// tags a link unfurler reads.
#[derive(Default)]
pub struct Layout {
    pub title: String,
    pub viewer: Option<Me>,
    pub q: String,
    /// The page's name, for its script (`main[data-page]`).
    pub page: &'static str,
    /// A page script of its own, loaded after the page is shown.
    pub script: Option<&'static str>,
    pub meta: Option<Meta>,
    pub noindex: bool,
    pub beat_batch_secs: u32,
    /// The shortest password the API takes, said before it refuses one.
    pub min_password_len: usize,
    /// The signed-in visitor's unread notifications (the bell).
    pub unread: Option<i64>,
    /// How often a page without a live stream asks for that count.
    pub poll_secs: u64,
}

/// OpenGraph and Twitter card tags.
#[derive(Debug)]
pub struct Meta {
    pub kind: &'static str,
    pub title: String,
    pub description: String,
    pub url: String,
    pub image: String,
    pub player: Option<String>,
    pub oembed: Option<String>,
    /// A podcast feed to discover (`<link rel="alternate">`).
    pub feed: Option<String>,
}

/// What a rendered page says of caching until `cache.rs` decides.
pub(crate) const PAGE_CACHE_CONTROL: &str = "private, no-cache";

/// Renders a page, or the error page when rendering fails.
pub fn page<T: Template>(status: StatusCode, t: &T) -> Response {
    match t.render() {
        Ok(html) => guarded(
            (
                status,
                // Pages differ by visitor: no shared cache may keep one,
                // unless `cache.rs` finds it is an anonymous reader's.
                [(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static(PAGE_CACHE_CONTROL),
                )],
                Html(html),
            )
                .into_response(),
        ),
        Err(e) => crate::error::SiteError::Render(e).into_response(),
    }
}

/// A page made for its visitor alone (it carries a URL signed for them):
/// never kept by a shared cache, even when the visitor is signed out.
pub(crate) fn for_visitor(mut resp: Response) -> Response {
    resp.extensions_mut().insert(crate::cache::ForVisitor);
    resp
}

/// What a page may run: scripts from this site only (no inline script, no
/// `eval`), no plugins, no `<base>` that would move relative links; the
/// pages are framed by the site alone. The embed player, framed by any site,
/// ends the same policy with `frame-ancestors *` ([`EMBED_CSP`]).
pub const PAGE_CSP: &str =
    "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'self'";
pub const EMBED_CSP: &str =
    "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors *";

/// Pages carry [`PAGE_CSP`], and their type is never guessed.
fn guarded(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    l: Layout,
    heading: &'a str,
    status: u16,
    message: &'a str,
}

/// The HTML error page (a plain-text fallback if even it cannot render).
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let heading = match status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::UNAUTHORIZED => "Sign in first",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::TOO_MANY_REQUESTS => "Too many requests",
        s if s.is_server_error() => "Something went wrong",
        _ => "That did not work",
    };
    let t = ErrorPage {
        l: Layout {
            title: heading.to_owned(),
            noindex: true,
            page: "error",
            ..Layout::default()
        },
        heading,
        status: status.as_u16(),
        message,
    };
    match t.render() {
        Ok(html) => guarded((status, Html(html)).into_response()),
        Err(_) => (status, message.to_owned()).into_response(),
    }
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct Home {
    pub l: Layout,
    pub lists: Vec<(&'static str, &'static str, Vec<Card>)>,
    pub tags: Vec<Tag>,
}

#[derive(Template)]
#[template(path = "list.html")]
pub struct ListPage {
    pub l: Layout,
    pub heading: String,
    pub subtitle: Option<String>,
    pub users: Vec<UserCard>,
    pub tags: Vec<Tag>,
    /// Public playlists found (search only).
    pub playlists: Vec<PlaylistSummary>,
    pub cards: Vec<Card>,
    pub empty: &'static str,
    pub next: Option<String>,
}

#[derive(Template)]
#[template(path = "profile.html")]
pub struct ProfilePage {
    pub l: Layout,
    pub user: PublicUser,
    pub own: bool,
    /// Whether the signed-in viewer follows them.
    pub following: bool,
    /// Whether the signed-in viewer blocked them.
    pub blocked: bool,
    /// The comments on the profile, in threads (none while it takes none).
    pub comments: Vec<Thread>,
    /// Their public playlists.
    pub playlists: Vec<PlaylistSummary>,
    /// Their podcast feed's URL, when it is on.
    pub podcast: Option<String>,
    pub cards: Vec<Card>,
    pub reposts: Vec<Card>,
    pub favourites: Vec<Card>,
    /// `None` where the activity is not public (a minor's never is).
    pub activity: Option<Vec<ActivityEntry>>,
}

#[derive(Template)]
#[template(path = "playlist.html")]
pub struct PlaylistPage {
    pub l: Layout,
    pub p: Playlist,
    /// The signed-in viewer owns it.
    pub own: bool,
    pub page_url: String,
    /// The iframe of its embed player; empty when it has none.
    pub embed_code: String,
}

impl PlaylistPage {
    /// Is the playlist's visibility (known to its owner) `v`?
    pub fn visibility_is(&self, v: &str) -> bool {
        self.p.visibility.is_some_and(|x| x.as_str() == v)
    }
}

#[derive(Template)]
#[template(path = "cloudcast.html")]
pub struct CloudcastPage {
    pub l: Layout,
    pub cc: Cloudcast,
    pub own: bool,
    pub comments: Vec<Thread>,
    /// The comments at a moment of the mix, placed along its waveform.
    pub marks: Vec<CommentMark>,
    /// "More like this", as the API answers the visitor.
    pub related: Vec<RelatedCloudcast>,
    pub page_url: String,
    pub embed_code: String,
}

/// A comment at a moment of the mix, as a mark on its waveform.
pub struct CommentMark {
    pub id: uuid::Uuid,
    pub at_ms: i64,
    pub at: String,
    pub percent: f64,
    pub author: String,
    pub excerpt: String,
}

impl Layout {
    /// Is `username` the one signed in?
    pub fn is_viewer(&self, username: &str) -> bool {
        self.viewer
            .as_ref()
            .is_some_and(|v| v.username.eq_ignore_ascii_case(username))
    }

    /// May the visitor delete `c`: its author, the owner of the mix or
    /// profile it is on (`owner_here`), an administrator (the API decides;
    /// this only offers the button).
    pub fn may_delete(&self, c: &Comment, owner_here: bool) -> bool {
        owner_here || self.is_viewer(&c.author) || self.viewer.as_ref().is_some_and(|v| v.is_admin)
    }
}

impl ProfilePage {
    /// May comments be answered here.
    pub fn replies_open(&self) -> bool {
        self.user.comments_open
    }
}

impl CloudcastPage {
    /// May comments be answered here.
    pub fn replies_open(&self) -> bool {
        !self.cc.disable_comments
    }

    /// The marks of the comments at a moment of the mix (`duration_ms`).
    pub fn marks_of(threads: &[Thread], duration_ms: Option<i64>) -> Vec<CommentMark> {
        let Some(total) = duration_ms.filter(|d| *d > 0) else {
            return Vec::new();
        };
        threads
            .iter()
            .filter_map(|t| {
                let c = &t.comment;
                let at_ms = c.position_ms?;
                let excerpt: String = c.body.chars().take(80).collect();
                Some(CommentMark {
                    id: c.id,
                    at_ms,
                    at: crate::shown::clock(at_ms.max(0) as u64),
                    percent: (at_ms as f64 * 100.0 / total as f64).clamp(0.0, 100.0),
                    author: c.author.clone(),
                    excerpt,
                })
            })
            .collect()
    }
}

#[derive(Template)]
#[template(path = "embed.html")]
pub struct EmbedPage {
    /// The mix it starts with.
    pub cc: Cloudcast,
    pub page_url: String,
    pub beat_batch_secs: u32,
    /// A playlist's embed: its title, page and mixes, played in turn.
    pub playlist: Option<(String, String, Vec<Card>)>,
}

#[derive(Template)]
#[template(path = "sign_up.html")]
pub struct SignUp {
    pub l: Layout,
    /// Where the confirmation link returns to (a path of this site).
    pub next: String,
    /// What the form held when it came back (never the password).
    pub username: String,
    pub email: String,
    pub birth_date: String,
    /// Why a post without scripts was refused.
    pub message: String,
    /// The privacy policy shown (its version), and the terms accepted by
    /// signing up, when the site publishes them.
    pub privacy_version: Option<String>,
    pub terms_version: Option<String>,
}

#[derive(Template)]
#[template(path = "sign_in.html")]
pub struct SignIn {
    pub l: Layout,
    pub next: String,
    pub login: String,
    /// Why a post without scripts was refused.
    pub message: String,
    /// After a right password on an account with an authenticator app: the
    /// challenge the code goes with (empty before).
    pub challenge: String,
}

#[derive(Template)]
#[template(path = "reset_password.html")]
pub struct ResetPassword {
    pub l: Layout,
    pub token: String,
    /// Why a post without scripts was refused.
    pub message: String,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub l: Layout,
    pub heading: &'static str,
    pub message: String,
    pub failed: bool,
    pub link: Option<(&'static str, &'static str)>,
}

#[derive(Template)]
#[template(path = "library.html")]
pub struct LibraryPage {
    pub l: Layout,
    /// The one section shown on its own page; `None`: the overview.
    pub current: Option<crate::library::Section>,
    pub shelves: Vec<crate::library::Shelf>,
}

#[derive(Template)]
#[template(path = "notifications.html")]
pub struct NotificationsPage {
    pub l: Layout,
    pub page: crate::views::NotificationPage,
    pub next: Option<String>,
}

#[derive(Template)]
#[template(path = "unsubscribe.html")]
pub struct UnsubscribePage {
    pub l: Layout,
    /// The form's target (this page); `None` once done.
    pub action: Option<String>,
    /// What was stopped, or why not.
    pub said: Option<String>,
}

#[derive(Template)]
#[template(path = "follows.html")]
pub struct FollowsPage {
    pub l: Layout,
    pub heading: String,
    pub username: String,
    pub people: Vec<FollowEntry>,
    pub next: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/upload.html")]
pub struct UploadPage {
    pub l: Layout,
    /// The signed-in DJ's own cloudcasts (`None` when signed out).
    pub mixes: Option<Vec<Card>>,
}

#[derive(Template)]
#[template(path = "pages/dashboard.html")]
pub struct DashboardPage {
    pub l: Layout,
}

#[derive(Template)]
#[template(path = "pages/settings.html")]
pub struct SettingsPage {
    pub l: Layout,
}

#[derive(Template)]
#[template(path = "pages/developers.html")]
pub struct DevelopersPage {
    pub l: Layout,
    /// Each scope and what it lets an app do.
    pub scopes: Vec<(&'static str, &'static str)>,
}

/// An app's faulty request, shown before anything is asked (never
/// followed on its own: a redirect from here would make this site an open
/// redirector for any registered address).
#[derive(Template)]
#[template(path = "consent_refused.html")]
pub struct ConsentRefusedPage {
    pub l: Layout,
    pub message: String,
    /// The app's redirect URI with the error.
    pub back: String,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage {
    pub l: Layout,
    /// Who is asked (the signed-in person).
    pub username: String,
    pub app_name: String,
    pub developer: String,
    pub website: Option<String>,
    pub logo_url: Option<String>,
    /// Each scope asked and what it lets the app do.
    pub scopes: Vec<(String, String)>,
    pub granted_before: bool,
    /// The scheme and host the answer goes to.
    pub redirect_host: String,
    /// The request's parameters, carried by the form.
    pub fields: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "pages/moderation.html")]
pub struct ModerationPage {
    pub l: Layout,
}

/// One bar of a chart: its label, its figure, its share of the largest.
pub struct Bar {
    pub label: String,
    pub value: u64,
    pub extra: u64,
    pub percent: u32,
}

pub fn bars(rows: impl Iterator<Item = (String, u64, u64)>) -> Vec<Bar> {
    let rows: Vec<_> = rows.collect();
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    rows.into_iter()
        .map(|(label, value, extra)| Bar {
            label,
            value,
            extra,
            percent: ((value * 100) / max) as u32,
        })
        .collect()
}

pub struct Mark {
    pub x: u32,
    pub n: usize,
}

pub struct TrackRetention {
    pub n: usize,
    pub name: String,
    pub reached: u64,
    pub left: u64,
}

/// The retention curve as an SVG polyline, with the tracks marked on it.
pub struct Retention {
    pub width: u32,
    pub height: u32,
    pub points: String,
    pub marks: Vec<Mark>,
    pub tracks: Vec<TrackRetention>,
    /// Positions along the bottom axis: where, and the time in the mix.
    pub x_labels: Vec<(u32, String)>,
    /// The most listeners at any moment: the top of the side axis.
    pub y_top: u64,
}

#[derive(Template)]
#[template(path = "stats.html")]
pub struct StatsPage {
    pub l: Layout,
    pub cc: Cloudcast,
    pub s: Stats,
    /// The API's room read, by track number.
    pub reads: Vec<TrackRead>,
    pub hours: String,
    pub days: Vec<Bar>,
    pub retention: Option<Retention>,
    pub referrers: Vec<Bar>,
    pub browsers: Vec<Bar>,
    pub links: Vec<LinkCount>,
    /// Downloads (podcast apps and the page) by day and by app.
    pub download_days: Vec<Bar>,
    pub download_apps: Vec<Bar>,
}

impl StatsPage {
    /// The room read of track `n` (1, 2, ...), when the API gave one.
    pub fn read(&self, n: &usize) -> Option<&TrackRead> {
        self.reads.iter().find(|r| r.number == *n)
    }
}

/// A change of loudness as the track table shows it: "+6.0 LU".
pub fn lu(jump: &Option<f32>) -> String {
    jump.map_or_else(String::new, |j| format!("{j:+.1} LU"))
}

#[derive(Template)]
#[template(path = "insights.html")]
pub struct InsightsPage {
    pub l: Layout,
    pub i: Insights,
    pub hours: String,
    pub days: Vec<Bar>,
    pub followers: Vec<Bar>,
    pub referrers: Vec<Bar>,
    pub devices: Vec<Bar>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_reads_as_players_show_time() {
        assert_eq!(clock(7_000), "0:07");
        assert_eq!(clock(754_000), "12:34");
        assert_eq!(clock(3_723_000), "1:02:03");
    }

    #[test]
    fn bars_are_shares_of_the_largest() {
        let b = bars(
            vec![
                ("a".into(), 50, 0),
                ("b".into(), 100, 0),
                ("c".into(), 0, 0),
            ]
            .into_iter(),
        );
        assert_eq!(
            b.iter().map(|b| b.percent).collect::<Vec<_>>(),
            vec![50, 100, 0]
        );
    }
}

/// One mail on the mailbox page: its text in lines, links made links.
pub struct MailView {
    pub to: String,
    pub kind: String,
    pub subject: String,
    pub at: String,
    pub lines: Vec<Vec<Piece>>,
}

/// A run of a mail's text, and where it links to if it is a link.
pub struct Piece {
    pub text: String,
    pub href: Option<String>,
}

impl MailView {
    pub fn new(to: String, kind: String, subject: String, at: String, body: &str) -> MailView {
        let lines = body
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let mut pieces: Vec<Piece> = Vec::new();
                for (i, word) in line.split(' ').enumerate() {
                    let text = if i == 0 {
                        word.to_owned()
                    } else {
                        format!(" {word}")
                    };
                    let link = word.starts_with("http://") || word.starts_with("https://");
                    pieces.push(Piece {
                        href: link.then(|| word.to_owned()),
                        text,
                    });
                }
                pieces
            })
            .collect();
        MailView {
            to,
            kind,
            subject,
            at,
            lines,
        }
    }
}

#[derive(Template)]
#[template(path = "mailbox.html")]
struct MailboxPage {
    mails: Vec<MailView>,
}

/// The mailbox page of a machine of one's own (`smtp.mailbox_page`).
pub fn mailbox_page(mails: Vec<MailView>) -> Response {
    let mut resp = page(StatusCode::OK, &MailboxPage { mails });
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[derive(Template)]
#[template(path = "policy.html")]
pub struct PolicyPage {
    pub l: Layout,
    pub heading: &'static str,
    /// `privacy` or `terms`: the page's own path.
    pub base: &'static str,
    pub doc: cloudcast_accounts::policies::PolicyDocument,
    /// The document as HTML (raw HTML in it escaped).
    pub body: String,
    /// The signed-in visitor is asked to accept this version.
    pub accept: bool,
}

#[derive(Template)]
#[template(path = "contact.html")]
pub struct ContactPage {
    pub l: Layout,
    pub groups: Vec<(&'static str, Vec<crate::policies::Choice>)>,
    /// The account reported, when a profile's link names one.
    pub account: String,
}
