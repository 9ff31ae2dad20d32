//! Operator commands behind `cloudcast admin`: they use the same code paths
//! as the API (registration rules included), without HTTP.

use serde::Serialize;
use uuid::Uuid;

use crate::accounts::{AccountCreated, NewAccount, create_account};
use crate::{IngestError, IngestState};

pub async fn create_admin(
    state: &IngestState,
    req: NewAccount,
) -> Result<AccountCreated, IngestError> {
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

pub async fn list_users(state: &IngestState) -> Result<Vec<UserSummary>, IngestError> {
    Ok(sqlx::query_as(
        "SELECT id, username, email, is_admin, is_minor, email_verified_at IS NOT NULL AS email_verified, created_at
           FROM users ORDER BY created_at",
    )
    .fetch_all(&state.pool)
    .await?)
}
