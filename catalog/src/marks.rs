//! What a user marks a cloudcast with: a favourite, a repost, a "listen
//! later". One set of rules for the three (`favourites.rs`, `reposts.rs`,
//! `listen_later.rs` hold their routes): only a cloudcast the user may see
//! can be marked; marking twice is marking once; favourites and reposts are
//! also events (`*_events`) the analytics node copies to ClickHouse; lists
//! are keyset pages of cards, newest mark first.

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use cloudcast_core::notify::{self, To};
use cloudcast_core::page::{self, Page};
use cloudcast_core::states::NotificationKind;
use cloudcast_core::visibility::{self, Access};

use crate::cards::{CARD_COLUMNS, CardRow, CloudcastCard};
use crate::lists::{Listing, PageQuery};
use crate::{CatalogError, CatalogState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    Favourite,
    Repost,
    ListenLater,
}

impl Mark {
    fn table(self) -> &'static str {
        match self {
            Mark::Favourite => "favourites",
            Mark::Repost => "reposts",
            Mark::ListenLater => "listen_later",
        }
    }

    /// The event log ClickHouse copies; listen-later is private and has none.
    fn events(self) -> Option<&'static str> {
        match self {
            Mark::Favourite => Some("favourite_events"),
            Mark::Repost => Some("repost_events"),
            Mark::ListenLater => None,
        }
    }
}

/// The outcome of a change: whether the caller may see the count.
pub(crate) struct Changed {
    pub count: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct Target {
    #[sqlx(flatten)]
    access: Access,
    hide_stats: bool,
}

/// Sets (`on`) or clears `user`'s mark on `id`; idempotent either way.
pub(crate) async fn set(
    state: &CatalogState,
    mark: Mark,
    user: Uuid,
    id: Uuid,
    on: bool,
) -> Result<Changed, CatalogError> {
    let target: Option<Target> = sqlx::query_as(&format!(
        "SELECT {}, hide_stats FROM cloudcasts WHERE id = $1",
        visibility::ACCESS_COLUMNS
    ))
    .bind(id)
    .fetch_optional(&state.pool)
    .await?;
    // Clearing a mark works whatever became of the cloudcast; setting one
    // needs a cloudcast the user may see.
    let hide = match &target {
        Some(t) if t.access.visible_to(Some(user)) => {
            if on && mark == Mark::Repost && t.access.owner_id == user {
                return Err(CatalogError::OwnRepost);
            }
            t.hide_stats && t.access.owner_id != user
        }
        _ if on => return Err(CatalogError::NotFound("cloudcast")),
        _ => true,
    };
    let table = mark.table();
    let mut tx = state.pool.begin().await?;
    let sql = if on {
        format!(
            "INSERT INTO {table} (user_id, cloudcast_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        )
    } else {
        format!("DELETE FROM {table} WHERE user_id = $1 AND cloudcast_id = $2")
    };
    let changed = sqlx::query(&sql)
        .bind(user)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| match &e {
            // Deleted meanwhile.
            sqlx::Error::Database(d) if d.is_foreign_key_violation() => {
                CatalogError::NotFound("cloudcast")
            }
            _ => CatalogError::Database(e),
        })?
        .rows_affected();
    // Only a real change is an event, so repeated PUTs count once.
    if let (1, Some(t)) = (changed, &target) {
        tell(&mut tx, mark, user, id, t.access.owner_id, on).await?;
    }
    if let (1, Some(events)) = (changed, mark.events()) {
        sqlx::query(&format!(
            "INSERT INTO {events} (user_id, cloudcast_id, delta) VALUES ($1, $2, $3)"
        ))
        .bind(user)
        .bind(id)
        .bind(if on { 1i16 } else { -1 })
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    let count = if hide {
        None
    } else {
        Some(
            sqlx::query_scalar(&format!(
                "SELECT count(*) FROM {table} WHERE cloudcast_id = $1"
            ))
            .bind(id)
            .fetch_one(&state.pool)
            .await?,
        )
    };
    Ok(Changed { count })
}

/// Who hears of a mark: the DJ of a favourite or a repost, and the
/// reposter's followers of a repost; a mark taken back is withdrawn.
async fn tell(
    conn: &mut sqlx::PgConnection,
    mark: Mark,
    user: Uuid,
    cloudcast: Uuid,
    owner: Uuid,
    on: bool,
) -> Result<(), sqlx::Error> {
    let told: &[(NotificationKind, To)] = match mark {
        Mark::Favourite => &[(NotificationKind::Favourite, To::User(owner))],
        Mark::Repost => &[
            (NotificationKind::Repost, To::User(owner)),
            (NotificationKind::FollowedRepost, To::FollowersOf(user)),
        ],
        Mark::ListenLater => &[],
    };
    for &(kind, to) in told {
        if on {
            let e = notify::Event::new(kind, to, cloudcast)
                .by(user)
                .about(cloudcast);
            notify::record(conn, &e).await?;
        } else {
            notify::withdraw(conn, kind, to, user, cloudcast).await?;
        }
    }
    Ok(())
}

/// A cloudcast in a list of marks, with when it was marked.
#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Marked {
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    pub cloudcast: CloudcastCard,
}

#[derive(sqlx::FromRow)]
struct MarkedRow {
    #[sqlx(flatten)]
    card: CardRow,
    marked_at: OffsetDateTime,
}

/// `user`'s marks, newest first: as the public sees them (`public`: listed
/// cloudcasts only) or as `user` sees their own.
pub(crate) async fn list(
    state: &CatalogState,
    mark: Mark,
    user: Uuid,
    public: bool,
    q: PageQuery,
) -> Result<Listing<Marked>, CatalogError> {
    let page: Page<(i64, Uuid)> = Page::new(q.limit, q.cursor.as_deref())?;
    let filter = if public {
        visibility::sql_listed("c")
    } else {
        visibility::sql_visible("c", "$1")
    };
    let keyset = if page.after.is_some() {
        " AND (m.created_at, m.cloudcast_id) < ($3, $4)"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {CARD_COLUMNS}, m.created_at AS marked_at
           FROM {table} m JOIN cloudcasts c ON c.id = m.cloudcast_id
           JOIN users u ON u.id = c.owner_id
          WHERE m.user_id = $1 AND {filter}{keyset}
          ORDER BY m.created_at DESC, m.cloudcast_id DESC LIMIT $2",
        table = mark.table()
    );
    let mut query = sqlx::query_as::<_, MarkedRow>(&sql)
        .bind(user)
        .bind(page.fetch());
    if let Some((us, id)) = page.after {
        query = query.bind(page::from_micros(us)?).bind(id);
    }
    let rows = query.fetch_all(&state.pool).await?;
    let (rows, next_cursor) =
        page::finish(rows, page.limit, |r| (page::micros(r.marked_at), r.card.id));
    let viewer = (!public).then_some(user);
    Ok(Listing {
        items: rows
            .into_iter()
            .map(|r| Marked {
                at: r.marked_at,
                cloudcast: r.card.card(viewer, false),
            })
            .collect(),
        next_cursor,
    })
}
