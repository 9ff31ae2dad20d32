//! `GET|HEAD /stream/{id}/{file}`: the master playlist, media playlists,
//! waveform peaks and byte ranges of the `.mp4` renditions, all behind a
//! signed, expiring URL bound to one listener. Media bytes come from the
//! chunk cache over ranged S3 GETs and are never redirected (players must
//! see the bytes at the URL the playlist names).

use axum::body::Body;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;

use futures::StreamExt;
use uuid::Uuid;

use cloudcast_core::extract::ApiPath;
use cloudcast_core::keys;
use cloudcast_core::signing::{SignatureError, Signed, unix_now};
use cloudcast_core::states::Downloads;
use cloudcast_core::storage::StorageError;

use crate::cache::{self, FetchError};
use crate::conditional::{RangeDecision, decide, modified_since, none_match};
use crate::downloads;
use crate::lookup::StreamInfo;
use crate::playlists::{self, PublishedRendition};
use crate::{StreamError, StreamState};

const PLAYLIST_TYPE: &str = "application/vnd.apple.mpegurl";

pub use cloudcast_core::validators::http_date;

/// The signature of a stream URL, as `stream_url` and the playlists give it.
#[derive(Debug, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct StreamQuery {
    /// The listener the URL was issued to.
    #[param(rename = "l", required = true)]
    tag: Option<String>,
    /// Expiry, Unix seconds.
    #[param(required = true)]
    exp: Option<i64>,
    /// The URL's signature.
    #[param(required = true)]
    sig: Option<String>,
    /// A rendition's version, for a media file that has since been re-published.
    #[param(rename = "v")]
    version: Option<Uuid>,
    /// `1`: a download is saved rather than shown (`Content-Disposition: attachment`).
    #[param(rename = "a")]
    attachment: Option<bool>,
}

impl StreamQuery {
    fn signed(&self) -> Option<Signed> {
        Some(Signed {
            tag: self.tag.clone()?,
            exp: self.exp?,
            sig: self.sig.clone()?,
        })
    }
}

fn parse_query(raw: Option<&str>) -> StreamQuery {
    let mut q = StreamQuery::default();
    for pair in raw.unwrap_or_default().split('&') {
        match pair.split_once('=') {
            Some(("l", v)) => q.tag = Some(v.to_string()),
            Some(("exp", v)) => q.exp = v.parse().ok(),
            Some(("sig", v)) => q.sig = Some(v.to_string()),
            Some(("v", v)) => q.version = Uuid::parse_str(v).ok(),
            Some(("a", v)) => q.attachment = Some(v == "1"),
            _ => {}
        }
    }
    q
}

/// The request's user; an unknown or expired session counts as none here
/// (the listener check below still applies).
async fn requesting_user(
    state: &StreamState,
    headers: &HeaderMap,
) -> Result<Option<Uuid>, StreamError> {
    match state.lookups.user(headers).await {
        Ok(u) => Ok(u),
        Err(StreamError::Unauthorized(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

#[utoipa::path(method(get, head), path = "/stream/{id}/{file}", tag = "stream",
    summary = "A cloudcast's playlists, media and waveform, behind a signed URL",
    description = "Players follow the signed `stream_url` of a cloudcast (the master playlist) \
        and the URLs inside its playlists; nobody builds these URLs by hand. A URL is honoured \
        only for the listener it was issued to: the signed-in user, the browser holding the \
        listener cookie, or, for a client without cookies (ffmpeg, apps), the same address and \
        user agent that asked for it. Media files answer byte ranges (`Range`, `If-Range`) \
        and `If-None-Match`.",
    params(
        ("id" = Uuid, Path, description = "The cloudcast"),
        ("file" = String, Path, description = "`master.m3u8`, `<rendition>.m3u8`, \
            `<rendition>.mp4`, `peaks.json` (the waveform overview), `peaks.dat` (the fine \
            waveform, 512 samples a pixel), or, for a mix its DJ offers for download, \
            `download.m4a` (the best AAC rendition, with a segment index, so progressive \
            players seek at once) and `original` (the uploaded file, when that is what is \
            offered). Downloads are counted as the IAB Podcast Measurement Technical \
            Guidelines 2.1 say (see the API's `downloads` statistics)"),
        StreamQuery,
        ("Range" = Option<String>, Header, nullable = false, description = "One byte range of a `.mp4`, e.g. `bytes=0-1023`"),
        ("If-Range" = Option<String>, Header, nullable = false, description = "The range applies only if this ETag or date still matches"),
        ("If-None-Match" = Option<String>, Header, nullable = false, description = "ETags the client holds"),
        ("If-Modified-Since" = Option<String>, Header, nullable = false, description = "An HTTP date; ignored when `If-None-Match` is sent")),
    responses(
        (status = 200, description = "The master or media playlist, the whole media file, \
            the waveform (BBC audiowaveform JSON, or its binary `.dat`), or a download",
            content(
                ("application/vnd.apple.mpegurl"),
                ("audio/mp4"),
                ("application/json"),
                ("application/octet-stream"),
                ("audio/*"))),
        (status = 206, description = "The requested byte range of a media file",
            content_type = "audio/mp4",
            headers(("Content-Range" = String, description = "`bytes first-last/size`"))),
        (status = 304, description = "The media file matches `If-None-Match`, or has not changed since `If-Modified-Since`"),
        (status = 403, description = "Unsigned, expired or badly signed URL, or another listener's", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such cloudcast, file or rendition, not visible to this user, or no download offered", body = cloudcast_core::apidoc::ErrorBody),
        (status = 416, description = "The range lies outside the file", body = cloudcast_core::apidoc::ErrorBody),
        (status = 503, description = "Media storage or the database unavailable; retry (Retry-After)", body = cloudcast_core::apidoc::ErrorBody)),
    security((), ("session" = [])))]
// Debug level: a span per media request is too dear on the hot path.
#[tracing::instrument(level = "debug", skip_all, fields(cloudcast = %id, file = %file))]
pub async fn get_file(
    State(state): State<StreamState>,
    ApiPath((id, file)): ApiPath<(Uuid, String)>,
    RawQuery(raw): RawQuery,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, StreamError> {
    let q = parse_query(raw.as_deref());
    let signed = q.signed().ok_or(StreamError::Unsigned)?;
    state.signer.verify(id, &signed, unix_now())?;

    let user = requesting_user(&state, &headers).await?;
    // A cloudcast hidden from this user is not found, whoever the URL
    // names (an owner's URL of a mix made private meanwhile included).
    let info = state
        .lookups
        .info(id)
        .await?
        .filter(|i| i.visible_to(user))
        .ok_or(StreamError::NotFound("stream"))?;
    // Only the listener the URL was issued to: its user, its cookie, or
    // (a client without cookies) its own address and user agent. Another
    // client replaying the URL is none of these.
    let theirs = state
        .listeners
        .speaks_for(user, peer.ip(), &headers, |l| {
            state.signer.listener_tag(l) == signed.tag
        })
        .await
        .map_err(|e| StreamError::DatabaseUnavailable(Arc::new(e)))?;
    if !theirs {
        return Err(SignatureError::OtherListener.into());
    }

    if let Some(name) = file.strip_suffix(".m3u8") {
        let query = signed.query();
        let body = if name == "master" {
            playlists::render_master(&info.renditions, &query)
        } else {
            playlists::render_media(&info.renditions, name, &query)
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
    if file == "peaks.json" || file == "peaks.dat" {
        return peaks(&state, &info, file == "peaks.dat").await;
    }
    if let Some(name) = file.strip_suffix(".mp4") {
        let older;
        let rendition = match (q.version, info.rendition(name)) {
            (None, Some(r)) => r,
            (Some(v), Some(r)) if v == r.version => r,
            (v, _) => {
                older = playlists::rendition(&state.pool, id, name, v).await?;
                &older
            }
        };
        return media(
            &state,
            &Served::rendition(rendition),
            info.access.is_public(),
            &method,
            &headers,
            None,
        )
        .await;
    }
    if file == "download.m4a" || file == "original" {
        let asked = Asked {
            original: file == "original",
            attachment: q.attachment.unwrap_or(false),
            version: q.version,
        };
        return download(&state, &info, asked, peer, &method, &headers).await;
    }
    Err(StreamError::NotFound("stream file"))
}

/// The waveform: the overview (JSON) or the fine one (`fine`, binary `.dat`).
async fn peaks(
    state: &StreamState,
    info: &StreamInfo,
    fine: bool,
) -> Result<Response, StreamError> {
    let version = info
        .renditions
        .first()
        .map(|r| r.version)
        .ok_or(StreamError::NotFound("waveform"))?;
    let key = if fine {
        keys::peaks_fine(info.id, version)
    } else {
        keys::peaks(info.id, version)
    };
    let timeout = state.config.s3_timeout;
    let body = tokio::time::timeout(timeout, state.chunks.storage().get_bytes(&key))
        .await
        .map_err(|_| StreamError::StorageUnavailable(FetchError::Timeout(timeout)))?
        .map_err(|e| match e {
            StorageError::NotFound { .. } => StreamError::NotFound("waveform"),
            other => {
                StreamError::StorageUnavailable(FetchError::Failed(std::sync::Arc::new(other)))
            }
        })?;
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(if fine {
            "application/octet-stream"
        } else {
            "application/json"
        }),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    Ok(resp)
}

/// A file served with ranges and validators: a rendition, or a download.
struct Served {
    key: Arc<str>,
    size: u64,
    etag: HeaderValue,
    last_modified: HeaderValue,
    modified_unix: i64,
    content_type: HeaderValue,
    /// `Content-Disposition`, for downloads.
    disposition: Option<HeaderValue>,
    /// Its URL names bytes that never change (a version's file).
    immutable: bool,
}

impl Served {
    fn rendition(r: &PublishedRendition) -> Served {
        Served {
            key: r.s3_key.clone(),
            size: r.size,
            etag: r.etag.clone(),
            last_modified: r.last_modified.clone(),
            modified_unix: r.modified_unix,
            content_type: HeaderValue::from_static("audio/mp4"),
            disposition: None,
            immutable: true,
        }
    }
}

/// What a download request asks.
struct Asked {
    /// The uploaded file rather than the AAC rendition.
    original: bool,
    /// Saved as a file (`Content-Disposition: attachment`).
    attachment: bool,
    /// The published version the URL was made for: a range resumed after a
    /// republish gets the bytes it started with.
    version: Option<Uuid>,
}

/// `download.m4a` or `original` of a mix its DJ offers for download; the
/// request is recorded for counting unless the OPAWG list names a bot.
async fn download(
    state: &StreamState,
    info: &StreamInfo,
    asked: Asked,
    peer: SocketAddr,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Response, StreamError> {
    let started = time::OffsetDateTime::now_utc();
    let not_offered = StreamError::NotFound("download");
    let best = info.best().ok_or(StreamError::NotFound("download"))?;
    let (mut served, minute_bytes, extension) = match (asked.original, info.downloads) {
        (false, Downloads::Aac | Downloads::Original) => {
            let older;
            let rendition = match asked.version {
                Some(v) if v != best.version => {
                    older = playlists::rendition(&state.pool, info.id, &best.name, Some(v)).await?;
                    &older
                }
                _ => best,
            };
            let mut served = Served::rendition(rendition);
            // Only a URL naming its version may be kept for good.
            served.immutable = asked.version.is_some();
            (
                served,
                downloads::minute_bytes_of_rendition(&rendition.index),
                "m4a",
            )
        }
        (true, Downloads::Original) => {
            let o = info.original.as_ref().ok_or(not_offered)?;
            let extension = o
                .filename
                .rsplit_once('.')
                .map(|(_, e)| e)
                .filter(|e| e.len() <= 5 && e.bytes().all(|b| b.is_ascii_alphanumeric()))
                .unwrap_or("bin");
            let served = Served {
                key: o.s3_key.clone(),
                size: o.size,
                etag: HeaderValue::from_str(&format!("\"{}-original\"", info.id.simple()))
                    .map_err(|e| StreamError::CorruptIndex(Box::new(e)))?,
                // The original never changes once uploaded.
                last_modified: best.last_modified.clone(),
                modified_unix: best.modified_unix,
                content_type: HeaderValue::from_static(audio_type(extension)),
                disposition: None,
                immutable: true,
            };
            let minute = downloads::minute_bytes_of_original(o.size, info.duration_ms);
            (served, minute, extension)
        }
        _ => return Err(not_offered),
    };
    served.disposition = HeaderValue::from_str(&format!(
        "{}; filename=\"{}.{extension}\"",
        if asked.attachment {
            "attachment"
        } else {
            "inline"
        },
        file_name(&info.title)
    ))
    .ok();
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let count = match &*downloads::classify(ua) {
        downloads::Client::Bot => None,
        downloads::Client::App(app) => Some(downloads::DownloadRequest {
            cloudcast: info.id,
            at: started,
            client_hash: state
                .listeners
                .download_hash(peer.ip(), headers)
                .await
                .map_err(|e| StreamError::DatabaseUnavailable(Arc::new(e)))?,
            app: app.clone(),
            bytes: 0,
            minute_bytes,
        }),
    };
    media(
        state,
        &served,
        info.access.is_public(),
        method,
        headers,
        count,
    )
    .await
}

/// The type of an original by its extension (what uploads accept).
fn audio_type(extension: &str) -> &'static str {
    match extension.to_ascii_lowercase().as_str() {
        "mp3" => "audio/mpeg",
        "m4a" | "mp4" | "aac" => "audio/mp4",
        "wav" => "audio/wav",
        "flac" => "audio/flac",
        "ogg" | "oga" | "opus" => "audio/ogg",
        "aif" | "aiff" => "audio/aiff",
        _ => "application/octet-stream",
    }
}

/// A title as a file name any system keeps: ASCII letters, digits and a
/// few marks; the rest becomes `_`.
fn file_name(title: &str) -> String {
    let name: String = title
        .chars()
        .take(100)
        .map(|c| {
            if c.is_ascii_alphanumeric() || " -_.,()".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let name = name.trim().trim_matches('.');
    if name.is_empty() {
        "cloudcast".into()
    } else {
        name.to_string()
    }
}

async fn media(
    state: &StreamState,
    r: &Served,
    public: bool,
    method: &Method,
    headers: &HeaderMap,
    count: Option<downloads::DownloadRequest>,
) -> Result<Response, StreamError> {
    let etag = r.etag.to_str().unwrap_or_default();
    let last_modified = r.last_modified.to_str().unwrap_or_default();
    let header_str = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());

    // A version's bytes never change, but a private, unlisted or scheduled
    // mix must not sit in shared caches, which would serve it past the check.
    let cache_control = match (public, r.immutable) {
        (true, true) => "public, max-age=31536000, immutable",
        (true, false) => "public, max-age=3600",
        (false, _) => "private, max-age=3600",
    };
    let mut builder = Response::builder()
        .header(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"))
        .header(header::ETAG, r.etag.clone())
        .header(header::LAST_MODIFIED, r.last_modified.clone())
        .header(
            header::CACHE_CONTROL,
            HeaderValue::from_static(cache_control),
        );
    if let Some(d) = &r.disposition {
        builder = builder.header(header::CONTENT_DISPOSITION, d.clone());
    }

    // RFC 9110 13.2.2: If-None-Match first; If-Modified-Since only without it.
    let not_modified = match header_str(header::IF_NONE_MATCH) {
        Some(inm) => none_match(inm, etag),
        None => header_str(header::IF_MODIFIED_SINCE)
            .is_some_and(|ims| !modified_since(ims, r.modified_unix)),
    };
    if not_modified {
        return finish(builder.status(StatusCode::NOT_MODIFIED), Body::empty());
    }

    let size = r.size;
    let decision = decide(
        header_str(header::RANGE),
        header_str(header::IF_RANGE),
        etag,
        last_modified,
        size,
    );
    let (status, first, last) = match decision {
        RangeDecision::Unsatisfiable => {
            return Err(StreamError::RangeNotSatisfiable { size });
        }
        RangeDecision::Full => {
            builder = builder.header(header::CONTENT_TYPE, r.content_type.clone());
            (StatusCode::OK, 0, size.saturating_sub(1))
        }
        RangeDecision::Partial { first, last } => {
            builder = builder
                .header(header::CONTENT_TYPE, r.content_type.clone())
                .header(
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
        ranged_body(state, r.key.clone(), size, first, last, count).await?
    };
    finish(builder, body)
}

/// Chunks ahead of the one being sent, fetched while it is sent.
const READ_AHEAD: usize = 3;
/// Ranges over at most this many chunks (players' fragment requests) are
/// gathered before answering; longer ones (whole files) are streamed.
const GATHER_CHUNKS: usize = 4;

/// Bytes `first..=last` from the chunk cache. At least the first chunk is
/// fetched before answering, so an S3 outage is a clean 503 rather than a
/// cut body.
/// `count`: a download request, recorded with the bytes the body delivers.
async fn ranged_body(
    state: &StreamState,
    key: Arc<str>,
    size: u64,
    first: u64,
    last: u64,
    count: Option<downloads::DownloadRequest>,
) -> Result<Body, StreamError> {
    let chunks = state.chunks.clone();
    let spans: Vec<_> = cache::spans(chunks.chunk_size(), first, last).collect();
    let counted = |s: futures::stream::BoxStream<'static, Result<bytes::Bytes, std::io::Error>>,
                   r: downloads::DownloadRequest| {
        Body::from_stream(downloads::Counted::new(s, r, state.downloads.clone()))
    };
    if spans.len() <= GATHER_CHUNKS {
        let mut parts = Vec::with_capacity(spans.len());
        for &(i, a, b) in &spans {
            parts.push(chunks.chunk(&key, i, size).await?.slice(a..b));
        }
        let stream = futures::stream::iter(parts.clone().into_iter().map(Ok::<_, std::io::Error>));
        return Ok(match (count, parts.len()) {
            (Some(r), _) => counted(stream.boxed(), r),
            (None, 1) => Body::from(parts.swap_remove(0)),
            (None, _) => Body::from_stream(stream),
        });
    }
    let mut spans = spans.into_iter();
    let Some((i0, a0, b0)) = spans.next() else {
        return Ok(Body::empty());
    };
    let head = chunks.chunk(&key, i0, size).await?.slice(a0..b0);
    let rest: Vec<_> = spans.collect();
    let tail = futures::stream::iter(rest)
        .map(move |(i, a, b)| {
            let (chunks, key) = (chunks.clone(), key.clone());
            async move {
                chunks
                    .chunk(&key, i, size)
                    .await
                    .map(|c| c.slice(a..b))
                    .map_err(|e| std::io::Error::other(e.to_string()))
            }
        })
        .buffered(READ_AHEAD);
    let stream = futures::stream::once(async move { Ok::<_, std::io::Error>(head) }).chain(tail);
    Ok(match count {
        Some(r) => counted(stream.boxed(), r),
        None => Body::from_stream(stream),
    })
}

/// Header values above are all valid; a builder error would be our bug.
fn finish(builder: axum::http::response::Builder, body: Body) -> Result<Response, StreamError> {
    builder
        .body(body)
        .map_err(|e| StreamError::CorruptIndex(Box::new(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parsing_ignores_junk() {
        let q = parse_query(Some("l=t&exp=12&sig=ab&v=not-a-uuid&x"));
        assert_eq!(q.exp, Some(12));
        assert_eq!(q.sig.as_deref(), Some("ab"));
        assert_eq!(q.version, None);
        assert!(q.signed().is_some());
        assert!(parse_query(Some("exp=12&sig=ab")).signed().is_none());
    }
}
