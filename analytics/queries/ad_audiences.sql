-- Audience per tag over a date range: consenting signed-in users and their
-- seconds. Tags whose audience is below the floor are never returned.
-- Only counted listening counts (the listening rule): a user is in a tag's
-- audience on a day only with counted seconds that day, and their seconds
-- for a tag are at most their counted seconds of the day, whatever beats
-- they sent. ALL: the right side has one row per user and day, and a
-- current engine's ANY INNER JOIN would keep one row per right key.
-- Binds: from, to, from, to, counted_live, min_audience.
SELECT tag,
       toUInt64(uniqExact(user_id)) AS audience,
       toUInt64(sum(least(seconds, counted))) AS listened_seconds
FROM
(
    SELECT tag, day, user_id, sum(seconds) AS seconds
    FROM ad_interest
    WHERE day >= toDate(?) AND day <= toDate(?)
    GROUP BY tag, day, user_id
) AS interest
ALL INNER JOIN
(
    SELECT user_id, day, sum(seconds) AS counted
    FROM
    (
        SELECT user_id, day, seconds
        FROM listener_day_totals
        WHERE day >= toDate(?) AND day <= toDate(?)
          AND user_id != '' AND is_bot = 0
          AND day GLOBAL IN (SELECT day FROM rollup_days GROUP BY day HAVING argMax(rolled, version) = 1)
        UNION ALL
        SELECT user_id, day, seconds
        FROM ({counted_live})
        WHERE user_id != '' AND is_bot = 0
    )
    GROUP BY user_id, day
) AS daily USING (user_id, day)
GROUP BY tag
HAVING audience >= ?
ORDER BY audience DESC, tag
