//! The contact page's "Reports" option (privacy policy §4, §6, §9, §12,
//! §16), open to anyone, signed in or not, under the anonymous write
//! limits: a report on an account (impersonation, spam, harassment,
//! suspected to be under 13, other abuse), a privacy request (withdraw a
//! consent, ask for one's data, a concern), or feedback. Each becomes a
//! case in a queue (privacy requests in their own); an administrator
//! answers it, and the sender hears the answer. The sender's name and
//! address are kept until the case closes plus `moderation.contact_kept`
//! (`sweep.rs` forgets them).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use cloudcast_core::auth::{AdminUser, MaybeUser};
use cloudcast_core::extract::{ApiJson, ApiPath, ApiQuery};
use cloudcast_core::outbox;
use cloudcast_core::page::offset::{cut, paging};
use cloudcast_core::states::{CaseStatus, CaseTopic};
use cloudcast_core::text::clean_text;
use cloudcast_core::visibility;

use crate::{ModerationError, ModerationState};

/// Longest message or answer.
pub const MAX_MESSAGE_CHARS: usize = 4000;
/// Longest name.
const MAX_NAME_CHARS: usize = 200;

/// Which queue a case waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Queue {
    /// Reports on accounts and feedback.
    Moderation,
    /// Privacy requests.
    Privacy,
}

impl Queue {
    pub fn of(topic: CaseTopic) -> Queue {
        if topic.is_privacy_request() {
            Queue::Privacy
        } else {
            Queue::Moderation
        }
    }

    /// Its topics, as the column spells them.
    fn topics(self) -> Vec<&'static str> {
        CaseTopic::ALL
            .iter()
            .copied()
            .filter(|t| Queue::of(*t) == self)
            .map(CaseTopic::as_str)
            .collect()
    }
}

/// `POST /api/v1/contact`
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    pub topic: CaseTopic,
    /// What happened, or what is asked.
    #[schema(max_length = 4000)]
    pub message: String,
    /// The account reported (its username): required for a report on an
    /// account, refused otherwise.
    #[schema(max_length = 30)]
    pub account: Option<String>,
    /// The sender's name (optional).
    #[schema(max_length = 200)]
    pub name: Option<String>,
    /// Where the answer goes: required for a privacy request sent without
    /// an account; a signed-in sender is answered at their account's
    /// address (and notified).
    #[schema(max_length = 254)]
    pub email: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseReceipt {
    pub id: Uuid,
    pub topic: CaseTopic,
    pub queue: Queue,
    pub status: CaseStatus,
    /// What happens next, for people.
    pub next: &'static str,
}

/// What a sender is told happens next.
fn next_steps(topic: CaseTopic, answered: bool) -> &'static str {
    match (topic, answered) {
        (CaseTopic::Under13, true) => {
            "Thank you. An administrator will look at the account; if its holder is under 13, \
             it is suspended at once and erased with everything it holds. We will write to you."
        }
        (CaseTopic::Under13, false) => {
            "Thank you. An administrator will look at the account; if its holder is under 13, \
             it is suspended at once and erased with everything it holds."
        }
        (t, _) if t.is_privacy_request() => {
            "Received. An administrator answers privacy requests within one month (GDPR Art. 12)."
        }
        (_, true) => "Received. An administrator will look at it and write to you.",
        (_, false) => "Received. An administrator will look at it.",
    }
}

/// The sender's particulars, checked: (name, email).
fn particulars(
    req: &NewCase,
    signed_in: bool,
) -> Result<(Option<String>, Option<String>), ModerationError> {
    let name = req
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| clean_text("name", n, MAX_NAME_CHARS))
        .transpose()?;
    let email = match req
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        Some(e) => {
            cloudcast_accounts::registration::validate_email(e)
                .map_err(|_| ModerationError::InvalidField("email: not an email address".into()))?;
            Some(e.to_string())
        }
        None => None,
    };
    if req.topic.is_privacy_request() && !signed_in && email.is_none() {
        return Err(ModerationError::InvalidField(
            "email: a privacy request sent without signing in needs an address to answer".into(),
        ));
    }
    Ok((name, email))
}

/// `POST /api/v1/contact`: 201 with the case.
#[utoipa::path(post, path = "/api/v1/contact", tag = "contact",
    summary = "Write to the site: report an account, a privacy request, or feedback (no account needed)",
    request_body = NewCase,
    responses(
        (status = 201, description = "Received: a case in its queue", body = CaseReceipt),
        (status = 400, description = "My own account, or a malformed body", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such account", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "A field is missing or invalid (named)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 429, description = "Too many reports from this address or account", body = cloudcast_core::apidoc::ErrorBody)),
    security((), ("session" = [])))]
pub async fn create(
    State(state): State<ModerationState>,
    MaybeUser(user): MaybeUser,
    ApiJson(req): ApiJson<NewCase>,
) -> Result<(StatusCode, Json<CaseReceipt>), ModerationError> {
    let message = clean_text("message", req.message.trim(), MAX_MESSAGE_CHARS)?;
    if message.is_empty() {
        return Err(ModerationError::InvalidField(
            "message: say what happened or what you ask".into(),
        ));
    }
    let (name, email) = particulars(&req, user.is_some())?;
    let subject = match (req.topic.is_account_report(), req.account.as_deref()) {
        (true, Some(username)) => {
            let found: Option<Uuid> = sqlx::query_scalar(&format!(
                "SELECT u.id FROM users u WHERE lower(u.username) = lower($1) AND {}",
                visibility::sql_account_active("u")
            ))
            .bind(username.trim().trim_start_matches('@'))
            .fetch_optional(&state.pool)
            .await?;
            let id = found.ok_or(ModerationError::NotFound("account"))?;
            if user == Some(id) {
                return Err(ModerationError::OwnAccount);
            }
            Some(id)
        }
        (true, None) => {
            return Err(ModerationError::InvalidField(
                "account: name the account reported (its username)".into(),
            ));
        }
        (false, Some(_)) => {
            return Err(ModerationError::InvalidField(
                "account: only a report on an account names one".into(),
            ));
        }
        (false, None) => None,
    };
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO contact_cases (id, topic, subject_id, reporter_id, name, email, message)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(req.topic)
    .bind(subject)
    .bind(user)
    .bind(&name)
    .bind(&email)
    .bind(&message)
    .execute(&state.pool)
    .await?;
    tracing::info!(case_id = %id, topic = %req.topic, "contact case received");
    Ok((
        StatusCode::CREATED,
        Json(CaseReceipt {
            id,
            topic: req.topic,
            queue: Queue::of(req.topic),
            status: CaseStatus::Open,
            next: next_steps(req.topic, user.is_some() || email.is_some()),
        }),
    ))
}

/// The account a case reports, as an administrator sees it: its public
/// profile and the birth date it declared.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ReportedAccount {
    pub username: String,
    /// Its public page.
    #[sqlx(skip)]
    pub url: String,
    /// The profile's public fields only.
    pub real_name: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub bio: Option<String>,
    #[serde(with = "iso_date")]
    #[schema(value_type = String, format = Date)]
    pub birth_date: Date,
    /// 13-17 when it registered.
    pub is_minor: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    pub cloudcasts: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub suspended_until: Option<OffsetDateTime>,
}

time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

/// A case as administrators see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseView {
    pub id: Uuid,
    pub topic: CaseTopic,
    pub queue: Queue,
    pub status: CaseStatus,
    pub message: String,
    /// The sender's username when they wrote signed in.
    pub reporter: Option<String>,
    pub name: Option<String>,
    /// Where the answer goes (administrators only see this queue).
    pub email: Option<String>,
    pub answer: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<OffsetDateTime>,
    /// The account reported, for a report on one.
    pub account: Option<ReportedAccount>,
}

#[derive(sqlx::FromRow)]
struct CaseRow {
    id: Uuid,
    topic: CaseTopic,
    status: CaseStatus,
    message: String,
    reporter: Option<String>,
    name: Option<String>,
    email: Option<String>,
    answer: Option<String>,
    created_at: OffsetDateTime,
    closed_at: Option<OffsetDateTime>,
    subject_id: Option<Uuid>,
}

const CASE_COLUMNS: &str = "k.id, k.topic, k.status, k.message, r.username AS reporter, k.name,
    COALESCE(k.email, r.email) AS email, k.answer, k.created_at, k.closed_at, k.subject_id";

async fn reported(
    conn: &mut PgConnection,
    public_url: &str,
    user: Uuid,
) -> Result<Option<ReportedAccount>, sqlx::Error> {
    let found: Option<ReportedAccount> = sqlx::query_as(
        "SELECT u.username,
                CASE WHEN p.visibility->>'real_name' = 'public' THEN p.real_name END AS real_name,
                CASE WHEN p.visibility->>'city' = 'public' THEN p.city END AS city,
                CASE WHEN p.visibility->>'country' = 'public' THEN p.country END AS country,
                CASE WHEN p.visibility->>'bio' = 'public' THEN p.bio END AS bio, u.birth_date, u.is_minor, u.created_at,
                (SELECT count(*) FROM cloudcasts c WHERE c.owner_id = u.id) AS cloudcasts,
                CASE WHEN u.suspended_until > now() THEN u.suspended_until END AS suspended_until
           FROM users u LEFT JOIN profiles p ON p.user_id = u.id WHERE u.id = $1",
    )
    .bind(user)
    .fetch_optional(conn)
    .await?;
    Ok(found.map(|mut a| {
        a.url = format!("{public_url}/{}", a.username);
        a
    }))
}

async fn view(
    conn: &mut PgConnection,
    public_url: &str,
    row: CaseRow,
) -> Result<CaseView, sqlx::Error> {
    let account = match row.subject_id {
        Some(s) => reported(conn, public_url, s).await?,
        None => None,
    };
    Ok(CaseView {
        id: row.id,
        topic: row.topic,
        queue: Queue::of(row.topic),
        status: row.status,
        message: row.message,
        reporter: row.reporter,
        name: row.name,
        email: row.email,
        answer: row.answer,
        created_at: row.created_at,
        closed_at: row.closed_at,
        account,
    })
}

pub(crate) async fn case_view(
    conn: &mut PgConnection,
    public_url: &str,
    id: Uuid,
) -> Result<CaseView, ModerationError> {
    let row: Option<CaseRow> = sqlx::query_as(&format!(
        "SELECT {CASE_COLUMNS} FROM contact_cases k LEFT JOIN users r ON r.id = k.reporter_id
          WHERE k.id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let row = row.ok_or(ModerationError::NotFound("case"))?;
    Ok(view(conn, public_url, row).await?)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CasesQuery {
    /// `moderation` (default: reports on accounts and feedback) or `privacy`.
    pub queue: Option<Queue>,
    /// `open` (default) or `closed`.
    pub status: Option<CaseStatus>,
    /// At most 200; 50 unless given.
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CasePage {
    pub cases: Vec<CaseView>,
    /// The `offset` of the next page; absent on the last page.
    pub next_offset: Option<u64>,
}

/// `GET /api/v1/admin/cases?queue=moderation&status=open`: oldest first.
#[utoipa::path(get, path = "/api/v1/admin/cases", tag = "contact",
    summary = "Cases from the contact page (administrators only)",
    params(CasesQuery),
    responses(
        (status = 200, description = "Cases, oldest first", body = CasePage),
        (status = 400, description = "A bad query parameter", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 403, description = "Not an administrator", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn list(
    State(state): State<ModerationState>,
    AdminUser(_admin): AdminUser,
    ApiQuery(q): ApiQuery<CasesQuery>,
) -> Result<Json<CasePage>, ModerationError> {
    let (limit, offset) = paging(q.limit, q.offset);
    let mut conn = state.pool.acquire().await?;
    let rows: Vec<CaseRow> = sqlx::query_as(&format!(
        "SELECT {CASE_COLUMNS} FROM contact_cases k LEFT JOIN users r ON r.id = k.reporter_id
          WHERE k.topic = ANY($1) AND k.status = $2
          ORDER BY k.created_at, k.id LIMIT $3 OFFSET $4"
    ))
    .bind(q.queue.unwrap_or(Queue::Moderation).topics())
    .bind(q.status.unwrap_or(CaseStatus::Open))
    .bind(i64::from(limit) + 1)
    .bind(i64::from(offset))
    .fetch_all(&mut *conn)
    .await?;
    let (rows, next_offset) = cut(rows, limit, offset);
    let mut cases = Vec::with_capacity(rows.len());
    for row in rows {
        cases.push(view(&mut conn, &state.public_url, row).await?);
    }
    Ok(Json(CasePage { cases, next_offset }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseAnswer {
    /// What the sender is told (mailed, and notified when signed in).
    #[schema(max_length = 4000)]
    pub answer: String,
}

/// Closes an open case with `answer` and tells its sender, in `conn`'s
/// transaction; `Decided` when it was closed already.
pub(crate) async fn close(
    conn: &mut PgConnection,
    case: Uuid,
    admin: Uuid,
    answer: &str,
) -> Result<(), ModerationError> {
    let found: Option<(CaseStatus, CaseTopic, Option<Uuid>, Option<String>)> = sqlx::query_as(
        "SELECT k.status, k.topic, k.reporter_id, COALESCE(k.email, r.email)
           FROM contact_cases k LEFT JOIN users r ON r.id = k.reporter_id
          WHERE k.id = $1 FOR UPDATE OF k",
    )
    .bind(case)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((status, topic, reporter, address)) = found else {
        return Err(ModerationError::NotFound("case"));
    };
    if status != CaseStatus::Open {
        return Err(ModerationError::Decided("case"));
    }
    sqlx::query(
        "UPDATE contact_cases SET status = $2, answer = $3, closed_by = $4, closed_at = now()
          WHERE id = $1",
    )
    .bind(case)
    .bind(CaseStatus::Closed)
    .bind(answer)
    .bind(admin)
    .execute(&mut *conn)
    .await?;
    if let Some(reporter) = reporter {
        let detail = format!("Your message ({topic}) was answered: {answer}");
        let told = cloudcast_core::notify::Event::new(
            cloudcast_core::states::NotificationKind::Moderation,
            cloudcast_core::notify::To::User(reporter),
            case,
        )
        .detail(&detail)
        .mailed();
        cloudcast_core::notify::record(conn, &told).await?;
    }
    if let Some(address) = address {
        outbox::queue(
            conn,
            reporter,
            &address,
            "contact_answer",
            "An answer to your message to Cloudcast",
            &format!(
                "Hello,\n\nYou wrote to us through the contact page ({topic}). An administrator \
                 answers:\n\n{answer}\n\nWe keep your name and address for 30 days after this \
                 answer, then forget them.\n"
            ),
        )
        .await?;
    }
    Ok(())
}

/// `POST /api/v1/admin/cases/{id}/answer`: closes the case; its sender is
/// told the answer.
#[utoipa::path(post, path = "/api/v1/admin/cases/{id}/answer", tag = "contact",
    summary = "Answer and close a case (administrators only)",
    params(("id" = Uuid, Path, description = "The case")),
    request_body = CaseAnswer,
    responses(
        (status = 200, description = "Closed; the sender was told", body = CaseView),
        (status = 400, description = "A malformed body", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 403, description = "Not an administrator", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such case", body = cloudcast_core::apidoc::ErrorBody),
        (status = 409, description = "Closed already", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "No answer", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn answer(
    State(state): State<ModerationState>,
    ApiPath(id): ApiPath<Uuid>,
    AdminUser(admin): AdminUser,
    ApiJson(req): ApiJson<CaseAnswer>,
) -> Result<Json<CaseView>, ModerationError> {
    let answer = clean_text("answer", req.answer.trim(), MAX_MESSAGE_CHARS)?;
    if answer.is_empty() {
        return Err(ModerationError::InvalidField(
            "answer: say what was done".into(),
        ));
    }
    let mut tx = state.pool.begin().await?;
    close(&mut tx, id, admin, &answer).await?;
    let view = case_view(&mut tx, &state.public_url, id).await?;
    tx.commit().await?;
    tracing::info!(case_id = %id, by = %admin, "contact case answered");
    Ok(Json(view))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(topic: CaseTopic, email: Option<&str>) -> NewCase {
        NewCase {
            topic,
            message: "m".into(),
            account: None,
            name: None,
            email: email.map(String::from),
        }
    }

    #[test]
    fn privacy_requests_have_a_queue_of_their_own() {
        assert_eq!(Queue::of(CaseTopic::DataAccess), Queue::Privacy);
        assert_eq!(Queue::of(CaseTopic::Under13), Queue::Moderation);
        assert_eq!(Queue::of(CaseTopic::Feedback), Queue::Moderation);
        let privacy = Queue::Privacy.topics();
        assert!(privacy.contains(&"withdraw_consent"));
        assert!(!privacy.contains(&"spam"));
    }

    #[test]
    fn an_anonymous_privacy_request_needs_an_address() {
        assert!(particulars(&case(CaseTopic::DataAccess, None), false).is_err());
        assert!(particulars(&case(CaseTopic::DataAccess, None), true).is_ok());
        assert!(particulars(&case(CaseTopic::DataAccess, Some("a@b.example")), false).is_ok());
        assert!(particulars(&case(CaseTopic::Under13, None), false).is_ok());
        assert!(particulars(&case(CaseTopic::Feedback, Some("not an address")), false).is_err());
    }
}
