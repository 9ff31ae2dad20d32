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
    "legal",
    "listen",
    "listen-later",
    "login",
    "logout",
    "manifest.json",
    "me",
    "media",
    "metrics",
    "moderation",
    "new",
    "notifications",
    "null",
    "oembed",
    "openapi",
    "openapi.json",
    "password",
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

/// A profile's own sub-pages (`/{username}/favourites`, ...).
pub const RESERVED_SLUGS: &[&str] = &[
    "activity",
    "embed",
    "favourites",
    "followers",
    "following",
    "history",
    "listens",
    "reposts",
    "stats",
    "uploads",
];

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
