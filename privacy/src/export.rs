//! Access to one's data: everything held about a user in one zip archive.
//!
//! The archive is a walk over the registry of every table
//! (`registry.rs`): `account.json` gathers each PostgreSQL table's sections
//! (account, profile, consents and their history, uploads, cloudcasts and
//! their slugs, comments and their moderation, reports, favourites, follows
//! both ways, reposts, listen-later, email verifications, sign-in history,
//! mail sent to the user, API keys); ClickHouse tables go in as Parquet
//! (play history, listening per day, ad-interest rows, and every heartbeat).
//!
//! A small export is built while the request waits (`exports.rs`). A large
//! one (more heartbeats than `privacy.export_inline_beats`) is built in the
//! background into S3 (`exports/<user>/<id>.zip`) as a job in PostgreSQL
//! (`export_jobs.rs`) and fetched when ready; the archive is deleted when
//! it expires.

use std::io::Write;
use std::path::Path;

use cloudcast_analytics::columnar::{Format, encode, tsv_to_batch};
use cloudcast_core::keys;
use cloudcast_core::storage::{Storage, StorageError};
use serde_json::{Value, json};
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{PrivacyError, registry};

/// Every heartbeat of the user, one day range at a time.
const HEARTBEATS_SQL: &str = "SELECT ts, cloudcast_id, session_id, seq, position_ms, rendition,
        referrer_domain, ip_prefix, ip_hash, browser, browser_major, os, device,
        is_bot, ads_consent, arrayStringConcat(tags, ',') AS cloudcast_tags
   FROM heartbeats
  WHERE user_id = ? AND toDate(ts) >= toDate(?) AND toDate(ts) <= toDate(?)
  ORDER BY ts, session_id, seq";

/// Heartbeats fetched per ClickHouse query (and held in memory at once).
const CHUNK_BEATS: u64 = 200_000;

const README: &str = "\
Everything Cloudcast holds about your account.

account.json              your account, profile, consents and their history,
                          uploads, cloudcasts, comments, reports you made and
                          reports on your cloudcasts, counter-notices,
                          favourites, sign-ins, mail sent to you, API keys
play_history.parquet      one row per listening session
listening_by_day.parquet  heartbeats per day and cloudcast
ad_interest.parquet       seconds heard per tag and day, as used for
                          personalised ads (only while you consented)
heartbeats.parquet        every listening heartbeat (one per second played):
                          position, rendition, referring domain, network
                          prefix (/24 or /48; never your whole address), a
                          hash of the address under a key deleted daily,
                          browser and device
avatar.*                  your profile picture, if you uploaded one
pictures/<cloudcast>.jpg  the cover picture of each of your cloudcasts that
                          has one (its largest size; the upload is not kept)

Parquet files open in pandas, DuckDB, R (arrow) or a spreadsheet plug-in.
";

async fn tsv(ch: &clickhouse::Client, sql: &str, binds: &[&str]) -> Result<String, PrivacyError> {
    let mut q = ch.query(sql);
    for b in binds {
        q = q.bind(*b);
    }
    let bytes = q
        .fetch_bytes("TabSeparatedWithNamesAndTypes")?
        .collect()
        .await?;
    Ok(String::from_utf8(bytes.to_vec())?)
}

/// The PostgreSQL side as one JSON document.
pub async fn account_json(pool: &PgPool, user: Uuid) -> Result<Value, PrivacyError> {
    let mut doc = serde_json::Map::new();
    for (name, one, sql) in registry::json_sections() {
        let wrapped = if one {
            format!("SELECT row_to_json(t) FROM ({sql}) t")
        } else {
            format!("SELECT coalesce(json_agg(t), '[]'::json) FROM ({sql}) t")
        };
        let v: Option<Value> = sqlx::query_scalar(&wrapped)
            .bind(user)
            .fetch_optional(pool)
            .await?;
        doc.insert(name.to_string(), v.unwrap_or(Value::Null));
    }
    let consents = doc
        .get("account")
        .map(|a| {
            json!({
                "personalised_ads": a.get("ads_consent"),
                "third_party_contact": a.get("third_party_consent"),
            })
        })
        .unwrap_or(Value::Null);
    doc.insert("consents".into(), consents);
    doc.insert(
        "exported_at".into(),
        json!(
            OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        ),
    );
    Ok(Value::Object(doc))
}

/// Heartbeats the user has, from the per-user ordered session table (cheap).
pub async fn beat_count(ch: &clickhouse::Client, user: Uuid) -> Result<u64, PrivacyError> {
    let n: u64 = ch
        .query(
            "SELECT toUInt64(sum(s)) FROM (
                 SELECT uniqExactMerge(seconds) AS s FROM listen_sessions
                  WHERE user_id = ? GROUP BY cloudcast_id, session_id, listener_id)",
        )
        .bind(user.to_string())
        .fetch_one()
        .await?;
    Ok(n)
}

/// Day ranges of at most [`CHUNK_BEATS`] heartbeats each (one day may exceed
/// it alone; it is never split).
fn day_chunks(days: &[(String, u64)]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut start: Option<&str> = None;
    let mut last = "";
    let mut sum = 0u64;
    for (day, n) in days {
        if let Some(s) = start
            && sum + n > CHUNK_BEATS
        {
            out.push((s.to_string(), last.to_string()));
            start = None;
            sum = 0;
        }
        start.get_or_insert(day.as_str());
        last = day;
        sum += n;
    }
    if let Some(s) = start {
        out.push((s.to_string(), last.to_string()));
    }
    out
}

/// Writes every heartbeat of the user into a Parquet file at `path`;
/// returns how many rows it holds (0: no file written).
async fn heartbeats_parquet(
    ch: &clickhouse::Client,
    user: Uuid,
    path: &Path,
) -> Result<u64, PrivacyError> {
    #[derive(clickhouse::Row, serde::Deserialize)]
    struct Day {
        listened_on: String,
        beats: u64,
    }
    let uid = user.to_string();
    let days: Vec<Day> = ch
        .query(
            "SELECT toString(toDate(ts)) AS listened_on, count() AS beats
               FROM heartbeats WHERE user_id = ?
              GROUP BY listened_on ORDER BY listened_on",
        )
        .bind(&uid)
        .fetch_all()
        .await?;
    let days: Vec<(String, u64)> = days.into_iter().map(|d| (d.listened_on, d.beats)).collect();
    let mut writer: Option<parquet::arrow::ArrowWriter<std::fs::File>> = None;
    let mut rows = 0u64;
    for (from, to) in day_chunks(&days) {
        let text = tsv(ch, HEARTBEATS_SQL, &[&uid, &from, &to]).await?;
        let path = path.to_path_buf();
        let w = writer.take();
        // Parquet encoding is CPU work: off the async workers.
        let (w, n) = tokio::task::spawn_blocking(move || -> Result<_, PrivacyError> {
            let batch = tsv_to_batch(&text)?;
            let mut w = match w {
                Some(w) => w,
                None => {
                    let file = std::fs::File::create(&path)?;
                    parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None)?
                }
            };
            w.write(&batch)?;
            Ok((w, batch.num_rows() as u64))
        })
        .await??;
        writer = Some(w);
        rows += n;
    }
    if let Some(w) = writer {
        tokio::task::spawn_blocking(move || w.close().map(|_| ())).await??;
    }
    Ok(rows)
}

/// Builds the archive into a temporary file and returns it.
pub async fn build(
    pool: &PgPool,
    ch: &clickhouse::Client,
    storage: &Storage,
    user: Uuid,
) -> Result<tempfile::NamedTempFile, PrivacyError> {
    let account = account_json(pool, user).await?;
    let uid = user.to_string();
    let mut parts: Vec<(&'static str, Vec<u8>)> = Vec::new();
    for (name, sql) in registry::parquet_files() {
        let text = tsv(ch, sql, &[&uid]).await?;
        let bytes = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, PrivacyError> {
            Ok(encode(&tsv_to_batch(&text)?, Format::Parquet)?)
        })
        .await??;
        parts.push((name, bytes));
    }
    let mut images: Vec<(String, Vec<u8>)> = Vec::new();
    let covers: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT id, picture_version FROM cloudcasts
          WHERE owner_id = $1 AND picture_version IS NOT NULL ORDER BY created_at",
    )
    .bind(user)
    .fetch_all(pool)
    .await?;
    for (cloudcast, version) in covers {
        let key = keys::picture(cloudcast, version, keys::PICTURE_LARGEST);
        match storage.get_bytes(&key).await {
            Ok(bytes) => images.push((format!("pictures/{cloudcast}.jpg"), bytes.to_vec())),
            // Replaced since the row was read: nothing to export.
            Err(StorageError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let avatar: Option<(String, Vec<u8>)> = {
        let row: Option<(Option<String>, Option<String>)> =
            sqlx::query_as("SELECT avatar_key, avatar_type FROM profiles WHERE user_id = $1")
                .bind(user)
                .fetch_optional(pool)
                .await?;
        match row {
            Some((Some(key), Some(kind))) => {
                let ext = kind.rsplit('/').next().unwrap_or("bin").to_string();
                match storage.get_bytes(&key).await {
                    Ok(bytes) => Some((format!("avatar.{ext}"), bytes.to_vec())),
                    // Replaced since the row was read: nothing to export.
                    Err(StorageError::NotFound { .. }) => None,
                    Err(e) => return Err(e.into()),
                }
            }
            _ => None,
        }
    };
    let dir = tempfile::tempdir()?;
    let beats_path = dir.path().join("heartbeats.parquet");
    let beats = heartbeats_parquet(ch, user, &beats_path).await?;
    let account = serde_json::to_vec_pretty(&account)?;
    tokio::task::spawn_blocking(move || -> Result<tempfile::NamedTempFile, PrivacyError> {
        let out = tempfile::NamedTempFile::new()?;
        let mut zip = zip::ZipWriter::new(out.reopen()?);
        let text = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        // Parquet and images are compressed already.
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(true);
        zip.start_file("README.txt", text)?;
        zip.write_all(README.as_bytes())?;
        zip.start_file("account.json", text)?;
        zip.write_all(&account)?;
        for (name, bytes) in parts {
            zip.start_file(name, stored)?;
            zip.write_all(&bytes)?;
        }
        for (name, bytes) in avatar.into_iter().chain(images) {
            zip.start_file(name, stored)?;
            zip.write_all(&bytes)?;
        }
        if beats > 0 {
            zip.start_file("heartbeats.parquet", stored)?;
            let mut f = std::fs::File::open(&beats_path)?;
            std::io::copy(&mut f, &mut zip)?;
        }
        zip.finish()?;
        drop(dir);
        Ok(out)
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(v: &[(&str, u64)]) -> Vec<(String, u64)> {
        v.iter().map(|(d, n)| (d.to_string(), *n)).collect()
    }

    #[test]
    fn day_chunks_stay_under_the_limit_and_cover_every_day() {
        let c = day_chunks(&days(&[
            ("2026-01-01", 150_000),
            ("2026-01-02", 40_000),
            ("2026-01-03", 20_000),
            ("2026-01-04", 250_000),
            ("2026-01-05", 1),
        ]));
        assert_eq!(
            c,
            vec![
                ("2026-01-01".to_string(), "2026-01-02".to_string()),
                ("2026-01-03".to_string(), "2026-01-03".to_string()),
                ("2026-01-04".to_string(), "2026-01-04".to_string()),
                ("2026-01-05".to_string(), "2026-01-05".to_string()),
            ]
        );
        assert!(day_chunks(&[]).is_empty());
    }

    #[test]
    fn no_section_selects_a_secret() {
        for (_, _, sql) in registry::json_sections() {
            for secret in [
                "password_hash",
                "token_hash",
                "key_hash",
                "code_hash)",
                "code_hash,",
                "*",
            ] {
                assert!(!sql.contains(secret), "{sql} selects {secret}");
            }
            // The authenticator app's shared secret never leaves.
            assert!(
                !sql.contains("totp_factors") || !sql.contains("secret"),
                "{sql}"
            );
        }
    }
}
