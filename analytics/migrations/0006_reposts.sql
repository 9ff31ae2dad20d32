-- Repost and unrepost events, copied from PostgreSQL (the truth) by event
-- id like favourite events: a copy repeated after a crash replaces rows,
-- never adds.
CREATE TABLE IF NOT EXISTS repost_events
(
    event_id     UInt64,
    ts           DateTime,
    user_id      String,
    cloudcast_id String,
    delta        Int8
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(ts)
ORDER BY event_id
