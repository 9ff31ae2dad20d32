-- Requests for the downloads DJs allow (podcast apps, the mix page's
-- download), copied from PostgreSQL (`download_requests`, a buffer the
-- stream role writes) by request id. Downloads are counted from them by
-- the IAB v2.1 rule (queries/downloads.sql): one per client (`client_hash`:
-- the address, IPv6 cut to /64, and user agent under the day's key) per
-- mix per UTC day, once the bytes delivered reach the first minute's
-- (`minute_bytes`). No address, user agent or account is kept.
CREATE TABLE IF NOT EXISTS download_requests
(
    request_id   UInt64,
    ts           DateTime,
    cloudcast_id String,
    client_hash  String,
    app          String,
    bytes        UInt64,
    minute_bytes UInt64
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(ts)
-- A request's id always comes with the same mix: copies still merge into
-- one row, and a mix's statistics read only its key range.
ORDER BY (cloudcast_id, request_id)
