//! Decisions on accounts, with their reasons and appeals (EU DSA Art. 17,
//! 20): an administrator suspends an account for a time or for good,
//! restricts it (no uploads, no comments), or confirms a report that its
//! holder is under 13 (suspended at once, erased after the contest period
//! unless an appeal succeeds: `sweep.rs`). Each decision is kept with who,
//! when and why; the person is mailed the statement of reasons, sees it in
//! settings and may appeal once per decision; a granted appeal or an
//! administrator lifts it.
//!
//! What a decision does is in the account's columns (`users.*_until`, and
//! `cloudcasts.owner_hidden_until` for the visibility rule), recomputed
//! from every decision in force by [`restore`], the one writer of them.

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
use cloudcast_core::page::offset::{cut, paging};
use cloudcast_core::standing::for_good;
use cloudcast_core::states::{AccountAction, AppealStatus, DecisionState, NotificationKind};
use cloudcast_core::text::clean_text;

use crate::contact::{self, MAX_MESSAGE_CHARS};
use crate::{ModerationError, ModerationState};

/// Longest decision "for a time": a year (longer is for good).
const MAX_DAYS: u32 = 365;

/// `POST /api/v1/admin/users/{username}/decisions`
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDecision {
    pub action: AccountAction,
    /// The statement of reasons: the facts, the rule broken, and what the
    /// person may do (mailed and shown to them).
    #[schema(max_length = 4000)]
    pub reasons: String,
    /// For a suspension or restriction: how many days (1 to 365); absent:
    /// for good. Not for `erase_minor`.
    pub days: Option<u32>,
    /// The contact case this answers: it is closed, and its sender told.
    pub case: Option<Uuid>,
}

/// An appeal, as its author and administrators see it.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AppealView {
    pub id: Uuid,
    pub decision_id: Uuid,
    pub statement: String,
    pub status: AppealStatus,
    pub answer: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decided_at: Option<OffsetDateTime>,
}

/// A decision on an account.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct DecisionView {
    pub id: Uuid,
    /// The account's username (absent once it was erased).
    pub username: Option<String>,
    pub action: AccountAction,
    pub reasons: String,
    /// When it ends; absent: for good.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub until: Option<OffsetDateTime>,
    /// For `erase_minor`: when the account is erased unless an appeal
    /// succeeds first.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub erase_after: Option<OffsetDateTime>,
    pub state: DecisionState,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ended_at: Option<OffsetDateTime>,
    /// The newest appeal against it.
    #[sqlx(skip)]
    pub appeal: Option<AppealView>,
}

const DECISION_COLUMNS: &str = "d.id, u.username, d.action, d.reasons, d.until, d.erase_after,
    d.state, d.created_at, d.ended_at";

async fn with_appeals(
    conn: &mut PgConnection,
    mut decisions: Vec<DecisionView>,
) -> Result<Vec<DecisionView>, sqlx::Error> {
    let ids: Vec<Uuid> = decisions.iter().map(|d| d.id).collect();
    let appeals: Vec<AppealView> = sqlx::query_as(
        "SELECT DISTINCT ON (decision_id) id, decision_id, statement, status, answer, created_at,
                decided_at
           FROM account_appeals WHERE decision_id = ANY($1)
          ORDER BY decision_id, created_at DESC",
    )
    .bind(&ids)
    .fetch_all(conn)
    .await?;
    for a in appeals {
        if let Some(d) = decisions.iter_mut().find(|d| d.id == a.decision_id) {
            d.appeal = Some(a);
        }
    }
    Ok(decisions)
}

async fn decision_view(conn: &mut PgConnection, id: Uuid) -> Result<DecisionView, ModerationError> {
    let found: Option<DecisionView> = sqlx::query_as(&format!(
        "SELECT {DECISION_COLUMNS} FROM account_decisions d LEFT JOIN users u ON u.id = d.user_id
          WHERE d.id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let d = found.ok_or(ModerationError::NotFound("decision"))?;
    Ok(with_appeals(conn, vec![d]).await?.remove(0))
}

/// The one writer of an account's restrictions: each column is the
/// latest end of the decisions in force that set it, and its cloudcasts
/// are hidden while it is suspended.
pub(crate) async fn restore(conn: &mut PgConnection, user: Uuid) -> Result<(), sqlx::Error> {
    let until = |actions: &str| {
        format!(
            "(SELECT max(COALESCE(d.until, $2)) FROM account_decisions d
               WHERE d.user_id = u.id AND d.state = 'in_force' AND d.action IN ({actions})
                 AND COALESCE(d.until, $2) > now())"
        )
    };
    sqlx::query(&format!(
        "UPDATE users u SET suspended_until = {}, no_uploads_until = {}, no_comments_until = {}
          WHERE u.id = $1",
        until("'suspend', 'erase_minor'"),
        until("'no_uploads'"),
        until("'no_comments'"),
    ))
    .bind(user)
    .bind(for_good())
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE cloudcasts SET owner_hidden_until = (SELECT suspended_until FROM users WHERE id = $1)
          WHERE owner_id = $1",
    )
    .bind(user)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What a person is told a decision does.
fn effect(action: AccountAction) -> &'static str {
    match action {
        AccountAction::Suspend => {
            "Your account is suspended: you were signed out everywhere, its API keys were \
             revoked, and your mixes, comments and profile are hidden. You may still sign in to \
             read this decision, appeal it, export your data or erase your account."
        }
        AccountAction::NoUploads => "Your account may not upload mixes.",
        AccountAction::NoComments => "Your account may not comment.",
        AccountAction::EraseMinor => {
            "We were told, and have confirmed, that the holder of this account is under 13, the \
             age our privacy policy (section 12) requires. The account is suspended now, and it \
             will be erased with everything it holds once the time to contest has passed, \
             unless an appeal shows the report was wrong."
        }
    }
}

/// The words of a period.
fn period(until: Option<OffsetDateTime>, erase_after: Option<OffsetDateTime>) -> String {
    match (until, erase_after) {
        (_, Some(at)) => format!("The account will be erased after {} (UTC).", at.date()),
        (Some(at), None) => format!("It ends on {} (UTC).", at.date()),
        (None, None) => "It has no end date.".into(),
    }
}

/// `POST /api/v1/admin/users/{username}/decisions`: 201 with the decision.
#[utoipa::path(post, path = "/api/v1/admin/users/{username}/decisions", tag = "moderation",
    summary = "Suspend or restrict an account, or confirm it is an under-13's (administrators only)",
    params(("username" = String, Path, description = "The account")),
    request_body = NewDecision,
    responses(
        (status = 201, description = "In force; the person was mailed the reasons", body = DecisionView),
        (status = 400, description = "A malformed body, or my own account", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 403, description = "Not an administrator", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such account or case", body = cloudcast_core::apidoc::ErrorBody),
        (status = 409, description = "The case was closed already", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "No reasons, or a bad number of days", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn decide(
    State(state): State<ModerationState>,
    ApiPath(username): ApiPath<String>,
    AdminUser(admin): AdminUser,
    ApiJson(req): ApiJson<NewDecision>,
) -> Result<(StatusCode, Json<DecisionView>), ModerationError> {
    let reasons = clean_text("reasons", req.reasons.trim(), MAX_MESSAGE_CHARS)?;
    if reasons.is_empty() {
        return Err(ModerationError::InvalidField(
            "reasons: a statement of reasons is required (DSA Art. 17)".into(),
        ));
    }
    let now = OffsetDateTime::now_utc();
    let (until, erase_after) = match (req.action, req.days) {
        (AccountAction::EraseMinor, Some(_)) => {
            return Err(ModerationError::InvalidField(
                "days: an under-13's account is erased after the contest period; no days".into(),
            ));
        }
        (AccountAction::EraseMinor, None) => (None, Some(now + state.config.contest)),
        (_, Some(d)) if (1..=MAX_DAYS).contains(&d) => {
            (Some(now + time::Duration::days(i64::from(d))), None)
        }
        (_, Some(_)) => {
            return Err(ModerationError::InvalidField(format!(
                "days: 1 to {MAX_DAYS}, or leave it out for good"
            )));
        }
        (_, None) => (None, None),
    };
    let mut tx = state.pool.begin().await?;
    let found: Option<(Uuid, String, String)> = sqlx::query_as(
        "SELECT id, username, email FROM users
          WHERE lower(username) = lower($1) AND pending_until IS NULL FOR UPDATE",
    )
    .bind(&username)
    .fetch_optional(&mut *tx)
    .await?;
    let (user, name, email) = found.ok_or(ModerationError::NotFound("account"))?;
    if user == admin {
        return Err(ModerationError::InvalidField(
            "username: an administrator cannot decide about their own account".into(),
        ));
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO account_decisions (id, user_id, action, reasons, until, erase_after, case_id, decided_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(user)
    .bind(req.action)
    .bind(&reasons)
    .bind(until)
    .bind(erase_after)
    .bind(req.case)
    .bind(admin)
    .execute(&mut *tx)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            ModerationError::NotFound("case")
        }
        _ => ModerationError::Database(e),
    })?;
    restore(&mut tx, user).await?;
    let revoked = matches!(
        req.action,
        AccountAction::Suspend | AccountAction::EraseMinor
    );
    let mut keys = Vec::new();
    if revoked {
        // Every session, key and app's grant ends now; a new sign-in only
        // reaches the decision, the appeal, the export and the erasure.
        cloudcast_core::auth::end_sessions(&mut tx, user, None).await?;
        // The apps this account made stop acting for anyone.
        sqlx::query(
            "DELETE FROM oauth_grants WHERE app_id IN (SELECT id FROM oauth_apps WHERE owner_id = $1)",
        )
        .bind(user)
        .execute(&mut *tx)
        .await?;
        keys = sqlx::query_scalar("DELETE FROM api_keys WHERE user_id = $1 RETURNING key_hash")
            .bind(user)
            .fetch_all(&mut *tx)
            .await?;
    }
    let body = format!(
        "Hello {name},\n\nA moderator has decided about your Cloudcast account.\n\n{}\n{}\n\n\
         The moderator's reasons:\n{reasons}\n\nIf you believe this is a mistake, appeal it from \
         your settings ({}/settings) or with POST /api/v1/me/decisions/{id}/appeal: another look \
         is taken and you are told the outcome.\n",
        effect(req.action),
        period(until, erase_after),
        state.public_url,
    );
    outbox::queue(
        &mut tx,
        Some(user),
        &email,
        "account_decision",
        "A decision about your Cloudcast account",
        &body,
    )
    .await?;
    let detail = format!("{} {}", effect(req.action), period(until, erase_after));
    let told = notify::Event::new(NotificationKind::Moderation, notify::To::User(user), id)
        .detail(&detail)
        .mailed();
    notify::record(&mut tx, &told).await?;
    if let Some(case) = req.case {
        let answer = match req.action {
            AccountAction::EraseMinor => {
                "Thank you: we confirmed the account's holder is under 13. The account was \
                 suspended at once, and it will be erased with everything it holds."
            }
            _ => "Thank you: a moderator acted on the account you reported.",
        };
        contact::close(&mut tx, case, admin, answer).await?;
    }
    let view = decision_view(&mut tx, id).await?;
    tx.commit().await?;
    if !keys.is_empty() {
        state.privacy.keys.forget(&keys).await;
    }
    tracing::info!(user_id = %user, decision_id = %id, action = %req.action, by = %admin, "account decision");
    Ok((StatusCode::CREATED, Json(view)))
}

/// `GET /api/v1/me/decisions`: decisions about me, newest first.
#[utoipa::path(get, path = "/api/v1/me/decisions", tag = "moderation",
    summary = "Decisions about my account, with their reasons and my appeals",
    responses(
        (status = 200, description = "Newest first", body = Vec<DecisionView>),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn mine(
    State(state): State<ModerationState>,
    AuthUser(user): AuthUser,
) -> Result<Json<Vec<DecisionView>>, ModerationError> {
    let mut conn = state.pool.acquire().await?;
    let decisions: Vec<DecisionView> = sqlx::query_as(&format!(
        "SELECT {DECISION_COLUMNS} FROM account_decisions d JOIN users u ON u.id = d.user_id
          WHERE d.user_id = $1 ORDER BY d.created_at DESC, d.id DESC"
    ))
    .bind(user)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Json(with_appeals(&mut conn, decisions).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAppeal {
    /// Why the decision is wrong.
    #[schema(max_length = 4000)]
    pub statement: String,
}

/// `POST /api/v1/me/decisions/{id}/appeal`: 201 with the appeal.
#[utoipa::path(post, path = "/api/v1/me/decisions/{id}/appeal", tag = "moderation",
    summary = "Appeal a decision about my account",
    params(("id" = Uuid, Path, description = "The decision")),
    request_body = NewAppeal,
    responses(
        (status = 201, description = "In the moderators' queue", body = AppealView),
        (status = 400, description = "A malformed body", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such decision about me", body = cloudcast_core::apidoc::ErrorBody),
        (status = 409, description = "Not in force, or an appeal is open", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "No statement", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn appeal(
    State(state): State<ModerationState>,
    ApiPath(id): ApiPath<Uuid>,
    AuthUser(user): AuthUser,
    ApiJson(req): ApiJson<NewAppeal>,
) -> Result<(StatusCode, Json<AppealView>), ModerationError> {
    let statement = clean_text("statement", req.statement.trim(), MAX_MESSAGE_CHARS)?;
    if statement.is_empty() {
        return Err(ModerationError::InvalidField(
            "statement: say why the decision is wrong".into(),
        ));
    }
    let mut tx = state.pool.begin().await?;
    let found: Option<DecisionState> = sqlx::query_scalar(
        "SELECT state FROM account_decisions WHERE id = $1 AND user_id = $2 FOR UPDATE",
    )
    .bind(id)
    .bind(user)
    .fetch_optional(&mut *tx)
    .await?;
    match found {
        None => return Err(ModerationError::NotFound("decision")),
        Some(DecisionState::InForce) => {}
        Some(_) => return Err(ModerationError::Decided("decision")),
    }
    let appeal = Uuid::now_v7();
    let made: Result<AppealView, sqlx::Error> = sqlx::query_as(
        "INSERT INTO account_appeals (id, decision_id, user_id, statement) VALUES ($1, $2, $3, $4)
         RETURNING id, decision_id, statement, status, answer, created_at, decided_at",
    )
    .bind(appeal)
    .bind(id)
    .bind(user)
    .bind(&statement)
    .fetch_one(&mut *tx)
    .await;
    let made = match made {
        Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
            return Err(ModerationError::AppealOpen);
        }
        other => other?,
    };
    tx.commit().await?;
    tracing::info!(user_id = %user, decision_id = %id, appeal_id = %appeal, "decision appealed");
    Ok((StatusCode::CREATED, Json(made)))
}

/// An appeal in the moderators' queue, with its decision.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QueuedAppeal {
    #[serde(flatten)]
    pub appeal: AppealView,
    pub decision: DecisionView,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AppealsQuery {
    /// `open` (default), `granted` or `rejected`.
    pub status: Option<AppealStatus>,
    /// At most 200; 50 unless given.
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AppealPage {
    pub appeals: Vec<QueuedAppeal>,
    pub next_offset: Option<u64>,
}

/// `GET /api/v1/admin/appeals?status=open`: oldest first.
#[utoipa::path(get, path = "/api/v1/admin/appeals", tag = "moderation",
    summary = "Appeals against decisions on accounts (administrators only)",
    params(AppealsQuery),
    responses(
        (status = 200, description = "Appeals, oldest first", body = AppealPage),
        (status = 400, description = "A bad query parameter", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 403, description = "Not an administrator", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn appeals(
    State(state): State<ModerationState>,
    AdminUser(_admin): AdminUser,
    ApiQuery(q): ApiQuery<AppealsQuery>,
) -> Result<Json<AppealPage>, ModerationError> {
    let (limit, offset) = paging(q.limit, q.offset);
    let mut conn = state.pool.acquire().await?;
    let rows: Vec<AppealView> = sqlx::query_as(
        "SELECT id, decision_id, statement, status, answer, created_at, decided_at
           FROM account_appeals WHERE status = $1
          ORDER BY created_at, id LIMIT $2 OFFSET $3",
    )
    .bind(q.status.unwrap_or(AppealStatus::Open))
    .bind(i64::from(limit) + 1)
    .bind(i64::from(offset))
    .fetch_all(&mut *conn)
    .await?;
    let (rows, next_offset) = cut(rows, limit, offset);
    let mut appeals = Vec::with_capacity(rows.len());
    for appeal in rows {
        let mut decision = decision_view(&mut conn, appeal.decision_id).await?;
        decision.appeal = None;
        appeals.push(QueuedAppeal { appeal, decision });
    }
    Ok(Json(AppealPage {
        appeals,
        next_offset,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppealDecision {
    /// `granted`: the decision is lifted; `rejected`: it stands.
    pub outcome: AppealStatus,
    /// The reasons, mailed to the person.
    #[schema(max_length = 4000)]
    pub note: String,
}

/// Lifts decision `id` (in `conn`'s transaction) and restores the account.
async fn lift(conn: &mut PgConnection, id: Uuid) -> Result<Option<Uuid>, ModerationError> {
    let user: Option<Option<Uuid>> = sqlx::query_scalar(
        "UPDATE account_decisions SET state = 'lifted', ended_at = now()
          WHERE id = $1 AND state = 'in_force' RETURNING user_id",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(user) = user else {
        return Err(ModerationError::Decided("decision"));
    };
    if let Some(u) = user {
        restore(conn, u).await?;
    }
    Ok(user)
}

/// Tells the person of an appeal's outcome or a lifted decision.
async fn tell(
    conn: &mut PgConnection,
    public_url: &str,
    user: Uuid,
    object: Uuid,
    subject: &str,
    what: &str,
    note: &str,
) -> Result<(), sqlx::Error> {
    let found: Option<(String, String)> =
        sqlx::query_as("SELECT username, email FROM users WHERE id = $1")
            .bind(user)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((name, email)) = found else {
        return Ok(());
    };
    outbox::queue(
        conn,
        Some(user),
        &email,
        "account_decision",
        subject,
        &format!(
            "Hello {name},\n\n{what}\n\nThe moderator's reasons:\n{note}\n\nYour decisions are in \
             your settings: {public_url}/settings\n"
        ),
    )
    .await?;
    let detail = format!("{what} {note}");
    let told = notify::Event::new(NotificationKind::Moderation, notify::To::User(user), object)
        .detail(&detail)
        .mailed();
    notify::record(conn, &told).await?;
    Ok(())
}

/// `POST /api/v1/admin/appeals/{id}/decision`
#[utoipa::path(post, path = "/api/v1/admin/appeals/{id}/decision", tag = "moderation",
    summary = "Grant (lift the decision) or reject an appeal (administrators only)",
    params(("id" = Uuid, Path, description = "The appeal")),
    request_body = AppealDecision,
    responses(
        (status = 200, description = "Decided; the person was told", body = AppealView),
        (status = 400, description = "A malformed body", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 403, description = "Not an administrator", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such appeal", body = cloudcast_core::apidoc::ErrorBody),
        (status = 409, description = "Decided already", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "No reasons, or `open` as the outcome", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn decide_appeal(
    State(state): State<ModerationState>,
    ApiPath(id): ApiPath<Uuid>,
    AdminUser(admin): AdminUser,
    ApiJson(req): ApiJson<AppealDecision>,
) -> Result<Json<AppealView>, ModerationError> {
    let note = clean_text("note", req.note.trim(), MAX_MESSAGE_CHARS)?;
    if note.is_empty() {
        return Err(ModerationError::InvalidField(
            "note: say why (it is mailed to the person)".into(),
        ));
    }
    if req.outcome == AppealStatus::Open {
        return Err(ModerationError::InvalidField(
            "outcome: `granted` or `rejected`".into(),
        ));
    }
    let mut tx = state.pool.begin().await?;
    let found: Option<(Uuid, Uuid, AppealStatus)> = sqlx::query_as(
        "SELECT decision_id, user_id, status FROM account_appeals WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let (decision, user, status) = found.ok_or(ModerationError::NotFound("appeal"))?;
    if status != AppealStatus::Open {
        return Err(ModerationError::Decided("appeal"));
    }
    let what = if req.outcome == AppealStatus::Granted {
        lift(&mut tx, decision).await?;
        "Your appeal was granted: the decision about your account is lifted."
    } else {
        "Your appeal was rejected: the decision about your account stands."
    };
    let view: AppealView = sqlx::query_as(
        "UPDATE account_appeals SET status = $2, answer = $3, decided_by = $4, decided_at = now()
          WHERE id = $1
         RETURNING id, decision_id, statement, status, answer, created_at, decided_at",
    )
    .bind(id)
    .bind(req.outcome)
    .bind(&note)
    .bind(admin)
    .fetch_one(&mut *tx)
    .await?;
    tell(
        &mut tx,
        &state.public_url,
        user,
        id,
        "Your appeal on Cloudcast was decided",
        what,
        &note,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(appeal_id = %id, decision_id = %decision, outcome = %req.outcome, by = %admin, "appeal decided");
    Ok(Json(view))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Lift {
    /// Why it ends early (mailed to the person).
    #[schema(max_length = 4000)]
    pub note: String,
}

/// `POST /api/v1/admin/decisions/{id}/lift`
#[utoipa::path(post, path = "/api/v1/admin/decisions/{id}/lift", tag = "moderation",
    summary = "Lift a decision early (administrators only)",
    params(("id" = Uuid, Path, description = "The decision")),
    request_body = Lift,
    responses(
        (status = 200, description = "Lifted; the person was told", body = DecisionView),
        (status = 400, description = "A malformed body", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 403, description = "Not an administrator", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such decision", body = cloudcast_core::apidoc::ErrorBody),
        (status = 409, description = "Not in force", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "No reasons", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn lift_decision(
    State(state): State<ModerationState>,
    ApiPath(id): ApiPath<Uuid>,
    AdminUser(admin): AdminUser,
    ApiJson(req): ApiJson<Lift>,
) -> Result<Json<DecisionView>, ModerationError> {
    let note = clean_text("note", req.note.trim(), MAX_MESSAGE_CHARS)?;
    if note.is_empty() {
        return Err(ModerationError::InvalidField(
            "note: say why (it is mailed to the person)".into(),
        ));
    }
    let mut tx = state.pool.begin().await?;
    let exists: Option<Uuid> = sqlx::query_scalar("SELECT id FROM account_decisions WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_none() {
        return Err(ModerationError::NotFound("decision"));
    }
    if let Some(user) = lift(&mut tx, id).await? {
        tell(
            &mut tx,
            &state.public_url,
            user,
            id,
            "A decision about your Cloudcast account was lifted",
            "A moderator lifted the decision about your account.",
            &note,
        )
        .await?;
    }
    let view = decision_view(&mut tx, id).await?;
    tx.commit().await?;
    tracing::info!(decision_id = %id, by = %admin, "decision lifted");
    Ok(Json(view))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_tells_its_effect_and_period() {
        for a in AccountAction::ALL {
            assert!(!effect(*a).is_empty());
        }
        let at = time::macros::datetime!(2027-01-02 3:04 UTC);
        assert!(period(None, Some(at)).contains("erased after 2027-01-02"));
        assert!(period(Some(at), None).contains("ends on 2027-01-02"));
        assert!(period(None, None).contains("no end"));
    }
}
