//! Keyset pagination, the one way every list pages: `?limit=&cursor=` in,
//! `next_cursor` out. A cursor is the sort key of the last item shown
//! (opaque to clients: base64url of a small JSON array), and the next page
//! starts strictly after it, so inserts between two pages neither repeat
//! nor skip items the way an offset would.

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use crate::error::ErrorCode;

/// Items per page when `limit` is not given.
pub const DEFAULT_LIMIT: u32 = 20;
/// The most a page may hold: a page is one index range scan of this size.
pub const MAX_LIMIT: u32 = 100;
/// Longest cursor accepted; real ones are well under this.
const MAX_CURSOR_LEN: usize = 512;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PageError {
    #[error("limit: must be 1 to {MAX_LIMIT}")]
    Limit,
    #[error("cursor: not a cursor this list gave out")]
    Cursor,
}

impl ErrorCode for PageError {
    fn code(&self) -> &'static str {
        match self {
            PageError::Limit => "bad_limit",
            PageError::Cursor => "bad_cursor",
        }
    }
    fn status(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }
}
crate::impl_api_error!(PageError);

/// A page request: how many, and after which key (`K`: the list's sort key,
/// e.g. `(time, id)`).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<K> {
    pub limit: u32,
    pub after: Option<K>,
}

impl<K: DeserializeOwned> Page<K> {
    pub fn new(limit: Option<u32>, cursor: Option<&str>) -> Result<Self, PageError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(PageError::Limit);
        }
        let after = match cursor {
            None | Some("") => None,
            Some(c) => Some(decode(c)?),
        };
        Ok(Page { limit, after })
    }

    /// Rows to fetch: one more than shown tells whether a next page exists.
    pub fn fetch(&self) -> i64 {
        i64::from(self.limit) + 1
    }
}

/// Cuts the extra row off and makes the cursor of the last one kept.
pub fn finish<T, K: Serialize>(
    mut rows: Vec<T>,
    limit: u32,
    key: impl Fn(&T) -> K,
) -> (Vec<T>, Option<String>) {
    let limit = limit as usize;
    if rows.len() <= limit {
        return (rows, None);
    }
    rows.truncate(limit);
    let next = rows.last().map(|r| encode(&key(r)));
    (rows, next)
}

pub fn encode<K: Serialize>(key: &K) -> String {
    // Keys are numbers, strings and ids: serialising cannot fail.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

pub fn decode<K: DeserializeOwned>(cursor: &str) -> Result<K, PageError> {
    if cursor.len() > MAX_CURSOR_LEN {
        return Err(PageError::Cursor);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| PageError::Cursor)?;
    // A string key holding U+0000 could not be compared in PostgreSQL (JSON
    // can only carry it escaped).
    if bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
        return Err(PageError::Cursor);
    }
    serde_json::from_slice(&bytes).map_err(|_| PageError::Cursor)
}

/// A timestamp as a cursor carries it: microseconds since the epoch, the
/// precision PostgreSQL keeps, so the key compares exactly.
pub fn micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

/// Bounds of a timestamp in a cursor: 1900 to 9999 (UTC), inside what
/// PostgreSQL holds.
const MIN_MICROS: i64 = -2_208_988_800_000_000;
const MAX_MICROS: i64 = 253_402_300_799_000_000;

/// The timestamp of [`micros`]; a cursor out of range is a bad cursor.
pub fn from_micros(us: i64) -> Result<OffsetDateTime, PageError> {
    if !(MIN_MICROS..=MAX_MICROS).contains(&us) {
        return Err(PageError::Cursor);
    }
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000).map_err(|_| PageError::Cursor)
}

/// Offset pages, for the moderators' short queues (comments held, notices,
/// counter-notices), where an item acted on leaves the queue anyway.
pub mod offset {
    /// Items per page when `limit` is not given.
    pub const DEFAULT_LIMIT: u32 = 50;
    /// The most a page may hold.
    pub const MAX_LIMIT: u32 = 200;

    /// `(limit, offset)` with the default and the cap applied.
    pub fn paging(limit: Option<u32>, offset: Option<u32>) -> (u32, u32) {
        (
            limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT),
            offset.unwrap_or(0),
        )
    }

    /// Cuts the one extra row a query fetched (`LIMIT limit + 1`) and says
    /// the next page's offset when there was one.
    pub fn cut<T>(mut rows: Vec<T>, limit: u32, offset: u32) -> (Vec<T>, Option<u64>) {
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        (rows, more.then(|| u64::from(offset) + u64::from(limit)))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn pages_say_where_the_next_starts() {
            assert_eq!(paging(None, None), (50, 0));
            assert_eq!(paging(Some(0), Some(3)), (1, 3));
            assert_eq!(paging(Some(5000), None), (200, 0));
            assert_eq!(cut(vec![1, 2, 3], 2, 4), (vec![1, 2], Some(6)));
            assert_eq!(cut(vec![1, 2], 2, 0), (vec![1, 2], None));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn cursors_round_trip_and_refuse_strangers() {
        let key = (1_700_000_000_123_456i64, Uuid::from_u128(7));
        let c = encode(&key);
        let page: Page<(i64, Uuid)> = Page::new(Some(5), Some(&c)).expect("page");
        assert_eq!(page.after, Some(key));
        assert_eq!(page.fetch(), 6);
        assert_eq!(
            Page::<(i64, Uuid)>::new(None, Some("not-a-cursor")),
            Err(PageError::Cursor)
        );
        assert_eq!(
            Page::<(i64, Uuid)>::new(None, Some(&encode(&"text"))),
            Err(PageError::Cursor)
        );
        assert_eq!(
            Page::<(i64, Uuid)>::new(Some(0), None),
            Err(PageError::Limit)
        );
        assert_eq!(
            Page::<(i64, Uuid)>::new(Some(MAX_LIMIT + 1), None),
            Err(PageError::Limit)
        );
        assert_eq!(
            Page::<(i64, Uuid)>::new(None, None).map(|p| p.limit),
            Ok(DEFAULT_LIMIT)
        );
    }

    #[test]
    fn finish_keeps_limit_rows_and_points_past_the_last() {
        let (rows, next) = finish(vec![1, 2, 3], 2, |r| *r);
        assert_eq!(rows, vec![1, 2]);
        assert_eq!(next.as_deref().map(decode::<i32>), Some(Ok(2)));
        let (rows, next) = finish(vec![1, 2], 2, |r| *r);
        assert_eq!((rows.len(), next), (2, None));
    }

    #[test]
    fn cursors_pg_cannot_take_are_refused() {
        assert_eq!(from_micros(i64::MIN), Err(PageError::Cursor));
        assert_eq!(from_micros(MAX_MICROS + 1), Err(PageError::Cursor));
        assert_eq!(
            decode::<(i64, String)>(&encode(&(1, "a\0b"))),
            Err(PageError::Cursor)
        );
    }

    #[test]
    fn timestamps_keep_microseconds() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_000).expect("t");
        assert_eq!(from_micros(micros(t)), Ok(t));
    }
}
