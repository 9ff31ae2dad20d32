-- Playlists: a person's ordered choice of mixes, public, unlisted (by its
-- secret URL) or private. A mix that leaves what its viewer may list is
-- left out when the playlist is read, not deleted from it, so a playlist
-- never breaks; a mix deleted or erased leaves it with its row.
CREATE TABLE playlists (
    id          uuid PRIMARY KEY,
    owner_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title       text NOT NULL,
    description text NOT NULL DEFAULT '',
    visibility  text NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'unlisted', 'private')),
    secret      text NOT NULL DEFAULT replace(gen_random_uuid()::text, '-', ''),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX playlists_by_owner ON playlists (owner_id, created_at DESC);
-- Search finds public playlists by title (weighted) and description.
CREATE INDEX playlists_search ON playlists USING gin (
    (setweight(to_tsvector('simple', title), 'A') || setweight(to_tsvector('simple', description), 'D')))
    WHERE visibility = 'public';

CREATE TABLE playlist_items (
    playlist_id  uuid NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    cloudcast_id uuid NOT NULL REFERENCES cloudcasts (id) ON DELETE CASCADE,
    -- 0, 1, 2...: rewritten whole when the order changes (a playlist is short).
    position     integer NOT NULL,
    added_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (playlist_id, cloudcast_id)
);
CREATE INDEX playlist_items_order ON playlist_items (playlist_id, position);
CREATE INDEX playlist_items_cloudcast ON playlist_items (cloudcast_id);
