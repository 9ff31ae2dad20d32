//! The moderators' side of notice and takedown (EU DSA Art. 17, 20): the
//! queue of reports on cloudcasts with each owner's strikes, and the
//! decision on a report: a takedown (the cloudcast hidden from all but its
//! owner, every open report on it upheld, the DJ mailed the statement of
//! reasons) or a dismissal; notifiers who left an address hear it. Reports
//! come in through `reports.rs`; the DJ's answer is `counter_notices.rs`.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use cloudcast_core::auth::AdminUser;
use cloudcast_core::extract::{ApiJson, ApiPath, ApiQuery};
use cloudcast_core::notify;
use cloudcast_core::outbox;
use cloudcast_core::states::{NotificationKind, ReportKind, ReportStatus};
use cloudcast_core::visibility;

use crate::{CatalogError, CatalogState, cards};
use cloudcast_core::page::offset::{cut, paging};
use cloudcast_core::text::clean_text;

use crate::reports::{MAX_STATEMENT_CHARS, REPEAT_INFRINGER_STRIKES};

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
pub(crate) struct CloudcastRow {
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
    pub(crate) fn view(self) -> ReportedCloudcast {
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
pub(crate) const CLOUDCAST_COLUMNS: &str =
    "c.id AS cloudcast_id, c.title, o.username AS owner, c.slug,
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
pub(crate) struct Owner {
    pub(crate) owner_id: Uuid,
    pub(crate) email: String,
    pub(crate) username: String,
    pub(crate) title: String,
}

pub(crate) async fn owner_of(
    conn: &mut PgConnection,
    cloudcast: Uuid,
) -> Result<Owner, CatalogError> {
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
pub(crate) async fn tell_notifiers(
    conn: &mut PgConnection,
    reports: &[Uuid],
    title: &str,
    outcome: &str,
    note: &str,
) -> Result<(), CatalogError> {
    let to: Vec<(Uuid, Option<Uuid>, String)> = sqlx::query_as(
        "SELECT r.id, r.reporter_id, COALESCE(r.notifier_email, u.email)
           FROM cloudcast_reports r LEFT JOIN users u ON u.id = r.reporter_id
          WHERE r.id = ANY($1) AND COALESCE(r.notifier_email, u.email) IS NOT NULL",
    )
    .bind(reports)
    .fetch_all(&mut *conn)
    .await?;
    for (report, user, address) in to {
        if let Some(reporter) = user {
            // Not about the cloudcast itself: a reporter hears of the
            // decision whatever became of the mix.
            let detail = format!("Your report on “{title}”: {outcome}.");
            let decided = notify::Event::new(
                NotificationKind::Moderation,
                notify::To::User(reporter),
                report,
            )
            .detail(&detail)
            .mailed();
            notify::record(conn, &decided).await?;
        }
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
        let detail = format!("“{title}” was taken down after {what}: {note}");
        let taken = notify::Event::new(
            NotificationKind::Moderation,
            notify::To::User(owner.owner_id),
            cloudcast,
        )
        .about(cloudcast)
        .detail(&detail)
        .mailed();
        notify::record(&mut tx, &taken).await?;
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
