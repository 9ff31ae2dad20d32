-- Distinct listeners over a date range (a listener on several days counts
-- once), for one cloudcast or all ('').
-- Binds: cloudcast_id, cloudcast_id, from, to.
SELECT toUInt64(uniqExact(listener_id)) AS listeners
FROM listener_days
WHERE (? = '' OR cloudcast_id = ?)
  AND day >= toDate(?) AND day <= toDate(?)
  AND is_bot = 0
