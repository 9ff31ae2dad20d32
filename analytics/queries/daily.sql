-- Listeners, seconds listened and plays per UTC day, for one cloudcast, or
-- for all of them when the cloudcast id is ''. A play is a listener with at
-- least the given number of seconds on a cloudcast in one UTC day; bots are
-- left out.
-- Binds: play_min_seconds, cloudcast_id, cloudcast_id, from, to (dates).
SELECT toString(day) AS day,
       toUInt64(uniqExact(listener_id)) AS listeners,
       toUInt64(sum(secs)) AS listened_seconds,
       toUInt64(countIf(secs >= ?)) AS plays
FROM
(
    SELECT cloudcast_id, day, listener_id, uniqExactMerge(seconds) AS secs
    FROM listener_days
    WHERE (? = '' OR cloudcast_id = ?)
      AND day >= toDate(?) AND day <= toDate(?)
      AND is_bot = 0
    GROUP BY cloudcast_id, day, listener_id
)
GROUP BY day
ORDER BY day
