-- Accounts as the privacy policy describes them, tus expiration/termination,
-- rejected uploads and cloudcast metadata.

ALTER TABLE users
    ADD COLUMN is_admin boolean NOT NULL DEFAULT false,
    ADD COLUMN email_verified_at timestamptz;

-- Optional profile fields (§1, §2). Each has a visibility; private by default.
CREATE TABLE profiles (
    user_id     uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    real_name   text,
    city        text,
    country     text,
    gender      text,
    birth_year  integer,
    bio         text,
    avatar_key  text,
    avatar_type text,
    -- {"field": "public" | "private"}; a missing field is private.
    visibility  jsonb NOT NULL DEFAULT '{}'::jsonb,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Mail waiting for delivery (SMTP when configured) or for the operator
-- (`cloudcast admin outbox`).
CREATE TABLE email_outbox (
    id         uuid PRIMARY KEY,
    user_id    uuid REFERENCES users (id) ON DELETE CASCADE,
    to_address text NOT NULL,
    kind       text NOT NULL,
    subject    text NOT NULL,
    body       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at    timestamptz,
    attempts   integer NOT NULL DEFAULT 0,
    last_error text
);
CREATE INDEX email_outbox_unsent ON email_outbox (created_at) WHERE sent_at IS NULL;

CREATE TABLE email_verifications (
    token_hash bytea PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

ALTER TABLE uploads
    ADD COLUMN expires_at timestamptz NOT NULL DEFAULT now() + interval '7 days',
    DROP CONSTRAINT uploads_state_check,
    ADD CONSTRAINT uploads_state_check
        CHECK (state IN ('receiving', 'complete', 'terminated', 'expired'));
CREATE INDEX uploads_expiring ON uploads (expires_at) WHERE state = 'receiving';

ALTER TABLE cloudcasts
    DROP CONSTRAINT cloudcasts_status_check,
    ADD CONSTRAINT cloudcasts_status_check
        CHECK (status IN ('processing', 'ready', 'failed', 'rejected')),
    ALTER COLUMN original_key DROP NOT NULL,
    ADD COLUMN description    text NOT NULL DEFAULT '',
    ADD COLUMN tags           text[] NOT NULL DEFAULT '{}',
    -- [{"start_ms": 0, "artist": "...", "title": "..."}]
    ADD COLUMN tracklist      jsonb NOT NULL DEFAULT '[]'::jsonb,
    -- [{"label": "...", "url": "https://..."}]
    ADD COLUMN purchase_links jsonb NOT NULL DEFAULT '[]'::jsonb;
