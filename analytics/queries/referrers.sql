-- Top referrer domains by listeners ('' is direct traffic).
-- Binds: cloudcast_id, cloudcast_id, from, to, limit.
SELECT referrer_domain AS domain,
       toUInt64(uniqExactMerge(listeners)) AS listeners,
       toUInt64(countMerge(beats)) AS listened_seconds
FROM referrer_days
WHERE (? = '' OR cloudcast_id = ?)
  AND day >= toDate(?) AND day <= toDate(?)
GROUP BY referrer_domain
ORDER BY listeners DESC, domain
LIMIT ?
