-- A DJ's insights: the referring domains of a set of cloudcasts (the DJ's)
-- by listeners ('' is direct traffic; the site's own domain is its pages
-- and embeds elsewhere show the embedding site).
-- Binds: cloudcast_from, cloudcast_to, cloudcast_ids, from, to, limit.
SELECT referrer_domain AS domain,
       toUInt64(uniqExactMerge(listeners)) AS listeners,
       toUInt64(countMerge(beats)) AS listened_seconds
FROM referrer_days
WHERE cloudcast_id >= ? AND cloudcast_id <= ?
  AND has(?, cloudcast_id)
  AND day >= toDate(?) AND day <= toDate(?)
GROUP BY referrer_domain
ORDER BY listeners DESC, domain
LIMIT ?
