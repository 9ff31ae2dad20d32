//! Each request's id: taken from a well-formed `X-Request-Id` the client or
//! the load balancer sent, else made here. The HTTP layer runs the request
//! inside [`scope`], so the log line of a failure and the 5xx body that
//! reports it carry the same id.

use std::future::Future;

use rand::RngCore;

/// The header the id travels in, both ways.
pub const HEADER: &str = "x-request-id";

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being served, if this runs inside one.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(|id| id.clone()).ok()
}

/// Runs `fut` as the request `id`.
pub async fn scope<F: Future>(id: String, fut: F) -> F::Output {
    REQUEST_ID.scope(id, fut).await
}

/// The incoming id if it is short and plain, else a fresh one: a client's
/// id helps to follow a request across a proxy, but must not be able to
/// put arbitrary text in the logs.
pub fn accept_or_new(incoming: Option<&str>) -> String {
    match incoming {
        Some(id)
            if (8..=64).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            id.to_string()
        }
        _ => new_id(),
    }
}

/// 16 random bytes as 32 hex digits.
pub fn new_id() -> String {
    let mut raw = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut raw);
    hex::encode(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_incoming_ids_are_kept_and_others_replaced() {
        assert_eq!(accept_or_new(Some("lb-1234abcd")), "lb-1234abcd");
        let fresh = accept_or_new(Some("bad id\nwith a newline"));
        assert_eq!(fresh.len(), 32);
        assert_eq!(accept_or_new(None).len(), 32);
        assert_ne!(accept_or_new(Some("short")), "short");
    }

    #[tokio::test]
    async fn the_id_is_visible_inside_its_scope_only() {
        assert_eq!(current(), None);
        let seen = scope("abc12345".into(), async { current() }).await;
        assert_eq!(seen.as_deref(), Some("abc12345"));
        assert_eq!(current(), None);
    }
}
