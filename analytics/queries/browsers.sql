-- Top browsers (family) by listeners.
-- Binds: cloudcast_from, cloudcast_to, from, to, limit.
SELECT browser,
       toUInt64(uniqExactMerge(listeners)) AS listeners,
       toUInt64(countMerge(beats)) AS listened_seconds
FROM browser_days
WHERE cloudcast_id >= ? AND cloudcast_id <= ?
  AND day >= toDate(?) AND day <= toDate(?)
GROUP BY browser
ORDER BY listeners DESC, browser
LIMIT ?
