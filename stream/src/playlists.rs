//! Loads a cloudcast's published renditions and renders its playlists.

use std::sync::Arc;

use axum::http::HeaderValue;
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use cloudcast_core::states::CloudcastStatus;
use cloudcast_media::FragmentIndex;
use cloudcast_media::hls::{RenditionRef, master_playlist, media_playlist};

use crate::StreamError;
use crate::delivery::http_date;

#[derive(Debug, Clone)]
pub struct PublishedRendition {
    pub name: String,
    pub version: Uuid,
    pub s3_key: Arc<str>,
    pub size: u64,
    pub index: FragmentIndex,
    /// Strong validator: a version's files never change, so version + name.
    pub etag: HeaderValue,
    pub last_modified: HeaderValue,
    /// `last_modified` as Unix seconds (what `If-Modified-Since` compares).
    pub modified_unix: i64,
}

type Row = (String, Uuid, String, i64, OffsetDateTime, serde_json::Value);

fn from_row(
    (name, version, s3_key, size, created_at, index): Row,
) -> Result<PublishedRendition, StreamError> {
    let corrupt = |e: Box<dyn std::error::Error + Send + Sync>| StreamError::CorruptIndex(e);
    let index: FragmentIndex = serde_json::from_value(index).map_err(|e| corrupt(Box::new(e)))?;
    // Built once per lookup rather than per request: both are plain ASCII.
    let etag = HeaderValue::from_str(&format!("\"{}-{}\"", version.simple(), name))
        .map_err(|e| corrupt(Box::new(e)))?;
    let last_modified =
        HeaderValue::from_str(&http_date(created_at)).map_err(|e| corrupt(Box::new(e)))?;
    Ok(PublishedRendition {
        name,
        version,
        s3_key: Arc::from(s3_key),
        size: size as u64,
        index,
        etag,
        last_modified,
        modified_unix: created_at.unix_timestamp(),
    })
}

/// Renditions of the published version of a ready cloudcast.
pub async fn published(
    pool: &PgPool,
    cloudcast: Uuid,
) -> Result<Vec<PublishedRendition>, StreamError> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT r.name, r.version, r.s3_key, r.size_bytes, r.created_at, r.fragment_index
           FROM cloudcasts c
           JOIN renditions r ON r.cloudcast_id = c.id AND r.version = c.media_version
          WHERE c.id = $1 AND c.status = $2
          ORDER BY r.bitrate_kbps",
    )
    .bind(cloudcast)
    .bind(CloudcastStatus::Ready)
    .fetch_all(pool)
    .await?;
    if rows.is_empty() {
        return Err(StreamError::NotFound("stream"));
    }
    rows.into_iter().map(from_row).collect()
}

/// One rendition of a given version (or the published one). Older versions
/// stay readable so a player holding an older playlist keeps getting the
/// bytes its byte ranges refer to.
pub async fn rendition(
    pool: &PgPool,
    cloudcast: Uuid,
    name: &str,
    version: Option<Uuid>,
) -> Result<PublishedRendition, StreamError> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT r.name, r.version, r.s3_key, r.size_bytes, r.created_at, r.fragment_index
           FROM cloudcasts c
           JOIN renditions r ON r.cloudcast_id = c.id AND r.version = COALESCE($3, c.media_version)
          WHERE c.id = $1 AND r.name = $2 AND c.status = $4",
    )
    .bind(cloudcast)
    .bind(name)
    .bind(version)
    .bind(CloudcastStatus::Ready)
    .fetch_optional(pool)
    .await?;
    row.map(from_row)
        .transpose()?
        .ok_or(StreamError::NotFound("rendition"))
}

fn refs<'a>(renditions: &'a [PublishedRendition], query: &str) -> Vec<RenditionRef<'a>> {
    renditions
        .iter()
        .map(|r| RenditionRef {
            name: &r.name,
            index: &r.index,
            media_uri: format!("{}.mp4?v={}&{query}", r.name, r.version),
            playlist_uri: format!("{}.m3u8?{query}", r.name),
        })
        .collect()
}

/// `query` is the signed query string handed on to every URI.
pub fn render_master(renditions: &[PublishedRendition], query: &str) -> String {
    master_playlist(&refs(renditions, query))
}

pub fn render_media(renditions: &[PublishedRendition], name: &str, query: &str) -> Option<String> {
    let refs = refs(renditions, query);
    refs.iter().find(|r| r.name == name).map(media_playlist)
}
