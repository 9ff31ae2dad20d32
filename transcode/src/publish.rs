//! Publishing: index each rendition, upload it under a fresh version prefix,
//! then switch the cloudcast to that version in one transaction. Listeners
//! see either the old version or the complete new one, and a job that runs
//! again simply publishes another version.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;

use sqlx::PgPool;
use uuid::Uuid;

use cloudcast_core::keys;
use cloudcast_core::notify;
use cloudcast_core::queue::{self, Job};
use cloudcast_core::states::{CloudcastStatus, NotificationKind};
use cloudcast_core::storage::Storage;
use cloudcast_media::{FragmentIndex, add_sidx, index_fragmented_mp4};

use crate::TranscodeError;
use crate::analysis::{Loudness, Waveform};
use crate::pipeline::{LadderOutput, Rendition};

/// Everything one run of a job publishes.
pub struct Outputs {
    pub renditions: Vec<Indexed>,
    pub loudness: Loudness,
    pub waveform: Waveform,
    pub fine_waveform: Waveform,
    pub short_term: Vec<Option<f32>>,
}

pub struct Indexed {
    pub rendition: Rendition,
    pub index: FragmentIndex,
}

/// Reads each file's box structure (small reads; mdat payloads are skipped).
pub fn index_all(out: LadderOutput) -> Result<Outputs, TranscodeError> {
    let renditions = index_renditions(out.renditions)?;
    Ok(Outputs {
        renditions,
        loudness: out.loudness,
        waveform: out.waveform,
        fine_waveform: out.fine_waveform,
        short_term: out.short_term,
    })
}

/// Keeps a mix's short-term loudness series (replacing an older one), in
/// the caller's transaction: the one writer of `cloudcast_loudness`.
pub async fn store_loudness(
    tx: &mut sqlx::PgConnection,
    cloudcast: Uuid,
    short_term: &[Option<f32>],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO cloudcast_loudness (cloudcast_id, short_term) VALUES ($1, $2)
         ON CONFLICT (cloudcast_id) DO UPDATE SET short_term = EXCLUDED.short_term, measured_at = now()",
    )
    .bind(cloudcast)
    .bind(short_term)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Rewrites the rendition at `path` with a segment index before its
/// fragments (`media/src/fmp4/sidx.rs`), in place, and indexes the result.
pub fn add_seek_index(path: &Path) -> Result<FragmentIndex, TranscodeError> {
    let tmp = path.with_extension("sidx.tmp");
    {
        let mut reader = BufReader::new(File::open(path)?);
        let mut writer = BufWriter::new(File::create(&tmp)?);
        add_sidx(&mut reader, &mut writer)?;
        writer
            .into_inner()
            .map_err(|e| e.into_error())?
            .sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    let mut reader = BufReader::new(File::open(path)?);
    Ok(index_fragmented_mp4(&mut reader)?)
}

fn index_renditions(renditions: Vec<Rendition>) -> Result<Vec<Indexed>, TranscodeError> {
    renditions
        .into_iter()
        .map(|r| {
            let index = match add_seek_index(&r.path) {
                Ok(index) => index,
                // A muxer naming absolute offsets: published without the
                // segment index (players walk the fragments) rather than not at all.
                Err(TranscodeError::SeekIndex(cloudcast_media::SidxError::AbsoluteOffsets)) => {
                    tracing::warn!(rendition = %r.name, "fragments name absolute offsets; published without a segment index");
                    let mut reader = BufReader::new(File::open(&r.path)?);
                    index_fragmented_mp4(&mut reader)?
                }
                Err(e) => return Err(e),
            };
            if index.segments.is_empty() {
                return Err(TranscodeError::BadInput(
                    "the file decoded to no audio at all".into(),
                ));
            }
            Ok(Indexed {
                rendition: r,
                index,
            })
        })
        .collect()
}

/// Deletes the files of a version that was not published (a lost lease, a
/// mix deleted or changed meanwhile); a failure leaves them for erasure.
async fn drop_version(storage: &Storage, cloudcast: Uuid, version: Uuid) {
    let prefix = keys::media_version(cloudcast, version);
    if let Err(e) = storage.delete_prefix(&prefix).await {
        tracing::warn!(error = %cloudcast_core::error::Chain(&e), %prefix, "deleting unpublished media failed");
    }
}

/// Records one rendition of `version` (its file under `keys::rendition`),
/// in the publishing transaction: the one writer of `renditions`.
async fn insert_rendition(
    tx: &mut sqlx::PgConnection,
    cloudcast: Uuid,
    version: Uuid,
    name: &str,
    bitrate_kbps: i32,
    index: &FragmentIndex,
) -> Result<(), TranscodeError> {
    let index_json = serde_json::to_value(index).map_err(|source| TranscodeError::Serialise {
        what: "the fragment index",
        source,
    })?;
    sqlx::query(
        "INSERT INTO renditions (cloudcast_id, version, name, bitrate_kbps, s3_key, size_bytes, fragment_index)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(cloudcast)
    .bind(version)
    .bind(name)
    .bind(bitrate_kbps)
    .bind(keys::rendition(cloudcast, version, name))
    .bind(index.file_size as i64)
    .bind(index_json)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Uploads and switches; returns the published duration in ms.
pub async fn publish(
    pool: &PgPool,
    storage: &Storage,
    job: &Job,
    worker: &str,
    all: &Outputs,
) -> Result<i64, TranscodeError> {
    let version = Uuid::now_v7();
    let outputs = &all.renditions;
    for out in outputs {
        let key = keys::rendition(job.cloudcast_id, version, &out.rendition.name);
        storage
            .put_file(&key, &out.rendition.path, "audio/mp4")
            .await?;
    }
    let peaks = serde_json::to_vec(&all.waveform).map_err(|source| TranscodeError::Serialise {
        what: "the waveform",
        source,
    })?;
    storage
        .put_bytes(
            &keys::peaks(job.cloudcast_id, version),
            peaks.into(),
            "application/json",
        )
        .await?;
    storage
        .put_bytes(
            &keys::peaks_fine(job.cloudcast_id, version),
            all.fine_waveform.to_dat().into(),
            "application/octet-stream",
        )
        .await?;
    // Every rendition comes from the same decoded PCM; the longest is the
    // cloudcast's duration (encoders may differ by one priming frame).
    let duration_ms = outputs
        .iter()
        .map(|o| o.index.duration_ms())
        .max()
        .unwrap_or(0) as i64;

    let mut tx = pool.begin().await?;
    if !queue::complete(&mut tx, job.id, worker).await? {
        // Our lease ran out and another worker has the job, or the cloudcast
        // (its account) was deleted meanwhile: publish nothing, keep nothing.
        tx.rollback().await?;
        drop_version(storage, job.cloudcast_id, version).await;
        return Err(TranscodeError::Cancelled);
    }
    for out in outputs {
        let r = &out.rendition;
        insert_rendition(
            &mut tx,
            job.cloudcast_id,
            version,
            &r.name,
            r.bitrate_kbps as i32,
            &out.index,
        )
        .await?;
    }
    let owner: Uuid = sqlx::query_scalar(
        "UPDATE cloudcasts SET status = $7, error = NULL, media_version = $2, duration_ms = $3,
                loudness_lufs = $4, loudness_range_lu = $5, true_peak_dbtp = $6, updated_at = now()
         WHERE id = $1 RETURNING owner_id",
    )
    .bind(job.cloudcast_id)
    .bind(version)
    .bind(duration_ms)
    .bind(all.loudness.integrated_lufs)
    .bind(all.loudness.range_lu)
    .bind(all.loudness.true_peak_dbtp)
    .bind(CloudcastStatus::Ready)
    .fetch_one(&mut *tx)
    .await?;
    store_loudness(&mut tx, job.cloudcast_id, &all.short_term).await?;
    let processed = notify::Event::new(
        NotificationKind::Processed,
        notify::To::User(owner),
        job.cloudcast_id,
    )
    .about(job.cloudcast_id);
    notify::record(&mut tx, &processed).await?;
    tx.commit().await?;
    tracing::info!(%version, duration_ms, "published");
    Ok(duration_ms)
}

/// One rendition of the published version, as the seek-index backfill
/// reads it again.
#[derive(sqlx::FromRow)]
struct PublishedRow {
    name: String,
    bitrate_kbps: i32,
    s3_key: String,
}

/// The seek-index backfill: the published version's renditions, with a
/// segment index added, published as a new version (peaks copied, nothing
/// else changes), so players holding the old playlists finish on the old
/// files. Nothing is switched when the mix was transcoded again meanwhile.
/// Returns the mix's duration in ms.
pub async fn republish_with_seek_index(
    pool: &PgPool,
    storage: &Storage,
    job: &Job,
    worker: &str,
    work_dir: &Path,
) -> Result<i64, TranscodeError> {
    let (old, duration_ms): (Option<Uuid>, Option<i64>) =
        sqlx::query_as("SELECT media_version, duration_ms FROM cloudcasts WHERE id = $1")
            .bind(job.cloudcast_id)
            .fetch_optional(pool)
            .await?
            .unwrap_or((None, None));
    let Some(old) = old else {
        return Err(TranscodeError::Cancelled);
    };
    let rows: Vec<PublishedRow> = sqlx::query_as(
        "SELECT name, bitrate_kbps, s3_key FROM renditions WHERE cloudcast_id = $1 AND version = $2",
    )
    .bind(job.cloudcast_id)
    .bind(old)
    .fetch_all(pool)
    .await?;
    tokio::fs::create_dir_all(work_dir).await?;
    let version = Uuid::now_v7();
    let mut indexed = Vec::with_capacity(rows.len());
    for row in &rows {
        let path = work_dir.join(format!("{}.mp4", row.name));
        storage.get_to_file(&row.s3_key, &path).await?;
        let p = path.clone();
        let index = tokio::task::spawn_blocking(move || add_seek_index(&p))
            .await
            .map_err(TranscodeError::Thread)??;
        let key = keys::rendition(job.cloudcast_id, version, &row.name);
        storage.put_file(&key, &path, "audio/mp4").await?;
        indexed.push((row, index));
    }
    for (from, to, kind) in [
        (
            keys::peaks(job.cloudcast_id, old),
            keys::peaks(job.cloudcast_id, version),
            "application/json",
        ),
        (
            keys::peaks_fine(job.cloudcast_id, old),
            keys::peaks_fine(job.cloudcast_id, version),
            "application/octet-stream",
        ),
    ] {
        let bytes = storage.get_bytes(&from).await?;
        storage.put_bytes(&to, bytes, kind).await?;
    }
    let mut tx = pool.begin().await?;
    if !queue::complete(&mut tx, job.id, worker).await? {
        tx.rollback().await?;
        drop_version(storage, job.cloudcast_id, version).await;
        return Err(TranscodeError::Cancelled);
    }
    // Switched only from the version read above: a mix transcoded (or
    // deleted) meanwhile keeps what it has, and this version goes.
    let switched = sqlx::query(
        "UPDATE cloudcasts SET media_version = $2 WHERE id = $1 AND media_version = $3 AND status = $4",
    )
    .bind(job.cloudcast_id)
    .bind(version)
    .bind(old)
    .bind(CloudcastStatus::Ready)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if switched == 0 {
        tx.commit().await?;
        drop_version(storage, job.cloudcast_id, version).await;
        tracing::info!(%version, "the mix changed meanwhile; the seek index was not switched in");
        return Ok(duration_ms.unwrap_or(0));
    }
    for (row, index) in &indexed {
        insert_rendition(
            &mut tx,
            job.cloudcast_id,
            version,
            &row.name,
            row.bitrate_kbps,
            index,
        )
        .await?;
    }
    tx.commit().await?;
    tracing::info!(%version, "renditions republished with their segment index");
    Ok(duration_ms.unwrap_or(0))
}
