//! The stream role's metrics, declared and described here. The chunk
//! cache's hit ratio is hits / (hits + misses).

pub const CACHE_HITS: &str = "cloudcast_stream_cache_hits_total";
pub const CACHE_MISSES: &str = "cloudcast_stream_cache_misses_total";
pub const S3_FETCHES: &str = "cloudcast_stream_s3_fetches_total";
pub const S3_FAILURES: &str = "cloudcast_stream_s3_failures_total";
pub const HEARTBEATS: &str = "cloudcast_heartbeats_accepted_total";
pub const DOWNLOADS_DROPPED: &str = "cloudcast_download_requests_dropped_total";

/// Registers the descriptions (called once by the binary at start).
pub fn describe() {
    use metrics::describe_counter;
    describe_counter!(CACHE_HITS, "Rendition chunks served from the chunk cache");
    describe_counter!(CACHE_MISSES, "Rendition chunks not in the chunk cache");
    describe_counter!(
        S3_FETCHES,
        "Ranged S3 reads made for the chunk cache (concurrent misses on one chunk share one)"
    );
    describe_counter!(
        S3_FAILURES,
        "Ranged S3 reads for the chunk cache that failed or timed out"
    );
    describe_counter!(HEARTBEATS, "Heartbeats accepted by intake (answered 202)");
    describe_counter!(
        DOWNLOADS_DROPPED,
        "Download requests not recorded because the writer's queue was full"
    );
}

/// Makes the cache's counters visible at zero from the start (a counter
/// is otherwise exported only once it first moves).
pub(crate) fn register() {
    for name in [
        CACHE_HITS,
        CACHE_MISSES,
        S3_FETCHES,
        S3_FAILURES,
        HEARTBEATS,
        DOWNLOADS_DROPPED,
    ] {
        metrics::counter!(name).increment(0);
    }
}

pub(crate) fn cache_hit() {
    metrics::counter!(CACHE_HITS).increment(1);
}

pub(crate) fn cache_miss() {
    metrics::counter!(CACHE_MISSES).increment(1);
}

pub(crate) fn s3_fetch() {
    metrics::counter!(S3_FETCHES).increment(1);
}

pub(crate) fn s3_failure() {
    metrics::counter!(S3_FAILURES).increment(1);
}

pub(crate) fn heartbeats_accepted(n: usize) {
    metrics::counter!(HEARTBEATS).increment(n as u64);
}

pub(crate) fn download_dropped() {
    metrics::counter!(DOWNLOADS_DROPPED).increment(1);
}
