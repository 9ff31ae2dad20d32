//! The email outbox: messages are rows first (in the same transaction as
//! what caused them), then delivered over SMTP by [`run_delivery`] when a
//! relay is configured. Without one they wait for `cloudcast admin outbox`.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::config::{SmtpConfig, SmtpSecurity};

use crate::AccountsError;

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct OutboxMail {
    pub id: Uuid,
    pub to_address: String,
    pub kind: String,
    pub subject: String,
    pub body: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub sent_at: Option<time::OffsetDateTime>,
    pub attempts: i32,
    pub last_error: Option<String>,
}

pub async fn list(pool: &PgPool, unsent_only: bool) -> Result<Vec<OutboxMail>, AccountsError> {
    Ok(sqlx::query_as(
        "SELECT id, to_address, kind, subject, body, created_at, sent_at, attempts, last_error
           FROM email_outbox WHERE (NOT $1 OR sent_at IS NULL) ORDER BY created_at",
    )
    .bind(unsent_only)
    .fetch_all(pool)
    .await?)
}

/// How long one SMTP exchange may take before it counts as failed.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

fn transport(
    cfg: &SmtpConfig,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, lettre::transport::smtp::Error> {
    let builder = match cfg.security {
        SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host),
        SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&cfg.host)?,
    };
    let mut builder = builder.port(cfg.port).timeout(Some(SMTP_TIMEOUT));
    if !cfg.username.is_empty() {
        builder = builder.credentials(Credentials::new(
            cfg.username.clone(),
            cfg.password.expose().to_string(),
        ));
    }
    Ok(builder.build())
}

/// Sends unsent mail every few seconds until `shutdown`; does nothing
/// when no SMTP host is configured.
pub async fn run_delivery(pool: PgPool, cfg: SmtpConfig, shutdown: CancellationToken) {
    if cfg.host.is_empty() {
        return;
    }
    let mailer = match transport(&cfg) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %cloudcast_core::error::Chain(&e), "SMTP is misconfigured; mail stays in the outbox");
            return;
        }
    };
    let from: Mailbox = match cfg.from.parse() {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(error = %e, "smtp.from is not a mailbox; mail stays in the outbox");
            return;
        }
    };
    cloudcast_core::periodic::every("mail_delivery", DELIVERY_EVERY, shutdown, || {
        deliver_batch(&pool, &mailer, &from)
    })
    .await
}

/// How often the outbox is looked at for mail to send.
const DELIVERY_EVERY: Duration = Duration::from_secs(2);

async fn deliver_batch(
    pool: &PgPool,
    mailer: &AsyncSmtpTransport<Tokio1Executor>,
    from: &Mailbox,
) -> Result<(), AccountsError> {
    let mut tx = pool.begin().await?;
    // SKIP LOCKED: several nodes may run delivery without sending twice.
    let batch: Vec<(Uuid, String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT id, to_address, subject, body, unsubscribe_url FROM email_outbox
          WHERE sent_at IS NULL AND attempts < 10
          ORDER BY created_at LIMIT 20 FOR UPDATE SKIP LOCKED",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (id, to, subject, body, unsubscribe) in batch {
        let result = async {
            let to: Mailbox = to.parse().map_err(|e| format!("bad address: {e}"))?;
            let mut msg = Message::builder()
                .from(from.clone())
                .to(to)
                .subject(subject)
                .header(ContentType::TEXT_PLAIN);
            if let Some(url) = unsubscribe {
                // RFC 8058: the mail client's button POSTs to the URL.
                msg = msg
                    .raw_header(HeaderValue::new(
                        HeaderName::new_from_ascii_str("List-Unsubscribe"),
                        format!("<{url}>"),
                    ))
                    .raw_header(HeaderValue::new(
                        HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                        "List-Unsubscribe=One-Click".into(),
                    ));
            }
            let msg = msg.body(body).map_err(|e| e.to_string())?;
            mailer.send(msg).await.map_err(|e| e.to_string())?;
            Ok::<(), String>(())
        }
        .await;
        match result {
            Ok(()) => {
                crate::metrics::mail("sent");
                sqlx::query("UPDATE email_outbox SET sent_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            Err(e) => {
                tracing::warn!(mail_id = %id, error = %e, "sending mail failed");
                crate::metrics::mail("failed");
                sqlx::query("UPDATE email_outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1")
                    .bind(id)
                    .bind(e)
                    .execute(&mut *tx)
                    .await?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}
