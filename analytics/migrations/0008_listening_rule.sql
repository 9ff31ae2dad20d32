-- The listening rule (README, docs/analytics.md; the queries apply it in
-- queries/counted_live.sql and the rollup in rollup.rs). Counting needs each
-- session's own span of server time, which `listener_days` (one state per
-- listener) cannot give, and the address a listener came from.

-- One row per listening session, cloudcast and UTC day: when the server
-- received its first and last beat, its distinct beats, the address (daily
-- keyed hash) of its first beat and the furthest position. Ordered by day
-- first, like `listener_days`: live numbers and the rollup read one day.
CREATE TABLE IF NOT EXISTS session_days
(
    day          Date,
    cloudcast_id String,
    listener_id  String,
    session_id   String,
    user_id      String,
    is_bot       UInt8,
    address      AggregateFunction(argMin, String, DateTime),
    first_ts     AggregateFunction(min, DateTime),
    last_ts      AggregateFunction(max, DateTime),
    seqs         AggregateFunction(uniqExact, UInt32),
    furthest_ms  AggregateFunction(max, UInt64)
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (day, cloudcast_id, listener_id, session_id, user_id, is_bot)
SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS session_days_mv TO session_days AS
SELECT toDate(ts) AS day, cloudcast_id, listener_id, session_id, user_id, is_bot,
       argMinState(ip_hash, ts) AS address,
       minState(ts) AS first_ts,
       maxState(ts) AS last_ts,
       uniqExactState(seq) AS seqs,
       maxState(position_ms) AS furthest_ms
FROM heartbeats
GROUP BY day, cloudcast_id, listener_id, session_id, user_id, is_bot;

-- The version of the rule a day was rolled up under: a day rolled up under
-- an older one (0: before the rule) is counted again while its sessions
-- are there (the upgrade fills `session_days` from the raw beats kept).
ALTER TABLE rollup_days ADD COLUMN rule UInt8 DEFAULT 0
;

-- The analysts' views, counted under the rule with its default numbers
-- (16 anonymous listeners an address; plays at 30 s): rolled-up days as
-- they are, the others through the rule (`{counted_live_defaults}` is
-- queries/counted_live.sql with those numbers, put in by schema.rs).
-- `counted_listener_days`: one row per counted listener, cloudcast and day.
CREATE VIEW IF NOT EXISTS counted_listener_days AS
SELECT cloudcast_id, day, listener_id, user_id, seconds, furthest_ms
FROM
(
    SELECT cloudcast_id, day, listener_id, user_id, seconds, furthest_ms
    FROM listener_day_totals
    WHERE is_bot = 0
      AND day GLOBAL IN (SELECT day FROM rollup_days GROUP BY day HAVING argMax(rolled, version) = 1)
    UNION ALL
    SELECT cloudcast_id, day, listener_id, user_id, seconds, furthest_ms
    FROM ({counted_live_defaults})
    WHERE is_bot = 0
);

-- `cloudcast_days` (from 0004) read `listener_days` as it arrived: made
-- again from the counted rows.
DROP TABLE IF EXISTS cloudcast_days;

CREATE VIEW IF NOT EXISTS cloudcast_days AS
SELECT cloudcast_id, day,
       count() AS listeners,
       sum(seconds) AS listened_seconds,
       countIf(seconds >= 30) AS plays
FROM
(
    SELECT cloudcast_id, day, seconds
    FROM listener_day_totals
    WHERE is_bot = 0
      AND day GLOBAL IN (SELECT day FROM rollup_days GROUP BY day HAVING argMax(rolled, version) = 1)
    UNION ALL
    SELECT cloudcast_id, day, seconds
    FROM ({counted_live_defaults})
    WHERE is_bot = 0
)
GROUP BY cloudcast_id, day
