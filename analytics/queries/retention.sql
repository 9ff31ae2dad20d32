-- Retention curve: distinct listeners who heard each 10 s of the mix.
-- Binds: cloudcast_id, cloudcast_id, from, to.
SELECT toUInt64(bucket * 10) AS position_s,
       toUInt64(uniqExactMerge(listeners)) AS listeners
FROM retention_days
WHERE (? = '' OR cloudcast_id = ?)
  AND day >= toDate(?) AND day <= toDate(?)
GROUP BY bucket
ORDER BY bucket
