//! `POST /api/v1/heartbeats`: one beat or a batch, from `fetch` or
//! `navigator.sendBeacon` (which sends `text/plain`). Beats are validated,
//! enriched on the server (listener, referrer domain, parsed user agent,
//! truncated and hashed IP, consent in force) and fsynced to the heartbeat
//! write-ahead log before the 202; a full log answers 503 so players retry. Each client IP has a
//! request rate limit (429 + `Retry-After`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::schema::{ArrayBuilder, OneOfBuilder, Schema};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};
use uuid::Uuid;

use cloudcast_beats::HeartbeatRow;
use cloudcast_core::netaddr::ip_prefix;
use cloudcast_core::signing::unix_now;

use crate::lookup::StreamInfo;
use crate::{StreamError, StreamState, agent, metrics};

/// One beat as a player sends it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Beat {
    pub cloudcast_id: Uuid,
    /// Random id of one listening session, chosen by the player.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub session_id: String,
    /// 0, 1, 2 ... per session: a re-sent beat keeps its number.
    pub seq: u32,
    /// At most the cloudcast's duration (and 5 s past it).
    pub position_ms: u64,
    /// The rendition playing (e.g. `aac_128k`).
    #[serde(default)]
    #[schema(pattern = "^[A-Za-z0-9_-]{1,32}$")]
    pub rendition: Option<String>,
    /// The page's referrer, as the player saw it; only its domain is kept.
    #[serde(default)]
    #[schema(max_length = 2048)]
    pub referrer: Option<String>,
    /// Client clock, Unix milliseconds; not more than five minutes ahead.
    #[serde(default)]
    pub client_ts: Option<i64>,
}

/// A heartbeat request's body: one [`Beat`] or an array of them.
pub struct HeartbeatBody;

impl PartialSchema for HeartbeatBody {
    fn schema() -> RefOr<Schema> {
        let beat = || Ref::from_schema_name(Beat::name());
        OneOfBuilder::new()
            .item(beat())
            .item(
                ArrayBuilder::new()
                    .items(beat())
                    .min_items(Some(1))
                    .max_items(Some(100)),
            )
            .description(Some(
                "One heartbeat, or a batch of them (at most `analytics.max_beats_per_request`).",
            ))
            .into()
    }
}

impl ToSchema for HeartbeatBody {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((Beat::name().into_owned(), Beat::schema()));
        Beat::schemas(schemas);
    }
}

/// The answer to an accepted request.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Accepted {
    /// Beats written to the log.
    pub accepted: usize,
}

/// A beat may report a position this far past the end (players overshoot).
const POSITION_SLACK_MS: u64 = 5_000;
/// Client clocks may run ahead, but not by more than this.
const FUTURE_SLACK_MS: i64 = 5 * 60 * 1000;

/// Parses a body holding one beat object or an array of them.
pub fn parse_beats(body: &[u8], max: usize) -> Result<Vec<Beat>, StreamError> {
    // Well-formed bodies, nearly all of them, are read straight into beats;
    // anything refused is read again through `serde_json::Value` for an
    // error that names the beat at fault.
    let fast = match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => serde_json::from_slice::<Vec<Beat>>(body).ok(),
        Some(b'{') => serde_json::from_slice::<Beat>(body).ok().map(|b| vec![b]),
        _ => None,
    };
    if let Some(beats) = fast
        && !beats.is_empty()
        && beats.len() <= max
        && beats.iter().all(|b| validate_shape(b).is_ok())
    {
        return Ok(beats);
    }
    parse_beats_slowly(body, max)
}

/// The same rules as [`parse_beats`], each failure named precisely.
fn parse_beats_slowly(body: &[u8], max: usize) -> Result<Vec<Beat>, StreamError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| StreamError::BadHeartbeat(format!("body is not valid JSON: {e}")))?;
    let items = match value {
        Value::Array(items) => items,
        obj @ Value::Object(_) => vec![obj],
        _ => {
            return Err(StreamError::BadHeartbeat(
                "send one heartbeat object or an array of them".into(),
            ));
        }
    };
    if items.is_empty() {
        return Err(StreamError::BadHeartbeat("the batch is empty".into()));
    }
    if items.len() > max {
        return Err(StreamError::BadHeartbeat(format!(
            "a batch holds at most {max} heartbeats, got {}",
            items.len()
        )));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let beat: Beat = serde_json::from_value(v)
                .map_err(|e| StreamError::BadHeartbeat(format!("heartbeat {i}: {e}")))?;
            validate_shape(&beat)
                .map_err(|m| StreamError::BadHeartbeat(format!("heartbeat {i}: {m}")))?;
            Ok(beat)
        })
        .collect()
}

fn validate_shape(b: &Beat) -> Result<(), String> {
    let ok_id = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    };
    if !ok_id(&b.session_id) {
        return Err("session_id must be 1-64 characters of letters, digits, '-' or '_'".into());
    }
    if let Some(r) = &b.rendition
        && (!ok_id(r) || r.len() > 32)
    {
        return Err("rendition is not a rendition name".into());
    }
    if let Some(ts) = b.client_ts
        && ts > unix_now() * 1000 + FUTURE_SLACK_MS
    {
        return Err("client_ts is in the future".into());
    }
    if b.referrer.as_ref().is_some_and(|r| r.len() > 2048) {
        return Err("referrer is longer than 2048 characters".into());
    }
    Ok(())
}

/// The registrable part we keep of a referrer: its host, lower-cased,
/// without `www.`; nothing of the path or query (they can carry personal data).
pub fn referrer_domain(referrer: &str) -> String {
    let Ok(url) = url::Url::parse(referrer.trim()) else {
        return String::new();
    };
    if !matches!(url.scheme(), "http" | "https") {
        return String::new();
    }
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    host.strip_prefix("www.").unwrap_or(&host).to_string()
}

/// What the server adds to every beat of one request.
struct Enrichment {
    listener_id: String,
    user_id: String,
    referrer_domain: String,
    agent: Arc<agent::Agent>,
    ip_prefix: String,
    ip_hash: String,
    ads_consent: bool,
}

#[utoipa::path(post, path = "/api/v1/heartbeats", tag = "stream",
    summary = "Report listening: one heartbeat per second played",
    description = "Sent by players (`fetch` or `navigator.sendBeacon`), one beat or a batch. \
        The server adds the listener, referrer domain, parsed user agent, truncated and \
        hashed address and the consent in force; the beats are durably logged before the \
        answer. A client without an account or a listener cookie (the one given with a stream \
        URL) is counted as its address and user agent. Rate-limited per client address.",
    request_body(
        description = "Heartbeats; `text/plain` is accepted for `sendBeacon`",
        content(
            (HeartbeatBody = "application/json"),
            (HeartbeatBody = "text/plain"))),
    responses(
        (status = 202, description = "Logged", body = Accepted),
        (status = 401, description = "The token is unknown or expired", body = cloudcast_core::apidoc::ErrorBody),
        (status = 413, description = "The body is larger than 256 KiB"),
        (status = 415, description = "Not `application/json` or `text/plain`", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "A heartbeat is malformed, names an unknown cloudcast, \
            or a position past its end", body = cloudcast_core::apidoc::ErrorBody),
        (status = 429, description = "Too many requests from this address (Retry-After)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 503, description = "Intake saturated or log failed; retry (Retry-After)", body = cloudcast_core::apidoc::ErrorBody)),
    security((), ("session" = [])))]
// Debug level, as the request span: thousands a second.
#[tracing::instrument(level = "debug", skip_all, fields(peer_prefix))]
pub async fn intake(
    State(state): State<StreamState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, StreamError> {
    // Keyed by the whole address, held in memory only.
    state
        .intake_limit
        .check(&peer.ip())
        .map_err(StreamError::RateLimited)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !(content_type.starts_with("application/json") || content_type.starts_with("text/plain")) {
        return Err(StreamError::BadContentType);
    }
    let beats = parse_beats(&body, state.max_beats_per_request)?;
    let user = state.lookups.user(&headers).await?;

    // Every cloudcast named must exist, be ready, be audible to this user,
    // and be long enough for the position.
    let mut ids: Vec<Uuid> = beats.iter().map(|b| b.cloudcast_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut infos: HashMap<Uuid, Arc<StreamInfo>> = HashMap::with_capacity(ids.len());
    for id in ids {
        if let Some(info) = state.lookups.info(id).await?
            && info.visible_to(user)
        {
            infos.insert(id, info);
        }
    }
    for (i, b) in beats.iter().enumerate() {
        let Some(duration) = infos.get(&b.cloudcast_id).map(|c| c.duration_ms) else {
            return Err(StreamError::BadHeartbeat(format!(
                "heartbeat {i}: cloudcast {} does not exist or is not ready",
                b.cloudcast_id
            )));
        };
        if b.position_ms > duration + POSITION_SLACK_MS {
            return Err(StreamError::BadHeartbeat(format!(
                "heartbeat {i}: position_ms {} is beyond the cloudcast's duration of {duration} ms",
                b.position_ms
            )));
        }
    }

    // Who is listening: the user, else the signed listener cookie, else the
    // client itself (its address and user agent under the day's key), so a
    // new session id or a made-up cookie is not a new listener. Cookies are
    // issued with stream URLs, before the first beat.
    let ip = peer.ip();
    let me = state
        .listeners
        .identify(user, ip, &headers)
        .await
        .map_err(|e| StreamError::DatabaseUnavailable(Arc::new(e)))?;
    let ads_consent = match user {
        Some(u) => state.lookups.ads_consent(u).await?,
        // No account, no recorded consent: never personalised.
        None => false,
    };
    let enrichment = Enrichment {
        listener_id: me.as_str().to_string(),
        user_id: user.map(|u| u.to_string()).unwrap_or_default(),
        referrer_domain: headers
            .get(header::REFERER)
            .and_then(|v| v.to_str().ok())
            .map(referrer_domain)
            .unwrap_or_default(),
        agent: agent::parse(
            headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default(),
        ),
        ip_prefix: ip_prefix(ip),
        ip_hash: state
            .listeners
            .hash_ip(ip)
            .await
            .map_err(|e| StreamError::DatabaseUnavailable(Arc::new(e)))?,
        ads_consent,
    };
    tracing::Span::current().record("peer_prefix", enrichment.ip_prefix.as_str());
    let now = unix_now().max(0) as u32;
    let count = beats.len();
    let rows: Vec<HeartbeatRow> = beats
        .into_iter()
        .map(|b| {
            let tags = infos
                .get(&b.cloudcast_id)
                .map(|c| c.tags.to_vec())
                .unwrap_or_default();
            row(b, tags, &enrichment, now)
        })
        .collect();
    // Answered only once the beats are fsynced in the log.
    state.beats.append(rows).await?;
    metrics::heartbeats_accepted(count);

    Ok((StatusCode::ACCEPTED, Json(Accepted { accepted: count })).into_response())
}

fn row(b: Beat, tags: Vec<String>, e: &Enrichment, now: u32) -> HeartbeatRow {
    HeartbeatRow {
        ts: now,
        cloudcast_id: b.cloudcast_id.to_string(),
        tags,
        session_id: b.session_id,
        seq: b.seq,
        position_ms: b.position_ms,
        listener_id: e.listener_id.clone(),
        user_id: e.user_id.clone(),
        rendition: b.rendition.unwrap_or_default(),
        // The page's referrer as the player saw it, else the request's.
        referrer_domain: b
            .referrer
            .as_deref()
            .map(referrer_domain)
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| e.referrer_domain.clone()),
        ip_prefix: e.ip_prefix.clone(),
        ip_hash: e.ip_hash.clone(),
        browser: e.agent.browser.clone(),
        browser_major: e.agent.browser_major.clone(),
        os: e.agent.os.clone(),
        device: e.agent.device.to_string(),
        is_bot: u8::from(e.agent.bot),
        ads_consent: u8::from(e.ads_consent),
        wal_segment: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referrers_keep_only_the_domain() {
        assert_eq!(
            referrer_domain("https://www.Example.com/mix?u=me@x.org"),
            "example.com"
        );
        assert_eq!(referrer_domain("http://blog.dj.net:8080/p"), "blog.dj.net");
        assert_eq!(referrer_domain("android-app://x"), "");
        assert_eq!(referrer_domain("not a url"), "");
    }

    #[test]
    fn beats_parse_singly_and_in_batches() {
        let one = br#"{"cloudcast_id":"0191f3a4-0000-7000-8000-000000000000","session_id":"s1","seq":0,"position_ms":0}"#;
        assert_eq!(parse_beats(one, 10).map(|b| b.len()).ok(), Some(1));
        let many = format!(
            "[{}]",
            [std::str::from_utf8(one).unwrap_or_default(); 3].join(",")
        );
        assert_eq!(
            parse_beats(many.as_bytes(), 10).map(|b| b.len()).ok(),
            Some(3)
        );
        assert!(parse_beats(many.as_bytes(), 2).is_err());
        assert!(parse_beats(b"[]", 2).is_err());
        assert!(parse_beats(b"42", 2).is_err());
        let wrong_type = br#"{"cloudcast_id":"0191f3a4-0000-7000-8000-000000000000","session_id":"s1","seq":"x","position_ms":0}"#;
        assert!(parse_beats(wrong_type, 2).is_err());
        let bad_session = br#"{"cloudcast_id":"0191f3a4-0000-7000-8000-000000000000","session_id":"a b","seq":1,"position_ms":0}"#;
        assert!(parse_beats(bad_session, 2).is_err());
        // A refusal names the beat at fault, whichever path read the body.
        let second_bad = format!(
            "[{}, {}]",
            std::str::from_utf8(one).unwrap_or_default(),
            std::str::from_utf8(bad_session).unwrap_or_default()
        );
        let message = match parse_beats(second_bad.as_bytes(), 10) {
            Err(StreamError::BadHeartbeat(m)) => m,
            other => format!("{:?}", other.map(|b| b.len())),
        };
        assert!(message.starts_with("heartbeat 1: session_id"), "{message}");
        assert!(parse_beats(b" \n {\"cloudcast_id\": 1}", 2).is_err());
    }
}
