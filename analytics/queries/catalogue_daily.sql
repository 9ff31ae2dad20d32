-- A DJ's insights: listeners, seconds and plays per UTC day over a set of
-- cloudcasts (the DJ's), counted as daily.sql counts one cloudcast. A
-- listener of two of the set on one day is one listener that day.
-- A day is rolled up or not, never both, so each part counts its own days.
-- GLOBAL: in a cluster the small list of rolled-up days is read once and
-- sent to every shard (a plain IN over a Distributed table is refused there).
-- Binds: play_min_seconds, cloudcast_from, cloudcast_to, from, to, cloudcast_ids, play_min_seconds, counted_live, cloudcast_ids.
SELECT d AS day, listeners, listened_seconds, plays
FROM
(
    SELECT toString(day) AS d,
           toUInt64(uniqExact(listener_id)) AS listeners,
           toUInt64(sum(seconds)) AS listened_seconds,
           toUInt64(countIf(seconds >= ?)) AS plays
    FROM listener_day_totals
    WHERE cloudcast_id >= ? AND cloudcast_id <= ?
      AND day >= toDate(?) AND day <= toDate(?) AND is_bot = 0
      AND has(?, cloudcast_id)
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
        WHERE is_bot = 0 AND has(?, cloudcast_id)
    )
    GROUP BY day
)
ORDER BY d
