-- Finished days, rolled up: one plain row per listener, cloudcast and UTC
-- day, so statistics over long ranges read numbers instead of merging the
-- exact-distinct states of `listener_days` (which hold one entry per beat).
-- The rollup job (analytics/src/rollup.rs) writes a day once it is over,
-- and again whenever that day's beat count (`day_beats`) changes, as after
-- a late replay from a write-ahead log. A repeated rollup adds a newer version of
-- the same rows: read with argMax(.., version) or FINAL.
CREATE TABLE IF NOT EXISTS listener_day_totals
(
    cloudcast_id String,
    day          Date,
    listener_id  String,
    user_id      String,
    is_bot       UInt8,
    seconds      UInt64,
    furthest_ms  UInt64,
    version      UInt32
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(day)
ORDER BY (cloudcast_id, day, listener_id, user_id, is_bot);

-- Which days are rolled up, and the day's beat count when they were: a
-- different count now means the day changed and is rolled up again.
CREATE TABLE IF NOT EXISTS rollup_days
(
    day     Date,
    beats   UInt64,
    version UInt32
)
ENGINE = ReplacingMergeTree(version)
ORDER BY day
;

-- Beats per UTC day, kept by the inserts themselves: the rollup job compares
-- these with `rollup_days` each round without scanning `heartbeats`.
CREATE TABLE IF NOT EXISTS day_beats
(
    day   Date,
    beats UInt64
)
ENGINE = SummingMergeTree()
ORDER BY day;

CREATE MATERIALIZED VIEW IF NOT EXISTS day_beats_mv TO day_beats AS
SELECT toDate(ts) AS day, count() AS beats
FROM heartbeats
GROUP BY day
