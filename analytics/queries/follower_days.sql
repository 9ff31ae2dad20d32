-- A DJ's follows and unfollows per UTC day from a date on (events copied
-- from PostgreSQL by id; a repeated copy counts once), every follower
-- counted: the analysts' view. The insights page counts in PostgreSQL,
-- where it is known whose activity may be shown (analytics/src/insights.rs).
-- Binds: user_id, from.
SELECT toString(d) AS day,
       toUInt64(countIf(delta > 0)) AS added,
       toUInt64(countIf(delta < 0)) AS removed
FROM
(
    SELECT event_id, toDate(any(ts)) AS d, any(delta) AS delta
    FROM follow_events
    WHERE followee_id = ?
    GROUP BY event_id
)
WHERE d >= toDate(?)
GROUP BY d
ORDER BY d
