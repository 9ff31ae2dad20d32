-- Data export (seed §9), erasure (§12, §16) and the open API's keys (§4, §10).

-- An erased account leaves only this: its random id, for 30 days, so that
-- heartbeats already on their way (a stream node's log, a session still in a
-- node's cache) are dropped instead of bringing the user back. The analytics
-- node deletes the rows once they are 30 days old.
CREATE TABLE erased_accounts (
    user_id   uuid PRIMARY KEY,
    reason    text NOT NULL CHECK (reason IN ('user', 'under_13', 'operator')),
    erased_at timestamptz NOT NULL DEFAULT now()
);

-- The analytics node removes an erased account's rows from every ClickHouse
-- table (those carrying its user id and those of its cloudcasts) and its S3
-- objects under `s3_prefixes`: a removal that fails stays queued.
ALTER TABLE analytics_purges
    DROP CONSTRAINT analytics_purges_scope_check,
    ADD CONSTRAINT analytics_purges_scope_check CHECK (scope IN ('ad_interest', 'account')),
    ADD COLUMN cloudcast_ids uuid[] NOT NULL DEFAULT '{}',
    ADD COLUMN s3_prefixes text[] NOT NULL DEFAULT '{}';

-- Archives of everything held about a user, built in the background when
-- large; the archive lives in S3 under exports/<user>/ until `expires_at`.
CREATE TABLE data_exports (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status     text NOT NULL DEFAULT 'building' CHECK (status IN ('building', 'ready', 'failed')),
    s3_key     text,
    size_bytes bigint,
    error      text,
    created_at timestamptz NOT NULL DEFAULT now(),
    ready_at   timestamptz,
    expires_at timestamptz NOT NULL DEFAULT now() + interval '7 days'
);
CREATE INDEX data_exports_by_user ON data_exports (user_id, created_at);

-- Keys for the public read API. Only a hash of the key is stored; `prefix`
-- (its first characters) lets the owner tell keys apart.
CREATE TABLE api_keys (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL,
    prefix       text NOT NULL,
    key_hash     bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz
);
CREATE INDEX api_keys_by_user ON api_keys (user_id);
