-- Listeners, seconds listened and plays per UTC day, for one cloudcast, or
-- for all of them, counted under the listening rule. A play is a listener
-- with at least the given number of seconds on a cloudcast in one UTC day;
-- bots are left out. Rolled-up days come from `listener_day_totals`, the
-- others (today, or a day waiting for its rollup) from counted_live.sql.
-- A day whose latest mark says rolled holds one row per listener
-- (analytics/src/rollup.rs), so its rows are read as they are.
-- A day is rolled up or not, never both, so each part counts its own days
-- and the parts are simply put together.
-- GLOBAL: in a cluster the small list of rolled-up days is read once and
-- sent to every shard (a plain IN over a Distributed table is refused there).
-- Binds: play_min_seconds, cloudcast_from, cloudcast_to, from, to, play_min_seconds, counted_live.
SELECT d AS day, listeners, listened_seconds, plays
FROM
(
    SELECT toString(day) AS d,
           toUInt64(uniqExact(listener_id)) AS listeners,
           toUInt64(sum(seconds)) AS listened_seconds,
           toUInt64(countIf(seconds >= ?)) AS plays
    FROM listener_day_totals
    WHERE cloudcast_id >= ? AND cloudcast_id <= ?
      AND day >= toDate(?) AND day <= toDate(?)
      AND is_bot = 0
      AND day GLOBAL IN (SELECT day FROM rollup_days GROUP BY day HAVING argMax(rolled, version) = 1)
    GROUP BY day
    UNION ALL
    SELECT toString(day) AS d,
           toUInt64(uniqExact(listener_id)) AS listeners,
           toUInt64(sum(secs)) AS listened_seconds,
           toUInt64(countIf(secs >= ?)) AS plays
    FROM
    (
        SELECT day, listener_id, seconds AS secs
        FROM ({counted_live})
        WHERE is_bot = 0
    )
    GROUP BY day
)
ORDER BY d
