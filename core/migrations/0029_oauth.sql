-- Third-party apps acting for a person (OAuth 2.0, apps/src): the apps
-- developers register, what a person granted each, the one-minute codes of
-- the authorization step and the refresh tokens. Access tokens are sessions
-- (`auth_tokens`) tied to a grant and carrying its scopes, so every route
-- that knows who is asking knows an app's user, and `core/src/scopes.rs`
-- holds each to its scopes. Only hashes of codes, tokens and secrets.
CREATE TABLE oauth_apps (
    id            uuid PRIMARY KEY,
    owner_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id     text NOT NULL UNIQUE,
    -- NULL: a public client (a native or browser app), which proves itself
    -- with PKCE alone.
    secret_hash   bytea,
    name          text NOT NULL,
    website       text,
    redirect_uris text[] NOT NULL CHECK (cardinality(redirect_uris) BETWEEN 1 AND 10),
    -- The logo's current version (apps/src/clients.rs), NULL when none.
    logo_version  uuid,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX oauth_apps_owner ON oauth_apps (owner_id);

-- One per person and app: "connected apps" in settings. Revoking one
-- deletes it, and its codes and tokens go with it.
CREATE TABLE oauth_grants (
    id           uuid PRIMARY KEY,
    app_id       uuid NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scopes       text[] NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    UNIQUE (user_id, app_id)
);
CREATE INDEX oauth_grants_app ON oauth_grants (app_id);

CREATE TABLE oauth_codes (
    code_hash      bytea PRIMARY KEY,
    grant_id       uuid NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    redirect_uri   text NOT NULL,
    scopes         text[] NOT NULL,
    -- BASE64URL(SHA-256(verifier)) (RFC 7636 S256); NULL only for a
    -- confidential client that sent none.
    code_challenge text,
    -- The tokens the code is exchanged for; a second exchange revokes them.
    family         uuid NOT NULL,
    expires_at     timestamptz NOT NULL,
    used_at        timestamptz
);
CREATE INDEX oauth_codes_grant ON oauth_codes (grant_id);
CREATE INDEX oauth_codes_expiry ON oauth_codes (expires_at);

-- Rotated on use: a used one presented again revokes its whole family.
CREATE TABLE oauth_refresh_tokens (
    token_hash bytea PRIMARY KEY,
    grant_id   uuid NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    family     uuid NOT NULL,
    scopes     text[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX oauth_refresh_tokens_family ON oauth_refresh_tokens (family);
CREATE INDEX oauth_refresh_tokens_grant ON oauth_refresh_tokens (grant_id);
CREATE INDEX oauth_refresh_tokens_expiry ON oauth_refresh_tokens (expires_at);

ALTER TABLE auth_tokens
    ADD COLUMN grant_id uuid REFERENCES oauth_grants (id) ON DELETE CASCADE,
    ADD COLUMN family uuid,
    ADD COLUMN scopes text[],
    ADD CONSTRAINT auth_tokens_app_scopes CHECK ((grant_id IS NULL) = (scopes IS NULL));
CREATE INDEX auth_tokens_family ON auth_tokens (family) WHERE family IS NOT NULL;
CREATE INDEX auth_tokens_grant ON auth_tokens (grant_id) WHERE grant_id IS NOT NULL;

-- Security events (a sign-in factor added or removed, an app connected)
-- are notified as well as mailed.
ALTER TABLE notifications
    DROP CONSTRAINT notifications_kind_check,
    ADD CONSTRAINT notifications_kind_check CHECK (kind IN ('follower', 'comment', 'reply', 'mention', 'favourite', 'repost', 'new_mix', 'followed_repost', 'processed', 'processing_failed', 'export_ready', 'moderation', 'profile_comment', 'security'));
