-- Podcast apps: downloads the DJ allows, the DJ's feed, and the requests
-- downloads are counted from.

-- What a mix offers for download: nothing (streaming only, the default),
-- the best AAC rendition, or the uploaded original. Its DJ decides, mix by
-- mix (catalog/src/cloudcasts.rs); the feed carries only mixes with one.
ALTER TABLE cloudcasts
    ADD COLUMN downloads text NOT NULL DEFAULT 'off' CHECK (downloads IN ('off', 'aac', 'original'));
CREATE INDEX cloudcasts_downloadable ON cloudcasts (owner_id, listed_at DESC) WHERE downloads <> 'off';

-- A DJ's feed (`/{username}/podcast.rss`, catalog/src/podcast.rs). Its
-- podcast:guid is computed once from the feed's first URL and kept, so a
-- new public URL or username does not make it another podcast.
CREATE TABLE podcast_feeds (
    user_id       uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    guid          uuid NOT NULL,
    enabled       boolean NOT NULL DEFAULT true,
    -- An Apple Podcasts category, e.g. 'Music'.
    category      text NOT NULL DEFAULT 'Music',
    explicit      boolean NOT NULL DEFAULT false,
    -- Shown in the feed as itunes:owner only when the DJ sets it: the
    -- account's own address never is.
    contact_email text,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    -- The feed's body digest as last served and when it last changed: its
    -- Last-Modified moves only when the feed does, never back, and tells
    -- nothing of mixes outside it.
    etag          text,
    changed_at    timestamptz NOT NULL DEFAULT now()
);

-- Requests for a mix's download (stream/src/downloads.rs), the bytes each
-- delivered, until copied to ClickHouse where downloads are counted
-- (analytics/queries/downloads.sql). No address or user agent is kept:
-- only their keyed hash under the day's key, the app's name and the day.
CREATE TABLE download_requests (
    id            bigserial PRIMARY KEY,
    cloudcast_id  uuid NOT NULL REFERENCES cloudcasts (id) ON DELETE CASCADE,
    -- When the request began (the day its client hash was made for).
    at            timestamptz NOT NULL,
    client_hash   text NOT NULL,
    app           text NOT NULL,
    bytes         bigint NOT NULL CHECK (bytes >= 0),
    -- Bytes that hold the first minute of audio: the bar a download passes.
    minute_bytes  bigint NOT NULL CHECK (minute_bytes >= 0)
);
CREATE INDEX download_requests_at ON download_requests (at);

-- Adding the segment index to renditions published before it was written
-- (a queued backfill, transcode/src/worker.rs), one per mix.
ALTER TABLE transcode_jobs DROP CONSTRAINT transcode_jobs_kind_check;
ALTER TABLE transcode_jobs
    ADD CONSTRAINT transcode_jobs_kind_check CHECK (kind IN ('transcode', 'loudness', 'seek_index'));
CREATE UNIQUE INDEX transcode_jobs_one_seek_index ON transcode_jobs (cloudcast_id) WHERE kind = 'seek_index';
