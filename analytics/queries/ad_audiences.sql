-- Audience per tag over a date range: consenting signed-in users and their
-- seconds. Tags whose audience is below the floor are never returned.
-- Binds: from, to, min_audience.
SELECT tag,
       toUInt64(uniqExact(user_id)) AS audience,
       toUInt64(sum(seconds)) AS listened_seconds
FROM ad_interest
WHERE day >= toDate(?) AND day <= toDate(?)
GROUP BY tag
HAVING audience >= ?
ORDER BY audience DESC, tag
