-- The room read track by track: where each listening session of one
-- cloudcast was, beat by beat (bots left out), for the jumps sessions made:
-- skips past a track and going back to hear one again
-- (analytics/src/tracks.rs). Raw beats are kept `analytics.raw_months`
-- whole months, so a range older than that has no jumps to read.
-- Binds: cloudcast_from, cloudcast_to, from, to.
SELECT listener_id, session_id, seq, position_ms
FROM heartbeats
WHERE cloudcast_id >= ? AND cloudcast_id <= ?
  AND toDate(ts) >= toDate(?) AND toDate(ts) <= toDate(?)
  AND is_bot = 0
ORDER BY listener_id, session_id, seq
