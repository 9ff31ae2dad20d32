//! `/mailbox` on a machine of one's own (`smtp.mailbox_page`): every mail
//! queued in the outbox, newest first, links clickable, so a sign-up's
//! confirmation link can be opened without an SMTP relay. Served to
//! loopback clients only; the configuration refuses it unless the public
//! URL is a loopback address.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use sqlx::PgPool;

use cloudcast_core::ApiError;

/// The newest mails shown.
const SHOWN: i64 = 100;

/// A mail as the outbox holds it: to, kind, subject, body, when.
type Mail = (String, String, String, String, time::OffsetDateTime);

pub async fn page(
    State(pool): State<PgPool>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    if !cloudcast_core::netaddr::canonical(peer.ip()).is_loopback() {
        return ApiError::not_found("page").into_response();
    }
    let rows: Result<Vec<Mail>, _> = sqlx::query_as(
        "SELECT to_address, kind, subject, body, created_at FROM email_outbox
              ORDER BY created_at DESC, id DESC LIMIT $1",
    )
    .bind(SHOWN)
    .fetch_all(&pool)
    .await;
    match rows {
        Ok(rows) => cloudcast_site::mailbox_page(
            rows.into_iter()
                .map(|(to, kind, subject, body, at)| {
                    let at = at
                        .format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default();
                    cloudcast_site::MailView::new(to, kind, subject, at, &body)
                })
                .collect(),
        ),
        Err(e) => {
            tracing::error!(error = %e, "reading the outbox for the mailbox page failed");
            ApiError::server(
                cloudcast_core::error::database_status(&e),
                "database_unavailable",
            )
            .into_response()
        }
    }
}
