-- One user's listen sessions, newest first: what, when, how long, and the
-- position it stopped at (the position of the session's last beat); of
-- one cloudcast, or of all ("" as the id).
-- Binds: user_id, cloudcast_from, cloudcast_to, limit.
SELECT cloudcast_id,
       session_id,
       toUInt32(minMerge(started)) AS started,
       toUInt32(maxMerge(ended)) AS ended,
       toUInt64(uniqExactMerge(seconds)) AS seconds,
       maxMerge(furthest_ms) AS furthest_ms,
       argMaxMerge(last_ms) AS last_ms
FROM listen_sessions
WHERE user_id = ? AND cloudcast_id >= ? AND cloudcast_id <= ?
GROUP BY cloudcast_id, session_id
ORDER BY started DESC, cloudcast_id, session_id
LIMIT ?
