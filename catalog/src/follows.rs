//! Follows and the feed. Following is public activity: anyone may see
//! whom an adult follows and who follows them; a minor's follow lists are
//! never shown, and a minor never appears in anyone else's list. The feed
//! is my own: new uploads and reposts of the people I follow.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use cloudcast_core::auth::{AuthUser, MaybeUser};
use cloudcast_core::extract::{ApiPath, ApiQuery};
use cloudcast_core::notify::{self, To};
use cloudcast_core::page::{self, Page};
use cloudcast_core::states::NotificationKind;
use cloudcast_core::visibility;

use crate::cards::{CARD_COLUMNS, CardRow, CloudcastCard};
use crate::lists::{Listing, PageQuery, user_named};
use crate::{CatalogError, CatalogState};

#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct FollowState {
    pub username: String,
    pub following: bool,
    /// I blocked them (answered by `GET`; a block ends follows both ways).
    #[serde(default)]
    pub blocked: bool,
    /// Their followers now (minors not counted); `null` for a minor, whose
    /// follow lists are never public.
    pub followers: Option<i64>,
}

/// Followers of `user` that may be shown (never minors); None when `user`
/// is a minor.
async fn followers_of(pool: &sqlx::PgPool, user: Uuid) -> Result<Option<i64>, CatalogError> {
    Ok(sqlx::query_scalar(&format!(
        "SELECT CASE WHEN {me} THEN
                  (SELECT count(*) FROM follows f JOIN users u ON u.id = f.follower_id
                    WHERE f.followee_id = me.id AND {them}) END
           FROM users me WHERE me.id = $1",
        me = visibility::sql_public_activity("me"),
        them = visibility::sql_public_activity("u"),
    ))
    .bind(user)
    .fetch_one(pool)
    .await?)
}

/// `PUT /api/v1/users/{username}/follow` (idempotent).
#[utoipa::path(put, path = "/api/v1/users/{username}/follow", tag = "follows",
    summary = "Follow a user (idempotent)",
    params(("username" = String, Path, description = "Whom to follow (any case)")),
    responses(
        (status = 200, description = "Following", body = FollowState),
        (status = 400, description = "That is me (`self_follow`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 403, description = "One of us blocked the other (`blocked`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such user", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn follow(
    State(state): State<CatalogState>,
    AuthUser(me): AuthUser,
    ApiPath(username): ApiPath<String>,
) -> Result<Json<FollowState>, CatalogError> {
    let (them, name) = user_named(&state.pool, &username).await?;
    if them == me {
        return Err(CatalogError::SelfFollow);
    }
    let mut tx = state.pool.begin().await?;
    crate::blocks::refuse_if_blocked(&mut tx, me, them).await?;
    let new = sqlx::query(
        "INSERT INTO follows (follower_id, followee_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(me)
    .bind(them)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if new {
        let followed = notify::Event::new(NotificationKind::Follower, To::User(them), them).by(me);
        notify::record(&mut tx, &followed).await?;
    }
    tx.commit().await?;
    Ok(Json(FollowState {
        username: name,
        following: true,
        blocked: false,
        followers: followers_of(&state.pool, them).await?,
    }))
}

/// `GET /api/v1/users/{username}/follow`: do I follow them?
#[utoipa::path(get, path = "/api/v1/users/{username}/follow", tag = "follows",
    summary = "Whether I follow a user",
    params(("username" = String, Path, description = "The user (any case)")),
    responses(
        (status = 200, description = "Whether I follow them, and their follower count", body = FollowState),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such user", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn follow_state(
    State(state): State<CatalogState>,
    AuthUser(me): AuthUser,
    ApiPath(username): ApiPath<String>,
) -> Result<Json<FollowState>, CatalogError> {
    let (them, name) = user_named(&state.pool, &username).await?;
    let following: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM follows WHERE follower_id = $1 AND followee_id = $2)",
    )
    .bind(me)
    .bind(them)
    .fetch_one(&state.pool)
    .await?;
    Ok(Json(FollowState {
        username: name,
        following,
        blocked: crate::blocks::i_blocked(&state.pool, me, them).await?,
        followers: followers_of(&state.pool, them).await?,
    }))
}

/// `DELETE /api/v1/users/{username}/follow` (idempotent).
#[utoipa::path(delete, path = "/api/v1/users/{username}/follow", tag = "follows",
    summary = "Stop following a user (idempotent)",
    params(("username" = String, Path, description = "Whom to unfollow (any case)")),
    responses(
        (status = 200, description = "Not (or no longer) following", body = FollowState),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such user", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn unfollow(
    State(state): State<CatalogState>,
    AuthUser(me): AuthUser,
    ApiPath(username): ApiPath<String>,
) -> Result<Json<FollowState>, CatalogError> {
    let (them, name) = user_named(&state.pool, &username).await?;
    let mut tx = state.pool.begin().await?;
    sqlx::query("DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2")
        .bind(me)
        .bind(them)
        .execute(&mut *tx)
        .await?;
    // Followed and gone within the hour: they need not hear of it.
    notify::withdraw(
        &mut tx,
        NotificationKind::Follower,
        To::User(them),
        me,
        them,
    )
    .await?;
    tx.commit().await?;
    Ok(Json(FollowState {
        username: name,
        following: false,
        blocked: crate::blocks::i_blocked(&state.pool, me, them).await?,
        followers: followers_of(&state.pool, them).await?,
    }))
}

#[derive(Debug, Serialize, serde::Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct FollowEntry {
    pub username: String,
    /// Their profile page.
    #[sqlx(skip)]
    pub url: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub followed_at: OffsetDateTime,
    #[serde(skip)]
    pub id: Uuid,
}

/// One side of `user`'s follows: `followers` (who follows them) or whom
/// they follow; minors left out.
async fn follow_list(
    state: &CatalogState,
    username: &str,
    followers: bool,
    q: PageQuery,
) -> Result<Listing<FollowEntry>, CatalogError> {
    let user = visibility::public_activity_of(&state.pool, username)
        .await?
        .ok_or(CatalogError::NotFound("user"))?;
    let page: Page<(i64, Uuid)> = Page::new(q.limit, q.cursor.as_deref())?;
    let (mine, theirs) = if followers {
        ("followee_id", "follower_id")
    } else {
        ("follower_id", "followee_id")
    };
    let keyset = if page.after.is_some() {
        format!(" AND (f.created_at, f.{theirs}) < ($3, $4)")
    } else {
        String::new()
    };
    let sql = format!(
        "SELECT u.id, u.username, f.created_at AS followed_at
           FROM follows f JOIN users u ON u.id = f.{theirs}
          WHERE f.{mine} = $1 AND {public}{keyset}
          ORDER BY f.created_at DESC, f.{theirs} DESC LIMIT $2",
        public = visibility::sql_public_activity("u")
    );
    let mut query = sqlx::query_as::<_, FollowEntry>(&sql)
        .bind(user)
        .bind(page.fetch());
    if let Some((us, id)) = page.after {
        query = query.bind(page::from_micros(us)?).bind(id);
    }
    let rows = query.fetch_all(&state.pool).await?;
    let (rows, next_cursor) =
        page::finish(rows, page.limit, |e| (page::micros(e.followed_at), e.id));
    Ok(Listing {
        items: rows
            .into_iter()
            .map(|mut e| {
                e.url = format!("/{}", e.username);
                e
            })
            .collect(),
        next_cursor,
    })
}

/// `GET /api/v1/users/{username}/followers`
#[utoipa::path(get, path = "/api/v1/users/{username}/followers", tag = "follows",
    summary = "Who follows a user, most recent first",
    params(("username" = String, Path, description = "The user (any case)"), PageQuery),
    responses(
        (status = 200, description = "A page of followers (never minors)", body = Listing<FollowEntry>),
        (status = 400, description = "A bad limit or cursor", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such user, or a minor", body = cloudcast_core::apidoc::ErrorBody)),
    security((), ("session" = [])))]
pub async fn followers(
    State(state): State<CatalogState>,
    MaybeUser(_viewer): MaybeUser,
    ApiPath(username): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Listing<FollowEntry>>, CatalogError> {
    Ok(Json(follow_list(&state, &username, true, q).await?))
}

/// `GET /api/v1/users/{username}/following`
#[utoipa::path(get, path = "/api/v1/users/{username}/following", tag = "follows",
    summary = "Whom a user follows, most recent first",
    params(("username" = String, Path, description = "The user (any case)"), PageQuery),
    responses(
        (status = 200, description = "A page of followed users (never minors)", body = Listing<FollowEntry>),
        (status = 400, description = "A bad limit or cursor", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such user, or a minor", body = cloudcast_core::apidoc::ErrorBody)),
    security((), ("session" = [])))]
pub async fn following(
    State(state): State<CatalogState>,
    MaybeUser(_viewer): MaybeUser,
    ApiPath(username): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Listing<FollowEntry>>, CatalogError> {
    Ok(Json(follow_list(&state, &username, false, q).await?))
}

/// What happened, for a feed entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FeedKind {
    Upload,
    Repost,
}

#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct FeedEntry {
    pub kind: FeedKind,
    /// Who uploaded or reposted it.
    pub by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    pub cloudcast: CloudcastCard,
}

#[derive(sqlx::FromRow)]
struct FeedRow {
    #[sqlx(flatten)]
    card: CardRow,
    is_repost: bool,
    by_id: Uuid,
    by_name: String,
    at: OffsetDateTime,
}

/// `GET /api/v1/me/feed`
#[utoipa::path(get, path = "/api/v1/me/feed", tag = "follows", operation_id = "my_feed",
    summary = "New uploads and reposts of the people I follow, newest first",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of the feed", body = Listing<FeedEntry>),
        (status = 400, description = "A bad limit or cursor", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn feed(
    State(state): State<CatalogState>,
    AuthUser(me): AuthUser,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Listing<FeedEntry>>, CatalogError> {
    // Key: time, repost flag, cloudcast id, who (an upload and its repost,
    // or two reposts of one cloudcast, at the same microsecond stay apart).
    let page: Page<(i64, bool, Uuid, Uuid)> = Page::new(q.limit, q.cursor.as_deref())?;
    let keyset = if page.after.is_some() {
        " WHERE (at, is_repost, id, by_id) < ($3, $4, $5, $6)"
    } else {
        ""
    };
    let listed = visibility::sql_listed("c");
    let sql = format!(
        "WITH entries AS (
            SELECT c.id, false AS is_repost, c.owner_id AS by_id, c.listed_at AS at
              FROM follows f JOIN cloudcasts c ON c.owner_id = f.followee_id
             WHERE f.follower_id = $1 AND {listed}
            UNION ALL
            SELECT c.id, true, r.user_id, r.created_at
              FROM follows f JOIN reposts r ON r.user_id = f.followee_id
              JOIN users ru ON ru.id = r.user_id
              JOIN cloudcasts c ON c.id = r.cloudcast_id
             WHERE f.follower_id = $1 AND {listed} AND {public}),
         top AS (SELECT * FROM entries{keyset}
                  ORDER BY at DESC, is_repost DESC, id DESC, by_id DESC LIMIT $2)
         SELECT {CARD_COLUMNS}, top.is_repost, top.by_id, b.username AS by_name, top.at
           FROM top JOIN cloudcasts c ON c.id = top.id JOIN users u ON u.id = c.owner_id
           JOIN users b ON b.id = top.by_id
          ORDER BY top.at DESC, top.is_repost DESC, top.id DESC, top.by_id DESC",
        public = visibility::sql_public_activity("ru"),
    );
    let mut query = sqlx::query_as::<_, FeedRow>(&sql)
        .bind(me)
        .bind(page.fetch());
    if let Some((us, repost, id, by)) = page.after {
        query = query
            .bind(page::from_micros(us)?)
            .bind(repost)
            .bind(id)
            .bind(by);
    }
    let rows = query.fetch_all(&state.pool).await?;
    let (rows, next_cursor) = page::finish(rows, page.limit, |r| {
        (page::micros(r.at), r.is_repost, r.card.id, r.by_id)
    });
    Ok(Json(Listing {
        items: rows
            .into_iter()
            .map(|r| FeedEntry {
                kind: if r.is_repost {
                    FeedKind::Repost
                } else {
                    FeedKind::Upload
                },
                by: r.by_name,
                at: r.at,
                cloudcast: r.card.card(Some(me), false),
            })
            .collect(),
        next_cursor,
    }))
}
