-- Favourites added and removed per UTC day (events copied from PostgreSQL,
-- a repeated copy counted once by event id).
-- Binds: from, to.
SELECT toString(d) AS day,
       toUInt64(countIf(delta > 0)) AS added,
       toUInt64(countIf(delta < 0)) AS removed
FROM
(
    SELECT event_id, toDate(any(ts)) AS d, any(delta) AS delta
    FROM favourite_events
    GROUP BY event_id
)
WHERE d >= toDate(?) AND d <= toDate(?)
GROUP BY d
ORDER BY d
