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
/// recipient, in one transaction: an unknown recipient queues nothing.
/// Delivery follows through SMTP when configured. Returns how many.
pub async fn notify_breach(
    state: &AccountsState,
    to: Recipients<'_>,
    message: &str,
) -> Result<usize, AccountsError> {
    let message = message.trim();
    if message.is_empty() || message.len() > MAX_NOTICE_BYTES {
        return Err(AccountsError::InvalidField(format!(
            "the message must have 1 to {MAX_NOTICE_BYTES} bytes"
        )));
    }
    let users: Vec<(Uuid, String, String)> = match to {
        Recipients::All => {
            sqlx::query_as("SELECT id, username, email FROM users ORDER BY created_at, id")
                .fetch_all(&state.pool)
                .await?
        }
        Recipients::Some(names) => {
            let lowered: Vec<String> = names.iter().map(|n| n.trim().to_lowercase()).collect();
            let found: Vec<(Uuid, String, String)> = sqlx::query_as(
                "SELECT id, username, email FROM users
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
                        .any(|(_, u, e)| &u.to_lowercase() == *n || &e.to_lowercase() == *n)
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
    for (id, username, email) in &users {
        let body = format!(
            "Hello {username},\n\n{message}\n\nWe are telling you as our privacy policy promises \
             (section 5). If you would rather be told another way, send us your alternative \
             contact through the \"Reports\" option on the contact page.\n\nCloudcast\n"
        );
        crate::mail::queue(
            &mut tx,
            Some(*id),
            email,
            "security_notice",
            "Security notice from Cloudcast",
            &body,
        )
        .await?;
    }
    tx.commit().await?;
    tracing::info!(recipients = users.len(), "security notice queued");
    Ok(users.len())
}
