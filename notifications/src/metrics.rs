//! The notifications crate's metrics, declared and described here.

pub const STREAMS: &str = "cloudcast_notification_streams";
pub const STREAMS_REFUSED: &str = "cloudcast_notification_streams_refused_total";
pub const MAILED: &str = "cloudcast_notifications_mailed_total";

/// Registers the descriptions (called once by the binary at start).
pub fn describe() {
    metrics::describe_gauge!(
        STREAMS,
        "Live notification streams (server-sent events) open on this node"
    );
    metrics::describe_counter!(
        STREAMS_REFUSED,
        "Live streams refused because the node keeps notifications.max_streams (the page polls)"
    );
    metrics::describe_counter!(
        MAILED,
        "Mail written about notifications, by form (at_once, daily, weekly)"
    );
}

pub(crate) fn stream_opened() {
    metrics::gauge!(STREAMS).increment(1.0);
}

pub(crate) fn stream_closed() {
    metrics::gauge!(STREAMS).decrement(1.0);
}

pub(crate) fn stream_refused() {
    metrics::counter!(STREAMS_REFUSED).increment(1);
}

pub(crate) fn mailed(form: &'static str, n: u64) {
    metrics::counter!(MAILED, "form" => form).increment(n);
}
