//! The bell, live: `GET /api/v1/me/notifications/stream` holds a
//! server-sent event stream that says the unread count whenever it
//! changes. A change made on any node reaches every node through
//! PostgreSQL (`LISTEN` on `cloudcast_core::notify::CHANNEL`, sent on
//! commit by the writer), so a listener on one node and a DJ on another
//! need no broker of our own. A node keeps `notifications.max_streams`
//! streams; past that it answers 503 with `Retry-After`, and the page polls
//! the count instead.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use cloudcast_core::auth::AuthUser;
use cloudcast_core::notify::CHANNEL;

use crate::list::unread_of;
use crate::{NotificationsError, NotificationsState};

/// Wakes held for streams that have not read them yet: a wake is a few
/// bytes, and a stream that falls further behind than this recounts once.
const WAKES_HELD: usize = 4096;

/// A comment line this often keeps proxies from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Whose notifications changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    User(Uuid),
    /// Anyone's (many at once, or wakes were missed).
    All,
}

impl Wake {
    fn parse(payload: &str) -> Wake {
        payload.parse().map_or(Wake::All, Wake::User)
    }

    fn concerns(self, user: Uuid) -> bool {
        match self {
            Wake::User(u) => u == user,
            Wake::All => true,
        }
    }
}

/// One node's live streams: the wakes from PostgreSQL, and the permits
/// that bound how many streams it keeps.
#[derive(Clone)]
pub struct Hub {
    wakes: broadcast::Sender<Wake>,
    permits: Arc<Semaphore>,
    /// Cancelled when the node shuts down: every stream ends.
    closing: CancellationToken,
}

impl Hub {
    pub fn new(max_streams: u32) -> Hub {
        Hub {
            wakes: broadcast::channel(WAKES_HELD).0,
            permits: Arc::new(Semaphore::new(max_streams as usize)),
            closing: CancellationToken::new(),
        }
    }

    /// Listens on PostgreSQL and hands each wake to the streams, until
    /// `shutdown`, when it ends every stream.
    pub async fn listen(self, pool: PgPool, shutdown: CancellationToken) {
        let mut listener: Option<PgListener> = None;
        loop {
            let Some(l) = listener.as_mut() else {
                match connect(&pool).await {
                    Ok(l) => {
                        listener = Some(l);
                        // Whatever happened while not listening is recounted.
                        let _ = self.wakes.send(Wake::All);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "listening for notifications failed; retrying");
                        tokio::select! {
                            _ = shutdown.cancelled() => break,
                            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        }
                    }
                }
                continue;
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                got = l.try_recv() => match got {
                    Ok(Some(n)) => {
                        let _ = self.wakes.send(Wake::parse(n.payload()));
                    }
                    // The connection dropped and is made again on the next
                    // call; wakes meanwhile are lost, so all recount.
                    Ok(None) => {
                        let _ = self.wakes.send(Wake::All);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "the notification listener failed; reconnecting");
                        listener = None;
                    }
                },
            }
        }
        self.closing.cancel();
    }
}

async fn connect(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut l = PgListener::connect_with(pool).await?;
    l.listen(CHANNEL).await?;
    Ok(l)
}

/// What a stream holds between events.
struct Watch {
    pool: PgPool,
    user: Uuid,
    wakes: broadcast::Receiver<Wake>,
    last: Option<i64>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Watch {
    fn drop(&mut self) {
        crate::metrics::stream_closed();
    }
}

/// The next unread count that differs from the last one said.
async fn next_count(mut w: Watch) -> Option<(i64, Watch)> {
    loop {
        if w.last.is_some() {
            match w.wakes.recv().await {
                Ok(wake) if wake.concerns(w.user) => {}
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
        let mut conn = match w.pool.acquire().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "counting unread notifications failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        match unread_of(&mut conn, w.user).await {
            Ok(n) if Some(n) != w.last => {
                w.last = Some(n);
                return Some((n, w));
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "counting unread notifications failed"),
        }
    }
}

fn counts(w: Watch, closing: CancellationToken) -> impl Stream<Item = Result<Event, Infallible>> {
    futures::stream::unfold(w, next_count)
        .map(|n| {
            Ok(Event::default()
                .event("unread")
                .data(format!("{{\"unread\":{n}}}")))
        })
        .take_until(closing.cancelled_owned())
}

/// `GET /api/v1/me/notifications/stream`
#[utoipa::path(get, path = "/api/v1/me/notifications/stream", tag = "notifications", operation_id = "notification_stream",
    summary = "My unread count, live (server-sent events)",
    description = "An `unread` event with `{\"unread\": n}` at once and whenever the count changes, on whichever node the change was made. A node keeps `notifications.max_streams` streams; past that it answers 503 and a client polls `GET /api/v1/me/notifications/unread` every `Retry-After` seconds.",
    responses(
        (status = 200, description = "An event stream", content_type = "text/event-stream", body = String),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 503, description = "This node keeps no more streams (`streams_full`): poll instead", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn stream(
    State(state): State<NotificationsState>,
    AuthUser(me): AuthUser,
) -> Result<Response, NotificationsError> {
    let hub = state.hub.clone();
    let Ok(permit) = hub.permits.clone().try_acquire_owned() else {
        crate::metrics::stream_refused();
        return Err(NotificationsError::StreamsFull(state.config.poll.as_secs()));
    };
    crate::metrics::stream_opened();
    let watch = Watch {
        pool: state.pool.clone(),
        user: me,
        wakes: hub.wakes.subscribe(),
        last: None,
        _permit: permit,
    };
    let sse = Sse::new(counts(watch, hub.closing.clone()))
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE));
    Ok((
        [
            // nginx passes the events on as they come, whatever its buffering.
            (
                HeaderName::from_static("x-accel-buffering"),
                HeaderValue::from_static("no"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        sse,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wake_names_one_person_or_everyone() {
        let u = Uuid::from_u128(5);
        assert_eq!(Wake::parse(&u.to_string()), Wake::User(u));
        assert_eq!(Wake::parse("*"), Wake::All);
        assert!(Wake::All.concerns(u));
        assert!(!Wake::User(Uuid::from_u128(6)).concerns(u));
    }

    #[tokio::test]
    async fn a_node_keeps_at_most_its_streams() {
        let hub = Hub::new(1);
        let first = hub.permits.clone().try_acquire_owned();
        assert!(first.is_ok());
        assert!(hub.permits.clone().try_acquire_owned().is_err());
        assert_eq!(hub.permits.available_permits(), 0);
        drop(first);
        assert_eq!(hub.permits.available_permits(), 1);
    }
}
