//! A deadline on request bodies: once its head has arrived, a request's
//! body must arrive within `http.body_timeout_secs`, or the request is
//! answered 408 and the connection closed. A client trickling a body a byte
//! at a time would otherwise hold its handler, its connection and its
//! buffers for ever. An upload's PATCH is exempt: a chunk of a long mix on
//! a slow line may take minutes, and tus resumes it where it stopped.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};
use tokio::time::Sleep;

use cloudcast_core::ApiError;

/// The reason a body ended early.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within its deadline")]
struct TooSlow;

/// A body that fails once its deadline passes (and says so in `expired`).
/// The timer is armed only when the body first has to wait: most bodies
/// (a heartbeat, a JSON form) arrive with their head and never need one.
struct DeadlineBody {
    inner: Body,
    deadline: tokio::time::Instant,
    timer: Option<Pin<Box<Sleep>>>,
    expired: Arc<AtomicBool>,
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        let deadline = self.deadline;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.as_mut().poll(cx).is_ready() {
            self.expired.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(axum::Error::new(TooSlow))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// tus PATCHes keep their own rules (a lock, a part pipeline, resumption).
fn exempt(req: &Request) -> bool {
    req.method() == Method::PATCH && req.uri().path().starts_with("/api/v1/uploads/")
}

/// Middleware: the body's deadline, and 408 when it passed.
pub async fn limit(State(timeout): State<Duration>, req: Request, next: Next) -> Response {
    // Nothing to wait for (GET, HEAD, an empty POST): no timer either.
    if exempt(&req) || http_body::Body::is_end_stream(req.body()) {
        return next.run(req).await;
    }
    let expired = Arc::new(AtomicBool::new(false));
    let (parts, body) = req.into_parts();
    let body = Body::new(DeadlineBody {
        inner: body,
        deadline: tokio::time::Instant::now() + timeout,
        timer: None,
        expired: expired.clone(),
    });
    let resp = next.run(Request::from_parts(parts, body)).await;
    if !expired.load(Ordering::Relaxed) {
        return resp;
    }
    // Whatever the handler made of the failed read, the answer is 408, and
    // the connection is not kept: its remaining bytes are unknown.
    let mut resp = ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "body_timeout",
        format!(
            "the request body did not arrive within {} s",
            timeout.as_secs()
        ),
    )
    .into_response();
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}
