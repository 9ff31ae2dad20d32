//! The email outbox's one writer: every mail is a row first, in the same
//! transaction as what caused it, and is delivered later by the accounts
//! crate (`accounts/src/mail.rs`) or read with `cloudcast admin outbox`.

use sqlx::PgConnection;
use uuid::Uuid;

/// Queues one mail to `to` (about `user`, if it concerns an account);
/// `kind` names it for the export and the operators.
pub async fn queue(
    conn: &mut PgConnection,
    user: Option<Uuid>,
    to: &str,
    kind: &str,
    subject: &str,
    body: &str,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO email_outbox (id, user_id, to_address, kind, subject, body) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(user)
    .bind(to)
    .bind(kind)
    .bind(subject)
    .bind(body)
    .execute(conn)
    .await?;
    Ok(id)
}
