//! New mixes, told to their DJ's followers once, when first listed: ready,
//! public, published and not taken down, whichever came last (processing
//! finished, a draft published, a scheduled time reached, a private mix
//! made public). A sweep finds them, so a scheduled mix is announced when
//! its time comes without anyone acting.

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use cloudcast_core::notify::{self, Event, To};
use cloudcast_core::states::NotificationKind;
use cloudcast_core::visibility;

/// Mixes announced per round; the next round takes the rest.
const BATCH: i64 = 50;

/// Runs [`announce_due`] every `notifications.announce_secs` until `shutdown`.
pub async fn run(pool: PgPool, every: std::time::Duration, shutdown: CancellationToken) {
    cloudcast_core::periodic::every("announce_mixes", every, shutdown, || async {
        announce_due(&pool).await.map(|_| ())
    })
    .await
}

/// Announces every mix listed and not yet announced; returns how many.
pub async fn announce_due(pool: &PgPool) -> Result<usize, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // SKIP LOCKED: nodes sweeping together each take their own mixes.
    let due: Vec<(Uuid, Uuid)> = sqlx::query_as(&format!(
        "SELECT c.id, c.owner_id FROM cloudcasts c
          WHERE c.announced_at IS NULL AND {listed}
          ORDER BY c.listed_at LIMIT $1 FOR UPDATE SKIP LOCKED",
        listed = visibility::sql_listed("c"),
    ))
    .bind(BATCH)
    .fetch_all(&mut *tx)
    .await?;
    for &(cloudcast, owner) in &due {
        let published = Event::new(NotificationKind::NewMix, To::FollowersOf(owner), cloudcast)
            .by(owner)
            .about(cloudcast);
        notify::record(&mut tx, &published).await?;
        sqlx::query("UPDATE cloudcasts SET announced_at = now() WHERE id = $1")
            .bind(cloudcast)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(due.len())
}
