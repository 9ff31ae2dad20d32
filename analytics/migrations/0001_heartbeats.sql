-- Raw listen heartbeats: one row per second of playback.
-- Runs on ClickHouse 18.16 and current releases: no DateTime64, TTL or codecs.
CREATE TABLE IF NOT EXISTS heartbeats
(
    ts              DateTime,
    cloudcast_id    String,
    session_id      String,
    seq             UInt32,
    position_ms     UInt64,
    listener_id     String,
    user_id         String,
    rendition       String,
    referrer_domain String,
    ip_prefix       String
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(ts)
ORDER BY (cloudcast_id, ts, session_id, seq)
