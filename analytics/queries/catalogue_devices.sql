-- A DJ's insights: devices and browsers of the listeners of a set of
-- cloudcasts (the DJ's), by listeners; bots are never in `browser_days`.
-- Binds: cloudcast_from, cloudcast_to, cloudcast_ids, from, to, limit.
SELECT device, browser,
       toUInt64(uniqExactMerge(listeners)) AS listeners,
       toUInt64(countMerge(beats)) AS listened_seconds
FROM browser_days
WHERE cloudcast_id >= ? AND cloudcast_id <= ?
  AND has(?, cloudcast_id)
  AND day >= toDate(?) AND day <= toDate(?)
GROUP BY device, browser
ORDER BY listeners DESC, device, browser
LIMIT ?
