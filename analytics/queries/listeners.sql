-- Distinct listeners over a date range (a listener on several days counts
-- once), for one cloudcast or all.
-- Binds: cloudcast_from, cloudcast_to, from, to.
SELECT toUInt64(uniqExact(listener_id)) AS listeners
FROM listener_days
WHERE cloudcast_id >= ? AND cloudcast_id <= ?
  AND day >= toDate(?) AND day <= toDate(?)
  AND is_bot = 0
