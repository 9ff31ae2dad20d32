//! Notifications by mail, written to the outbox by one periodic sweep on
//! every API node (rows are taken `FOR UPDATE SKIP LOCKED`, so nodes never
//! mail one twice): at once for the kinds a person has on `mail` (a group
//! is mailed once, at its first event), and a digest per person for the
//! kinds on `daily` or `weekly`, due a period after the last one (or after
//! the oldest event it gathers). What may no longer be shown (a takedown
//! meanwhile) is not mailed. Every mail but a moderation decision carries
//! a one-click `List-Unsubscribe`.

use std::time::Duration;

use sqlx::PgConnection;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use cloudcast_core::notify;
use cloudcast_core::outbox;
use cloudcast_core::states::{Delivery, NotificationKind};

use crate::kinds;
use crate::list::{NotificationView, Row, select};
use crate::settings::{Leave, token};
use crate::{NotificationsError, NotificationsState};

/// Notifications written to the outbox per round, at once and per digest.
const BATCH: i64 = 200;
/// Items a digest lists by name; the rest are counted.
const DIGEST_LISTS: usize = 50;
/// Older notifications than this are never mailed (switching a kind to
/// mail does not send last month's).
const MAIL_HORIZON: Duration = Duration::from_secs(8 * 24 * 3600);

/// In SQL: how the recipient of notification `n` hears of its kind (their
/// choice, else the kind's default from `kinds::default_delivery`).
fn sql_delivery() -> String {
    let defaults: Vec<String> = NotificationKind::ALL
        .iter()
        .map(|k| {
            format!(
                "WHEN '{}' THEN '{}'",
                k.as_str(),
                kinds::default_delivery(*k).as_str()
            )
        })
        .collect();
    format!(
        "COALESCE((SELECT s.delivery FROM notification_settings s
                    WHERE s.user_id = n.recipient_id AND s.kind = n.kind
                      AND n.kind <> '{moderation}'),
                  CASE n.kind {} END)",
        defaults.join(" "),
        moderation = NotificationKind::Moderation.as_str(),
    )
}

/// Runs [`send_due`] every `notifications.mail_secs` until `shutdown`.
pub async fn run(state: NotificationsState, shutdown: CancellationToken) {
    let every = state.config.mail;
    cloudcast_core::periodic::every("notification_mail", every, shutdown, || async {
        send_due(&state, OffsetDateTime::now_utc())
            .await
            .map(|_| ())
    })
    .await
}

/// What one round wrote.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Sent {
    pub at_once: u64,
    pub digests: u64,
}

/// Writes every mail due at `now` (a parameter, so a digest a day away
/// can be made due in a test).
pub async fn send_due(
    state: &NotificationsState,
    now: OffsetDateTime,
) -> Result<Sent, NotificationsError> {
    let mut sent = Sent {
        at_once: at_once(state, now).await?,
        ..Sent::default()
    };
    for cadence in [Delivery::Daily, Delivery::Weekly] {
        sent.digests += digests(state, now, cadence).await?;
    }
    crate::metrics::mailed("at_once", sent.at_once);
    crate::metrics::mailed("digest", sent.digests);
    Ok(sent)
}

/// The recipient's address and name.
async fn address(
    conn: &mut PgConnection,
    user: Uuid,
) -> Result<Option<(String, String)>, sqlx::Error> {
    sqlx::query_as("SELECT email, username FROM users WHERE id = $1")
        .bind(user)
        .fetch_optional(conn)
        .await
}

fn footer(state: &NotificationsState, unsubscribe: Option<&str>) -> String {
    let base = &state.public_url;
    let mut f = format!(
        "\n--\nAll your notifications: {base}/notifications\n\
         Choose what reaches you by mail: {base}/settings#notifications\n"
    );
    if let Some(u) = unsubscribe {
        f.push_str(&format!("Stop these mails with one click: {u}\n"));
    }
    f
}

fn line(state: &NotificationsState, v: &NotificationView) -> String {
    let mut l = format!("- {}\n  {}{}\n", v.text, state.public_url, v.url);
    if let Some(c) = &v.comment {
        l.push_str(&format!("  “{c}”\n"));
    }
    l
}

async fn at_once(
    state: &NotificationsState,
    now: OffsetDateTime,
) -> Result<u64, NotificationsError> {
    let mut tx = state.pool.begin().await?;
    let due: Vec<Uuid> = sqlx::query_scalar(&format!(
        "SELECT n.id FROM notifications n
          WHERE n.mailed_at IS NULL AND n.first_at > $1 AND {delivery} = '{mail}' AND {shown}
          ORDER BY n.first_at LIMIT $2 FOR UPDATE OF n SKIP LOCKED",
        delivery = sql_delivery(),
        mail = Delivery::Mail.as_str(),
        shown = notify::sql_shown("n"),
    ))
    .bind(now - MAIL_HORIZON)
    .bind(BATCH)
    .fetch_all(&mut *tx)
    .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let rows: Vec<Row> = sqlx::query_as(&select("n.id = ANY($1)"))
        .bind(&due)
        .fetch_all(&mut *tx)
        .await?;
    let mut sent = 0;
    for row in rows {
        let (user, kind) = (row.recipient_id, row.kind);
        let Some((email, username)) = address(&mut tx, user).await? else {
            continue;
        };
        let v = row.view();
        let unsubscribe = (kind != NotificationKind::Moderation).then(|| {
            format!(
                "{}/unsubscribe/{}",
                state.public_url,
                token(&state.unsubscribe_key, user, Leave::Kind(kind))
            )
        });
        let body = format!(
            "Hello {username},\n\n{}{}",
            line(state, &v),
            footer(state, unsubscribe.as_deref())
        );
        outbox::queue_leavable(
            &mut tx,
            Some(user),
            &email,
            "notification",
            &v.text,
            &body,
            unsubscribe.as_deref(),
        )
        .await?;
        sent += 1;
    }
    sqlx::query("UPDATE notifications SET mailed_at = $2 WHERE id = ANY($1)")
        .bind(&due)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(sent)
}

fn period(cadence: Delivery) -> Duration {
    match cadence {
        Delivery::Weekly => Duration::from_secs(7 * 24 * 3600),
        _ => Duration::from_secs(24 * 3600),
    }
}

/// Every person whose `cadence` digest is due, one mail each.
async fn digests(
    state: &NotificationsState,
    now: OffsetDateTime,
    cadence: Delivery,
) -> Result<u64, NotificationsError> {
    let period = period(cadence);
    // Due: a period since the last digest, or (never sent) since the
    // oldest event waiting for one.
    let due: Vec<Uuid> = sqlx::query_scalar(&format!(
        "SELECT n.recipient_id FROM notifications n
           LEFT JOIN notification_digests d ON d.user_id = n.recipient_id AND d.cadence = $3
          WHERE n.mailed_at IS NULL AND n.first_at > $1 AND {delivery} = $3 AND {shown}
          GROUP BY n.recipient_id, d.sent_at
         HAVING COALESCE(d.sent_at, min(n.first_at)) <= $2
          LIMIT $4",
        delivery = sql_delivery(),
        shown = notify::sql_shown("n"),
    ))
    .bind(now - period - period)
    .bind(now - period)
    .bind(cadence.as_str())
    .bind(BATCH)
    .fetch_all(&state.pool)
    .await?;
    let mut sent = 0;
    for user in due {
        if digest(state, now, cadence, user).await? {
            sent += 1;
        }
    }
    Ok(sent)
}

/// One person's digest; false when another node took it meanwhile.
async fn digest(
    state: &NotificationsState,
    now: OffsetDateTime,
    cadence: Delivery,
    user: Uuid,
) -> Result<bool, NotificationsError> {
    let period = period(cadence);
    let mut tx = state.pool.begin().await?;
    let ids: Vec<Uuid> = sqlx::query_scalar(&format!(
        "SELECT n.id FROM notifications n
          WHERE n.recipient_id = $1 AND n.mailed_at IS NULL AND n.first_at > $2
            AND {delivery} = $3 AND {shown}
          FOR UPDATE OF n SKIP LOCKED",
        delivery = sql_delivery(),
        shown = notify::sql_shown("n"),
    ))
    .bind(user)
    .bind(now - period - period)
    .bind(cadence.as_str())
    .fetch_all(&mut *tx)
    .await?;
    let Some((email, username)) = address(&mut tx, user).await? else {
        return Ok(false);
    };
    if ids.is_empty() {
        return Ok(false);
    }
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{} ORDER BY n.last_at DESC, n.id DESC",
        select("n.id = ANY($1)")
    ))
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    let views: Vec<NotificationView> = rows.into_iter().map(Row::view).collect();
    let word = if cadence == Delivery::Weekly {
        "week"
    } else {
        "day"
    };
    let mut body = format!("Hello {username},\n\nWhat happened this {word}:\n\n");
    for v in views.iter().take(DIGEST_LISTS) {
        body.push_str(&line(state, v));
    }
    if views.len() > DIGEST_LISTS {
        body.push_str(&format!("…and {} more.\n", views.len() - DIGEST_LISTS));
    }
    let unsubscribe = format!(
        "{}/unsubscribe/{}",
        state.public_url,
        token(&state.unsubscribe_key, user, Leave::Digest(cadence))
    );
    body.push_str(&footer(state, Some(&unsubscribe)));
    let subject = match views.len() {
        1 => format!("Your {word} on Cloudcast: 1 notification"),
        n => format!("Your {word} on Cloudcast: {n} notifications"),
    };
    outbox::queue_leavable(
        &mut tx,
        Some(user),
        &email,
        "notification_digest",
        &subject,
        &body,
        Some(&unsubscribe),
    )
    .await?;
    sqlx::query("UPDATE notifications SET mailed_at = $2 WHERE id = ANY($1)")
        .bind(&ids)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO notification_digests (user_id, cadence, sent_at) VALUES ($1, $2, $3)
         ON CONFLICT (user_id, cadence) DO UPDATE SET sent_at = EXCLUDED.sent_at",
    )
    .bind(user)
    .bind(cadence.as_str())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_default_in_the_sql() {
        let sql = sql_delivery();
        for k in NotificationKind::ALL {
            assert!(
                sql.contains(&format!(
                    "WHEN '{}' THEN '{}'",
                    k.as_str(),
                    kinds::default_delivery(*k).as_str()
                )),
                "{k}"
            );
        }
        // A moderation row (should one exist) never overrides the default.
        assert!(sql.contains("n.kind <> 'moderation'"));
    }

    #[test]
    fn a_digest_comes_once_a_period() {
        assert_eq!(period(Delivery::Daily), Duration::from_secs(86_400));
        assert_eq!(period(Delivery::Weekly), Duration::from_secs(604_800));
    }
}
