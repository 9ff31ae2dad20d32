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
    queue_leavable(conn, user, to, kind, subject, body, None).await
}

/// [`queue`], for mail a person may stop with one click: `unsubscribe`
/// is the URL that takes a `POST` without signing in (RFC 8058), sent in
/// `List-Unsubscribe` with `List-Unsubscribe-Post`.
pub async fn queue_leavable(
    conn: &mut PgConnection,
    user: Option<Uuid>,
    to: &str,
    kind: &str,
    subject: &str,
    body: &str,
    unsubscribe: Option<&str>,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO email_outbox (id, user_id, to_address, kind, subject, body, unsubscribe_url)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(user)
    .bind(to)
    .bind(kind)
    .bind(subject)
    .bind(body)
    .bind(unsubscribe)
    .execute(conn)
    .await?;
    Ok(id)
}
