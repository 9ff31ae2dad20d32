-- A DJ's insights: plays, seconds and listeners of each of a set of
-- cloudcasts (the DJ's) over a date range, counted under the listening rule
-- exactly as a cloudcast's own statistics count them, so their sums are the
-- per-mix figures' sums. Rolled-up days from `listener_day_totals`, the
-- others from counted_live.sql. The set's lowest and highest ids bound every
-- part to a range of the primary key; `has` then keeps the set.
-- A day whose latest mark says rolled holds one row per listener
-- (analytics/src/rollup.rs), so its rows are read as they are.
-- GLOBAL: in a cluster the small list of rolled-up days is read once and
-- sent to every shard (a plain IN over a Distributed table is refused there).
-- Binds: play_min_seconds, cloudcast_from, cloudcast_to, from, to, cloudcast_ids, counted_live, cloudcast_ids.
SELECT cloudcast_id,
       toUInt64(countIf(secs >= ?)) AS plays,
       toUInt64(sum(secs)) AS listened_seconds,
       toUInt64(uniqExact(listener_id)) AS listeners
FROM
(
    SELECT cloudcast_id, listener_id, seconds AS secs
    FROM listener_day_totals
    WHERE cloudcast_id >= ? AND cloudcast_id <= ?
      AND day >= toDate(?) AND day <= toDate(?) AND is_bot = 0
      AND has(?, cloudcast_id)
      AND day GLOBAL IN (SELECT day FROM rollup_days GROUP BY day HAVING argMax(rolled, version) = 1)
    UNION ALL
    SELECT cloudcast_id, listener_id, seconds AS secs
    FROM ({counted_live})
    WHERE is_bot = 0 AND has(?, cloudcast_id)
)
GROUP BY cloudcast_id
ORDER BY plays DESC, listened_seconds DESC, cloudcast_id
