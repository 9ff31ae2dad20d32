//! The one writer of notifications, and the rule of what one may show.
//!
//! An event is written in the caller's transaction (so a rolled-back
//! follow tells nobody) into its recipients' open notification of the same
//! kind about the same object, or a new one: a group stays open while it is
//! unread and younger than [`GROUP_WINDOW_SECS`], so a burst is one
//! notification (and at most one mail). Nobody hears of their own doing,
//! of a minor's activity, of the follows, favourites and reposts of
//! someone who keeps their activity private, of an account waiting for
//! its mailed link or suspended, of someone they blocked or who blocked
//! them, or of
//! a cloudcast they do not own unless it is listed; a kind turned off is
//! not written. On commit, PostgreSQL wakes every node's live streams
//! (`LISTEN` on [`CHANNEL`]). The notifications crate reads, mails and
//! streams them.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::states::{Delivery, NotificationKind};
use crate::visibility;

/// The channel that wakes live streams: a recipient's id, or `*` for all.
pub const CHANNEL: &str = "cloudcast_notifications";

/// Events of one kind about one object within this span of the first are
/// one notification.
pub const GROUP_WINDOW_SECS: f64 = 3600.0;

/// Past this many recipients one event wakes every stream (`*`) instead of
/// naming each: a DJ with many followers publishing is one message.
const NAMED_WAKES: usize = 200;

/// Who hears of an event.
#[derive(Debug, Clone, Copy)]
pub enum To {
    User(Uuid),
    /// Everyone who follows this user.
    FollowersOf(Uuid),
}

impl To {
    /// The recipients as SQL over `$1`.
    fn sql(self) -> &'static str {
        match self {
            To::User(_) => "SELECT $1::uuid AS id",
            To::FollowersOf(_) => "SELECT follower_id AS id FROM follows WHERE followee_id = $1",
        }
    }

    fn id(self) -> Uuid {
        match self {
            To::User(u) | To::FollowersOf(u) => u,
        }
    }
}

/// Something that happened, for [`record`].
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub kind: NotificationKind,
    pub to: To,
    /// Who did it: never told of it, and a minor's doing tells nobody.
    pub actor: Option<Uuid>,
    /// What it is about; with the kind, what groups events.
    pub object: Uuid,
    /// The cloudcast it concerns: shown only while the recipient owns it or
    /// it is listed.
    pub cloudcast: Option<Uuid>,
    pub comment: Option<Uuid>,
    /// Words of its own (a moderator's decision, a processing error).
    pub detail: Option<&'a str>,
    /// Its cause mailed the recipient already (moderation decisions).
    pub mailed: bool,
}

impl<'a> Event<'a> {
    pub fn new(kind: NotificationKind, to: To, object: Uuid) -> Event<'a> {
        Event {
            kind,
            to,
            actor: None,
            object,
            cloudcast: None,
            comment: None,
            detail: None,
            mailed: false,
        }
    }

    pub fn by(mut self, actor: Uuid) -> Self {
        self.actor = Some(actor);
        self
    }

    pub fn about(mut self, cloudcast: Uuid) -> Self {
        self.cloudcast = Some(cloudcast);
        self
    }

    pub fn comment(mut self, comment: Uuid) -> Self {
        self.comment = Some(comment);
        self
    }

    pub fn detail(mut self, detail: &'a str) -> Self {
        self.detail = Some(detail);
        self
    }

    pub fn mailed(mut self) -> Self {
        self.mailed = true;
        self
    }
}

/// A change to how `user`'s account is entered (a sign-in factor added or
/// removed, an app connected): mailed to `email` at once, whatever the
/// settings, and notified on the site with `detail`, in the caller's
/// transaction.
pub async fn security_event(
    conn: &mut PgConnection,
    user: Uuid,
    email: &str,
    mail_kind: &str,
    subject: &str,
    body: &str,
    detail: &str,
) -> Result<(), sqlx::Error> {
    crate::outbox::queue(&mut *conn, Some(user), email, mail_kind, subject, body).await?;
    let told = Event::new(NotificationKind::Security, To::User(user), Uuid::now_v7())
        .detail(detail)
        .mailed();
    record(conn, &told).await?;
    Ok(())
}

/// Writes `e` for each of its recipients; returns how many were told.
pub async fn record(conn: &mut PgConnection, e: &Event<'_>) -> Result<usize, sqlx::Error> {
    // Groups past their window close first, so the insert below opens a
    // new one for those recipients instead of joining an old one.
    sqlx::query(
        "UPDATE notifications SET open = false
          WHERE open AND kind = $1 AND object_id = $2
            AND first_at < now() - make_interval(secs => $3)",
    )
    .bind(e.kind)
    .bind(e.object)
    .bind(GROUP_WINDOW_SECS)
    .execute(&mut *conn)
    .await?;
    let told: Vec<(Uuid, Uuid)> = sqlx::query_as(&format!(
        "WITH r AS ({recipients})
         INSERT INTO notifications (id, recipient_id, kind, object_id, cloudcast_id, detail, mailed_at)
         SELECT gen_random_uuid(), r.id, $2, $3, $4, $5, CASE WHEN $7 THEN now() END
           FROM r JOIN users u ON u.id = r.id
          WHERE r.id IS DISTINCT FROM $6 AND {active}
            AND ($6::uuid IS NULL OR EXISTS (SELECT 1 FROM users a WHERE a.id = $6 AND {public}))
            AND ($6::uuid IS NULL OR NOT {blocked})
            AND ($4::uuid IS NULL OR EXISTS (
                 SELECT 1 FROM cloudcasts c WHERE c.id = $4 AND (c.owner_id = r.id OR {listed})))
            AND NOT EXISTS (SELECT 1 FROM notification_settings s
                             WHERE s.user_id = r.id AND s.kind = $2 AND s.delivery = '{off}')
         ON CONFLICT (recipient_id, kind, object_id) WHERE open
         DO UPDATE SET last_at = now(), detail = COALESCE(EXCLUDED.detail, notifications.detail)
         RETURNING id, recipient_id",
        recipients = e.to.sql(),
        active = visibility::sql_account_active("u"),
        // Listening activity (follows, favourites, reposts) kept private
        // tells no one who; a comment is public whatever the switch.
        public = if matches!(
            e.kind,
            NotificationKind::Follower
                | NotificationKind::Favourite
                | NotificationKind::Repost
                | NotificationKind::FollowedRepost
        ) {
            visibility::sql_public_activity("a")
        } else {
            format!("(NOT a.is_minor AND {})", visibility::sql_account_active("a"))
        },
        listed = visibility::sql_listed("c"),
        blocked = visibility::sql_blocked("r.id", "$6"),
        off = Delivery::Off.as_str(),
    ))
    .bind(e.to.id())
    .bind(e.kind)
    .bind(e.object)
    .bind(e.cloudcast)
    .bind(e.detail)
    .bind(e.actor)
    .bind(e.mailed)
    .fetch_all(&mut *conn)
    .await?;
    if told.is_empty() {
        return Ok(0);
    }
    let (ids, recipients): (Vec<Uuid>, Vec<Uuid>) = told.into_iter().unzip();
    if let Some(actor) = e.actor {
        // One row per person: doing it again moves it to the top.
        sqlx::query(
            "INSERT INTO notification_events (notification_id, actor_id, comment_id)
             SELECT n, $2, $3 FROM unnest($1::uuid[]) n
             ON CONFLICT (notification_id, actor_id)
             DO UPDATE SET at = now(), comment_id = COALESCE(EXCLUDED.comment_id, notification_events.comment_id)",
        )
        .bind(&ids)
        .bind(actor)
        .bind(e.comment)
        .execute(&mut *conn)
        .await?;
    }
    wake(conn, &recipients).await?;
    Ok(recipients.len())
}

/// Takes `actor`'s part back from the open notifications of `kind` about
/// `object` (an unfollow, an unfavourite within the grouping window); a
/// notification left with nobody goes.
pub async fn withdraw(
    conn: &mut PgConnection,
    kind: NotificationKind,
    to: To,
    actor: Uuid,
    object: Uuid,
) -> Result<(), sqlx::Error> {
    let recipients: Vec<Uuid> = sqlx::query_scalar(&format!(
        "WITH r AS ({recipients}),
              gone AS (
                DELETE FROM notification_events e USING notifications n
                 WHERE e.notification_id = n.id AND n.open AND n.kind = $2 AND n.object_id = $3
                   AND e.actor_id = $4 AND n.recipient_id IN (SELECT id FROM r)
                RETURNING n.id, n.recipient_id)
         DELETE FROM notifications n USING gone
          WHERE n.id = gone.id
            AND NOT EXISTS (SELECT 1 FROM notification_events e
                             WHERE e.notification_id = n.id AND e.actor_id <> $4)
         RETURNING n.recipient_id",
        recipients = to.sql(),
    ))
    .bind(to.id())
    .bind(kind)
    .bind(object)
    .bind(actor)
    .fetch_all(&mut *conn)
    .await?;
    wake(conn, &recipients).await
}

/// Tells every node's live streams that these people's notifications
/// changed (on commit).
pub async fn wake(conn: &mut PgConnection, users: &[Uuid]) -> Result<(), sqlx::Error> {
    if users.is_empty() {
        return Ok(());
    }
    if users.len() > NAMED_WAKES {
        sqlx::query("SELECT pg_notify($1, '*')")
            .bind(CHANNEL)
            .execute(conn)
            .await?;
    } else {
        sqlx::query("SELECT pg_notify($1, r::text) FROM unnest($2::uuid[]) r")
            .bind(CHANNEL)
            .bind(users)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Kinds that have no actor: a notification of these stands alone.
pub const ACTORLESS: &[NotificationKind] = &[
    NotificationKind::Processed,
    NotificationKind::ProcessingFailed,
    NotificationKind::ExportReady,
    NotificationKind::Moderation,
    NotificationKind::Security,
];

/// In SQL: the notification row `alias` may be shown (and mailed) to its
/// recipient now. A cloudcast's notifications show while the recipient
/// owns it or it is listed, so a takedown, a mix made private or deleted
/// withdraws them; one caused by people shows while one of them remains
/// (an erased account, a deleted comment take theirs away).
pub fn sql_shown(alias: &str) -> String {
    let actorless: Vec<String> = ACTORLESS
        .iter()
        .map(|k| format!("'{}'", k.as_str()))
        .collect();
    format!(
        "(({alias}.cloudcast_id IS NULL OR EXISTS (
             SELECT 1 FROM cloudcasts sc WHERE sc.id = {alias}.cloudcast_id
                AND (sc.owner_id = {alias}.recipient_id OR {listed})))
          AND ({alias}.kind IN ({kinds}) OR EXISTS (
             SELECT 1 FROM notification_events se WHERE se.notification_id = {alias}.id)))",
        listed = visibility::sql_listed("sc"),
        kinds = actorless.join(", "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shown_rule_names_its_row_and_every_actorless_kind() {
        let sql = sql_shown("n");
        assert!(sql.contains("n.cloudcast_id") && sql.contains("se.notification_id = n.id"));
        for k in ACTORLESS {
            assert!(sql.contains(&format!("'{}'", k.as_str())), "{k}");
        }
        assert!(!sql.contains("'follower'"));
    }

    #[test]
    fn followers_are_read_from_follows() {
        assert!(
            To::FollowersOf(Uuid::nil())
                .sql()
                .contains("followee_id = $1")
        );
        assert_eq!(To::User(Uuid::from_u128(7)).id(), Uuid::from_u128(7));
    }
}
