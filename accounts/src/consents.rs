//! Consents: contact by third parties and personalised ads, both opt-in:
//! off unless given (an operator outside the EU may keep the policy's
//! opt-out for ads: `policies.ads_opt_out`). Every change is recorded
//! with its time, source and reason as proof. Accounts whose ad consent
//! was only the old sign-up default are set off when a node starts
//! ([`withdraw_presumed`]). Withdrawing ad consent queues the
//! removal of the user's ad-interest rows in ClickHouse (done by the
//! analytics node within seconds, and once more after stream nodes' consent
//! caches and logs have caught up); new heartbeats stop counting as
//! consented within the stream's consent cache time (a minute).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use cloudcast_core::auth::AuthUser;
use cloudcast_core::extract::ApiJson;

use cloudcast_core::purges;
use cloudcast_core::states::PurgeScope;

use crate::{AccountsError, AccountsState};

#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ConsentEvent {
    pub kind: String,
    pub granted: bool,
    /// `signup` (the defaults of a new account), `user`, or `policy` (a
    /// change of the site's rules, with its reason).
    pub source: String,
    /// Why, for a change the site made.
    pub reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Consents {
    /// May third parties contact the user (by email) about their products?
    pub third_party_contact: bool,
    /// May the user's listening shape the ads they see?
    pub personalised_ads: bool,
    /// Every change, oldest first.
    pub history: Vec<ConsentEvent>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentUpdate {
    pub third_party_contact: Option<bool>,
    pub personalised_ads: Option<bool>,
}

async fn load(pool: &sqlx::PgPool, user: Uuid) -> Result<Consents, AccountsError> {
    let (third_party_contact, personalised_ads): (bool, bool) =
        sqlx::query_as("SELECT third_party_consent, ads_consent FROM users WHERE id = $1")
            .bind(user)
            .fetch_optional(pool)
            .await?
            .ok_or(AccountsError::NotFound("account"))?;
    let history = sqlx::query_as(
        "SELECT kind, granted, source, reason, at FROM consent_events WHERE user_id = $1 ORDER BY at, id",
    )
    .bind(user)
    .fetch_all(pool)
    .await?;
    Ok(Consents {
        third_party_contact,
        personalised_ads,
        history,
    })
}

/// Records the consents of a new account (in its registration
/// transaction): `ads_chosen` when the person gave or refused ad consent
/// on the form (their act), else it is the site's default.
pub async fn record_signup(
    tx: &mut sqlx::PgConnection,
    user: Uuid,
    personalised_ads: bool,
    third_party_contact: bool,
    ads_chosen: bool,
) -> Result<(), AccountsError> {
    sqlx::query(
        "INSERT INTO consent_events (user_id, kind, granted, source)
         VALUES ($1, 'personalised_ads', $2, $4), ($1, 'third_party_contact', $3, 'signup')",
    )
    .bind(user)
    .bind(personalised_ads)
    .bind(third_party_contact)
    .bind(if ads_chosen { "user" } else { "signup" })
    .execute(tx)
    .await?;
    Ok(())
}

/// Why [`withdraw_presumed`] set an account's ad consent off.
pub const PRESUMED_REASON: &str = "consent to personalised ads must be given, not presumed \
    (GDPR Art. 4(11), 7; ePrivacy): the sign-up default no longer counts as consent";

/// Sets off the ad consent of every account whose consent was only the
/// sign-up default (never given by the person), records why in their
/// history, and queues the removal of their rows from the ad aggregates.
/// Runs when a node starts unless the operator keeps the opt-out; a second
/// run finds no one. Returns how many accounts changed.
pub async fn withdraw_presumed(pool: &sqlx::PgPool) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let presumed: Vec<Uuid> = sqlx::query_scalar(
        "UPDATE users u SET ads_consent = false
          WHERE u.ads_consent
            AND NOT EXISTS (SELECT 1 FROM consent_events e
                             WHERE e.user_id = u.id AND e.kind = 'personalised_ads'
                               AND e.source <> 'signup')
          RETURNING u.id",
    )
    .fetch_all(&mut *tx)
    .await?;
    for user in &presumed {
        sqlx::query(
            "INSERT INTO consent_events (user_id, kind, granted, source, reason)
             VALUES ($1, 'personalised_ads', false, 'policy', $2)",
        )
        .bind(user)
        .bind(PRESUMED_REASON)
        .execute(&mut *tx)
        .await?;
        purges::enqueue(&mut tx, *user, PurgeScope::AdInterest, &[], &[]).await?;
    }
    tx.commit().await?;
    if !presumed.is_empty() {
        tracing::info!(
            accounts = presumed.len(),
            "presumed ad consents set off and purged from the ad aggregates"
        );
    }
    Ok(presumed.len() as u64)
}

/// `GET /api/v1/me/consents`
#[utoipa::path(get, path = "/api/v1/me/consents", tag = "privacy",
    summary = "My consents and their history",
    responses(
        (status = 200, description = "Consents in force and every change", body = Consents),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn get(
    State(state): State<AccountsState>,
    AuthUser(user): AuthUser,
) -> Result<Json<Consents>, AccountsError> {
    Ok(Json(load(&state.pool, user).await?))
}

/// `PUT /api/v1/me/consents` `{"third_party_contact"?: bool, "personalised_ads"?: bool}`
#[utoipa::path(put, path = "/api/v1/me/consents", tag = "privacy",
    summary = "Give or withdraw a consent",
    request_body = ConsentUpdate,
    responses(
        (status = 200, description = "Consents in force and every change", body = Consents),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "A field is invalid", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn put(
    State(state): State<AccountsState>,
    AuthUser(user): AuthUser,
    ApiJson(update): ApiJson<ConsentUpdate>,
) -> Result<Json<Consents>, AccountsError> {
    if update.third_party_contact.is_none() && update.personalised_ads.is_none() {
        return Err(AccountsError::InvalidField(
            "send `third_party_contact` and/or `personalised_ads` (true or false)".into(),
        ));
    }
    let mut tx = state.pool.begin().await?;
    // Lock the row: two concurrent changes are recorded in order.
    let (third, ads): (bool, bool) = sqlx::query_as(
        "SELECT third_party_consent, ads_consent FROM users WHERE id = $1 FOR UPDATE",
    )
    .bind(user)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AccountsError::NotFound("account"))?;
    let changes = [
        ("third_party_contact", third, update.third_party_contact),
        ("personalised_ads", ads, update.personalised_ads),
    ];
    for (kind, old, new) in changes {
        let Some(new) = new.filter(|n| *n != old) else {
            continue;
        };
        let column = if kind == "personalised_ads" {
            "ads_consent"
        } else {
            "third_party_consent"
        };
        sqlx::query(&format!("UPDATE users SET {column} = $2 WHERE id = $1"))
            .bind(user)
            .bind(new)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO consent_events (user_id, kind, granted, source) VALUES ($1, $2, $3, 'user')",
        )
        .bind(user)
        .bind(kind)
        .bind(new)
        .execute(&mut *tx)
        .await?;
        if kind == "personalised_ads" && !new {
            purges::enqueue(&mut tx, user, PurgeScope::AdInterest, &[], &[]).await?;
        }
        tracing::info!(user_id = %user, kind, granted = new, "consent changed");
    }
    tx.commit().await?;
    Ok(Json(load(&state.pool, user).await?))
}
