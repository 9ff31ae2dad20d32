-- Retention curve: distinct listeners who heard each 10 s of the mix.
-- Binds: cloudcast_from, cloudcast_to, from, to.
SELECT toUInt64(bucket * 10) AS position_s,
       toUInt64(uniqExactMerge(listeners)) AS listeners
FROM retention_days
WHERE cloudcast_id >= ? AND cloudcast_id <= ?
  AND day >= toDate(?) AND day <= toDate(?)
GROUP BY bucket
ORDER BY bucket
