-- The analytics model: materialized views fed by every insert into
-- `heartbeats`, each into its own table (the `TO` form, so the table can be
-- queried, altered and cleaned like any other). Aggregating tables keep
-- partial states (`-State`) that merge in the background. Read them with the
-- matching `-Merge` function and a GROUP BY. Bots are left out of every view
-- except `listener_days`, which keeps them under `is_bot` for traffic audits.
-- Days are UTC days (the column `ts` is UTC, see ARCHITECTURE.md).

-- Tags of the cloudcast at the time of the beat, for ad-interest aggregates.
ALTER TABLE heartbeats ADD COLUMN tags Array(String) AFTER cloudcast_id;

-- One row per listener, cloudcast and UTC day: seconds listened (distinct
-- beats, so a re-sent beat counts once) and the furthest position reached.
-- Daily listeners, seconds and plays are read from here. Ordered by day
-- first: the rollup of a finished day (0005) and today's live numbers read
-- one day's rows, whose exact-distinct states are costly to decode.
CREATE TABLE IF NOT EXISTS listener_days
(
    cloudcast_id String,
    day          Date,
    listener_id  String,
    user_id      String,
    is_bot       UInt8,
    seconds      AggregateFunction(uniqExact, String, UInt32),
    furthest_ms  AggregateFunction(max, UInt64)
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (day, cloudcast_id, listener_id, user_id, is_bot)
-- Small granules: a read decodes the states of whole granules, and each
-- state holds one entry per beat.
SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS listener_days_mv TO listener_days AS
SELECT cloudcast_id, toDate(ts) AS day, listener_id, user_id, is_bot,
       uniqExactState(session_id, seq) AS seconds,
       maxState(position_ms) AS furthest_ms
FROM heartbeats
GROUP BY cloudcast_id, day, listener_id, user_id, is_bot;

-- Listen sessions (one player session on one cloudcast): start, end,
-- seconds listened, furthest position and the position it stopped at.
-- Ordered by user first: play history reads one user's sessions.
CREATE TABLE IF NOT EXISTS listen_sessions
(
    user_id      String,
    cloudcast_id String,
    session_id   String,
    listener_id  String,
    started      AggregateFunction(min, DateTime),
    ended        AggregateFunction(max, DateTime),
    seconds      AggregateFunction(uniqExact, UInt32),
    furthest_ms  AggregateFunction(max, UInt64),
    last_ms      AggregateFunction(argMax, UInt64, UInt32)
)
ENGINE = AggregatingMergeTree()
ORDER BY (user_id, cloudcast_id, session_id, listener_id)
-- Small granules: one user's history decodes only the states near it.
SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS listen_sessions_mv TO listen_sessions AS
SELECT user_id, cloudcast_id, session_id, listener_id,
       minState(ts) AS started,
       maxState(ts) AS ended,
       uniqExactState(seq) AS seconds,
       maxState(position_ms) AS furthest_ms,
       argMaxState(position_ms, seq) AS last_ms
FROM heartbeats
WHERE is_bot = 0
GROUP BY user_id, cloudcast_id, session_id, listener_id;

-- Where listeners came from: referrer domain per cloudcast and day.
CREATE TABLE IF NOT EXISTS referrer_days
(
    cloudcast_id    String,
    day             Date,
    referrer_domain String,
    listeners       AggregateFunction(uniqExact, String),
    beats           AggregateFunction(count)
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (cloudcast_id, day, referrer_domain);

CREATE MATERIALIZED VIEW IF NOT EXISTS referrer_days_mv TO referrer_days AS
SELECT cloudcast_id, toDate(ts) AS day, referrer_domain,
       uniqExactState(listener_id) AS listeners,
       countState() AS beats
FROM heartbeats
WHERE is_bot = 0
GROUP BY cloudcast_id, day, referrer_domain;

-- What listeners played it with: browser, major version, OS and device class.
CREATE TABLE IF NOT EXISTS browser_days
(
    cloudcast_id  String,
    day           Date,
    browser       String,
    browser_major String,
    os            String,
    device        String,
    listeners     AggregateFunction(uniqExact, String),
    beats         AggregateFunction(count)
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (cloudcast_id, day, browser, browser_major, os, device);

CREATE MATERIALIZED VIEW IF NOT EXISTS browser_days_mv TO browser_days AS
SELECT cloudcast_id, toDate(ts) AS day, browser, browser_major, os, device,
       uniqExactState(listener_id) AS listeners,
       countState() AS beats
FROM heartbeats
WHERE is_bot = 0
GROUP BY cloudcast_id, day, browser, browser_major, os, device;

-- Retention: distinct listeners per 10 s of position, per cloudcast and day.
CREATE TABLE IF NOT EXISTS retention_days
(
    cloudcast_id String,
    day          Date,
    bucket       UInt32,
    listeners    AggregateFunction(uniqExact, String)
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (cloudcast_id, day, bucket);

CREATE MATERIALIZED VIEW IF NOT EXISTS retention_days_mv TO retention_days AS
SELECT cloudcast_id, toDate(ts) AS day, toUInt32(intDiv(position_ms, 10000)) AS bucket,
       uniqExactState(listener_id) AS listeners
FROM heartbeats
WHERE is_bot = 0
GROUP BY cloudcast_id, day, bucket;

-- Ad interest: seconds per tag per signed-in user and day, only from beats
-- sent while the user's ad-personalisation consent was on.
CREATE TABLE IF NOT EXISTS ad_interest
(
    tag     String,
    day     Date,
    user_id String,
    seconds UInt64
)
ENGINE = SummingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (tag, day, user_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS ad_interest_mv TO ad_interest AS
SELECT tag, toDate(ts) AS day, user_id, count() AS seconds
FROM heartbeats
ARRAY JOIN tags AS tag
WHERE ads_consent = 1 AND user_id != '' AND is_bot = 0
GROUP BY tag, day, user_id;

-- Favourite and unfavourite events, copied from PostgreSQL (the truth) by
-- event id: a copy repeated after a crash replaces rows, never adds.
CREATE TABLE IF NOT EXISTS favourite_events
(
    event_id     UInt64,
    ts           DateTime,
    user_id      String,
    cloudcast_id String,
    delta        Int8
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(ts)
ORDER BY event_id;

-- Daily listeners, seconds and plays per cloudcast, for analysts' SQL.
-- A play is a listener with at least 30 s in the UTC day (the API uses the
-- configured `analytics.play_min_seconds`, 30 by default).
CREATE VIEW IF NOT EXISTS cloudcast_days AS
SELECT cloudcast_id, day,
       count() AS listeners,
       sum(secs) AS listened_seconds,
       countIf(secs >= 30) AS plays
FROM
(
    SELECT cloudcast_id, day, listener_id, uniqExactMerge(seconds) AS secs
    FROM listener_days
    WHERE is_bot = 0
    GROUP BY cloudcast_id, day, listener_id
)
GROUP BY cloudcast_id, day
