-- Favourites: PostgreSQL holds the truth (who favourited what), and an
-- append-only event log that the analytics node copies to ClickHouse in
-- id order (its `id` is the copy's high-water mark).
CREATE TABLE favourites (
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    cloudcast_id uuid NOT NULL REFERENCES cloudcasts (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, cloudcast_id)
);
CREATE INDEX favourites_by_cloudcast ON favourites (cloudcast_id);

CREATE TABLE favourite_events (
    id           bigserial PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    cloudcast_id uuid NOT NULL,
    delta        smallint NOT NULL CHECK (delta IN (-1, 1)),
    at           timestamptz NOT NULL DEFAULT now()
);

-- Purchase links (cloudcasts.purchase_links, by position): only how many
-- times each was used and how many purchases partners confirmed. Who clicked
-- is never recorded.
CREATE TABLE purchase_link_counts (
    cloudcast_id uuid NOT NULL REFERENCES cloudcasts (id) ON DELETE CASCADE,
    link_index   integer NOT NULL CHECK (link_index >= 0),
    clicks       bigint NOT NULL DEFAULT 0,
    purchases    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (cloudcast_id, link_index)
);
