-- A DJ's insights: the accounts that listened to a set of cloudcasts (the
-- DJ's) over a date range, for where listeners are: PostgreSQL then counts
-- only the countries people chose to show on their public profile, and
-- only from `analytics.min_audience` people up. No address is geolocated.
-- GLOBAL: in a cluster the small list of rolled-up days is read once and
-- sent to every shard (a plain IN over a Distributed table is refused there).
-- Binds: cloudcast_from, cloudcast_to, from, to, cloudcast_ids, counted_live, cloudcast_ids.
SELECT user_id
FROM
(
    SELECT user_id
    FROM listener_day_totals
    WHERE cloudcast_id >= ? AND cloudcast_id <= ?
      AND day >= toDate(?) AND day <= toDate(?) AND is_bot = 0 AND user_id != ''
      AND has(?, cloudcast_id)
      AND day GLOBAL IN (SELECT day FROM rollup_days GROUP BY day HAVING argMax(rolled, version) = 1)
    UNION ALL
    SELECT user_id
    FROM ({counted_live})
    WHERE is_bot = 0 AND user_id != '' AND has(?, cloudcast_id)
)
GROUP BY user_id
ORDER BY user_id
