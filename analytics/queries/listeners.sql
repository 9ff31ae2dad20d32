-- Distinct listeners over a date range (a listener on several days counts
-- once), for one cloudcast or all, counted under the listening rule. A
-- client without an account or a cookie is a new listener each UTC day
-- (its hash's key changes daily).
-- Binds: cloudcast_from, cloudcast_to, from, to, counted_live.
SELECT toUInt64(uniqExact(listener_id)) AS listeners
FROM
(
    SELECT listener_id
    FROM listener_day_totals
    WHERE cloudcast_id >= ? AND cloudcast_id <= ?
      AND day >= toDate(?) AND day <= toDate(?)
      AND is_bot = 0
      AND day GLOBAL IN (SELECT day FROM rollup_days GROUP BY day HAVING argMax(rolled, version) = 1)
    UNION ALL
    SELECT listener_id
    FROM ({counted_live})
    WHERE is_bot = 0
)
