//! Browser, OS, device class and bot flag from a `User-Agent`, with the
//! ua-parser project's engine and dataset (uap-core, in `data/`). The
//! dataset is compiled once per process, on first use.

use std::sync::{Arc, LazyLock};

use ua_parser::Extractor;

/// What heartbeats keep of a user agent. The string itself is not stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    /// Browser family, e.g. `Chrome`, `Firefox`, `Mobile Safari`.
    pub browser: String,
    /// Major version, e.g. `131`; empty when unknown.
    pub browser_major: String,
    /// Operating system family, e.g. `Windows`, `iOS`, `Android`.
    pub os: String,
    /// `desktop`, `mobile`, `tablet`, `bot` or `other`.
    pub device: &'static str,
    pub bot: bool,
}

const DATASET: &str = include_str!("../data/uap-core-regexes.json");

static EXTRACTOR: LazyLock<Option<Extractor<'static>>> = LazyLock::new(|| {
    let regexes: ua_parser::Regexes<'static> = match serde_json::from_str(DATASET) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "user-agent dataset does not parse");
            return None;
        }
    };
    match Extractor::try_from(regexes) {
        Ok(x) => Some(x),
        Err(e) => {
            tracing::error!(error = %e, "user-agent dataset does not compile");
            None
        }
    }
});

/// Compiles the dataset now (it takes a moment) rather than on the first beat.
pub fn warm_up() {
    LazyLock::force(&EXTRACTOR);
}

/// Words that mark automated clients the dataset does not list as spiders.
const BOT_WORDS: [&str; 6] = ["bot", "crawler", "spider", "headless", "curl/", "python-"];

/// Parsed agents by user-agent string. Listeners' players send the same few
/// thousand strings over and over, and the regex walk costs tens of µs.
static PARSED: LazyLock<moka::sync::Cache<String, Arc<Agent>>> =
    LazyLock::new(|| moka::sync::Cache::new(10_000));

/// The longest user agent read; longer ones are cut (real ones are < 512 B).
const MAX_UA: usize = 1024;

/// A user agent cut to [`MAX_UA`] bytes (at a character boundary), as
/// every reader of it here keeps it.
pub(crate) fn cut(ua: &str) -> &str {
    let mut end = ua.len().min(MAX_UA);
    while !ua.is_char_boundary(end) {
        end -= 1;
    }
    &ua[..end]
}

/// Parses (or recalls) a user agent.
pub fn parse(ua: &str) -> Arc<Agent> {
    let ua = cut(ua);
    if let Some(a) = PARSED.get(ua) {
        return a;
    }
    let agent = Arc::new(parse_uncached(ua));
    PARSED.insert(ua.to_string(), agent.clone());
    agent
}

fn parse_uncached(ua: &str) -> Agent {
    let ua = ua.trim();
    let lower = ua.to_ascii_lowercase();
    let (browser, browser_major, os, device_family) = match EXTRACTOR.as_ref() {
        Some(x) => {
            let (b, o, d) = x.extract(ua);
            (
                b.as_ref().map(|b| b.family.to_string()),
                b.and_then(|b| b.major.map(str::to_string)),
                o.map(|o| o.os.to_string()),
                d.map(|d| d.device.to_string()),
            )
        }
        None => (None, None, None, None),
    };
    let browser = browser.unwrap_or_else(|| "Other".into());
    let os = os.unwrap_or_else(|| "Other".into());
    let device_family = device_family.unwrap_or_default();
    let bot =
        ua.is_empty() || device_family == "Spider" || BOT_WORDS.iter().any(|w| lower.contains(w));
    let device = if bot {
        "bot"
    } else {
        device_class(&os, &device_family, &lower)
    };
    Agent {
        browser,
        browser_major: browser_major.unwrap_or_default(),
        os,
        device,
        bot,
    }
}

/// uap-core names devices but not their class; derive it from OS and model.
fn device_class(os: &str, device_family: &str, lower_ua: &str) -> &'static str {
    let tablet = device_family.contains("iPad")
        || device_family.to_ascii_lowercase().contains("tablet")
        || (os == "Android" && !lower_ua.contains("mobile"));
    match os {
        "iOS" | "Android" | "iPadOS" | "Windows Phone" | "KaiOS" | "BlackBerry OS" if tablet => {
            "tablet"
        }
        "iOS" | "Android" | "Windows Phone" | "KaiOS" | "BlackBerry OS" => "mobile",
        "Windows" | "Mac OS X" | "Linux" | "Ubuntu" | "Fedora" | "Debian" | "Chrome OS"
        | "FreeBSD" | "OpenBSD" => "desktop",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_user_agents() {
        let chrome = parse(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        );
        assert_eq!(
            (chrome.browser.as_str(), chrome.browser_major.as_str()),
            ("Chrome", "131")
        );
        assert_eq!(
            (chrome.os.as_str(), chrome.device, chrome.bot),
            ("Windows", "desktop", false)
        );

        let iphone = parse(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        );
        assert_eq!(iphone.browser, "Mobile Safari");
        assert_eq!(iphone.browser_major, "17");
        assert_eq!((iphone.os.as_str(), iphone.device), ("iOS", "mobile"));

        let ipad = parse(
            "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
        );
        assert_eq!(ipad.device, "tablet");

        let firefox =
            parse("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0");
        assert_eq!(
            (firefox.browser.as_str(), firefox.browser_major.as_str()),
            ("Firefox", "133")
        );
        assert_eq!(firefox.device, "desktop");

        let google =
            parse("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)");
        assert!(google.bot);
        assert_eq!(google.device, "bot");

        assert!(parse("").bot);
        assert!(parse("curl/8.5.0").bot);
        // ffmpeg is a player, not a crawler.
        assert!(!parse("Lavf/59.27.100").bot);
    }
}
