-- Top referrer domains by listeners ('' is direct traffic).
-- Binds: cloudcast_from, cloudcast_to, from, to, limit.
SELECT referrer_domain AS domain,
       toUInt64(uniqExactMerge(listeners)) AS listeners,
       toUInt64(countMerge(beats)) AS listened_seconds
FROM referrer_days
WHERE cloudcast_id >= ? AND cloudcast_id <= ?
  AND day >= toDate(?) AND day <= toDate(?)
GROUP BY referrer_domain
ORDER BY listeners DESC, domain
LIMIT ?
