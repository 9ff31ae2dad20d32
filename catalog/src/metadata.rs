//! A cloudcast's metadata and its rules: title, description, tags,
//! tracklist and purchase links. Pure functions, unit-tested; the handlers
//! in `cloudcasts.rs` apply them before anything is stored.

use serde::{Deserialize, Serialize};

use cloudcast_core::text::plain_text;

use crate::CatalogError;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Track {
    pub start_ms: u64,
    pub artist: String,
    pub title: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurchaseLink {
    pub label: String,
    pub url: String,
}

fn invalid(msg: impl Into<String>) -> CatalogError {
    CatalogError::InvalidField(msg.into())
}

/// Normalises tags (trimmed, lower case, unique) and checks them.
pub fn normalise_tags(tags: &[String]) -> Result<Vec<String>, CatalogError> {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        let t = t.trim().to_lowercase();
        if t.is_empty() || t.chars().count() > 30 {
            return Err(invalid("tags: each tag has 1 to 30 characters"));
        }
        if !t
            .chars()
            .all(|c| c.is_alphanumeric() || " -&'.".contains(c))
        {
            return Err(invalid(format!(
                "tags: {t:?} may hold letters, digits, spaces and - & ' . only"
            )));
        }
        // A tag is a path segment (`/tags/{tag}`): "." and ".." would not be.
        if t.chars().all(|c| c == '.' || c == ' ') {
            return Err(invalid(format!("tags: {t:?} needs a letter or digit")));
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.len() > 10 {
        return Err(invalid("tags: at most 10"));
    }
    Ok(out)
}

pub fn validate_tracklist(tracks: &[Track], duration_ms: Option<i64>) -> Result<(), CatalogError> {
    if tracks.len() > 500 {
        return Err(invalid("tracklist: at most 500 tracks"));
    }
    let mut last = 0;
    for (i, t) in tracks.iter().enumerate() {
        if t.start_ms < last {
            return Err(invalid(format!(
                "tracklist: track {i} starts before the one above it"
            )));
        }
        if let Some(d) = duration_ms
            && t.start_ms > d.max(0) as u64
        {
            return Err(invalid(format!(
                "tracklist: track {i} starts after the end of the mix"
            )));
        }
        last = t.start_ms;
        plain_text("tracklist artist", &t.artist, 200, false)?;
        plain_text("tracklist title", &t.title, 200, false)?;
        if t.title.trim().is_empty() {
            return Err(invalid(format!("tracklist: track {i} has no title")));
        }
    }
    Ok(())
}

pub fn validate_links(links: &[PurchaseLink]) -> Result<(), CatalogError> {
    if links.len() > 10 {
        return Err(invalid("purchase_links: at most 10"));
    }
    for (i, l) in links.iter().enumerate() {
        plain_text("purchase_links label", &l.label, 60, false)?;
        let url = url::Url::parse(&l.url)
            .map_err(|_| invalid(format!("purchase_links: link {i} is not a URL")))?;
        if url.scheme() != "https" || url.host_str().is_none_or(str::is_empty) {
            return Err(invalid(format!(
                "purchase_links: link {i} must be an https:// URL"
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(format!(
                "purchase_links: link {i} must not carry credentials"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_normalised() {
        let t = normalise_tags(&[" Deep House ".into(), "deep house".into(), "Techno".into()]);
        assert_eq!(
            t.ok(),
            Some(vec!["deep house".to_string(), "techno".to_string()])
        );
        assert!(normalise_tags(&["<script>".into()]).is_err());
        assert!(normalise_tags(&["..".into()]).is_err());
        assert!(normalise_tags(&[". .".into()]).is_err());
        assert!(normalise_tags(&["d.j.".into()]).is_ok());
        assert!(normalise_tags(&(0..11).map(|i| format!("t{i}")).collect::<Vec<_>>()).is_err());
    }

    #[test]
    fn links_must_be_https() {
        let l = |u: &str| {
            vec![PurchaseLink {
                label: "Buy".into(),
                url: u.into(),
            }]
        };
        assert!(validate_links(&l("https://shop.example/track/1")).is_ok());
        assert!(validate_links(&l("http://shop.example/")).is_err());
        assert!(validate_links(&l("javascript:alert(1)")).is_err());
        assert!(validate_links(&l("https://user:pw@shop.example/")).is_err());
        assert!(validate_links(&l("not a url")).is_err());
    }

    #[test]
    fn tracklists_are_ordered_and_inside_the_mix() {
        let t = |s: u64| Track {
            start_ms: s,
            artist: "A".into(),
            title: "T".into(),
        };
        assert!(validate_tracklist(&[t(0), t(1000)], Some(2000)).is_ok());
        assert!(validate_tracklist(&[t(1000), t(0)], Some(2000)).is_err());
        assert!(validate_tracklist(&[t(0), t(5000)], Some(2000)).is_err());
    }
}
