-- Downloads of one cloudcast by day and app, counted as the IAB Podcast
-- Measurement Technical Guidelines (v2.1) say: one download per client
-- (address, IPv6 cut to its /64, and user agent: `client_hash`, keyed by
-- the UTC day) per episode per UTC day, once the bytes delivered to it
-- that day (ranges summed) reach the first minute of audio
-- (`minute_bytes`). Bots and non-listening agents on the OPAWG list were
-- never recorded. A client's app is the one it first asked as.
-- Binds: cloudcast_from, cloudcast_to, from, to.
SELECT toString(d) AS day, app, toUInt64(count()) AS downloads
FROM
(
    SELECT d, client, cc,
           argMin(agent, request_id) AS app,
           sum(b) AS delivered,
           max(mb) AS needed
    FROM
    (
        -- One row per request, however often it was copied (names apart
        -- from the columns', which WHERE reads).
        SELECT request_id, toDate(any(ts)) AS d,
               any(cloudcast_id) AS cc, any(client_hash) AS client,
               any(app) AS agent, any(bytes) AS b, any(minute_bytes) AS mb
        FROM download_requests
        WHERE cloudcast_id >= ? AND cloudcast_id <= ?
          AND ts >= toDateTime(toDate(?)) AND ts < toDateTime(toDate(?) + 1)
        GROUP BY request_id
    )
    GROUP BY d, client, cc
    HAVING delivered >= needed
)
GROUP BY d, app
ORDER BY d, app
