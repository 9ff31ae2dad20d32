//! The upload path's metrics, declared and described here.

pub const UPLOAD_BYTES: &str = "cloudcast_upload_bytes_total";

/// Registers the descriptions (called once by the binary at start).
pub fn describe() {
    metrics::describe_counter!(
        UPLOAD_BYTES,
        metrics::Unit::Bytes,
        "Upload bytes received in tus PATCH and creation-with-upload bodies"
    );
}

pub(crate) fn bytes_received(n: u64) {
    metrics::counter!(UPLOAD_BYTES).increment(n);
}
