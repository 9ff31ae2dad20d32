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
use uuid::Uuid;

use cloudcast_core::auth::MaybeUser;
use cloudcast_core::extract::{ApiJson, ApiPath};
use cloudcast_core::states::{ReportKind, ReportStatus};
use cloudcast_core::visibility;

use crate::error::gone;
use crate::{CatalogError, CatalogState};
use cloudcast_core::text::clean_text;

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
