-- Comments people can talk in: a reply names the comment it answers (one
-- level deep: a reply answers a top-level comment), and a comment may sit
-- at a moment of the mix, shown on its waveform.
ALTER TABLE comments ADD COLUMN parent_id uuid REFERENCES comments (id) ON DELETE CASCADE;
ALTER TABLE comments ADD COLUMN position_ms bigint CHECK (position_ms >= 0);
CREATE INDEX comments_parent ON comments (parent_id) WHERE parent_id IS NOT NULL;
