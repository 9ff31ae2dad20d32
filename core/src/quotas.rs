//! What an account may keep and start: unfinished uploads, bytes held
//! (open uploads' declared lengths, originals and the published media),
//! and bytes of uploads started since UTC midnight. `[quotas]` sets them,
//! lower for an account whose email is not verified yet; an operator raises
//! one account's with `cloudcast admin quota` (table `user_quotas`). Checked
//! when an upload is created ([`admit`]); the owner sees them in
//! `/api/v1/me`.

use serde::Serialize;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::config::QuotasConfig;

/// One account's allowances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Quota {
    pub open_uploads: u32,
    pub storage_bytes: u64,
    pub daily_upload_bytes: u64,
}

/// What the account holds and has started today.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub struct Usage {
    pub open_uploads: u32,
    pub storage_bytes: u64,
    pub daily_upload_bytes: u64,
}

/// Both, as `/api/v1/me` shows them.
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct QuotaReport {
    pub limits: Quota,
    pub used: Usage,
}

/// Why a new upload does not fit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverQuota {
    #[error(
        "you have {0} unfinished uploads, the most your account may have; finish or delete one first"
    )]
    OpenUploads(u32),
    #[error(
        "this upload needs {needed} bytes and your account has {left} of its {limit} left; delete something first"
    )]
    Storage { needed: u64, left: u64, limit: u64 },
    #[error("this upload would take today's uploads past {limit} bytes; retry after midnight UTC")]
    Daily { limit: u64, retry_after_secs: u64 },
}

impl OverQuota {
    pub fn code(&self) -> &'static str {
        match self {
            OverQuota::OpenUploads(_) => "too_many_open_uploads",
            OverQuota::Storage { .. } => "storage_quota_exceeded",
            OverQuota::Daily { .. } => "daily_upload_volume_exceeded",
        }
    }
}

/// Whether the email is confirmed, and an operator's own allowances.
type QuotaRow = (bool, Option<i32>, Option<i64>, Option<i64>);

/// The allowances of `user`: the configured ones (the unverified ones
/// until the email is confirmed), or an operator's own for this account.
pub async fn quota_of<'e, E>(db: E, cfg: &QuotasConfig, user: Uuid) -> Result<Quota, sqlx::Error>
where
    E: sqlx::PgExecutor<'e>,
{
    let row: Option<QuotaRow> = sqlx::query_as(
        "SELECT u.email_verified_at IS NOT NULL, q.open_uploads, q.storage_bytes, q.daily_upload_bytes
           FROM users u LEFT JOIN user_quotas q ON q.user_id = u.id
          WHERE u.id = $1",
    )
    .bind(user)
    .fetch_optional(db)
    .await?;
    let (verified, open, storage, daily) = row.unwrap_or((false, None, None, None));
    let base = if verified {
        Quota {
            open_uploads: cfg.open_uploads,
            storage_bytes: cfg.storage_bytes,
            daily_upload_bytes: cfg.daily_upload_bytes,
        }
    } else {
        Quota {
            open_uploads: cfg.unverified_open_uploads,
            storage_bytes: cfg.unverified_storage_bytes,
            daily_upload_bytes: cfg.unverified_daily_upload_bytes,
        }
    };
    Ok(Quota {
        open_uploads: open.map_or(base.open_uploads, |n| n.max(0) as u32),
        storage_bytes: storage.map_or(base.storage_bytes, |n| n.max(0) as u64),
        daily_upload_bytes: daily.map_or(base.daily_upload_bytes, |n| n.max(0) as u64),
    })
}

/// What `user` holds now. Originals count while their cloudcast exists;
/// media by the published version's renditions.
pub async fn usage_of<'e, E>(db: E, user: Uuid) -> Result<Usage, sqlx::Error>
where
    E: sqlx::PgExecutor<'e>,
{
    let (open, held, today): (i64, i64, i64) = sqlx::query_as(
        "SELECT
           (SELECT count(*) FROM uploads WHERE user_id = $1 AND state = 'receiving'),
           (SELECT coalesce(sum(u.length), 0)::bigint FROM uploads u
             WHERE u.user_id = $1
               AND (u.state = 'receiving'
                    OR (u.state = 'complete'
                        AND EXISTS (SELECT 1 FROM cloudcasts c WHERE c.id = u.cloudcast_id))))
           + (SELECT coalesce(sum(r.size_bytes), 0)::bigint
                FROM renditions r JOIN cloudcasts c ON c.id = r.cloudcast_id
               WHERE c.owner_id = $1 AND r.version = c.media_version),
           (SELECT coalesce(sum(length), 0)::bigint FROM uploads
             WHERE user_id = $1 AND created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')",
    )
    .bind(user)
    .fetch_one(db)
    .await?;
    Ok(Usage {
        open_uploads: open.max(0) as u32,
        storage_bytes: held.max(0) as u64,
        daily_upload_bytes: today.max(0) as u64,
    })
}

/// Both, for the owner to see.
pub async fn report(
    pool: &PgPool,
    cfg: &QuotasConfig,
    user: Uuid,
) -> Result<QuotaReport, sqlx::Error> {
    // Two independent reads: asked at once (`/api/v1/me` serves every page).
    let (limits, used) = tokio::try_join!(quota_of(pool, cfg, user), usage_of(pool, user))?;
    Ok(QuotaReport { limits, used })
}

/// The rule, apart from the store: may an upload of `length` bytes start?
pub fn fits(
    quota: &Quota,
    used: &Usage,
    length: u64,
    secs_to_midnight: u64,
) -> Result<(), OverQuota> {
    if used.open_uploads >= quota.open_uploads {
        return Err(OverQuota::OpenUploads(used.open_uploads));
    }
    if used.storage_bytes.saturating_add(length) > quota.storage_bytes {
        return Err(OverQuota::Storage {
            needed: length,
            left: quota.storage_bytes.saturating_sub(used.storage_bytes),
            limit: quota.storage_bytes,
        });
    }
    if used.daily_upload_bytes.saturating_add(length) > quota.daily_upload_bytes {
        return Err(OverQuota::Daily {
            limit: quota.daily_upload_bytes,
            retry_after_secs: secs_to_midnight.max(1),
        });
    }
    Ok(())
}

/// Within `tx`: takes the account's row lock (so two uploads created at
/// once are counted one after the other), then checks an upload of
/// `length` bytes against the account's quota. The caller inserts the
/// upload in the same transaction.
pub async fn admit(
    tx: &mut Transaction<'_, Postgres>,
    cfg: &QuotasConfig,
    user: Uuid,
    length: u64,
) -> Result<Result<(), OverQuota>, sqlx::Error> {
    sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
        .bind(user)
        .execute(&mut **tx)
        .await?;
    let quota = quota_of(&mut **tx, cfg, user).await?;
    let used = usage_of(&mut **tx, user).await?;
    let now = time::OffsetDateTime::now_utc();
    let into_day =
        u64::from(now.hour()) * 3600 + u64::from(now.minute()) * 60 + u64::from(now.second());
    Ok(fits(&quota, &used, length, 86_400 - into_day))
}

#[cfg(test)]
mod tests {
    use super::*;

    const Q: Quota = Quota {
        open_uploads: 2,
        storage_bytes: 1000,
        daily_upload_bytes: 600,
    };

    #[test]
    fn each_allowance_refuses_on_its_own() {
        let used = Usage::default();
        assert_eq!(fits(&Q, &used, 600, 10), Ok(()));
        let two_open = Usage {
            open_uploads: 2,
            ..used
        };
        assert_eq!(fits(&Q, &two_open, 1, 10), Err(OverQuota::OpenUploads(2)));
        let held = Usage {
            storage_bytes: 900,
            ..used
        };
        assert_eq!(
            fits(&Q, &held, 101, 10),
            Err(OverQuota::Storage {
                needed: 101,
                left: 100,
                limit: 1000
            })
        );
        assert_eq!(fits(&Q, &held, 100, 10), Ok(()));
        let busy_day = Usage {
            daily_upload_bytes: 500,
            ..used
        };
        assert_eq!(
            fits(&Q, &busy_day, 101, 0),
            Err(OverQuota::Daily {
                limit: 600,
                retry_after_secs: 1
            })
        );
    }
}
