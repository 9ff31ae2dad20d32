//! Comments on cloudcasts and on people's profiles, and their moderation.
//!
//! A profile takes comments while its owner's switch is on, never a
//! minor's (`visibility::sql_profile_comments_open`); its owner may delete
//! them as a DJ may on a mix. Everything else (the filter, reports, the
//! queue, replies, mentions, blocks) is the same on both.
//!
//! What a user writes here is public: a comment shows its author's username
//! and nothing else of the account. A new comment passes the filter
//! ([`crate::moderation`]) or is held for an administrator; so is a comment
//! that [`REPORTS_TO_HOLD`] listeners report. A held comment is seen by its
//! author (marked held) and by administrators only. Deleting a comment
//! deletes it, with its reports: nothing is kept.
//!
//! Lists are oldest first and paged by `?limit=` (default 50, at most 200)
//! and `?offset=`; a page that is not the last says `next_offset`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use cloudcast_core::auth::{AdminUser, AuthUser, MaybeUser};
use cloudcast_core::extract::{ApiJson, ApiPath, ApiQuery};
use cloudcast_core::notify;
use cloudcast_core::page::offset::{cut, paging};
use cloudcast_core::states::{CommentStatus, NotificationKind};
use cloudcast_core::text::clean_text;
use cloudcast_core::visibility;

use crate::error::gone;
use crate::moderation::{self, Verdict};
use crate::{CatalogError, CatalogState};

/// Longest comment, in characters (after trimming).
pub const MAX_BODY_CHARS: usize = 2000;
/// Longest report reason, in characters (after trimming).
pub const MAX_REASON_CHARS: usize = 500;
/// Distinct reports that hold a comment for review.
pub const REPORTS_TO_HOLD: i64 = 3;

/// A comment as anyone may see it: the author's username, never more.
#[derive(Debug, Serialize, serde::Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct CommentView {
    pub id: Uuid,
    /// The mix it is on; `null` on a profile.
    pub cloudcast_id: Option<Uuid>,
    /// The profile it is on (its owner's username); `null` on a mix.
    #[sqlx(default)]
    pub profile: Option<String>,
    /// The author's username.
    pub author: String,
    pub body: String,
    /// `held` comments are shown to their author and administrators only.
    pub status: CommentStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    /// The comment this one answers (replies go one level deep).
    pub parent_id: Option<Uuid>,
    /// The moment of the mix it is about, in milliseconds from the start.
    pub position_ms: Option<i64>,
}

/// A comment in the moderation queue.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ModerationView {
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub comment: CommentView,
    /// Why it is held: `filter: ...` or `reported`.
    pub held_reason: Option<String>,
    /// How many users reported it, and the reasons they gave.
    pub reports: i64,
    pub report_reasons: Vec<String>,
}

#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub comments: Vec<T>,
    /// The `offset` of the next page; absent on the last page.
    pub next_offset: Option<u64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    pub body: String,
    /// Answers this top-level comment of the same cloudcast.
    pub parent_id: Option<Uuid>,
    /// About this moment of the mix (not for a reply); at most its duration.
    #[schema(minimum = 0)]
    pub position_ms: Option<u64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReport {
    pub reason: String,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AdminListQuery {
    /// `held` (the default) or `visible`.
    pub status: Option<CommentStatus>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

/// Cuts the extra row a query fetched to learn whether another page follows.
fn page<T>(rows: Vec<T>, limit: u32, offset: u32) -> Page<T> {
    let (comments, next_offset) = cut(rows, limit, offset);
    Page {
        comments,
        next_offset,
    }
}

/// Ok when the cloudcast exists and `user` may see it; "not found"
/// otherwise, so private cloudcasts stay unknown.
async fn visible_cloudcast(
    state: &CatalogState,
    id: Uuid,
    user: Option<Uuid>,
) -> Result<(), CatalogError> {
    match visibility::load(&state.pool, id).await? {
        Some(a) if a.visible_to(user) => Ok(()),
        _ => Err(CatalogError::NotFound("cloudcast")),
    }
}

/// What a comment is on.
#[derive(Debug, Clone, Copy)]
enum On {
    Cloudcast(Uuid),
    /// A person's profile, by their id.
    Profile(Uuid),
}

/// What decides who may see, report or delete a comment.
#[derive(sqlx::FromRow)]
struct CommentAccess {
    author_id: Uuid,
    status: CommentStatus,
    /// The mix's DJ, or the profile's owner.
    owner_id: Uuid,
    /// The mix it is on is visible to the user, or the profile it is on
    /// shows comments.
    on_shown: bool,
    user_is_admin: bool,
}

impl CommentAccess {
    /// Whether `user` can see the comment at all: their own always (so they
    /// can delete it even once the cloudcast went private), others' when
    /// visible on a cloudcast visible to them or a profile that shows them.
    fn seen_by(&self, user: Uuid) -> bool {
        self.user_is_admin
            || self.author_id == user
            || (self.on_shown && self.status == CommentStatus::Visible)
    }
}

async fn access(
    state: &CatalogState,
    comment: Uuid,
    user: Uuid,
) -> Result<CommentAccess, CatalogError> {
    let row: Option<CommentAccess> = sqlx::query_as(&format!(
        "SELECT c.author_id, c.status, COALESCE(cc.owner_id, c.profile_id) AS owner_id,
                CASE WHEN cc.id IS NOT NULL THEN {visible}
                     ELSE EXISTS (SELECT 1 FROM users pu WHERE pu.id = c.profile_id AND {open}) END AS on_shown,
                COALESCE((SELECT u.is_admin FROM users u WHERE u.id = $2), false) AS user_is_admin
           FROM comments c LEFT JOIN cloudcasts cc ON cc.id = c.cloudcast_id
          WHERE c.id = $1",
        visible = visibility::sql_visible("cc", "$2"),
        open = visibility::sql_profile_comments_open("pu"),
    ))
    .bind(comment)
    .bind(user)
    .fetch_optional(&state.pool)
    .await?;
    match row {
        // A comment the user cannot see is not found, as its cloudcast is.
        Some(a) if a.seen_by(user) => Ok(a),
        _ => Err(CatalogError::NotFound("comment")),
    }
}

/// SQL, on the cloudcast `cc`, naming the parameters that hold the author,
/// the parent and the position: the position lies within the mix, and the
/// parent is a top-level comment of this cloudcast that the author sees.
fn fits(author: &str, parent: &str, position: &str) -> String {
    let visible = CommentStatus::Visible.as_str();
    format!(
        "(({position}::bigint IS NULL OR cc.duration_ms IS NULL OR {position} <= cc.duration_ms)
          AND ({parent}::uuid IS NULL OR EXISTS (
               SELECT 1 FROM comments p
                WHERE p.id = {parent} AND p.cloudcast_id = cc.id AND p.parent_id IS NULL
                  AND (p.status = '{visible}' OR p.author_id = {author}))))"
    )
}

/// `POST /api/v1/cloudcasts/{id}/comments` `{"body": "..."}`: 201 with the
/// comment when published, 202 with `"status": "held"` when the filter holds
/// it for review.
#[utoipa::path(post, path = "/api/v1/cloudcasts/{id}/comments", tag = "comments",
    summary = "Comment on a cloudcast",
    params(("id" = Uuid, Path, description = "The cloudcast")),
    request_body = NewComment,
    responses(
        (status = 201, description = "Posted", body = CommentView),
        (status = 202, description = "Held for review by the moderation filter", body = CommentView),
        (status = 403, description = "Its owner turned comments off (`comments_disabled`), or my email is not confirmed yet (`email_unverified`), or a moderator took comments away (`account_restricted`), or a block stands between me and the mix's owner or the comment I answer (`blocked`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such cloudcast", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "Empty or too long; a parent that cannot be answered; a position past the end, or on a reply", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn create(
    State(state): State<CatalogState>,
    AuthUser(user): AuthUser,
    ApiPath(cloudcast): ApiPath<Uuid>,
    ApiJson(req): ApiJson<NewComment>,
) -> Result<(StatusCode, Json<CommentView>), CatalogError> {
    post(&state, user, On::Cloudcast(cloudcast), req).await
}

/// `POST /api/v1/users/{username}/comments` `{"body": "..."}`: as on a mix.
#[utoipa::path(post, path = "/api/v1/users/{username}/comments", tag = "comments",
    summary = "Comment on a person's profile",
    params(("username" = String, Path, description = "Whose profile (any case)")),
    request_body = NewComment,
    responses(
        (status = 201, description = "Posted", body = CommentView),
        (status = 202, description = "Held for review by the moderation filter", body = CommentView),
        (status = 403, description = "The profile takes no comments (its owner's switch, or a minor's: `comments_disabled`), or my email is not confirmed yet (`email_unverified`), or a moderator took comments away (`account_restricted`), or a block stands between me and the profile's owner or the comment I answer (`blocked`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such user", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "Empty or too long; a parent that cannot be answered; a position (a profile has no moments)", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn create_on_profile(
    State(state): State<CatalogState>,
    AuthUser(user): AuthUser,
    ApiPath(username): ApiPath<String>,
    ApiJson(req): ApiJson<NewComment>,
) -> Result<(StatusCode, Json<CommentView>), CatalogError> {
    let (profile, _) = crate::lists::user_named(&state.pool, &username).await?;
    post(&state, user, On::Profile(profile), req).await
}

/// A comment by `user` on `on`: checked, filtered, inserted with the
/// visibility check in the same statement, and told.
async fn post(
    state: &CatalogState,
    user: Uuid,
    on: On,
    req: NewComment,
) -> Result<(StatusCode, Json<CommentView>), CatalogError> {
    let body = clean_text("body", &req.body, MAX_BODY_CHARS)?;
    if req.parent_id.is_some() && req.position_ms.is_some() {
        return Err(CatalogError::InvalidField(
            "position_ms: a reply sits with the comment it answers".into(),
        ));
    }
    if matches!(on, On::Profile(_)) && req.position_ms.is_some() {
        return Err(CatalogError::InvalidField(
            "position_ms: only a comment on a mix is about a moment of it".into(),
        ));
    }
    let position = req
        .position_ms
        .map(|p| i64::try_from(p).unwrap_or(i64::MAX));
    cloudcast_core::auth::require_verified(&state.pool, user, "comment").await?;
    cloudcast_core::standing::require(
        &state.pool,
        user,
        cloudcast_core::standing::Restriction::Comments,
    )
    .await?;
    refuse_across_a_block(&state.pool, user, on, req.parent_id).await?;
    let (status, held_reason) = match moderation::check(&body) {
        Verdict::Clean => (CommentStatus::Visible, None),
        Verdict::Held(reason) => (CommentStatus::Held, Some(reason)),
    };
    // The visibility check and the insert are one statement: a cloudcast
    // made private (or a profile's comments turned off) meanwhile takes no
    // comment from others.
    let mut tx = state.pool.begin().await?;
    let cloudcast = match on {
        On::Cloudcast(id) => id,
        On::Profile(profile) => {
            let view: Option<CommentView> = sqlx::query_as(&format!(
                "WITH c AS (
                    INSERT INTO comments (id, profile_id, author_id, body, status, held_reason, parent_id)
                    SELECT $1, pu.id, $3, $4, $5, $6, $7 FROM users pu
                     WHERE pu.id = $2 AND {open} AND {fits}
                    RETURNING id, cloudcast_id, profile_id, author_id, body, status, created_at, parent_id, position_ms)
                 SELECT c.id, c.cloudcast_id, pu.username AS profile, u.username AS author, c.body, c.status,
                        c.created_at, c.parent_id, c.position_ms
                   FROM c JOIN users u ON u.id = c.author_id JOIN users pu ON pu.id = c.profile_id",
                open = visibility::sql_profile_comments_open("pu"),
                fits = fits_profile("$3", "$7"),
            ))
            .bind(Uuid::now_v7())
            .bind(profile)
            .bind(user)
            .bind(&body)
            .bind(status)
            .bind(&held_reason)
            .bind(req.parent_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(gone("user"))?;
            return posted(tx, view, held_reason, || async {
                let open: Option<bool> = sqlx::query_scalar(&format!(
                    "SELECT {} FROM users pu WHERE pu.id = $1",
                    visibility::sql_profile_comments_open("pu")
                ))
                .bind(profile)
                .fetch_optional(&state.pool)
                .await?;
                Ok(match open {
                    Some(false) => CatalogError::ProfileCommentsOff,
                    Some(true) => CatalogError::InvalidField(
                        "parent_id: not a comment of this profile that can be answered (replies answer top-level comments)".into(),
                    ),
                    None => CatalogError::NotFound("user"),
                })
            })
            .await;
        }
    };
    let view: Option<CommentView> = sqlx::query_as(&format!(
        "WITH c AS (
            INSERT INTO comments (id, cloudcast_id, author_id, body, status, held_reason, parent_id, position_ms)
            SELECT $1, cc.id, $3, $4, $5, $6, $7, $8 FROM cloudcasts cc
             WHERE cc.id = $2 AND {visible} AND NOT cc.disable_comments AND {fits}
            RETURNING id, cloudcast_id, author_id, body, status, created_at, parent_id, position_ms)
         SELECT c.id, c.cloudcast_id, u.username AS author, c.body, c.status, c.created_at, c.parent_id, c.position_ms
           FROM c JOIN users u ON u.id = c.author_id",
        visible = visibility::sql_visible("cc", "$3"),
        fits = fits("$3", "$7", "$8"),
    ))
    .bind(Uuid::now_v7())
    .bind(cloudcast)
    .bind(user)
    .bind(&body)
    .bind(status)
    .bind(&held_reason)
    .bind(req.parent_id)
    .bind(position)
    .fetch_optional(&mut *tx)
    .await
    .map_err(gone("cloudcast"))?;
    let parent = req.parent_id;
    posted(tx, view, held_reason, || async {
        // Nothing inserted: say why, without revealing a hidden cloudcast.
        let why: Option<(bool, bool)> = sqlx::query_as(&format!(
            "SELECT cc.disable_comments, {} FROM cloudcasts cc WHERE cc.id = $1 AND {}",
            fits("$2", "$3", "$4"),
            visibility::sql_visible("cc", "$2")
        ))
        .bind(cloudcast)
        .bind(user)
        .bind(parent)
        .bind(position)
        .fetch_optional(&state.pool)
        .await?;
        Ok(match why {
            Some((true, _)) => CatalogError::CommentsDisabled,
            Some((false, false)) if parent.is_some() => CatalogError::InvalidField(
                "parent_id: not a comment of this cloudcast that can be answered (replies answer top-level comments)".into(),
            ),
            Some((false, false)) => {
                CatalogError::InvalidField("position_ms: past the end of the mix".into())
            }
            _ => CatalogError::NotFound("cloudcast"),
        })
    })
    .await
}

/// After the insert: tells of a published comment and commits; a comment
/// not inserted is answered with `why` it was not.
async fn posted<W, F>(
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    view: Option<CommentView>,
    held_reason: Option<String>,
    why: W,
) -> Result<(StatusCode, Json<CommentView>), CatalogError>
where
    W: FnOnce() -> F,
    F: std::future::Future<Output = Result<CatalogError, CatalogError>>,
{
    if let Some(v) = &view
        && held_reason.is_none()
    {
        tell(&mut tx, v.id).await?;
    }
    tx.commit().await?;
    let Some(view) = view else {
        return Err(why().await?);
    };
    if let Some(reason) = &held_reason {
        tracing::info!(comment_id = %view.id, cloudcast_id = ?view.cloudcast_id, %reason, "comment held");
        Ok((StatusCode::ACCEPTED, Json(view)))
    } else {
        Ok((StatusCode::CREATED, Json(view)))
    }
}

/// SQL, on the profile `pu`: the parent (if any) is a top-level comment of
/// this profile that the author sees.
fn fits_profile(author: &str, parent: &str) -> String {
    let visible = CommentStatus::Visible.as_str();
    format!(
        "({parent}::uuid IS NULL OR EXISTS (
              SELECT 1 FROM comments p
               WHERE p.id = {parent} AND p.profile_id = pu.id AND p.parent_id IS NULL
                 AND (p.status = '{visible}' OR p.author_id = {author})))"
    )
}

/// A comment on a mix or profile whose owner, or in answer to a comment
/// whose author, blocked me or was blocked by me is refused. Asked of a
/// cloudcast I may view only, so a hidden one stays "not found".
async fn refuse_across_a_block(
    pool: &sqlx::PgPool,
    me: Uuid,
    on: On,
    parent: Option<Uuid>,
) -> Result<(), CatalogError> {
    let (sql, id) = match on {
        On::Cloudcast(id) => (
            format!(
                "SELECT {owner} OR EXISTS (SELECT 1 FROM comments p WHERE p.id = $3 AND {author})
                   FROM cloudcasts cc WHERE cc.id = $1 AND {visible}",
                owner = visibility::sql_blocked("cc.owner_id", "$2"),
                author = visibility::sql_blocked("p.author_id", "$2"),
                visible = visibility::sql_visible("cc", "$2"),
            ),
            id,
        ),
        On::Profile(id) => (
            format!(
                "SELECT {owner} OR EXISTS (SELECT 1 FROM comments p WHERE p.id = $3 AND {author})",
                owner = visibility::sql_blocked("$1", "$2"),
                author = visibility::sql_blocked("p.author_id", "$2"),
            ),
            id,
        ),
    };
    let blocked: Option<bool> = sqlx::query_scalar(&sql)
        .bind(id)
        .bind(me)
        .bind(parent)
        .fetch_optional(pool)
        .await?;
    if blocked == Some(true) {
        return Err(CatalogError::Blocked);
    }
    Ok(())
}

/// `GET /api/v1/cloudcasts/{id}/comments?limit=&offset=`: visible comments,
/// oldest first, with the caller's own held comments among them.
#[utoipa::path(get, path = "/api/v1/cloudcasts/{id}/comments", tag = "comments",
    summary = "A cloudcast's comments, oldest first",
    params(("id" = Uuid, Path, description = "The cloudcast"), ListQuery),
    responses(
        (status = 200, description = "Visible comments (and my own held ones)", body = Page<CommentView>),
        (status = 404, description = "No such cloudcast", body = cloudcast_core::apidoc::ErrorBody)),
    security((), ("session" = [])))]
pub async fn list(
    State(state): State<CatalogState>,
    MaybeUser(user): MaybeUser,
    ApiPath(cloudcast): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Page<CommentView>>, CatalogError> {
    visible_cloudcast(&state, cloudcast, user).await?;
    let (limit, offset) = paging(q.limit, q.offset);
    let rows: Vec<CommentView> = sqlx::query_as(&format!(
        "SELECT c.id, c.cloudcast_id, u.username AS author, c.body, c.status, c.created_at, c.parent_id, c.position_ms
           FROM comments c JOIN users u ON u.id = c.author_id
           JOIN cloudcasts cc ON cc.id = c.cloudcast_id
          WHERE c.cloudcast_id = $1 AND (c.status = $5 OR c.author_id = $2) AND NOT {blocked}
          ORDER BY c.created_at, c.id
          LIMIT $3 OFFSET $4",
        blocked = visibility::sql_comment_blocked("c.author_id", "$2", "cc.owner_id"),
    ))
    .bind(cloudcast)
    .bind(user)
    .bind(i64::from(limit) + 1)
    .bind(i64::from(offset))
    .bind(CommentStatus::Visible)
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(page(rows, limit, offset)))
}

/// `GET /api/v1/users/{username}/comments?limit=&offset=`: the comments on
/// a profile, oldest first (none while it takes none).
#[utoipa::path(get, path = "/api/v1/users/{username}/comments", tag = "comments",
    summary = "The comments on a person's profile, oldest first",
    params(("username" = String, Path, description = "Whose profile (any case)"), ListQuery),
    responses(
        (status = 200, description = "Visible comments (and my own held ones); none while the profile takes none", body = Page<CommentView>),
        (status = 404, description = "No such user", body = cloudcast_core::apidoc::ErrorBody)),
    security((), ("session" = [])))]
pub async fn list_on_profile(
    State(state): State<CatalogState>,
    MaybeUser(user): MaybeUser,
    ApiPath(username): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Page<CommentView>>, CatalogError> {
    let (profile, _) = crate::lists::user_named(&state.pool, &username).await?;
    let (limit, offset) = paging(q.limit, q.offset);
    let rows: Vec<CommentView> = sqlx::query_as(&format!(
        "SELECT c.id, c.cloudcast_id, pu.username AS profile, u.username AS author, c.body, c.status,
                c.created_at, c.parent_id, c.position_ms
           FROM comments c JOIN users u ON u.id = c.author_id JOIN users pu ON pu.id = c.profile_id
          WHERE c.profile_id = $1 AND {open} AND (c.status = $5 OR c.author_id = $2) AND NOT {blocked}
          ORDER BY c.created_at, c.id
          LIMIT $3 OFFSET $4",
        open = visibility::sql_profile_comments_open("pu"),
        blocked = visibility::sql_comment_blocked("c.author_id", "$2", "c.profile_id"),
    ))
    .bind(profile)
    .bind(user)
    .bind(i64::from(limit) + 1)
    .bind(i64::from(offset))
    .bind(CommentStatus::Visible)
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(page(rows, limit, offset)))
}

/// `DELETE /api/v1/comments/{id}`: its author, the cloudcast's (or
/// profile's) owner or an administrator deletes it for good.
#[utoipa::path(delete, path = "/api/v1/comments/{id}", tag = "comments",
    summary = "Delete a comment (its author, the cloudcast's or profile's owner, or an administrator)",
    params(("id" = Uuid, Path, description = "The comment")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not allowed", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such comment", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn delete(
    State(state): State<CatalogState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, CatalogError> {
    let a = access(&state, id, user).await?;
    if user != a.author_id && user != a.owner_id && !a.user_is_admin {
        return Err(CatalogError::Forbidden(
            "only the comment's author, the owner of the cloudcast or profile it is on, or an administrator may delete it",
        ));
    }
    remove(&state, id).await?;
    tracing::info!(comment_id = %id, by = %user, "comment deleted");
    Ok(StatusCode::NO_CONTENT)
}

async fn remove(state: &CatalogState, id: Uuid) -> Result<(), CatalogError> {
    let done = sqlx::query("DELETE FROM comments WHERE id = $1")
        .bind(id)
        .execute(&state.pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(CatalogError::NotFound("comment"));
    }
    Ok(())
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Reported {
    pub comment_id: Uuid,
    pub reported: bool,
}

/// `POST /api/v1/comments/{id}/report` `{"reason": "..."}`: 201 for a new
/// report, 200 when this user had reported it already. The third distinct
/// report holds the comment for review.
#[utoipa::path(post, path = "/api/v1/comments/{id}/report", tag = "comments",
    summary = "Report a comment; three reports hold it for review",
    params(("id" = Uuid, Path, description = "The comment")),
    request_body = NewReport,
    responses(
        (status = 201, description = "Reported", body = Reported),
        (status = 200, description = "Already reported by me", body = Reported),
        (status = 400, description = "My own comment", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such comment", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn report(
    State(state): State<CatalogState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<NewReport>,
) -> Result<(StatusCode, Json<Reported>), CatalogError> {
    let reason = clean_text("reason", &req.reason, MAX_REASON_CHARS)?;
    let a = access(&state, id, user).await?;
    if a.author_id == user {
        return Err(CatalogError::OwnComment);
    }
    let mut tx = state.pool.begin().await?;
    // The row lock orders concurrent reports, so the third one is counted
    // as the third.
    let locked: Option<(CommentStatus,)> =
        sqlx::query_as("SELECT status FROM comments WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((status,)) = locked else {
        return Err(CatalogError::NotFound("comment"));
    };
    let added = sqlx::query(
        "INSERT INTO comment_reports (comment_id, reporter_id, reason) VALUES ($1, $2, $3)
         ON CONFLICT (comment_id, reporter_id) DO NOTHING",
    )
    .bind(id)
    .bind(user)
    .bind(&reason)
    .execute(&mut *tx)
    .await
    .map_err(gone("comment"))?
    .rows_affected()
        == 1;
    if added && status == CommentStatus::Visible {
        let (reports,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM comment_reports WHERE comment_id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        if reports >= REPORTS_TO_HOLD {
            sqlx::query("UPDATE comments SET status = $2, held_reason = 'reported' WHERE id = $1")
                .bind(id)
                .bind(CommentStatus::Held)
                .execute(&mut *tx)
                .await?;
            tracing::info!(comment_id = %id, reports, "comment held after reports");
        }
    }
    tx.commit().await?;
    let code = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        code,
        Json(Reported {
            comment_id: id,
            reported: true,
        }),
    ))
}

/// `GET /api/v1/admin/comments?status=held&limit=&offset=`: the moderation
/// queue, oldest first, with each comment's reports.
#[utoipa::path(get, path = "/api/v1/admin/comments", tag = "comments",
    summary = "The moderation queue (administrators only)",
    params(AdminListQuery),
    responses(
        (status = 200, description = "Comments with their reports", body = Page<ModerationView>),
        (status = 403, description = "Not an administrator", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn admin_list(
    State(state): State<CatalogState>,
    AdminUser(_admin): AdminUser,
    ApiQuery(q): ApiQuery<AdminListQuery>,
) -> Result<Json<Page<ModerationView>>, CatalogError> {
    let status = q.status.unwrap_or(CommentStatus::Held);
    let (limit, offset) = paging(q.limit, q.offset);
    let rows: Vec<ModerationView> = sqlx::query_as(
        "SELECT c.id, c.cloudcast_id, (SELECT pu.username FROM users pu WHERE pu.id = c.profile_id) AS profile,
                u.username AS author, c.body, c.status, c.created_at, c.parent_id, c.position_ms,
                c.held_reason,
                (SELECT count(*) FROM comment_reports r WHERE r.comment_id = c.id) AS reports,
                ARRAY(SELECT r.reason FROM comment_reports r WHERE r.comment_id = c.id
                       ORDER BY r.created_at) AS report_reasons
           FROM comments c JOIN users u ON u.id = c.author_id
          WHERE c.status = $1
          ORDER BY c.created_at, c.id
          LIMIT $2 OFFSET $3",
    )
    .bind(status)
    .bind(i64::from(limit) + 1)
    .bind(i64::from(offset))
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(page(rows, limit, offset)))
}

/// `POST /api/v1/admin/comments/{id}/approve`: publishes the comment and
/// clears its reports.
#[utoipa::path(post, path = "/api/v1/admin/comments/{id}/approve", tag = "comments",
    summary = "Approve a held comment (administrators only)",
    params(("id" = Uuid, Path, description = "The comment")),
    responses(
        (status = 200, description = "Visible again", body = CommentView),
        (status = 403, description = "Not an administrator", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such comment", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn admin_approve(
    State(state): State<CatalogState>,
    // The path first: a malformed id is a 400 whoever asks.
    ApiPath(id): ApiPath<Uuid>,
    AdminUser(user): AdminUser,
) -> Result<Json<CommentView>, CatalogError> {
    let mut tx = state.pool.begin().await?;
    let view: Option<CommentView> = sqlx::query_as(
        "WITH c AS (
            UPDATE comments SET status = $2, held_reason = NULL, moderated_at = now()
             WHERE id = $1
            RETURNING id, cloudcast_id, profile_id, author_id, body, status, created_at, parent_id, position_ms)
         SELECT c.id, c.cloudcast_id, (SELECT pu.username FROM users pu WHERE pu.id = c.profile_id) AS profile,
                u.username AS author, c.body, c.status, c.created_at, c.parent_id, c.position_ms
           FROM c JOIN users u ON u.id = c.author_id",
    )
    .bind(id)
    .bind(CommentStatus::Visible)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(view) = view else {
        return Err(CatalogError::NotFound("comment"));
    };
    sqlx::query("DELETE FROM comment_reports WHERE comment_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    // Held from the start, it told nobody yet.
    tell(&mut tx, id).await?;
    tx.commit().await?;
    tracing::info!(comment_id = %id, by = %user, "comment approved");
    Ok(Json(view))
}

/// Most people one comment may name and tell.
const MENTIONS_TOLD: usize = 10;

/// Tells of the visible comment `id`: the mix's DJ or the profile's owner
/// (a comment), the author of the comment it answers (a reply) and the
/// people it names (a mention), each once. Deleting the comment withdraws
/// what it told.
async fn tell(conn: &mut sqlx::PgConnection, id: Uuid) -> Result<(), CatalogError> {
    let Some((author, cloudcast, owner, parent, parent_author, body)) =
        sqlx::query_as::<_, (Uuid, Option<Uuid>, Uuid, Option<Uuid>, Option<Uuid>, String)>(
            "SELECT c.author_id, c.cloudcast_id, COALESCE(cc.owner_id, c.profile_id), c.parent_id,
                    p.author_id, c.body
               FROM comments c LEFT JOIN cloudcasts cc ON cc.id = c.cloudcast_id
               LEFT JOIN comments p ON p.id = c.parent_id
              WHERE c.id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(());
    };
    let mut told = vec![author];
    let event = |kind, to: Uuid, object| {
        let e = notify::Event::new(kind, notify::To::User(to), object)
            .by(author)
            .comment(id);
        match cloudcast {
            Some(cc) => e.about(cc),
            None => e,
        }
    };
    if let (Some(parent), Some(to)) = (parent, parent_author)
        && !told.contains(&to)
    {
        notify::record(conn, &event(NotificationKind::Reply, to, parent)).await?;
        told.push(to);
    }
    if !told.contains(&owner) {
        let on_owner = match cloudcast {
            Some(cc) => event(NotificationKind::Comment, owner, cc),
            None => event(NotificationKind::ProfileComment, owner, owner),
        };
        notify::record(conn, &on_owner).await?;
        told.push(owner);
    }
    let names = crate::mentions::names(&body, MENTIONS_TOLD);
    if !names.is_empty() {
        let lower: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
        let named: Vec<Uuid> =
            sqlx::query_scalar("SELECT id FROM users WHERE lower(username) = ANY($1)")
                .bind(&lower)
                .fetch_all(&mut *conn)
                .await?;
        for to in named.into_iter().filter(|u| !told.contains(u)) {
            notify::record(conn, &event(NotificationKind::Mention, to, id)).await?;
        }
    }
    Ok(())
}

/// `DELETE /api/v1/admin/comments/{id}`: removes the comment for good.
#[utoipa::path(delete, path = "/api/v1/admin/comments/{id}", tag = "comments",
    summary = "Remove a comment (administrators only)",
    params(("id" = Uuid, Path, description = "The comment")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Not an administrator", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such comment", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn admin_remove(
    State(state): State<CatalogState>,
    // The path first: a malformed id is a 400 whoever asks.
    ApiPath(id): ApiPath<Uuid>,
    AdminUser(user): AdminUser,
) -> Result<StatusCode, CatalogError> {
    let mut tx = state.pool.begin().await?;
    let removed: Option<(Uuid, Option<String>, Option<String>)> = sqlx::query_as(
        "WITH c AS (DELETE FROM comments WHERE id = $1 RETURNING author_id, cloudcast_id, profile_id)
         SELECT c.author_id, cc.title, pu.username FROM c
           LEFT JOIN cloudcasts cc ON cc.id = c.cloudcast_id LEFT JOIN users pu ON pu.id = c.profile_id",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((author, title, profile)) = removed else {
        return Err(CatalogError::NotFound("comment"));
    };
    let on = match (title, profile) {
        (Some(t), _) => format!("“{t}”"),
        (None, Some(p)) => format!("{p}'s profile"),
        (None, None) => "a profile".into(),
    };
    let detail = format!("A moderator removed your comment on {on}.");
    let decided = notify::Event::new(NotificationKind::Moderation, notify::To::User(author), id)
        .detail(&detail);
    notify::record(&mut tx, &decided).await?;
    tx.commit().await?;
    tracing::info!(comment_id = %id, by = %user, "comment removed by moderation");
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_of_comments_says_where_the_next_starts() {
        let p = page(vec![1, 2, 3], 2, 4);
        assert_eq!((p.comments, p.next_offset), (vec![1, 2], Some(6)));
        let p = page(vec![1, 2], 2, 0);
        assert_eq!((p.comments, p.next_offset), (vec![1, 2], None));
    }
}
