-- "More like this": for each cloudcast, the cloudcasts its listeners also
-- heard (co-listening), computed from ClickHouse on the charts' schedule
-- (analytics/src/related.rs). Only pairs heard by at least
-- `analytics.min_audience` people are kept, so no row tells what one
-- person heard; whether a related cloudcast may be shown is decided when
-- it is read (catalog/src/related.rs), so a mix made private or taken
-- down after a round never shows.
CREATE TABLE related_cloudcasts (
    cloudcast_id uuid NOT NULL REFERENCES cloudcasts (id) ON DELETE CASCADE,
    related_id   uuid NOT NULL REFERENCES cloudcasts (id) ON DELETE CASCADE,
    -- People who heard both for at least 5 minutes each.
    listeners    integer NOT NULL CHECK (listeners > 0),
    -- Cosine similarity of the two audiences: listeners / sqrt(|A| |B|).
    score        double precision NOT NULL,
    computed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cloudcast_id, related_id),
    CHECK (cloudcast_id <> related_id)
);
CREATE INDEX related_cloudcasts_by_score ON related_cloudcasts (cloudcast_id, score DESC, related_id);
CREATE INDEX related_cloudcasts_related ON related_cloudcasts (related_id);
