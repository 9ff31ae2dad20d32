-- Two-step sign-in (accounts/src/second_factor.rs): an authenticator app's
-- TOTP secret (RFC 6238) confirmed by a first code, ten single-use recovery
-- codes (only their hashes), and the short-lived challenge a right
-- password opens on the way to the code.
CREATE TABLE totp_factors (
    user_id      uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    -- The shared secret the app was given (it must be read to check a code).
    secret       bytea NOT NULL,
    -- NULL until a first code shows the app holds it.
    confirmed_at timestamptz,
    -- The last 30-second step a code was taken for: each code works once.
    last_step    bigint NOT NULL DEFAULT 0,
    -- Wrong codes since the last right one, across challenges; past ten the
    -- account takes no code until `locked_until` (an hour, doubling).
    failures     integer NOT NULL DEFAULT 0,
    locked_until timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE recovery_codes (
    user_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash bytea NOT NULL,
    used_at   timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE signin_challenges (
    token_hash bytea PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    attempts   integer NOT NULL DEFAULT 0
);
CREATE INDEX signin_challenges_expiry ON signin_challenges (expires_at);
