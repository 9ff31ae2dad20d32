//! `GET|HEAD /stream/{id}/{file}`: the master playlist, media playlists and
//! byte ranges of the `.mp4` renditions, all behind a signed, expiring URL.
//! Media bytes come from ranged S3 GETs and are never redirected (players
//! must see the bytes at the URL the playlist names).

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;
use time::format_description::FormatItem;
use time::macros::format_description;
use tokio_util::io::ReaderStream;
use uuid::Uuid;

use cloudcast_core::extract::ApiPath;
use cloudcast_core::signing::unix_now;

use crate::playlists::{self, PublishedRendition};
use crate::range::{RangeDecision, decide, none_match};
use crate::{StreamError, StreamState};

const PLAYLIST_TYPE: &str = "application/vnd.apple.mpegurl";

/// IMF-fixdate (RFC 9110 5.6.7), always in GMT.
const HTTP_DATE: &[FormatItem<'static>] = format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);

pub fn http_date(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(HTTP_DATE)
        .unwrap_or_default()
}

#[derive(Debug, Default)]
struct StreamQuery {
    exp: Option<i64>,
    sig: Option<String>,
    version: Option<Uuid>,
}

fn parse_query(raw: Option<&str>) -> StreamQuery {
    let mut q = StreamQuery::default();
    for pair in raw.unwrap_or_default().split('&') {
        match pair.split_once('=') {
            Some(("exp", v)) => q.exp = v.parse().ok(),
            Some(("sig", v)) => q.sig = Some(v.to_string()),
            Some(("v", v)) => q.version = Uuid::parse_str(v).ok(),
            _ => {}
        }
    }
    q
}

pub async fn get_file(
    State(state): State<StreamState>,
    ApiPath((id, file)): ApiPath<(Uuid, String)>,
    RawQuery(raw): RawQuery,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, StreamError> {
    let q = parse_query(raw.as_deref());
    let (Some(exp), Some(sig)) = (q.exp, q.sig.as_deref()) else {
        return Err(StreamError::Unsigned);
    };
    state.signer.verify(id, "", exp, sig, unix_now())?;
    let signed = format!("exp={exp}&sig={sig}");

    if let Some(name) = file.strip_suffix(".m3u8") {
        let renditions = playlists::published(&state.pool, id).await?;
        let body = if name == "master" {
            playlists::render_master(&renditions, &signed)
        } else {
            playlists::render_media(&renditions, name, &signed)
                .ok_or(StreamError::NotFound("playlist"))?
        };
        let mut resp = (StatusCode::OK, body).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(PLAYLIST_TYPE),
        );
        // Short: playlists carry expiring signatures and may be re-published.
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, max-age=30"),
        );
        return Ok(resp);
    }
    if file == "peaks.json" {
        let version: Option<Uuid> = sqlx::query_scalar(
            "SELECT media_version FROM cloudcasts WHERE id = $1 AND status = 'ready'",
        )
        .bind(id)
        .fetch_optional(&state.pool)
        .await?
        .flatten();
        let version = version.ok_or(StreamError::NotFound("waveform"))?;
        let key = cloudcast_transcode::publish::peaks_key(id, version);
        let body = state.storage.get_bytes(&key).await?;
        let mut resp = (StatusCode::OK, body).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        );
        return Ok(resp);
    }
    if let Some(name) = file.strip_suffix(".mp4") {
        let rendition = playlists::rendition(&state.pool, id, name, q.version).await?;
        return media(&state, &rendition, &method, &headers).await;
    }
    Err(StreamError::NotFound("stream file"))
}

async fn media(
    state: &StreamState,
    r: &PublishedRendition,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Response, StreamError> {
    // A version's files never change, so version + name is a strong tag.
    let etag = format!("\"{}-{}\"", r.version.simple(), r.name);
    let last_modified = http_date(r.created_at);
    let header_str = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());

    let mut builder = Response::builder()
        .header(header::CONTENT_TYPE, "audio/mp4")
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::ETAG, &etag)
        .header(header::LAST_MODIFIED, &last_modified)
        .header(header::CACHE_CONTROL, "public, max-age=31536000, immutable");

    if let Some(inm) = header_str(header::IF_NONE_MATCH)
        && none_match(inm, &etag)
    {
        return finish(builder.status(StatusCode::NOT_MODIFIED), Body::empty());
    }

    let size = r.size;
    let decision = decide(
        header_str(header::RANGE),
        header_str(header::IF_RANGE),
        &etag,
        &last_modified,
        size,
    );
    let (status, first, last) = match decision {
        RangeDecision::Unsatisfiable => {
            return finish(
                builder
                    .status(StatusCode::RANGE_NOT_SATISFIABLE)
                    .header(header::CONTENT_RANGE, format!("bytes */{size}"))
                    .header(header::CONTENT_TYPE, "application/json"),
                Body::from(
                    r#"{"error":{"code":"range_not_satisfiable","message":"the requested range lies outside the file"}}"#,
                ),
            );
        }
        RangeDecision::Full => (StatusCode::OK, 0, size.saturating_sub(1)),
        RangeDecision::Partial { first, last } => {
            builder = builder.header(
                header::CONTENT_RANGE,
                format!("bytes {first}-{last}/{size}"),
            );
            (StatusCode::PARTIAL_CONTENT, first, last)
        }
    };
    let length = if size == 0 { 0 } else { last - first + 1 };
    builder = builder
        .status(status)
        .header(header::CONTENT_LENGTH, length);
    let body = if *method == Method::HEAD || length == 0 {
        Body::empty()
    } else {
        let object = state.storage.get_range(&r.s3_key, first, last).await?;
        Body::from_stream(ReaderStream::new(object.body.into_async_read()))
    };
    finish(builder, body)
}

/// Header values above are all valid; a builder error would be our bug.
fn finish(builder: axum::http::response::Builder, body: Body) -> Result<Response, StreamError> {
    builder
        .body(body)
        .map_err(|e| StreamError::CorruptIndex(format!("building the response: {e}")))
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

    #[test]
    fn query_parsing_ignores_junk() {
        let q = parse_query(Some("exp=12&sig=ab&v=not-a-uuid&x"));
        assert_eq!(q.exp, Some(12));
        assert_eq!(q.sig.as_deref(), Some("ab"));
        assert_eq!(q.version, None);
    }
}
