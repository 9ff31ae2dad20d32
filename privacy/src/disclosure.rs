//! Legally compelled disclosure (the policy's section on court and police
//! requests): an operator builds the same archive as the user's own export
//! (`export::build`) and every such disclosure leaves an audit record: who,
//! when, why, the request's reference and the archive's SHA-256. Nothing
//! else in the system reads another user's data for someone else.

use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use cloudcast_core::storage::Storage;

use crate::{PrivacyError, export};

/// One disclosure made.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct Disclosure {
    pub id: Uuid,
    pub user_id: Uuid,
    /// The user's current username; `None` once the account is erased.
    pub username: Option<String>,
    pub operator: String,
    pub reason: String,
    pub reference: String,
    pub archive_sha256: String,
    pub archive_bytes: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// What an operator must give for a disclosure.
pub struct Request<'a> {
    /// Username or email.
    pub user: &'a str,
    pub operator: &'a str,
    pub reason: &'a str,
    pub reference: &'a str,
    /// Where the archive is written (a new file).
    pub out: &'a Path,
}

fn required(name: &str, value: &str) -> Result<(), PrivacyError> {
    if value.trim().is_empty() || value.chars().count() > 2000 {
        return Err(PrivacyError::InvalidField(format!(
            "{name}: required, at most 2000 characters"
        )));
    }
    Ok(())
}

/// Builds the user's archive into `req.out` and records the disclosure.
pub async fn disclose(
    pool: &PgPool,
    ch: &clickhouse::Client,
    storage: &Storage,
    req: Request<'_>,
) -> Result<(Disclosure, PathBuf), PrivacyError> {
    required("reason", req.reason)?;
    required("reference", req.reference)?;
    required("operator", req.operator)?;
    let user = crate::erasure::find_account(pool, req.user).await?;
    let archive = export::build(pool, ch, storage, user).await?;
    let (sha, bytes) = tokio::task::spawn_blocking({
        let path = archive.path().to_path_buf();
        move || -> Result<(String, u64), PrivacyError> {
            let mut hasher = Sha256::new();
            let bytes = std::io::copy(&mut std::fs::File::open(&path)?, &mut hasher)?;
            Ok((hex::encode(hasher.finalize()), bytes))
        }
    })
    .await??;
    // The record first: the archive is handed over only once it is written,
    // and if the file cannot be written the record is rolled back.
    let id = Uuid::now_v7();
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO disclosures (id, user_id, operator, reason, reference, archive_sha256, archive_bytes)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(user)
    .bind(req.operator.trim())
    .bind(req.reason.trim())
    .bind(req.reference.trim())
    .bind(&sha)
    .bind(i64::try_from(bytes).unwrap_or(i64::MAX))
    .execute(&mut *tx)
    .await?;
    let out = req.out.to_path_buf();
    tokio::task::spawn_blocking({
        let out = out.clone();
        move || -> Result<(), PrivacyError> {
            // A new file only: an earlier disclosure is never overwritten.
            let mut dst = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&out)?;
            let written = std::io::copy(&mut std::fs::File::open(archive.path())?, &mut dst)
                .and_then(|_| dst.sync_all());
            if let Err(e) = written {
                let _ = std::fs::remove_file(&out);
                return Err(e.into());
            }
            Ok(())
        }
    })
    .await??;
    if let Err(e) = tx.commit().await {
        let _ = tokio::fs::remove_file(&out).await;
        return Err(e.into());
    }
    tracing::info!(disclosure_id = %id, user_id = %user, "disclosure recorded");
    let all = list(pool).await?;
    let made = all
        .into_iter()
        .find(|d| d.id == id)
        .ok_or(PrivacyError::NotFound("disclosure"))?;
    Ok((made, out))
}

/// Every disclosure, oldest first.
pub async fn list(pool: &PgPool) -> Result<Vec<Disclosure>, PrivacyError> {
    Ok(sqlx::query_as(
        "SELECT d.id, d.user_id, u.username, d.operator, d.reason, d.reference,
                d.archive_sha256, d.archive_bytes, d.created_at
           FROM disclosures d LEFT JOIN users u ON u.id = d.user_id
          ORDER BY d.created_at, d.id",
    )
    .fetch_all(pool)
    .await?)
}
