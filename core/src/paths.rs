//! The site's own names: profiles live at `/{username}` and cloudcasts at
//! `/{username}/{slug}`, beside the site's own top-level paths, so a
//! username may not be one of those paths, and a slug may not be one of a
//! profile's own sub-pages. One list each, compared case-insensitively;
//! sign-up, `cloudcast admin create-admin`, the start-up rename of older
//! accounts and slug assignment all read them here, and a test holds every
//! path the application serves to [`RESERVED_USERNAMES`].

/// Every current and planned top-level path, and names that would mislead
/// (`admin`, `support`) or collide with common files.
pub const RESERVED_USERNAMES: &[&str] = &[
    ".well-known",
    "about",
    "account",
    "accounts",
    "activity",
    "admin",
    "administrator",
    "api",
    "api-docs",
    "apps",
    "assets",
    "blog",
    "charts",
    "cloudcast",
    "cloudcasts",
    "confirm-email",
    "contact",
    "copyright",
    "dashboard",
    "developers",
    "discover",
    "docs",
    "dsa",
    "embed",
    "explore",
    "favicon.ico",
    "favourites",
    "feed",
    "followers",
    "following",
    "healthz",
    "help",
    "history",
    "home",
    "humans.txt",
    "imprint",
    "index",
    "index.html",
    "insights",
    "legal",
    "library",
    "listen",
    "listen-later",
    "login",
    "logout",
    "mailbox",
    "manifest.json",
    "me",
    "media",
    "metrics",
    "moderation",
    "new",
    "notifications",
    "null",
    "oauth",
    "oembed",
    "openapi",
    "openapi.json",
    "password",
    "playlists",
    "popular",
    "privacy",
    "register",
    "reset-password",
    "robots.txt",
    "root",
    "search",
    "security.txt",
    "settings",
    "sign-in",
    "sign-out",
    "sign-up",
    "signin",
    "signout",
    "signup",
    "sitemap.xml",
    "static",
    "stats",
    "status",
    "stream",
    "support",
    "system",
    "tag",
    "tags",
    "terms",
    "trending",
    "undefined",
    "unsubscribe",
    "upload",
    "uploads",
    "user",
    "users",
    "verify",
    "verify-email",
    "web",
    "well-known",
    "www",
];

/// A profile's own sub-pages (`/{username}/favourites`, ...) and files
/// (`/{username}/podcast.rss`, the feed podcast apps read, and the other
/// feed names apps try).
pub const RESERVED_SLUGS: &[&str] = &[
    "activity",
    "atom.xml",
    "embed",
    "favourites",
    "followers",
    "following",
    "history",
    "listens",
    "podcast",
    "podcast.rss",
    "podcast.xml",
    "reposts",
    "rss",
    "rss.xml",
    "stats",
    "uploads",
];

/// The one check of where a link may send someone after signing in or
/// after a mailed link (`next`): a path of this site, else `/`. A path
/// starts with one `/`; control characters are refused (browsers strip a
/// tab, CR or LF, which turned `/\t/evil.example` into `//evil.example`,
/// another site), and so are backslashes (read as slashes).
pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.len() <= 2048
                && n.starts_with('/')
                && !n.starts_with("//")
                && !n.chars().any(|c| c.is_control() || c == '\\') =>
        {
            n.to_owned()
        }
        _ => "/".into(),
    }
}

fn listed(list: &[&str], name: &str) -> bool {
    list.iter().any(|r| r.eq_ignore_ascii_case(name))
}

/// Is `name` (any case) kept for the site itself?
pub fn is_reserved_username(name: &str) -> bool {
    listed(RESERVED_USERNAMES, name)
}

pub fn is_reserved_slug(slug: &str) -> bool {
    listed(RESERVED_SLUGS, slug)
}

/// Does `path` fit the route `pattern`, where a `{..}` segment fits any
/// one segment and a last `**` the rest of the path, if any?
pub fn fits(pattern: &str, path: &str) -> bool {
    let mut p = pattern.split('/');
    let mut q = path.split('/');
    loop {
        match (p.next(), q.next()) {
            (Some("**"), _) => return true,
            (None, None) => return true,
            (Some(a), Some(b)) if a.starts_with('{') || a == b => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_names_match_in_any_case() {
        assert!(is_reserved_username("API"));
        assert!(is_reserved_username("Favicon.ICO"));
        assert!(is_reserved_username(".well-known"));
        assert!(!is_reserved_username("dj_one"));
        assert!(is_reserved_slug("Followers"));
        assert!(!is_reserved_slug("summer-mix"));
        assert!(is_reserved_slug("Podcast.RSS"));
    }

    #[test]
    fn next_is_a_path_of_this_site_or_home() {
        for bad in [
            "/\t/evil.example",
            "/\r/evil.example",
            "/\n/evil.example",
            "/\u{7f}/x",
            "/\u{85}/x",
            "//evil.example",
            "/\\evil.example",
            "\\/evil.example",
            "https://evil.example/",
            "evil.example",
            "javascript:alert(1)",
            " /x",
            "",
        ] {
            assert_eq!(local_path(Some(bad)), "/", "{bad:?}");
        }
        for good in [
            "/",
            "/settings",
            "/dj/mix?x=1#c",
            "/%2F/evil.example",
            "/%09/x",
        ] {
            assert_eq!(local_path(Some(good)), good);
        }
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn the_lists_are_lower_case_and_sorted() {
        for list in [RESERVED_USERNAMES, RESERVED_SLUGS] {
            let mut sorted = list.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted, list, "keep the list sorted and without repeats");
            assert!(list.iter().all(|n| n.to_lowercase() == *n));
        }
    }
}
