-- A DJ's returning listeners, by monthly cohort: listeners grouped by the
-- month they first heard one of the set (the DJ's cloudcasts) within the
-- range, and how many of them listened again 0, 1, 2.. months later (0 is
-- the cohort itself). Over the whole range the cohorts hold every listener
-- once, so their sizes add up to the distinct listeners of the range.
-- GLOBAL: in a cluster the small list of rolled-up days is read once and
-- sent to every shard (a plain IN over a Distributed table is refused there).
-- Binds: cloudcast_from, cloudcast_to, from, to, cloudcast_ids, counted_live, cloudcast_ids.
SELECT toString(first_month) AS cohort,
       toUInt32((toYear(month) * 12 + toMonth(month)) - (toYear(first_month) * 12 + toMonth(first_month))) AS months_later,
       toUInt64(count()) AS listeners
FROM
(
    SELECT listener_id, min(m) AS first_month, groupUniqArray(m) AS months
    FROM
    (
        SELECT listener_id, toStartOfMonth(day) AS m
        FROM listener_day_totals
        WHERE cloudcast_id >= ? AND cloudcast_id <= ?
          AND day >= toDate(?) AND day <= toDate(?) AND is_bot = 0
          AND has(?, cloudcast_id)
          AND day GLOBAL IN (SELECT day FROM rollup_days GROUP BY day HAVING argMax(rolled, version) = 1)
        UNION ALL
        SELECT listener_id, toStartOfMonth(day) AS m
        FROM ({counted_live})
        WHERE is_bot = 0 AND has(?, cloudcast_id)
    )
    GROUP BY listener_id
)
ARRAY JOIN months AS month
GROUP BY cohort, months_later
ORDER BY cohort, months_later
