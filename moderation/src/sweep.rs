//! What moderation does on its own, every `moderation.sweep`: erases the
//! accounts confirmed to be under-13s once their contest period passed
//! with no appeal open (by the one erasure: PostgreSQL, S3, ClickHouse),
//! keeping the decision without the person; and forgets the contact of
//! senders whose case closed `moderation.contact_kept` ago.

use std::time::Duration;

use cloudcast_core::states::ErasureReason;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{ModerationError, ModerationState};

/// What the record of an erased under-13's decision keeps: no word the
/// moderator wrote about the person.
const ERASED_RECORD: &str =
    "Confirmed to be under 13 (privacy policy section 12); the account was erased.";

/// One pass; returns (accounts erased, cases whose contact was forgotten).
pub async fn once(state: &ModerationState) -> Result<(usize, u64), ModerationError> {
    let due: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT d.id, d.user_id FROM account_decisions d
          WHERE d.state = 'in_force' AND d.action = 'erase_minor' AND d.erase_after <= now()
            AND d.user_id IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM account_appeals a
                             WHERE a.decision_id = d.id AND a.status = 'open')
          ORDER BY d.erase_after LIMIT 100",
    )
    .fetch_all(&state.pool)
    .await?;
    let mut erased = 0;
    for (decision, user) in due {
        match cloudcast_privacy::erasure::erase(
            &state.pool,
            &state.privacy.storage,
            user,
            ErasureReason::Under13,
        )
        .await
        {
            Ok(_) | Err(cloudcast_privacy::PrivacyError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
        // The account is gone (its id cleared by the foreign key); the
        // decision stays as the record of it.
        sqlx::query(
            "UPDATE account_decisions SET state = 'carried_out', ended_at = now(), reasons = $2
              WHERE id = $1",
        )
        .bind(decision)
        .bind(ERASED_RECORD)
        .execute(&state.pool)
        .await?;
        tracing::info!(decision_id = %decision, "under-13 account erased as decided");
        erased += 1;
    }
    let forgotten = sqlx::query(
        "UPDATE contact_cases SET name = NULL, email = NULL
          WHERE status = 'closed' AND closed_at <= now() - make_interval(secs => $1)
            AND (name IS NOT NULL OR email IS NOT NULL)",
    )
    .bind(state.config.contact_kept.as_secs_f64())
    .execute(&state.pool)
    .await?
    .rows_affected();
    Ok((erased, forgotten))
}

/// [`once`], every `every` until shutdown.
pub async fn run(state: ModerationState, every: Duration, shutdown: CancellationToken) {
    cloudcast_core::periodic::every("moderation_sweep", every, shutdown, || async {
        let (erased, forgotten) = once(&state).await?;
        if erased > 0 || forgotten > 0 {
            tracing::info!(erased, forgotten, "moderation sweep");
        }
        Ok::<(), ModerationError>(())
    })
    .await
}
