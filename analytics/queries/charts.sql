-- Plays per cloudcast for the charts: in the 30 days up to `to`, in the
-- 7 days up to `to`, and in the 7 days before those (trending compares the
-- two weeks), counted under the listening rule. Rolled-up days come from
-- `listener_day_totals`, the others from counted_live.sql, as in top_cloudcasts.
-- A day whose latest mark says rolled holds one row per listener
-- (analytics/src/rollup.rs), so its rows are read as they are.
-- GLOBAL: in a cluster the small list of rolled-up days is read once and
-- sent to every shard (a plain IN over a Distributed table is refused there).
-- Binds: play_min_seconds, play_min_seconds, to, play_min_seconds, to, to, from, to, counted_live.
SELECT cloudcast_id,
       toUInt64(countIf(secs >= ?)) AS plays_30d,
       toUInt64(countIf(secs >= ? AND day > toDate(?) - 7)) AS plays_7d,
       toUInt64(countIf(secs >= ? AND day <= toDate(?) - 7 AND day > toDate(?) - 14)) AS plays_prev_7d
FROM
(
    SELECT cloudcast_id, day, listener_id, seconds AS secs
    FROM listener_day_totals
    WHERE day >= toDate(?) AND day <= toDate(?) AND is_bot = 0
      AND day GLOBAL IN (SELECT day FROM rollup_days GROUP BY day HAVING argMax(rolled, version) = 1)
    UNION ALL
    SELECT cloudcast_id, day, listener_id, seconds AS secs
    FROM ({counted_live})
    WHERE is_bot = 0
)
GROUP BY cloudcast_id
HAVING plays_30d > 0
