-- The listening rule on the days not rolled up yet; the rollup writes the
-- same rule's answer for a finished day into `listener_day_totals`
-- (rollup.rs), so every query reads counted listeners either way. The rule,
-- from the server's receive time (`ts`), whatever the beats claim:
--   * a session counts at most the time between its first and last beat
--     plus `analytics.session_slack_secs` (10 s: a player sends a few
--     seconds at once), and at most its distinct beats; 31 beats sent in
--     0.2 s count 10 s;
--   * a listener's seconds on a cloudcast in a day are its sessions' sum;
--   * anonymous listeners (no account) of one cloudcast on one day from one
--     address (the daily keyed hash of the address of their first beat)
--     count up to `analytics.listeners_per_address`, those with the most
--     seconds first; signed-in listeners are not capped.
-- Who a listener is (user, signed cookie, or the daily hash of address and
-- user agent) is decided at intake (core/src/listener.rs).
-- One row per counted listener, cloudcast and UTC day; bots are kept under
-- `is_bot` (capped among themselves) for the queries to leave out.
-- Queries include this text where they read `{counted_live}`.
-- Binds: session_slack_secs, cloudcast_from, cloudcast_to, from, to, listeners_per_address.
SELECT cloudcast_id, day, listener_id, user_id, is_bot, seconds, furthest_ms
FROM
(
    SELECT cloudcast_id, day, listener_id, user_id, is_bot,
           sum(least(seqs, span + ?)) AS seconds,
           max(furthest) AS furthest_ms,
           argMin(address, first) AS first_address
    FROM
    (
        SELECT cloudcast_id, day, listener_id, session_id, user_id, is_bot,
               uniqExactMerge(seqs) AS seqs,
               toUInt64(toUInt32(maxMerge(last_ts)) - toUInt32(minMerge(first_ts))) AS span,
               minMerge(first_ts) AS first,
               argMinMerge(address) AS address,
               maxMerge(furthest_ms) AS furthest
        FROM session_days
        -- PREWHERE: rolled-up days are skipped before their states are decoded.
        PREWHERE day GLOBAL NOT IN (SELECT day FROM rollup_days GROUP BY day HAVING argMax(rolled, version) = 1)
        WHERE cloudcast_id >= ? AND cloudcast_id <= ?
          AND day >= toDate(?) AND day <= toDate(?)
        GROUP BY cloudcast_id, day, listener_id, session_id, user_id, is_bot
    )
    GROUP BY cloudcast_id, day, listener_id, user_id, is_bot
    ORDER BY seconds DESC, listener_id
    LIMIT ? BY cloudcast_id, day, is_bot, if(user_id = '', first_address, listener_id)
)
