-- Private cloudcasts, the consent flags heartbeats record, and secrets that
-- every node of one installation shares.

-- A private cloudcast is listed, described and streamed to its owner only.
ALTER TABLE cloudcasts ADD COLUMN private boolean NOT NULL DEFAULT false;

-- Consents in force (seed §4, §10): personalised ads are on unless the user
-- opts out; contact by third parties is off unless the user opts in.
ALTER TABLE users
    ADD COLUMN ads_consent boolean NOT NULL DEFAULT true,
    ADD COLUMN third_party_consent boolean NOT NULL DEFAULT false;

-- Generated keys (e.g. the stream URL key when none is configured): created
-- once by whichever node needs them first.
CREATE TABLE server_secrets (
    name       text PRIMARY KEY,
    value      bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The key of each UTC day's IP hashes. Keys of past days are deleted, after
-- which nobody can link a stored hash back to an address.
CREATE TABLE ip_hash_keys (
    day date PRIMARY KEY,
    key bytea NOT NULL
);
