-- The catalogue: visibility (public, unlisted, private) and scheduled
-- publishing, readable URLs, tags and charts kept ready for lists, search,
-- follows, reposts and listen-later.

-- pg_trgm is one of PostgreSQL's own (trusted) extensions: a database owner
-- may create it. It gives search its typo tolerance.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

ALTER TABLE cloudcasts
    ADD COLUMN visibility text NOT NULL DEFAULT 'public'
        CHECK (visibility IN ('public', 'unlisted', 'private')),
    -- The unguessable part of an unlisted cloudcast's URL (122 random bits).
    ADD COLUMN secret text NOT NULL DEFAULT replace(gen_random_uuid()::text, '-', ''),
    -- Not listed, searched or playable by others before this time.
    ADD COLUMN publish_at timestamptz,
    ADD COLUMN disable_comments boolean NOT NULL DEFAULT false,
    -- Counts shown to the owner and administrators only.
    ADD COLUMN hide_stats boolean NOT NULL DEFAULT false,
    -- The current slug (unique per owner, `cloudcast_slugs`); set by the
    -- application from the title, also for rows older than this migration.
    ADD COLUMN slug text,
    -- When it appears in lists: its scheduled time, else its upload.
    ADD COLUMN listed_at timestamptz GENERATED ALWAYS AS (COALESCE(publish_at, created_at)) STORED,
    -- The cover picture's current version (`keys::picture`); NULL: the default.
    ADD COLUMN picture_version uuid,
    -- Title, owner, tags, tracklist and description for full-text search,
    -- kept by the trigger below.
    ADD COLUMN search_doc tsvector NOT NULL DEFAULT ''::tsvector;
UPDATE cloudcasts SET visibility = CASE WHEN private THEN 'private' ELSE 'public' END;
-- Chosen when the upload starts (tus `Upload-Metadata` key `visibility`).
ALTER TABLE uploads ADD COLUMN visibility text NOT NULL DEFAULT 'public'
    CHECK (visibility IN ('public', 'unlisted', 'private'));
ALTER TABLE cloudcasts DROP COLUMN private;

-- A card's progress, and the events removed with a cloudcast.
CREATE INDEX transcode_jobs_by_cloudcast ON transcode_jobs (cloudcast_id, created_at DESC);
CREATE INDEX favourite_events_by_cloudcast ON favourite_events (cloudcast_id);
-- A user's favourites, newest first.
CREATE INDEX favourites_by_user ON favourites (user_id, created_at DESC, cloudcast_id DESC);

-- Lists: a user's cloudcasts and the catalogue's newest, both newest first.
CREATE INDEX cloudcasts_owner_listed ON cloudcasts (owner_id, listed_at DESC, id DESC);
CREATE INDEX cloudcasts_new ON cloudcasts (listed_at DESC, id DESC)
    WHERE visibility = 'public' AND status = 'ready';
CREATE INDEX cloudcasts_search ON cloudcasts USING gin (search_doc);
CREATE INDEX cloudcasts_title_trgm ON cloudcasts USING gin (lower(title) gin_trgm_ops);
CREATE INDEX users_username_trgm ON users USING gin (lower(username) gin_trgm_ops);


-- Every slug a cloudcast has had: the current one resolves, older ones
-- redirect to it.
CREATE TABLE cloudcast_slugs (
    owner_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    slug         text NOT NULL,
    cloudcast_id uuid NOT NULL REFERENCES cloudcasts (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner_id, slug)
);
CREATE INDEX cloudcast_slugs_by_cloudcast ON cloudcast_slugs (cloudcast_id);

CREATE FUNCTION cloudcast_search_doc(title text, owner text, tags text[],
                                     tracklist jsonb, description text)
RETURNS tsvector LANGUAGE sql IMMUTABLE AS $$
    SELECT setweight(to_tsvector('simple', title), 'A')
        || setweight(to_tsvector('simple', coalesce(owner, '')), 'A')
        || setweight(to_tsvector('simple', array_to_string(tags, ' ')), 'B')
        || setweight(to_tsvector('simple', coalesce(
               (SELECT string_agg(concat_ws(' ', t ->> 'artist', t ->> 'title'), ' ')
                  FROM jsonb_array_elements(tracklist) t), '')), 'C')
        || setweight(to_tsvector('simple', description), 'D')
$$;

CREATE FUNCTION cloudcasts_search_doc() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_doc := cloudcast_search_doc(
        NEW.title, (SELECT username FROM users WHERE id = NEW.owner_id),
        NEW.tags, NEW.tracklist, NEW.description);
    RETURN NEW;
END $$;
CREATE TRIGGER cloudcasts_search_doc BEFORE INSERT OR UPDATE OF title, tags, tracklist, description
    ON cloudcasts FOR EACH ROW EXECUTE FUNCTION cloudcasts_search_doc();

-- A renamed account's cloudcasts are found under the new name.
CREATE FUNCTION users_rename_search_doc() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cloudcasts SET title = title WHERE owner_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER users_rename_search_doc AFTER UPDATE OF username ON users
    FOR EACH ROW WHEN (OLD.username IS DISTINCT FROM NEW.username)
    EXECUTE FUNCTION users_rename_search_doc();

UPDATE cloudcasts SET title = title;

-- One row per (tag, cloudcast), kept by the trigger below, so a tag page is
-- an index range; the chart columns are copied in by the charts job.
CREATE TABLE cloudcast_tags (
    tag          text NOT NULL,
    cloudcast_id uuid NOT NULL REFERENCES cloudcasts (id) ON DELETE CASCADE,
    listed_at    timestamptz NOT NULL,
    plays_30d    bigint NOT NULL DEFAULT 0,
    trending     double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (tag, cloudcast_id)
);
CREATE INDEX cloudcast_tags_new ON cloudcast_tags (tag, listed_at DESC, cloudcast_id DESC);
CREATE INDEX cloudcast_tags_popular ON cloudcast_tags (tag, plays_30d DESC, cloudcast_id DESC);
CREATE INDEX cloudcast_tags_trending ON cloudcast_tags (tag, trending DESC, cloudcast_id DESC);
CREATE INDEX cloudcast_tags_by_cloudcast ON cloudcast_tags (cloudcast_id);

CREATE FUNCTION cloudcasts_tags() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM cloudcast_tags WHERE cloudcast_id = NEW.id AND tag <> ALL (NEW.tags);
    UPDATE cloudcast_tags SET listed_at = NEW.listed_at
     WHERE cloudcast_id = NEW.id AND listed_at <> NEW.listed_at;
    INSERT INTO cloudcast_tags (tag, cloudcast_id, listed_at)
    SELECT DISTINCT t, NEW.id, NEW.listed_at FROM unnest(NEW.tags) t
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER cloudcasts_tags AFTER INSERT OR UPDATE OF tags, publish_at ON cloudcasts
    FOR EACH ROW EXECUTE FUNCTION cloudcasts_tags();
INSERT INTO cloudcast_tags (tag, cloudcast_id, listed_at)
SELECT DISTINCT t, c.id, c.listed_at FROM cloudcasts c, unnest(c.tags) t;

-- How many listed cloudcasts carry each tag, recounted on a schedule; a
-- tag is shown only while one listed cloudcast still carries it.
CREATE TABLE tag_counts (
    tag        text PRIMARY KEY,
    cloudcasts bigint NOT NULL,
    counted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tag_counts_popular ON tag_counts (cloudcasts DESC, tag);
CREATE INDEX tag_counts_trgm ON tag_counts USING gin (tag gin_trgm_ops);

-- Plays computed from ClickHouse by the analytics node on a schedule, so no
-- request waits on a ClickHouse scan. `trending` is the published formula
-- (README): ln(1 + plays_7d) * (plays_7d + 1) / (plays_prev_7d + 1).
CREATE TABLE cloudcast_charts (
    cloudcast_id  uuid PRIMARY KEY REFERENCES cloudcasts (id) ON DELETE CASCADE,
    plays_30d     bigint NOT NULL,
    plays_7d      bigint NOT NULL,
    plays_prev_7d bigint NOT NULL,
    trending      double precision NOT NULL,
    computed_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cloudcast_charts_popular ON cloudcast_charts (plays_30d DESC, cloudcast_id DESC);
CREATE INDEX cloudcast_charts_trending ON cloudcast_charts (trending DESC, cloudcast_id DESC);

CREATE TABLE follows (
    follower_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followee_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (follower_id, followee_id),
    CHECK (follower_id <> followee_id)
);
CREATE INDEX follows_followers ON follows (followee_id, created_at DESC, follower_id DESC);
CREATE INDEX follows_following ON follows (follower_id, created_at DESC, followee_id DESC);

-- Reposts: public sharing activity. Like favourites, every change is also
-- an event the analytics node copies to ClickHouse.
CREATE TABLE reposts (
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    cloudcast_id uuid NOT NULL REFERENCES cloudcasts (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, cloudcast_id)
);
CREATE INDEX reposts_by_cloudcast ON reposts (cloudcast_id);
CREATE INDEX reposts_by_user ON reposts (user_id, created_at DESC, cloudcast_id DESC);

CREATE TABLE repost_events (
    id           bigserial PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    cloudcast_id uuid NOT NULL,
    delta        smallint NOT NULL CHECK (delta IN (-1, 1)),
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX repost_events_by_cloudcast ON repost_events (cloudcast_id);

-- Listen later: private to its user.
CREATE TABLE listen_later (
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    cloudcast_id uuid NOT NULL REFERENCES cloudcasts (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, cloudcast_id)
);
CREATE INDEX listen_later_by_user ON listen_later (user_id, created_at DESC, cloudcast_id DESC);

-- A deleted cloudcast's ClickHouse rows are removed through the same queue
-- as an erased account's.
ALTER TABLE analytics_purges
    DROP CONSTRAINT analytics_purges_scope_check,
    ADD CONSTRAINT analytics_purges_scope_check CHECK (scope IN ('ad_interest', 'account', 'cloudcast'));

-- Legally compelled disclosures (`cloudcast admin disclose`): who built a
-- user's archive for whom, when, why, under which reference, and the
-- archive's hash. Kept after the user's erasure (the id then names no one).
CREATE TABLE disclosures (
    id             uuid PRIMARY KEY,
    user_id        uuid NOT NULL,
    operator       text NOT NULL,
    reason         text NOT NULL,
    reference      text NOT NULL,
    archive_sha256 text NOT NULL,
    archive_bytes  bigint NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
