//! HTTP validators (RFC 9110 8.8, 13.1): `Last-Modified` dates and the
//! `If-None-Match` and `If-Modified-Since` comparisons, for every answer
//! that carries them (media, downloads, feeds).

use time::OffsetDateTime;
use time::format_description::FormatItem;
use time::macros::format_description;

/// IMF-fixdate (RFC 9110 5.6.7), always in GMT.
const HTTP_DATE: &[FormatItem<'static>] = format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);

/// `t` as an HTTP date.
pub fn http_date(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(HTTP_DATE)
        .unwrap_or_default()
}

/// Has the representation changed since the `If-Modified-Since` date?
/// `true` (send it) when the date is not a valid HTTP date, as RFC 9110
/// 13.1.3 says to ignore the header then. Compared in whole seconds, the
/// resolution of `Last-Modified`.
pub fn modified_since(if_modified_since: &str, last_modified_unix: i64) -> bool {
    let Ok(since) = httpdate::parse_http_date(if_modified_since.trim()) else {
        return true;
    };
    let since = match since.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(_) => return true,
    };
    last_modified_unix > since
}

/// Does `If-None-Match` match our tag (weak comparison, `*` matches)?
pub fn none_match(if_none_match: &str, etag: &str) -> bool {
    let ours = etag.trim_start_matches("W/");
    if_none_match
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t.trim_start_matches("W/") == ours)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_are_imf_fixdate() {
        let t = OffsetDateTime::from_unix_timestamp(1_795_928_400)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        assert_eq!(http_date(t), "Sun, 29 Nov 2026 05:00:00 GMT");
    }
}
