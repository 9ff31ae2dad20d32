//! My notifications: the list (newest event first, paged by cursor), the
//! unread count, and marking them read. What is shown is decided as it is
//! read (`cloudcast_core::notify::sql_shown`), so a cause withdrawn (a
//! takedown, a mix made private, a deleted comment, an erased account)
//! takes its notification with it.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use cloudcast_catalog::cards;
use cloudcast_core::auth::AuthUser;
use cloudcast_core::extract::{ApiPath, ApiQuery};
use cloudcast_core::notify;
use cloudcast_core::page::{self, Page};
use cloudcast_core::states::{NotificationKind, Visibility};

use crate::kinds;
use crate::{NotificationsError, NotificationsState};

/// One notification: what happened (its words and where it leads), who did
/// it (the newest three by name, and how many in all), and when.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NotificationView {
    pub id: Uuid,
    pub kind: NotificationKind,
    pub unread: bool,
    /// What it says: "ana and 4 others favourited “Dawn”".
    pub text: String,
    /// The page it is about, on this site.
    pub url: String,
    /// The newest people who did it, newest first (at most three).
    pub actors: Vec<String>,
    /// Everyone who did it.
    pub actor_count: i64,
    /// The cloudcast it concerns, by title.
    pub cloudcast_title: Option<String>,
    /// The newest comment's words (comments, replies, mentions).
    pub comment: Option<String>,
    /// Its first event.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub first_at: OffsetDateTime,
    /// Its newest event; the list's order.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
}

/// A page of notifications.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NotificationPage {
    pub items: Vec<NotificationView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// Unread notifications in all (not only on this page).
    pub unread: i64,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Unread {
    pub unread: i64,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// 1 to 100; 20 when absent.
    pub limit: Option<u32>,
    /// `next_cursor` of the page before.
    pub cursor: Option<String>,
    /// Only the unread ones.
    #[serde(default)]
    pub unread: bool,
}

#[derive(sqlx::FromRow)]
pub(crate) struct Row {
    pub id: Uuid,
    pub recipient_id: Uuid,
    pub recipient: String,
    pub kind: NotificationKind,
    pub read_at: Option<OffsetDateTime>,
    pub detail: Option<String>,
    pub first_at: OffsetDateTime,
    pub last_at: OffsetDateTime,
    pub cloudcast_id: Option<Uuid>,
    pub title: Option<String>,
    pub slug: Option<String>,
    pub owner: Option<String>,
    pub visibility: Option<Visibility>,
    pub secret: Option<String>,
    pub actor_count: i64,
    pub actors: Vec<String>,
    pub comment: Option<String>,
    pub comment_id: Option<Uuid>,
    /// Whose profile the comment is on (a comment on a profile).
    pub profile: Option<String>,
}

/// The columns of [`Row`], over `notifications n` joined as [`FROM`] joins.
const COLUMNS: &str = "n.id, n.recipient_id, me.username AS recipient, n.kind, n.read_at, n.detail,
    n.first_at, n.last_at, n.cloudcast_id, c.title, c.slug, o.username AS owner,
    c.visibility, c.secret,
    (SELECT count(*) FROM notification_events e WHERE e.notification_id = n.id) AS actor_count,
    ARRAY(SELECT u.username FROM notification_events e JOIN users u ON u.id = e.actor_id
           WHERE e.notification_id = n.id ORDER BY e.at DESC LIMIT 3) AS actors,
    (SELECT cm.body FROM notification_events e JOIN comments cm ON cm.id = e.comment_id
      WHERE e.notification_id = n.id ORDER BY e.at DESC LIMIT 1) AS comment,
    (SELECT e.comment_id FROM notification_events e
      WHERE e.notification_id = n.id AND e.comment_id IS NOT NULL ORDER BY e.at DESC LIMIT 1) AS comment_id,
    (SELECT pu.username FROM notification_events e JOIN comments cm ON cm.id = e.comment_id
       JOIN users pu ON pu.id = cm.profile_id
      WHERE e.notification_id = n.id ORDER BY e.at DESC LIMIT 1) AS profile";

const FROM: &str = "notifications n JOIN users me ON me.id = n.recipient_id
    LEFT JOIN cloudcasts c ON c.id = n.cloudcast_id LEFT JOIN users o ON o.id = c.owner_id";

/// The notifications of `where_` (SQL over `n`, with its own parameters
/// from `$1`), shown ones only, newest first.
pub(crate) fn select(where_: &str) -> String {
    format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE {where_} AND {shown}",
        shown = notify::sql_shown("n")
    )
}

/// Longest comment excerpt a notification carries.
const EXCERPT_CHARS: usize = 140;

impl Row {
    /// Where the notification leads, on this site.
    fn url(&self) -> String {
        let mix = match (
            &self.cloudcast_id,
            &self.owner,
            &self.visibility,
            &self.secret,
        ) {
            (Some(id), Some(owner), Some(v), Some(secret)) => {
                Some(cards::url(owner, self.slug.as_deref(), *id, *v, secret))
            }
            _ => None,
        };
        let at_comment = |mix: String| match self.comment_id {
            Some(c) => format!("{mix}#comment-{c}"),
            None => mix,
        };
        match (self.kind, mix) {
            (NotificationKind::Follower, _) => format!("/{}/followers", self.recipient),
            (NotificationKind::ExportReady, _) => "/settings#export".into(),
            (NotificationKind::Security, _) => "/settings#security".into(),
            (NotificationKind::ProcessingFailed, _) => "/upload".into(),
            (NotificationKind::ProfileComment, _) => at_comment(format!("/{}", self.recipient)),
            (NotificationKind::Reply | NotificationKind::Mention, None)
                if self.profile.is_some() =>
            {
                at_comment(format!("/{}", self.profile.as_deref().unwrap_or_default()))
            }
            (
                NotificationKind::Comment | NotificationKind::Reply | NotificationKind::Mention,
                Some(mix),
            ) => at_comment(mix),
            (_, Some(mix)) => mix,
            (_, None) => "/notifications".into(),
        }
    }

    pub(crate) fn view(self) -> NotificationView {
        let text = kinds::summary(
            self.kind,
            &self.actors,
            self.actor_count,
            self.title.as_deref(),
            self.profile.as_deref(),
            self.detail.as_deref(),
        );
        let url = self.url();
        NotificationView {
            id: self.id,
            kind: self.kind,
            unread: self.read_at.is_none(),
            text,
            url,
            actors: self.actors,
            actor_count: self.actor_count,
            cloudcast_title: self.title,
            comment: self
                .comment
                .map(|c| cloudcast_core::text::excerpt(&c, EXCERPT_CHARS)),
            first_at: self.first_at,
            at: self.last_at,
        }
    }
}

/// `user`'s unread notifications that may be shown.
pub async fn unread_of(conn: &mut PgConnection, user: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(&format!(
        "SELECT count(*) FROM notifications n
          WHERE n.recipient_id = $1 AND n.read_at IS NULL AND {}",
        notify::sql_shown("n")
    ))
    .bind(user)
    .fetch_one(conn)
    .await
}

/// `GET /api/v1/me/notifications`
#[utoipa::path(get, path = "/api/v1/me/notifications", tag = "notifications", operation_id = "my_notifications",
    summary = "My notifications, newest event first",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of notifications, and the unread count", body = NotificationPage),
        (status = 400, description = "A bad limit or cursor", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn list(
    State(state): State<NotificationsState>,
    AuthUser(me): AuthUser,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<NotificationPage>, NotificationsError> {
    let page: Page<(i64, Uuid)> = Page::new(q.limit, q.cursor.as_deref())?;
    let keyset = if page.after.is_some() {
        " AND (n.last_at, n.id) < ($4, $5)"
    } else {
        ""
    };
    let sql = format!(
        "{} ORDER BY n.last_at DESC, n.id DESC LIMIT $2",
        select(&format!(
            "n.recipient_id = $1 AND (NOT $3 OR n.read_at IS NULL){keyset}"
        ))
    );
    let mut query = sqlx::query_as::<_, Row>(&sql)
        .bind(me)
        .bind(page.fetch())
        .bind(q.unread);
    if let Some((us, id)) = page.after {
        query = query.bind(page::from_micros(us)?).bind(id);
    }
    let mut conn = state.pool.acquire().await?;
    let rows = query.fetch_all(&mut *conn).await?;
    let (rows, next_cursor) = page::finish(rows, page.limit, |r| (page::micros(r.last_at), r.id));
    Ok(Json(NotificationPage {
        items: rows.into_iter().map(Row::view).collect(),
        next_cursor,
        unread: unread_of(&mut conn, me).await?,
    }))
}

/// `GET /api/v1/me/notifications/unread`
#[utoipa::path(get, path = "/api/v1/me/notifications/unread", tag = "notifications", operation_id = "unread_notifications",
    summary = "How many of my notifications are unread (what the bell shows; a page polls it when it cannot keep a stream)",
    responses(
        (status = 200, description = "The unread count", body = Unread),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn unread(
    State(state): State<NotificationsState>,
    AuthUser(me): AuthUser,
) -> Result<Json<Unread>, NotificationsError> {
    let mut conn = state.pool.acquire().await?;
    Ok(Json(Unread {
        unread: unread_of(&mut conn, me).await?,
    }))
}

/// `POST /api/v1/me/notifications/{id}/read`
#[utoipa::path(post, path = "/api/v1/me/notifications/{id}/read", tag = "notifications", operation_id = "read_notification",
    summary = "Mark one of my notifications read (idempotent)",
    params(("id" = Uuid, Path, description = "The notification")),
    responses(
        (status = 200, description = "Read; the unread count now", body = Unread),
        (status = 400, description = "Not an id", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such notification of mine", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn read_one(
    State(state): State<NotificationsState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Unread>, NotificationsError> {
    let mut tx = state.pool.begin().await?;
    // Read, it gathers no more events: the next one starts a new one.
    let found = sqlx::query(
        "UPDATE notifications SET read_at = COALESCE(read_at, now()), open = false
          WHERE id = $1 AND recipient_id = $2",
    )
    .bind(id)
    .bind(me)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if found == 0 {
        return Err(NotificationsError::NotFound("notification"));
    }
    notify::wake(&mut tx, &[me]).await?;
    let unread = unread_of(&mut tx, me).await?;
    tx.commit().await?;
    Ok(Json(Unread { unread }))
}

/// `POST /api/v1/me/notifications/read`
#[utoipa::path(post, path = "/api/v1/me/notifications/read", tag = "notifications", operation_id = "read_all_notifications",
    summary = "Mark all my notifications read",
    responses(
        (status = 200, description = "All read", body = Unread),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn read_all(
    State(state): State<NotificationsState>,
    AuthUser(me): AuthUser,
) -> Result<Json<Unread>, NotificationsError> {
    let mut tx = state.pool.begin().await?;
    sqlx::query(
        "UPDATE notifications SET read_at = now(), open = false
          WHERE recipient_id = $1 AND read_at IS NULL",
    )
    .bind(me)
    .execute(&mut *tx)
    .await?;
    notify::wake(&mut tx, &[me]).await?;
    tx.commit().await?;
    Ok(Json(Unread { unread: 0 }))
}
