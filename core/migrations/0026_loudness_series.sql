-- The short-term loudness of each mix (EBU R128, the last 3 s, read once a
-- second), measured from the same decoded PCM as the renditions, so the
-- statistics can lay it over any tracklist without a new transcode.
-- Written by the transcode worker (transcode/src/publish.rs), read by the
-- statistics (analytics/src/tracks.rs).
CREATE TABLE cloudcast_loudness (
    cloudcast_id uuid PRIMARY KEY REFERENCES cloudcasts (id) ON DELETE CASCADE,
    -- LUFS at the end of each second; NULL for silence.
    short_term   real[] NOT NULL,
    measured_at  timestamptz NOT NULL DEFAULT now()
);

-- What a job does: a transcode, or only measuring the loudness series of
-- a mix transcoded before the series existed (a queued backfill).
ALTER TABLE transcode_jobs
    ADD COLUMN kind text NOT NULL DEFAULT 'transcode' CHECK (kind IN ('transcode', 'loudness'));
-- One measurement per mix, ever: two nodes queueing the backfill at once
-- cannot queue it twice.
CREATE UNIQUE INDEX transcode_jobs_one_loudness ON transcode_jobs (cloudcast_id) WHERE kind = 'loudness';
