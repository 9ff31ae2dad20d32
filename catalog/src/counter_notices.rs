//! A DJ's answer to a takedown (EU DSA Art. 20): the counter-notice, the
//! moderators' queue of them, and the decision that reinstates the
//! cloudcast or lets the takedown stand; the DJ is mailed either way, the
//! notifiers on a reinstatement.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use cloudcast_core::auth::{AdminUser, AuthUser};
use cloudcast_core::extract::{ApiJson, ApiPath, ApiQuery};
use cloudcast_core::notify;
use cloudcast_core::outbox;
use cloudcast_core::states::{CounterNoticeStatus, NotificationKind, ReportStatus};
use cloudcast_core::visibility;

use crate::error::gone;
use crate::{CatalogError, CatalogState};
use cloudcast_core::page::offset::{cut, paging};
use cloudcast_core::text::clean_text;

use crate::reports::MAX_STATEMENT_CHARS;
use crate::takedowns::*;

/// `POST /api/v1/cloudcasts/{id}/counter-notice`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCounterNotice {
    /// Why the takedown is a mistake.
    pub statement: String,
    /// "I believe in good faith that the content was removed by mistake":
    /// must be true.
    pub good_faith: bool,
}

/// A counter-notice as its DJ and administrators see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CounterNoticeView {
    pub id: Uuid,
    pub statement: String,
    pub status: CounterNoticeStatus,
    pub decision_note: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// The takedown's statement of reasons.
    pub takedown_reason: Option<String>,
    pub cloudcast: ReportedCloudcast,
}

#[derive(sqlx::FromRow)]
struct CounterNoticeRow {
    id: Uuid,
    statement: String,
    status: CounterNoticeStatus,
    decision_note: Option<String>,
    created_at: OffsetDateTime,
    takedown_reason: Option<String>,
    #[sqlx(flatten)]
    cloudcast: CloudcastRow,
}

impl CounterNoticeRow {
    fn view(self) -> CounterNoticeView {
        CounterNoticeView {
            id: self.id,
            statement: self.statement,
            status: self.status,
            decision_note: self.decision_note,
            created_at: self.created_at,
            takedown_reason: self.takedown_reason,
            cloudcast: self.cloudcast.view(),
        }
    }
}

/// Counter-notices with `filter` over `n` (the notice) and `c`.
fn select_counter_notices(filter: &str) -> String {
    format!(
        "SELECT n.id, n.statement, n.status, n.decision_note, n.created_at, c.takedown_reason,
                {CLOUDCAST_COLUMNS}
           FROM counter_notices n
           JOIN cloudcasts c ON c.id = n.cloudcast_id
           JOIN users o ON o.id = c.owner_id
          WHERE {filter}"
    )
}

async fn counter_notice_view(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<CounterNoticeView, CatalogError> {
    let row: Option<CounterNoticeRow> = sqlx::query_as(&select_counter_notices("n.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.map(CounterNoticeRow::view)
        .ok_or(CatalogError::NotFound("counter-notice"))
}

/// `POST /api/v1/cloudcasts/{id}/counter-notice`: the DJ answers a takedown.
#[utoipa::path(post, path = "/api/v1/cloudcasts/{id}/counter-notice", tag = "moderation",
    summary = "Answer the takedown of my cloudcast",
    params(("id" = Uuid, Path, description = "My cloudcast, taken down")),
    request_body = NewCounterNotice,
    responses(
        (status = 201, description = "Received; a moderator will decide", body = CounterNoticeView),
        (status = 400, description = "A malformed body", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 403, description = "Not my cloudcast", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such cloudcast", body = cloudcast_core::apidoc::ErrorBody),
        (status = 409, description = "Not taken down, or an answer waits already", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "No statement, or good_faith not true", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn counter_notice(
    State(state): State<CatalogState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<NewCounterNotice>,
) -> Result<(StatusCode, Json<CounterNoticeView>), CatalogError> {
    let statement = clean_text("statement", &req.statement, MAX_STATEMENT_CHARS)?;
    if !req.good_faith {
        return Err(CatalogError::InvalidField(
            "good_faith: a counter-notice must state it is made in good faith".into(),
        ));
    }
    match visibility::load(&state.pool, id).await? {
        Some(a) if a.owner_id == user && a.taken_down => {}
        Some(a) if a.owner_id == user => return Err(CatalogError::NotTakenDown),
        Some(a) if a.visible_to(Some(user)) => return Err(CatalogError::NotOwner),
        _ => return Err(CatalogError::NotFound("cloudcast")),
    }
    let mut tx = state.pool.begin().await?;
    let notice = Uuid::now_v7();
    let added = sqlx::query(
        "INSERT INTO counter_notices (id, cloudcast_id, user_id, statement) VALUES ($1, $2, $3, $4)
         ON CONFLICT (cloudcast_id) WHERE status = 'open' DO NOTHING",
    )
    .bind(notice)
    .bind(id)
    .bind(user)
    .bind(&statement)
    .execute(&mut *tx)
    .await
    .map_err(gone("cloudcast"))?;
    if added.rows_affected() == 0 {
        return Err(CatalogError::CounterNoticeOpen);
    }
    let view = counter_notice_view(&mut tx, notice).await?;
    tx.commit().await?;
    tracing::info!(cloudcast_id = %id, "counter-notice received");
    Ok((StatusCode::CREATED, Json(view)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CounterNoticesQuery {
    /// `open` (default), `rejected` or `reinstated`.
    pub status: Option<CounterNoticeStatus>,
    /// At most 200; 50 unless given.
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CounterNoticePage {
    pub counter_notices: Vec<CounterNoticeView>,
    /// The `offset` of the next page; absent on the last page.
    pub next_offset: Option<u64>,
}

/// `GET /api/v1/admin/counter-notices?status=open`: DJs' answers, oldest first.
#[utoipa::path(get, path = "/api/v1/admin/counter-notices", tag = "moderation",
    summary = "Counter-notices (administrators only)",
    params(CounterNoticesQuery),
    responses(
        (status = 200, description = "Counter-notices, oldest first", body = CounterNoticePage),
        (status = 400, description = "A bad query parameter", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 403, description = "Not an administrator", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn admin_counter_notices(
    State(state): State<CatalogState>,
    AdminUser(_admin): AdminUser,
    ApiQuery(q): ApiQuery<CounterNoticesQuery>,
) -> Result<Json<CounterNoticePage>, CatalogError> {
    let (limit, offset) = paging(q.limit, q.offset);
    let rows: Vec<CounterNoticeRow> = sqlx::query_as(&select_counter_notices(
        "n.status = $1 ORDER BY n.created_at, n.id LIMIT $2 OFFSET $3",
    ))
    .bind(q.status.unwrap_or(CounterNoticeStatus::Open))
    .bind(i64::from(limit) + 1)
    .bind(i64::from(offset))
    .fetch_all(&state.pool)
    .await?;
    let (rows, next_offset) = cut(rows, limit, offset);
    Ok(Json(CounterNoticePage {
        counter_notices: rows.into_iter().map(CounterNoticeRow::view).collect(),
        next_offset,
    }))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CounterNoticeAction {
    /// The cloudcast comes back as it was.
    Reinstate,
    /// The takedown stands.
    Reject,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CounterNoticeDecision {
    pub action: CounterNoticeAction,
    /// The reasons, sent to the DJ.
    pub note: String,
}

/// `POST /api/v1/admin/counter-notices/{id}/decision`.
#[utoipa::path(post, path = "/api/v1/admin/counter-notices/{id}/decision", tag = "moderation",
    summary = "Decide a counter-notice: reinstate or reject (administrators only)",
    params(("id" = Uuid, Path, description = "The counter-notice")),
    request_body = CounterNoticeDecision,
    responses(
        (status = 200, description = "Decided", body = CounterNoticeView),
        (status = 400, description = "A malformed body", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 403, description = "Not an administrator", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such counter-notice", body = cloudcast_core::apidoc::ErrorBody),
        (status = 409, description = "Decided already", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "No reasons given", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn decide_counter_notice(
    State(state): State<CatalogState>,
    // The path first: a malformed id is a 400 whoever asks.
    ApiPath(id): ApiPath<Uuid>,
    AdminUser(admin): AdminUser,
    ApiJson(req): ApiJson<CounterNoticeDecision>,
) -> Result<Json<CounterNoticeView>, CatalogError> {
    let note = clean_text("note", &req.note, MAX_STATEMENT_CHARS)?;
    let mut tx = state.pool.begin().await?;
    let found: Option<(Uuid, CounterNoticeStatus)> =
        sqlx::query_as("SELECT cloudcast_id, status FROM counter_notices WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((cloudcast, status)) = found else {
        return Err(CatalogError::NotFound("counter-notice"));
    };
    if status != CounterNoticeStatus::Open {
        return Err(CatalogError::Decided("counter-notice"));
    }
    let owner = owner_of(&mut tx, cloudcast).await?;
    let (status, outcome) = match req.action {
        CounterNoticeAction::Reinstate => {
            (CounterNoticeStatus::Reinstated, "it is back, as it was")
        }
        CounterNoticeAction::Reject => (CounterNoticeStatus::Rejected, "the takedown stands"),
    };
    sqlx::query(
        "UPDATE counter_notices SET status = $2, decided_by = $3, decided_at = now(),
                decision_note = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(admin)
    .bind(&note)
    .execute(&mut *tx)
    .await?;
    if req.action == CounterNoticeAction::Reinstate {
        sqlx::query(
            "UPDATE cloudcasts SET taken_down_at = NULL, takedown_reason = NULL WHERE id = $1",
        )
        .bind(cloudcast)
        .execute(&mut *tx)
        .await?;
        // Those who asked for the takedown hear that it was reversed.
        let upheld: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM cloudcast_reports WHERE cloudcast_id = $1 AND status = $2",
        )
        .bind(cloudcast)
        .bind(ReportStatus::Upheld)
        .fetch_all(&mut *tx)
        .await?;
        let outcome = "the DJ answered with a counter-notice and the cloudcast was reinstated";
        tell_notifiers(&mut tx, &upheld, &owner.title, outcome, &note).await?;
    }
    let detail = format!(
        "Your counter-notice on “{}”: {outcome}. {note}",
        owner.title
    );
    let decided = notify::Event::new(
        NotificationKind::Moderation,
        notify::To::User(owner.owner_id),
        cloudcast,
    )
    .about(cloudcast)
    .detail(&detail)
    .mailed();
    notify::record(&mut tx, &decided).await?;
    outbox::queue(
        &mut tx,
        Some(owner.owner_id),
        &owner.email,
        "counter_notice_decision",
        &format!("Your counter-notice on \"{}\"", owner.title),
        &format!(
            "Hello {},\n\nA moderator has decided on your counter-notice on \"{}\": {outcome}.\n\n\
             Their reasons:\n{note}\n",
            owner.username, owner.title
        ),
    )
    .await?;
    let view = counter_notice_view(&mut tx, id).await?;
    tx.commit().await?;
    tracing::info!(cloudcast_id = %cloudcast, by = %admin, action = ?req.action, "counter-notice decided");
    Ok(Json(view))
}
