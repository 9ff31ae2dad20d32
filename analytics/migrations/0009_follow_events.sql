-- Follow and unfollow events, copied from PostgreSQL (the truth:
-- `follow_events`) by event id like favourite and repost events, for a
-- DJ's followers over time. `user_id` is the follower, `followee_id` the
-- account followed; an erasure removes rows naming either.
CREATE TABLE IF NOT EXISTS follow_events
(
    event_id    UInt64,
    ts          DateTime,
    user_id     String,
    followee_id String,
    delta       Int8
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(ts)
ORDER BY event_id
