-- Who heard what for long enough to say they listened: one row per
-- listener and cloudcast whose counted seconds over the date range reach
-- the co-listening threshold (5 minutes), bots left out, counted under the
-- listening rule. "More like this" (analytics/src/related.rs) pairs the
-- cloudcasts each listener heard, after leaving out the accounts whose
-- activity may not be used (minors, private activity, erased). Listeners
-- known only by the day's hash of their address (`h:`, a new id each day)
-- are left out: one client over 50 days would count as 50 people.
-- A day whose latest mark says rolled holds one row per listener
-- (analytics/src/rollup.rs), so its rows are read as they are.
-- GLOBAL: in a cluster the small list of rolled-up days is read once and
-- sent to every shard (a plain IN over a Distributed table is refused there).
-- Binds: from, to, counted_live, listen_min_seconds.
SELECT listener_id,
       any(user_id) AS user_id,
       cloudcast_id,
       toUInt64(sum(secs)) AS seconds
FROM
(
    SELECT cloudcast_id, listener_id, user_id, seconds AS secs
    FROM listener_day_totals
    WHERE day >= toDate(?) AND day <= toDate(?) AND is_bot = 0
      AND listener_id NOT LIKE 'h:%'
      AND day GLOBAL IN (SELECT day FROM rollup_days GROUP BY day HAVING argMax(rolled, version) = 1)
    UNION ALL
    SELECT cloudcast_id, listener_id, user_id, seconds AS secs
    FROM ({counted_live})
    WHERE is_bot = 0 AND listener_id NOT LIKE 'h:%'
)
GROUP BY listener_id, cloudcast_id
HAVING seconds >= ?
ORDER BY listener_id, cloudcast_id
