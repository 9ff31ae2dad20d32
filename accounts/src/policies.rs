//! The privacy policy and the terms of service: their versions, who was
//! shown or accepted which, and the announcement of a new version.
//!
//! The operator's Markdown files (named in `[policies]`) are copied into
//! `policy_versions` when a node starts ([`sync`]), so every node serves
//! the same text and earlier versions stay readable. A published version
//! is never rewritten: a change is a new version with its summary.
//!
//! - The privacy policy is shown, not forced: sign-up shows the current
//!   version and records it; a new version is mailed to every account in
//!   batches ([`run_announcer`]) and shown as a banner on the next visit
//!   until dismissed; each showing is recorded (`policy_showings`).
//! - The terms are accepted: sign-up accepts the current version; after a
//!   new one takes effect the API answers 403 `terms_not_accepted` until
//!   the person accepts it (the gate is `core/src/standing.rs`).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use cloudcast_core::auth::AuthUser;
use cloudcast_core::extract::{ApiJson, ApiPath};
use cloudcast_core::outbox;
use cloudcast_core::states::{PolicyKind, ShowingVia};

use crate::config::PoliciesConfig;
use crate::{AccountsError, AccountsState};

/// A version, without its text.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct VersionSummary {
    pub version: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub effective_at: OffsetDateTime,
    /// What changed.
    pub summary: String,
}

/// A policy document as published.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PolicyDocument {
    pub kind: PolicyKind,
    pub version: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub effective_at: OffsetDateTime,
    pub summary: String,
    /// The text, in Markdown.
    pub body: String,
    /// Is this the version in force?
    pub current: bool,
    /// Every version, newest first (those not in effect yet included).
    pub versions: Vec<VersionSummary>,
}

/// Reads the config's versions into `policy_versions` (new ones only: a
/// published version's text stays as it was published).
pub async fn sync(pool: &PgPool, config: &PoliciesConfig) -> Result<(), std::io::Error> {
    for (kind, versions) in [
        (PolicyKind::Privacy, &config.privacy),
        (PolicyKind::Terms, &config.terms),
    ] {
        for v in versions {
            let file = config.dir.join(&v.file);
            let body = tokio::fs::read_to_string(&file).await.map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("{kind} version {}: {}: {e}", v.version, file.display()),
                )
            })?;
            let Some(day) = v.effective_date() else {
                continue; // refused by the config's checks before start
            };
            let effective_at = day.midnight().assume_utc();
            let stored: Option<String> = sqlx::query_scalar(
                "INSERT INTO policy_versions (kind, version, effective_at, summary, body)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (kind, version) DO UPDATE SET kind = EXCLUDED.kind
                 RETURNING body",
            )
            .bind(kind)
            .bind(&v.version)
            .bind(effective_at)
            .bind(v.summary.trim())
            .bind(&body)
            .fetch_optional(pool)
            .await
            .map_err(std::io::Error::other)?;
            if stored.is_some_and(|s| s != body) {
                tracing::warn!(%kind, version = %v.version,
                    "this version's file changed after it was published; the published text is kept (publish a new version instead)");
            }
        }
    }
    Ok(())
}

/// The version of `kind` in force now, if the site publishes one.
pub async fn current(
    conn: &mut PgConnection,
    kind: PolicyKind,
) -> Result<Option<VersionSummary>, sqlx::Error> {
    sqlx::query_as(
        "SELECT version, effective_at, summary FROM policy_versions
          WHERE kind = $1 AND effective_at <= now() ORDER BY effective_at DESC, created_at DESC LIMIT 1",
    )
    .bind(kind)
    .fetch_optional(conn)
    .await
}

async fn document(
    pool: &PgPool,
    kind: PolicyKind,
    version: Option<&str>,
) -> Result<PolicyDocument, AccountsError> {
    let mut conn = pool.acquire().await?;
    let now = current(&mut conn, kind).await?;
    let wanted = match (version, &now) {
        (Some(v), _) => v.to_string(),
        (None, Some(c)) => c.version.clone(),
        (None, None) => return Err(AccountsError::NotFound("policy")),
    };
    let row: Option<(String, OffsetDateTime, String, String)> = sqlx::query_as(
        "SELECT version, effective_at, summary, body FROM policy_versions
          WHERE kind = $1 AND version = $2",
    )
    .bind(kind)
    .bind(&wanted)
    .fetch_optional(&mut *conn)
    .await?;
    let (version, effective_at, summary, body) =
        row.ok_or(AccountsError::NotFound("policy version"))?;
    let versions = sqlx::query_as(
        "SELECT version, effective_at, summary FROM policy_versions
          WHERE kind = $1 ORDER BY effective_at DESC, created_at DESC",
    )
    .bind(kind)
    .fetch_all(&mut *conn)
    .await?;
    Ok(PolicyDocument {
        kind,
        current: now.is_some_and(|c| c.version == version),
        version,
        effective_at,
        summary,
        body,
        versions,
    })
}

/// `GET /api/v1/policies/{kind}`
#[utoipa::path(get, path = "/api/v1/policies/{kind}", tag = "policies",
    summary = "The privacy policy or the terms in force, with every version",
    params(("kind" = PolicyKind, Path, description = "`privacy` or `terms`")),
    responses(
        (status = 200, description = "The version in force", body = PolicyDocument),
        (status = 400, description = "Not a kind of policy", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "The site publishes none", body = cloudcast_core::apidoc::ErrorBody)))]
pub async fn get_current(
    State(state): State<AccountsState>,
    ApiPath(kind): ApiPath<PolicyKind>,
) -> Result<Json<PolicyDocument>, AccountsError> {
    Ok(Json(document(&state.pool, kind, None).await?))
}

/// `GET /api/v1/policies/{kind}/versions/{version}`
#[utoipa::path(get, path = "/api/v1/policies/{kind}/versions/{version}", tag = "policies",
    summary = "One version of the privacy policy or the terms (earlier ones stay readable)",
    params(("kind" = PolicyKind, Path, description = "`privacy` or `terms`"),
        ("version" = String, Path, description = "The version")),
    responses(
        (status = 200, description = "That version", body = PolicyDocument),
        (status = 400, description = "Not a kind of policy", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such version", body = cloudcast_core::apidoc::ErrorBody)))]
pub async fn get_version(
    State(state): State<AccountsState>,
    ApiPath((kind, version)): ApiPath<(PolicyKind, String)>,
) -> Result<Json<PolicyDocument>, AccountsError> {
    Ok(Json(document(&state.pool, kind, Some(&version)).await?))
}

/// A showing of a version to me.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Showing {
    pub kind: PolicyKind,
    pub version: String,
    pub via: ShowingVia,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub shown_at: OffsetDateTime,
}

/// Terms I accepted.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Acceptance {
    pub kind: PolicyKind,
    pub version: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub accepted_at: OffsetDateTime,
}

/// Where I stand with the site's policies.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MyPolicies {
    /// The privacy policy in force, when the site publishes one.
    pub privacy: Option<VersionSummary>,
    /// A privacy version I have not dismissed yet: pages show its banner.
    pub privacy_news: Option<VersionSummary>,
    /// The terms in force, when the site has terms.
    pub terms: Option<VersionSummary>,
    /// The terms version I accepted last.
    pub terms_accepted: Option<String>,
    /// The terms in force wait for my acceptance (the API refuses most
    /// requests until then).
    pub terms_due: bool,
    pub showings: Vec<Showing>,
    pub acceptances: Vec<Acceptance>,
}

/// [`MyPolicies`] of `user`.
pub async fn mine(pool: &PgPool, user: Uuid) -> Result<MyPolicies, AccountsError> {
    let mut conn = pool.acquire().await?;
    let privacy = current(&mut conn, PolicyKind::Privacy).await?;
    let terms = current(&mut conn, PolicyKind::Terms).await?;
    let (seen, accepted): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT privacy_seen_version, terms_version FROM users WHERE id = $1")
            .bind(user)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(AccountsError::NotFound("account"))?;
    let showings = sqlx::query_as(
        "SELECT kind, version, via, shown_at FROM policy_showings
          WHERE user_id = $1 ORDER BY shown_at, id",
    )
    .bind(user)
    .fetch_all(&mut *conn)
    .await?;
    let acceptances = sqlx::query_as(
        "SELECT kind, version, accepted_at FROM policy_acceptances
          WHERE user_id = $1 ORDER BY accepted_at",
    )
    .bind(user)
    .fetch_all(&mut *conn)
    .await?;
    Ok(MyPolicies {
        privacy_news: privacy
            .clone()
            .filter(|p| seen.as_deref() != Some(p.version.as_str())),
        privacy,
        terms_due: terms
            .as_ref()
            .is_some_and(|t| accepted.as_deref() != Some(t.version.as_str())),
        terms,
        terms_accepted: accepted,
        showings,
        acceptances,
    })
}

/// `GET /api/v1/me/policies`
#[utoipa::path(get, path = "/api/v1/me/policies", tag = "policies",
    summary = "Which policy versions I was shown and accepted, and what is due",
    responses(
        (status = 200, description = "My standing with the policies", body = MyPolicies),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn get_mine(
    State(state): State<AccountsState>,
    AuthUser(user): AuthUser,
) -> Result<Json<MyPolicies>, AccountsError> {
    Ok(Json(mine(&state.pool, user).await?))
}

/// Names the version a person acts on: it must be the one in force.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionRef {
    #[schema(max_length = 64)]
    pub version: String,
}

/// The version in force of `kind`, which `asked` must name.
async fn in_force(
    conn: &mut PgConnection,
    kind: PolicyKind,
    asked: &str,
) -> Result<String, AccountsError> {
    let now = current(conn, kind)
        .await?
        .ok_or(AccountsError::NotFound("policy"))?;
    if now.version != asked {
        return Err(AccountsError::InvalidField(format!(
            "version: {asked:?} is not the version in force ({:?}); read it first",
            now.version
        )));
    }
    Ok(now.version)
}

/// `POST /api/v1/me/policies/terms/accept` `{"version": ".."}`
#[utoipa::path(post, path = "/api/v1/me/policies/terms/accept", tag = "policies",
    summary = "Accept the terms in force",
    request_body = VersionRef,
    responses(
        (status = 200, description = "Accepted", body = MyPolicies),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "The site has no terms", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "Not the version in force", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn accept_terms(
    State(state): State<AccountsState>,
    AuthUser(user): AuthUser,
    ApiJson(req): ApiJson<VersionRef>,
) -> Result<Json<MyPolicies>, AccountsError> {
    let mut tx = state.pool.begin().await?;
    let version = in_force(&mut tx, PolicyKind::Terms, &req.version).await?;
    accept(&mut tx, user, &version).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user, %version, "terms accepted");
    Ok(Json(mine(&state.pool, user).await?))
}

async fn accept(conn: &mut PgConnection, user: Uuid, version: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO policy_acceptances (user_id, kind, version) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(user)
    .bind(PolicyKind::Terms)
    .bind(version)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE users SET terms_version = $2 WHERE id = $1")
        .bind(user)
        .bind(version)
        .execute(conn)
        .await?;
    Ok(())
}

async fn record_showing(
    conn: &mut PgConnection,
    user: Uuid,
    kind: PolicyKind,
    version: &str,
    via: ShowingVia,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO policy_showings (user_id, kind, version, via) VALUES ($1, $2, $3, $4)",
    )
    .bind(user)
    .bind(kind)
    .bind(version)
    .bind(via)
    .execute(conn)
    .await?;
    Ok(())
}

/// `POST /api/v1/me/policies/privacy/shown` `{"version": ".."}`: a page
/// showed me the banner of this version.
#[utoipa::path(post, path = "/api/v1/me/policies/privacy/shown", tag = "policies",
    summary = "Record that the banner of a new privacy version was shown to me",
    request_body = VersionRef,
    responses(
        (status = 204, description = "Recorded"),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "The site publishes no privacy policy", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "Not the version in force", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn privacy_shown(
    State(state): State<AccountsState>,
    AuthUser(user): AuthUser,
    ApiJson(req): ApiJson<VersionRef>,
) -> Result<StatusCode, AccountsError> {
    let mut tx = state.pool.begin().await?;
    let version = in_force(&mut tx, PolicyKind::Privacy, &req.version).await?;
    record_showing(
        &mut tx,
        user,
        PolicyKind::Privacy,
        &version,
        ShowingVia::Banner,
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/me/policies/privacy/seen` `{"version": ".."}`: I have read
/// (or dismissed) the news of this version; its banner goes.
#[utoipa::path(post, path = "/api/v1/me/policies/privacy/seen", tag = "policies",
    summary = "Dismiss the banner of a new privacy version",
    request_body = VersionRef,
    responses(
        (status = 204, description = "Dismissed"),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "The site publishes no privacy policy", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "Not the version in force", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn privacy_seen(
    State(state): State<AccountsState>,
    AuthUser(user): AuthUser,
    ApiJson(req): ApiJson<VersionRef>,
) -> Result<StatusCode, AccountsError> {
    let mut tx = state.pool.begin().await?;
    let version = in_force(&mut tx, PolicyKind::Privacy, &req.version).await?;
    sqlx::query("UPDATE users SET privacy_seen_version = $2 WHERE id = $1")
        .bind(user)
        .bind(&version)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// At sign-up, in its transaction: the privacy policy in force was shown
/// (recorded; no banner for it later) and the terms in force are
/// accepted, which `accepted` must name when the site has terms (unless
/// `ask_terms` is false: they are asked on the first visit instead).
pub async fn at_sign_up(
    conn: &mut PgConnection,
    user: Uuid,
    accepted: Option<&str>,
    ask_terms: bool,
) -> Result<(), AccountsError> {
    if ask_terms && let Some(terms) = terms_accepted_at_sign_up(conn, accepted).await? {
        accept(conn, user, &terms).await?;
    }
    if let Some(privacy) = current(conn, PolicyKind::Privacy).await? {
        record_showing(
            conn,
            user,
            PolicyKind::Privacy,
            &privacy.version,
            ShowingVia::SignUp,
        )
        .await?;
        sqlx::query("UPDATE users SET privacy_seen_version = $2 WHERE id = $1")
            .bind(user)
            .bind(&privacy.version)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// The terms version a sign-up accepts: `accepted` must name the one in
/// force when the site has terms. Checked before anything else, so the
/// answer is the same whether or not the address has an account.
pub async fn terms_accepted_at_sign_up(
    conn: &mut PgConnection,
    accepted: Option<&str>,
) -> Result<Option<String>, AccountsError> {
    let Some(terms) = current(conn, PolicyKind::Terms).await? else {
        return Ok(None);
    };
    if accepted != Some(terms.version.as_str()) {
        return Err(AccountsError::InvalidField(format!(
            "terms: read the terms of service (/terms) and accept them by sending \"terms\": {:?}",
            terms.version
        )));
    }
    Ok(Some(terms.version))
}

/// A version whose announcement is under way, locked by this node.
#[derive(sqlx::FromRow)]
struct Announcing {
    kind: PolicyKind,
    version: String,
    effective_at: OffsetDateTime,
    summary: String,
    announced_through: Option<Uuid>,
}

/// Mails one batch of the next version not yet announced to everyone;
/// true when more remain. Nodes share the work: each takes a version's
/// row lock for its batch (`SKIP LOCKED`), and the cursor moves with it.
pub async fn announce_batch(
    pool: &PgPool,
    public_url: &str,
    batch: u32,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let due: Option<Announcing> = sqlx::query_as(
        "SELECT kind, version, effective_at, summary, announced_through FROM policy_versions
          WHERE announced_at IS NULL ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED",
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(v) = due else {
        return Ok(false);
    };
    // Confirmed accounts not shown this version yet (a sign-up after it
    // was published saw it then).
    let people: Vec<(Uuid, String, String)> = sqlx::query_as(
        "SELECT u.id, u.username, u.email FROM users u
          WHERE u.pending_until IS NULL AND ($1::uuid IS NULL OR u.id > $1)
            AND NOT EXISTS (SELECT 1 FROM policy_showings s
                             WHERE s.user_id = u.id AND s.kind = $2 AND s.version = $3)
          ORDER BY u.id LIMIT $4",
    )
    .bind(v.announced_through)
    .bind(v.kind)
    .bind(&v.version)
    .bind(i64::from(batch))
    .fetch_all(&mut *tx)
    .await?;
    let (title, page, ask) = match v.kind {
        PolicyKind::Privacy => (
            "privacy policy",
            "privacy",
            "You need not do anything; if you disagree, you may withdraw your consents in your \
             settings or erase your account.",
        ),
        PolicyKind::Terms => (
            "terms of service",
            "terms",
            "Please read and accept them on your next visit: until then the site asks you to.",
        ),
    };
    let day = v.effective_at.date();
    for (id, username, email) in &people {
        outbox::queue(
            &mut tx,
            Some(*id),
            email,
            "policy_change",
            &format!("Our {title} changes on {day}"),
            &format!(
                "Hello {username},\n\nOur {title} has a new version ({version}), in effect from \
                 {day}.\n\nWhat changes: {summary}\n\nRead it: {public_url}/{page}\n\n{ask}\n",
                version = v.version,
                summary = v.summary,
            ),
        )
        .await?;
        record_showing(&mut tx, *id, v.kind, &v.version, ShowingVia::Mail).await?;
    }
    let more = people.len() as u64 == u64::from(batch);
    sqlx::query(
        "UPDATE policy_versions SET announced_through = COALESCE($3, announced_through),
                announced_at = CASE WHEN $4 THEN NULL ELSE now() END
          WHERE kind = $1 AND version = $2",
    )
    .bind(v.kind)
    .bind(&v.version)
    .bind(people.last().map(|p| p.0))
    .bind(more)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(kind = %v.kind, version = %v.version, mailed = people.len(), done = !more, "policy version announced");
    // Another version may wait too.
    Ok(true)
}

/// Announces new versions, a batch at a time, every `every` until shutdown.
pub async fn run_announcer(
    pool: PgPool,
    public_url: std::sync::Arc<str>,
    batch: u32,
    every: Duration,
    shutdown: CancellationToken,
) {
    cloudcast_core::periodic::every("policy_announce", every, shutdown, || async {
        // A few batches per tick: a large site's announcement moves on
        // without flooding the outbox in one go.
        for _ in 0..10 {
            if !announce_batch(&pool, &public_url, batch).await? {
                break;
            }
        }
        Ok::<(), sqlx::Error>(())
    })
    .await
}
