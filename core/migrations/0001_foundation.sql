-- Accounts, tokens, resumable uploads, the catalogue and the transcode queue.

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL,
    username      text NOT NULL,
    password_hash text NOT NULL,
    birth_date    date NOT NULL,
    -- 13-17 at registration: the UI shows the policy's advice to ask a parent.
    is_minor      boolean NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
-- Unique case-insensitively: "DJ" and "dj" are the same person to a listener.
CREATE UNIQUE INDEX users_email_ci ON users (lower(email));
CREATE UNIQUE INDEX users_username_ci ON users (lower(username));

CREATE TABLE auth_tokens (
    token_hash bytea PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX auth_tokens_user ON auth_tokens (user_id);

CREATE TABLE uploads (
    id            uuid PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    cloudcast_id  uuid NOT NULL UNIQUE,
    filename      text NOT NULL,
    title         text NOT NULL,
    length        bigint NOT NULL CHECK (length >= 0),
    -- Durable offset: bytes in committed parts plus the committed tail object.
    offset_bytes  bigint NOT NULL DEFAULT 0,
    part_size     bigint NOT NULL,
    s3_key        text NOT NULL,
    s3_upload_id  text NOT NULL,
    -- Bytes past the last full part live in their own object until the part fills.
    tail_key      text,
    tail_len      bigint NOT NULL DEFAULT 0,
    state         text NOT NULL DEFAULT 'receiving'
                  CHECK (state IN ('receiving', 'complete', 'terminated')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE upload_parts (
    upload_id   uuid NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
    part_number integer NOT NULL,
    etag        text NOT NULL,
    size        bigint NOT NULL,
    PRIMARY KEY (upload_id, part_number)
);

CREATE TABLE cloudcasts (
    id            uuid PRIMARY KEY,
    owner_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title         text NOT NULL,
    status        text NOT NULL CHECK (status IN ('processing', 'ready', 'failed')),
    error         text,
    original_key  text NOT NULL,
    duration_ms   bigint,
    -- The published media version; renditions of other versions are invisible.
    media_version uuid,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cloudcasts_owner ON cloudcasts (owner_id);

CREATE TABLE renditions (
    cloudcast_id uuid NOT NULL REFERENCES cloudcasts (id) ON DELETE CASCADE,
    version      uuid NOT NULL,
    name         text NOT NULL,
    bitrate_kbps integer NOT NULL,
    s3_key       text NOT NULL,
    size_bytes   bigint NOT NULL,
    -- The fragment index (init length, timescale, one entry per moof+mdat).
    fragment_index jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cloudcast_id, version, name)
);

CREATE TABLE transcode_jobs (
    id           uuid PRIMARY KEY,
    cloudcast_id uuid NOT NULL REFERENCES cloudcasts (id) ON DELETE CASCADE,
    state        text NOT NULL DEFAULT 'queued'
                 CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts     integer NOT NULL DEFAULT 0,
    run_after    timestamptz NOT NULL DEFAULT now(),
    lease_until  timestamptz,
    worker       text,
    error        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX transcode_jobs_pending ON transcode_jobs (run_after) WHERE state IN ('queued', 'running');
