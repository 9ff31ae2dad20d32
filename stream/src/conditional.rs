//! RFC 9110 conditional and range requests for one representation: parse
//! `Range` (http-range-header), apply `If-Range`, compare `If-None-Match`
//! and `If-Modified-Since`, and say what to send.
//!
//! A malformed `Range` is ignored (200 with the whole body), an unsatisfiable
//! one gets 416, and a request for several ranges is answered with the whole
//! body, which the RFC allows and which is never wrong.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeDecision {
    Full,
    /// Inclusive byte positions.
    Partial {
        first: u64,
        last: u64,
    },
    Unsatisfiable,
}

/// `if_range` holds the `If-Range` value, `etag` our strong entity tag
/// (with quotes) and `last_modified` our `Last-Modified` value.
pub fn decide(
    range: Option<&str>,
    if_range: Option<&str>,
    etag: &str,
    last_modified: &str,
    size: u64,
) -> RangeDecision {
    let Some(range) = range else {
        return RangeDecision::Full;
    };
    if let Some(cond) = if_range {
        let cond = cond.trim();
        // Strong comparison only: a weak tag never matches (RFC 9110 13.1.5).
        let matches = if cond.starts_with('"') {
            cond == etag
        } else {
            !cond.starts_with("W/") && cond == last_modified
        };
        if !matches {
            return RangeDecision::Full;
        }
    }
    let Ok(parsed) = http_range_header::parse_range_header(range) else {
        return RangeDecision::Full;
    };
    match parsed.validate(size) {
        Ok(ranges) if ranges.len() == 1 => {
            let r = &ranges[0];
            RangeDecision::Partial {
                first: *r.start(),
                last: *r.end(),
            }
        }
        Ok(_) => RangeDecision::Full,
        Err(http_range_header::RangeUnsatisfiableError::Unsatisfiable) => {
            RangeDecision::Unsatisfiable
        }
        Err(_) => RangeDecision::Full,
    }
}

pub use cloudcast_core::validators::{modified_since, none_match};

#[cfg(test)]
mod tests {
    use super::*;
    use RangeDecision::*;

    const E: &str = "\"v1\"";
    const LM: &str = "Sun, 29 Nov 2026 05:00:00 GMT";

    fn d(r: &str, size: u64) -> RangeDecision {
        decide(Some(r), None, E, LM, size)
    }

    #[test]
    fn single_ranges() {
        assert_eq!(d("bytes=0-99", 1000), Partial { first: 0, last: 99 });
        assert_eq!(
            d("bytes=900-", 1000),
            Partial {
                first: 900,
                last: 999
            }
        );
        assert_eq!(
            d("bytes=-100", 1000),
            Partial {
                first: 900,
                last: 999
            }
        );
        assert_eq!(
            d("bytes=-5000", 1000),
            Partial {
                first: 0,
                last: 999
            }
        );
        assert_eq!(
            d("bytes=990-2000", 1000),
            Partial {
                first: 990,
                last: 999
            }
        );
    }

    #[test]
    fn unsatisfiable_and_malformed() {
        assert_eq!(d("bytes=1000-", 1000), Unsatisfiable);
        assert_eq!(d("bytes=5000-6000", 1000), Unsatisfiable);
        assert_eq!(d("bytes=abc", 1000), Full);
        assert_eq!(d("items=0-1", 1000), Full);
        assert_eq!(d("bytes=9-1", 1000), Full);
        assert_eq!(d("bytes=0-1,5-9", 1000), Full);
        assert_eq!(decide(None, None, E, LM, 10), Full);
    }

    #[test]
    fn if_range() {
        assert_eq!(
            decide(Some("bytes=0-1"), Some(E), E, LM, 10),
            Partial { first: 0, last: 1 }
        );
        assert_eq!(decide(Some("bytes=0-1"), Some("\"old\""), E, LM, 10), Full);
        assert_eq!(
            decide(Some("bytes=0-1"), Some(LM), E, LM, 10),
            Partial { first: 0, last: 1 }
        );
        assert_eq!(decide(Some("bytes=0-1"), Some("W/\"v1\""), E, LM, 10), Full);
    }

    #[test]
    fn if_modified_since() {
        // LM is 1795928400 (Sun, 29 Nov 2026 05:00:00 GMT).
        let lm = 1_795_928_400;
        assert!(!modified_since(LM, lm), "the same second");
        assert!(!modified_since("Mon, 30 Nov 2026 05:00:00 GMT", lm));
        assert!(modified_since("Sat, 28 Nov 2026 05:00:00 GMT", lm));
        assert!(
            modified_since("not a date", lm),
            "an invalid date is ignored"
        );
        // The obsolete formats are HTTP dates too.
        assert!(!modified_since("Sunday, 29-Nov-26 05:00:00 GMT", lm));
        assert!(!modified_since("Sun Nov 29 05:00:00 2026", lm));
    }

    #[test]
    fn if_none_match() {
        assert!(none_match("\"v1\"", E));
        assert!(none_match("\"x\", W/\"v1\"", E));
        assert!(none_match("*", E));
        assert!(!none_match("\"x\"", E));
    }
}
