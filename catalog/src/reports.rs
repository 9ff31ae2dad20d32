//! Reports on cloudcasts and notice-and-takedown, as EU DSA Art. 16, 17
//! and 20 describe them.
//!
//! Anyone who can see a cloudcast may report it, signed in or not: as
//! abuse, or as a copyright notice with the particulars a notice needs (who
//! gives it, how to reach them, the work, a statement of good faith). An
//! administrator upholds a report, which takes the cloudcast down, or
//! dismisses it. A cloudcast taken down is hidden from everyone but its
//! owner (the rule is in `core/src/visibility.rs`); its DJ is mailed the
//! statement of reasons and may answer with a counter-notice, which an
//! administrator decides: the cloudcast comes back, or the takedown stands.
//! Notifiers who left an address hear the decision. An owner with
//! [`REPEAT_INFRINGER_STRIKES`] cloudcasts taken down for copyright is
//! flagged to administrators in the queue.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use cloudcast_core::auth::{AdminUser, AuthUser, MaybeUser};
use cloudcast_core::extract::{ApiJson, ApiPath, ApiQuery};
use cloudcast_core::outbox;
use cloudcast_core::states::{CounterNoticeStatus, ReportKind, ReportStatus};
use cloudcast_core::visibility;

use crate::comments::{clean_text, cut, gone, paging};
use crate::{CatalogError, CatalogState, cards};

/// Longest statement (a report's reason, a counter-notice, a decision).
pub const MAX_STATEMENT_CHARS: usize = 4000;
/// Longest name or description of a work.
const MAX_NAME_CHARS: usize = 300;
/// Cloudcasts of one owner taken down for copyright (and not reinstated)
/// that flag the owner as a repeat infringer: three, as common practice
/// under the DMCA's repeat-infringer policy and DSA Art. 23.
pub const REPEAT_INFRINGER_STRIKES: i64 = 3;

/// `POST /api/v1/cloudcasts/{id}/report`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCloudcastReport {
    pub kind: ReportKind,
    /// Why the content is unlawful or abusive.
    pub reason: String,
    /// The notifier's name: required for a copyright notice.
    pub name: Option<String>,
    /// Where the decision is sent: required for a copyright notice; a
    /// signed-in reporter's account address is used when absent.
    pub email: Option<String>,
    /// The work whose copyright is infringed: required for a copyright notice.
    pub work: Option<String>,
    /// "I believe in good faith that the information is accurate and
    /// complete": must be true for a copyright notice.
    #[serde(default)]
    pub good_faith: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReportReceipt {
    pub id: Uuid,
    pub cloudcast_id: Uuid,
    pub status: ReportStatus,
}

/// A checked email address (trimmed); the accounts crate owns account
/// addresses, this only refuses what cannot be one.
fn email(field: &str, text: &str) -> Result<String, CatalogError> {
    let e = text.trim();
    let ok = e.len() <= 254
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && e.split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    if ok {
        Ok(e.to_string())
    } else {
        Err(CatalogError::InvalidField(format!(
            "{field}: must be an email address"
        )))
    }
}

/// The notice's particulars, checked: (name, email, work).
type Particulars = (Option<String>, Option<String>, Option<String>);

fn particulars(req: &NewCloudcastReport) -> Result<Particulars, CatalogError> {
    let name = req
        .name
        .as_deref()
        .map(|n| clean_text("name", n, MAX_NAME_CHARS))
        .transpose()?;
    let mail = req
        .email
        .as_deref()
        .map(|e| email("email", e))
        .transpose()?;
    let work = req
        .work
        .as_deref()
        .map(|w| clean_text("work", w, MAX_NAME_CHARS))
        .transpose()?;
    if req.kind == ReportKind::Copyright {
        let missing = [
            ("name", name.is_none()),
            ("email", mail.is_none()),
            ("work", work.is_none()),
            ("good_faith", !req.good_faith),
        ];
        if let Some((field, _)) = missing.iter().find(|(_, m)| *m) {
            return Err(CatalogError::InvalidField(format!(
                "{field}: a copyright notice needs the notifier's name and email, the work, \
                 and good_faith: true"
            )));
        }
    }
    Ok((name, mail, work))
}

/// `POST /api/v1/cloudcasts/{id}/report`: 201 with the new report; 200
/// with the open one when this signed-in user reported it already.
#[utoipa::path(post, path = "/api/v1/cloudcasts/{id}/report", tag = "moderation",
    summary = "Report a cloudcast: abuse, or a copyright notice",
    params(("id" = Uuid, Path, description = "The cloudcast")),
    request_body = NewCloudcastReport,
    responses(
        (status = 201, description = "Received; a moderator will decide", body = ReportReceipt),
        (status = 200, description = "My open report on it already", body = ReportReceipt),
        (status = 400, description = "My own cloudcast, or a malformed body", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such cloudcast", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "A field is missing or invalid (named)", body = cloudcast_core::apidoc::ErrorBody)),
    security((), ("session" = [])))]
pub async fn report(
    State(state): State<CatalogState>,
    MaybeUser(user): MaybeUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<NewCloudcastReport>,
) -> Result<(StatusCode, Json<ReportReceipt>), CatalogError> {
    let reason = clean_text("reason", &req.reason, MAX_STATEMENT_CHARS)?;
    let (name, mail, work) = particulars(&req)?;
    match visibility::load(&state.pool, id).await? {
        Some(a) if user == Some(a.owner_id) => return Err(CatalogError::OwnReport),
        Some(a) if a.visible_to(user) => {}
        _ => return Err(CatalogError::NotFound("cloudcast")),
    }
    if let Some(u) = user {
        let open: Option<Uuid> = sqlx::query_scalar(
            "SELECT id FROM cloudcast_reports
              WHERE cloudcast_id = $1 AND reporter_id = $2 AND status = $3",
        )
        .bind(id)
        .bind(u)
        .bind(ReportStatus::Open)
        .fetch_optional(&state.pool)
        .await?;
        if let Some(report) = open {
            return Ok((
                StatusCode::OK,
                Json(ReportReceipt {
                    id: report,
                    cloudcast_id: id,
                    status: ReportStatus::Open,
                }),
            ));
        }
    }
    let report = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO cloudcast_reports
                (id, cloudcast_id, reporter_id, kind, reason, notifier_name, notifier_email,
                 work, good_faith)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(report)
    .bind(id)
    .bind(user)
    .bind(req.kind)
    .bind(&reason)
    .bind(&name)
    .bind(&mail)
    .bind(&work)
    .bind(req.good_faith)
    .execute(&state.pool)
    .await
    .map_err(gone("cloudcast"))?;
    tracing::info!(cloudcast_id = %id, report_id = %report, kind = %req.kind, "cloudcast reported");
    Ok((
        StatusCode::CREATED,
        Json(ReportReceipt {
            id: report,
            cloudcast_id: id,
            status: ReportStatus::Open,
        }),
    ))
}

/// The cloudcast a report or counter-notice is about, as moderators see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReportedCloudcast {
    pub id: Uuid,
    pub title: String,
    pub owner: String,
    /// Its page (an unlisted one's with its secret).
    pub url: String,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub taken_down_at: Option<OffsetDateTime>,
    /// Its owner's cloudcasts taken down for copyright and not reinstated.
    pub owner_strikes: i64,
    /// `owner_strikes` reached [`REPEAT_INFRINGER_STRIKES`].
    pub repeat_infringer: bool,
}

/// A report in the moderation queue.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReportView {
    pub id: Uuid,
    pub kind: ReportKind,
    pub reason: String,
    /// The reporter's username; absent for a notice sent without an account.
    pub reporter: Option<String>,
    pub notifier_name: Option<String>,
    /// Where the decision goes (administrators only see this queue).
    pub notifier_email: Option<String>,
    pub work: Option<String>,
    pub good_faith: bool,
    pub status: ReportStatus,
    pub decision_note: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    pub cloudcast: ReportedCloudcast,
}

#[derive(sqlx::FromRow)]
struct ReportRow {
    id: Uuid,
    kind: ReportKind,
    reason: String,
    reporter: Option<String>,
    notifier_name: Option<String>,
    notifier_email: Option<String>,
    work: Option<String>,
    good_faith: bool,
    status: ReportStatus,
    decision_note: Option<String>,
    created_at: OffsetDateTime,
    #[sqlx(flatten)]
    cloudcast: CloudcastRow,
}

#[derive(sqlx::FromRow)]
struct CloudcastRow {
    cloudcast_id: Uuid,
    title: String,
    owner: String,
    slug: Option<String>,
    visibility: visibility::Visibility,
    secret: String,
    taken_down_at: Option<OffsetDateTime>,
    owner_strikes: i64,
}

impl CloudcastRow {
    fn view(self) -> ReportedCloudcast {
        ReportedCloudcast {
            url: cards::url(
                &self.owner,
                self.slug.as_deref(),
                self.cloudcast_id,
                self.visibility,
                &self.secret,
            ),
            id: self.cloudcast_id,
            title: self.title,
            owner: self.owner,
            taken_down_at: self.taken_down_at,
            repeat_infringer: self.owner_strikes >= REPEAT_INFRINGER_STRIKES,
            owner_strikes: self.owner_strikes,
        }
    }
}

/// The columns of a [`CloudcastRow`]: `c` is the cloudcast, `o` its owner.
const CLOUDCAST_COLUMNS: &str = "c.id AS cloudcast_id, c.title, o.username AS owner, c.slug,
    c.visibility, c.secret, c.taken_down_at,
    (SELECT count(DISTINCT r2.cloudcast_id) FROM cloudcast_reports r2
       JOIN cloudcasts c2 ON c2.id = r2.cloudcast_id
      WHERE c2.owner_id = c.owner_id AND r2.kind = 'copyright' AND r2.status = 'upheld'
        AND c2.taken_down_at IS NOT NULL) AS owner_strikes";

impl ReportRow {
    fn view(self) -> ReportView {
        ReportView {
            id: self.id,
            kind: self.kind,
            reason: self.reason,
            reporter: self.reporter,
            notifier_name: self.notifier_name,
            notifier_email: self.notifier_email,
            work: self.work,
            good_faith: self.good_faith,
            status: self.status,
            decision_note: self.decision_note,
            created_at: self.created_at,
            cloudcast: self.cloudcast.view(),
        }
    }
}

/// Reports with `filter` over `r` (the report) and `c`.
fn select_reports(filter: &str) -> String {
    format!(
        "SELECT r.id, r.kind, r.reason, ru.username AS reporter, r.notifier_name,
                r.notifier_email, r.work, r.good_faith, r.status, r.decision_note,
                r.created_at, {CLOUDCAST_COLUMNS}
           FROM cloudcast_reports r
           JOIN cloudcasts c ON c.id = r.cloudcast_id
           JOIN users o ON o.id = c.owner_id
           LEFT JOIN users ru ON ru.id = r.reporter_id
          WHERE {filter}"
    )
}

async fn report_view(conn: &mut PgConnection, id: Uuid) -> Result<ReportView, CatalogError> {
    let row: Option<ReportRow> = sqlx::query_as(&select_reports("r.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.map(ReportRow::view)
        .ok_or(CatalogError::NotFound("report"))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportsQuery {
    /// `open` (default), `upheld` or `dismissed`.
    pub status: Option<ReportStatus>,
    /// At most 200; 50 unless given.
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReportPage {
    pub reports: Vec<ReportView>,
    /// The `offset` of the next page; absent on the last page.
    pub next_offset: Option<u64>,
}

/// `GET /api/v1/admin/reports?status=open`: reports on cloudcasts, oldest
/// first, each with its cloudcast and its owner's strikes.
#[utoipa::path(get, path = "/api/v1/admin/reports", tag = "moderation",
    summary = "Reports on cloudcasts (administrators only)",
    params(ReportsQuery),
    responses(
        (status = 200, description = "Reports, oldest first", body = ReportPage),
        (status = 400, description = "A bad query parameter", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 403, description = "Not an administrator", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn admin_reports(
    State(state): State<CatalogState>,
    AdminUser(_admin): AdminUser,
    ApiQuery(q): ApiQuery<ReportsQuery>,
) -> Result<Json<ReportPage>, CatalogError> {
    let (limit, offset) = paging(q.limit, q.offset);
    let rows: Vec<ReportRow> = sqlx::query_as(&select_reports(
        "r.status = $1 ORDER BY r.created_at, r.id LIMIT $2 OFFSET $3",
    ))
    .bind(q.status.unwrap_or(ReportStatus::Open))
    .bind(i64::from(limit) + 1)
    .bind(i64::from(offset))
    .fetch_all(&state.pool)
    .await?;
    let (rows, next_offset) = cut(rows, limit, offset);
    Ok(Json(ReportPage {
        reports: rows.into_iter().map(ReportRow::view).collect(),
        next_offset,
    }))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportAction {
    /// Uphold it: the cloudcast is taken down and its DJ told why.
    TakeDown,
    /// Nothing to act on.
    Dismiss,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportDecision {
    pub action: ReportAction,
    /// The statement of reasons: sent to the DJ on a takedown and to
    /// notifiers who left an address.
    pub note: String,
}

/// Who owns the cloudcast and what it is called, for the mails.
#[derive(sqlx::FromRow)]
struct Owner {
    owner_id: Uuid,
    email: String,
    username: String,
    title: String,
}

async fn owner_of(conn: &mut PgConnection, cloudcast: Uuid) -> Result<Owner, CatalogError> {
    sqlx::query_as(
        "SELECT c.owner_id, u.email, u.username, c.title
           FROM cloudcasts c JOIN users u ON u.id = c.owner_id WHERE c.id = $1 FOR UPDATE OF c",
    )
    .bind(cloudcast)
    .fetch_optional(conn)
    .await?
    .ok_or(CatalogError::NotFound("cloudcast"))
}

/// Mails the decision to each notifier of `reports` who left an address
/// (or reported signed in).
async fn tell_notifiers(
    conn: &mut PgConnection,
    reports: &[Uuid],
    title: &str,
    outcome: &str,
    note: &str,
) -> Result<(), CatalogError> {
    let to: Vec<(Option<Uuid>, String)> = sqlx::query_as(
        "SELECT r.reporter_id, COALESCE(r.notifier_email, u.email)
           FROM cloudcast_reports r LEFT JOIN users u ON u.id = r.reporter_id
          WHERE r.id = ANY($1) AND COALESCE(r.notifier_email, u.email) IS NOT NULL",
    )
    .bind(reports)
    .fetch_all(&mut *conn)
    .await?;
    for (user, address) in to {
        outbox::queue(
            conn,
            user,
            &address,
            "report_decision",
            &format!("Your report on \"{title}\""),
            &format!(
                "Hello,\n\nA moderator has decided on your report on the cloudcast \"{title}\": \
                 {outcome}.\n\nTheir reasons:\n{note}\n"
            ),
        )
        .await?;
    }
    Ok(())
}

/// `POST /api/v1/admin/reports/{id}/decision`: takes the cloudcast down
/// (upholding every open report on it) or dismisses the report.
#[utoipa::path(post, path = "/api/v1/admin/reports/{id}/decision", tag = "moderation",
    summary = "Decide a report: take the cloudcast down or dismiss (administrators only)",
    params(("id" = Uuid, Path, description = "The report")),
    request_body = ReportDecision,
    responses(
        (status = 200, description = "Decided", body = ReportView),
        (status = 400, description = "A malformed body", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 403, description = "Not an administrator", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such report", body = cloudcast_core::apidoc::ErrorBody),
        (status = 409, description = "Decided already", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "No statement of reasons", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn decide_report(
    State(state): State<CatalogState>,
    // The path first: a malformed id is a 400 whoever asks.
    ApiPath(id): ApiPath<Uuid>,
    AdminUser(admin): AdminUser,
    ApiJson(req): ApiJson<ReportDecision>,
) -> Result<Json<ReportView>, CatalogError> {
    let note = clean_text("note", &req.note, MAX_STATEMENT_CHARS)?;
    let mut tx = state.pool.begin().await?;
    let found: Option<(Uuid, ReportStatus, ReportKind)> = sqlx::query_as(
        "SELECT cloudcast_id, status, kind FROM cloudcast_reports WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((cloudcast, status, kind)) = found else {
        return Err(CatalogError::NotFound("report"));
    };
    if status != ReportStatus::Open {
        return Err(CatalogError::Decided("report"));
    }
    let owner = owner_of(&mut tx, cloudcast).await?;
    let decided: Vec<Uuid> = match req.action {
        ReportAction::Dismiss => vec![id],
        ReportAction::TakeDown => {
            sqlx::query(
                "UPDATE cloudcasts SET taken_down_at = COALESCE(taken_down_at, now()),
                        takedown_reason = $2 WHERE id = $1",
            )
            .bind(cloudcast)
            .bind(&note)
            .execute(&mut *tx)
            .await?;
            // Every open report on it is answered by the takedown.
            sqlx::query_scalar(
                "SELECT id FROM cloudcast_reports WHERE cloudcast_id = $1 AND status = $2",
            )
            .bind(cloudcast)
            .bind(ReportStatus::Open)
            .fetch_all(&mut *tx)
            .await?
        }
    };
    let status = match req.action {
        ReportAction::TakeDown => ReportStatus::Upheld,
        ReportAction::Dismiss => ReportStatus::Dismissed,
    };
    sqlx::query(
        "UPDATE cloudcast_reports SET status = $2, decided_by = $3, decided_at = now(),
                decision_note = $4 WHERE id = ANY($1)",
    )
    .bind(&decided)
    .bind(status)
    .bind(admin)
    .bind(&note)
    .execute(&mut *tx)
    .await?;
    let title = owner.title.clone();
    if req.action == ReportAction::TakeDown {
        let what = match kind {
            ReportKind::Copyright => "a copyright notice",
            ReportKind::Abuse => "a report",
        };
        outbox::queue(
            &mut tx,
            Some(owner.owner_id),
            &owner.email,
            "takedown",
            &format!("\"{title}\" was taken down"),
            &format!(
                "Hello {user},\n\nYour cloudcast \"{title}\" was taken down after {what}. \
                 Nobody but you can see or play it now.\n\nThe moderator's reasons:\n{note}\n\n\
                 If you believe this is a mistake (you hold the rights, or the use is lawful), \
                 answer with a counter-notice on its page ({base}/listen/{cloudcast}) or with \
                 POST /api/v1/cloudcasts/{cloudcast}/counter-notice. A moderator will decide \
                 and write to you.\n",
                user = owner.username,
                base = state.public_url,
            ),
        )
        .await?;
    }
    let outcome = match req.action {
        ReportAction::TakeDown => "the cloudcast was taken down",
        ReportAction::Dismiss => "no action was taken",
    };
    tell_notifiers(&mut tx, &decided, &title, outcome, &note).await?;
    let view = report_view(&mut tx, id).await?;
    tx.commit().await?;
    tracing::info!(cloudcast_id = %cloudcast, report_id = %id, by = %admin, action = ?req.action, "report decided");
    if req.action == ReportAction::TakeDown && view.cloudcast.repeat_infringer {
        tracing::warn!(user_id = %owner.owner_id, strikes = view.cloudcast.owner_strikes, "repeat infringer");
    }
    Ok(Json(view))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(kind: ReportKind) -> NewCloudcastReport {
        NewCloudcastReport {
            kind,
            reason: "my track, uncleared".into(),
            name: Some("Rights Holder Ltd".into()),
            email: Some("legal@example.org".into()),
            work: Some("Track One (2019)".into()),
            good_faith: true,
        }
    }

    #[test]
    fn a_copyright_notice_needs_every_particular() {
        assert!(particulars(&notice(ReportKind::Copyright)).is_ok());
        for (field, strip) in [
            (
                "name",
                (|n: &mut NewCloudcastReport| n.name = None) as fn(&mut _),
            ),
            ("email", |n| n.email = None),
            ("work", |n| n.work = None),
            ("good_faith", |n| n.good_faith = false),
        ] {
            let mut n = notice(ReportKind::Copyright);
            strip(&mut n);
            let Err(CatalogError::InvalidField(msg)) = particulars(&n) else {
                panic!("{field} missing was accepted");
            };
            assert!(msg.starts_with(field), "{msg}");
        }
        // An abuse report may come without any of them.
        let mut n = notice(ReportKind::Abuse);
        (n.name, n.email, n.work, n.good_faith) = (None, None, None, false);
        assert_eq!(particulars(&n).ok(), Some((None, None, None)));
    }

    #[test]
    fn addresses_are_checked() {
        assert!(email("email", " a@b.example ").is_ok());
        for bad in [
            "",
            "a",
            "a@b",
            "@b.example",
            "a b@c.example",
            "a@b\u{7}.example",
        ] {
            assert!(email("email", bad).is_err(), "{bad:?}");
        }
    }
}
