//! Operator commands behind `cloudcast admin`: they use the same code paths
//! as the API (registration rules included), without HTTP.

use serde::Serialize;
use uuid::Uuid;

use crate::registration::{AccountCreated, NewAccount, create_account};
use crate::{AccountsError, AccountsState};

pub async fn create_admin(
    state: &AccountsState,
    req: NewAccount,
) -> Result<AccountCreated, AccountsError> {
    create_account(state, req, true).await
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct UserSummary {
    pub id: Uuid,
    pub username: String,
    pub email: String,
    pub is_admin: bool,
    pub is_minor: bool,
    pub email_verified: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
}

pub async fn list_users(state: &AccountsState) -> Result<Vec<UserSummary>, AccountsError> {
    Ok(sqlx::query_as(
        "SELECT id, username, email, is_admin, is_minor, email_verified_at IS NOT NULL AS email_verified, created_at
           FROM users ORDER BY created_at",
    )
    .fetch_all(&state.pool)
    .await?)
}

/// Longest security notice accepted, in bytes (a notice, not a newsletter).
const MAX_NOTICE_BYTES: usize = 10_000;

/// Who a security notice goes to.
pub enum Recipients<'a> {
    All,
    /// Usernames or email addresses (case-insensitive).
    Some(&'a [String]),
}

/// Queues a security notice (users are told of a breach that concerns
/// them, by email) in the email outbox for each
/// recipient (and for the alternative contact a person gave for security
/// notices, policy §5), in one transaction: an unknown recipient queues
/// nothing. Delivery follows through SMTP when configured.
pub async fn notify_breach(
    state: &AccountsState,
    to: Recipients<'_>,
    message: &str,
) -> Result<BreachNotice, AccountsError> {
    let message = message.trim();
    if message.is_empty() || message.len() > MAX_NOTICE_BYTES {
        return Err(AccountsError::InvalidField(format!(
            "the message must have 1 to {MAX_NOTICE_BYTES} bytes"
        )));
    }
    let users: Vec<(Uuid, String, String, Option<String>)> =
        match to {
            Recipients::All => sqlx::query_as(
                "SELECT id, username, email, security_contact FROM users ORDER BY created_at, id",
            )
            .fetch_all(&state.pool)
            .await?,
            Recipients::Some(names) => {
                let lowered: Vec<String> = names.iter().map(|n| n.trim().to_lowercase()).collect();
                let found: Vec<(Uuid, String, String, Option<String>)> = sqlx::query_as(
                    "SELECT id, username, email, security_contact FROM users
                  WHERE lower(username) = ANY($1) OR lower(email) = ANY($1)
                  ORDER BY created_at, id",
                )
                .bind(&lowered)
                .fetch_all(&state.pool)
                .await?;
                let unknown: Vec<&String> = lowered
                    .iter()
                    .filter(|n| {
                        !found
                            .iter()
                            .any(|(_, u, e, _)| &u.to_lowercase() == *n || &e.to_lowercase() == *n)
                    })
                    .collect();
                if !unknown.is_empty() || lowered.is_empty() {
                    return Err(AccountsError::InvalidField(format!(
                        "unknown users: {unknown:?} (nothing was queued)"
                    )));
                }
                found
            }
        };
    let mut tx = state.pool.begin().await?;
    let mut by_hand = Vec::new();
    for (id, username, email, alternative) in &users {
        let body = format!(
            "Hello {username},\n\n{message}\n\nWe are telling you as our privacy policy promises \
             (section 5). If you would rather be told another way, add an alternative contact \
             for security notices in your settings ({}/settings).\n\nCloudcast\n",
            state.public_url
        );
        // The account's address, and the alternative the person gave: a
        // second address is mailed too; any other way (a phone, a postal
        // address) is listed for the operator to reach by hand.
        let mut to = vec![email.as_str()];
        match alternative.as_deref().map(str::trim) {
            Some(a) if crate::registration::validate_email(a).is_ok() => to.push(a),
            Some(a) if !a.is_empty() => by_hand.push(ByHand {
                username: username.clone(),
                contact: a.to_string(),
            }),
            _ => {}
        }
        for address in to {
            cloudcast_core::outbox::queue(
                &mut tx,
                Some(*id),
                address,
                "security_notice",
                "Security notice from Cloudcast",
                &body,
            )
            .await?;
        }
    }
    tx.commit().await?;
    tracing::info!(
        recipients = users.len(),
        by_hand = by_hand.len(),
        "security notice queued"
    );
    Ok(BreachNotice {
        mailed: users.len(),
        by_hand,
    })
}

/// A person who asked to hear of security matters another way than mail.
#[derive(Debug, Serialize)]
pub struct ByHand {
    pub username: String,
    pub contact: String,
}

/// What [`notify_breach`] did.
#[derive(Debug, Serialize)]
pub struct BreachNotice {
    /// Accounts mailed (at their address, and at an alternative one).
    pub mailed: usize,
    /// Accounts to reach by hand as well, at the contact they gave.
    pub by_hand: Vec<ByHand>,
}

/// An operator's own allowances for one account; `None` keeps the
/// configured one.
pub struct QuotaChange<'a> {
    pub open_uploads: Option<u32>,
    pub storage_bytes: Option<u64>,
    pub daily_upload_bytes: Option<u64>,
    pub operator: &'a str,
    pub reason: &'a str,
}

/// The account a username or email names (any case).
pub async fn find_account(state: &AccountsState, login: &str) -> Result<Uuid, AccountsError> {
    sqlx::query_scalar(
        "SELECT id FROM users WHERE lower(username) = $1 OR lower(email) = $1 LIMIT 1",
    )
    .bind(login.trim().to_lowercase())
    .fetch_optional(&state.pool)
    .await?
    .ok_or(AccountsError::NotFound("account"))
}

/// `cloudcast admin quota`: sets an account's own allowances, or with
/// `None` takes them back to the configured ones.
pub async fn set_quota(
    state: &AccountsState,
    id: Uuid,
    change: Option<QuotaChange<'_>>,
) -> Result<(), AccountsError> {
    let as_i64 = |n: Option<u64>| n.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
    match change {
        Some(c) => {
            sqlx::query(
                "INSERT INTO user_quotas (user_id, open_uploads, storage_bytes, daily_upload_bytes, set_by, reason)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (user_id) DO UPDATE SET
                   open_uploads = coalesce(EXCLUDED.open_uploads, user_quotas.open_uploads),
                   storage_bytes = coalesce(EXCLUDED.storage_bytes, user_quotas.storage_bytes),
                   daily_upload_bytes = coalesce(EXCLUDED.daily_upload_bytes, user_quotas.daily_upload_bytes),
                   set_by = EXCLUDED.set_by, reason = EXCLUDED.reason, set_at = now()",
            )
            .bind(id)
            .bind(c.open_uploads.map(|n| i32::try_from(n).unwrap_or(i32::MAX)))
            .bind(as_i64(c.storage_bytes))
            .bind(as_i64(c.daily_upload_bytes))
            .bind(c.operator)
            .bind(c.reason)
            .execute(&state.pool)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM user_quotas WHERE user_id = $1")
                .bind(id)
                .execute(&state.pool)
                .await?;
        }
    }
    Ok(())
}
