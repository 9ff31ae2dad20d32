-- Cloudcasts with the most plays over a date range, counted under the
-- listening rule (rolled-up days from `listener_day_totals`, the others
-- from `session_days` through counted_live.sql).
-- A day whose latest mark says rolled holds one row per listener
-- (analytics/src/rollup.rs), so its rows are read as they are.
-- GLOBAL: in a cluster the small list of rolled-up days is read once and
-- sent to every shard (a plain IN over a Distributed table is refused there).
-- Binds: play_min_seconds, from, to, counted_live, limit.
SELECT cloudcast_id,
       toUInt64(countIf(secs >= ?)) AS plays,
       toUInt64(uniqExact(listener_id)) AS listeners,
       toUInt64(sum(secs)) AS listened_seconds
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
ORDER BY plays DESC, listened_seconds DESC, cloudcast_id
LIMIT ?
