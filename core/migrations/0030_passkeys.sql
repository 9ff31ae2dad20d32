-- Passkeys (WebAuthn, accounts/src/passkeys.rs): each credential's public
-- key and signature counter as webauthn-rs keeps them, and the state of a
-- ceremony in progress (five minutes), so any node finishes what another
-- began.
CREATE TABLE passkeys (
    id            uuid PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id bytea NOT NULL UNIQUE,
    name          text NOT NULL,
    -- webauthn-rs's `Passkey`: the public key, the counter, the flags.
    credential    jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz
);
CREATE INDEX passkeys_user ON passkeys (user_id);

CREATE TABLE webauthn_ceremonies (
    id         uuid PRIMARY KEY,
    -- Whose ceremony; NULL for a sign-in (the passkey names the account).
    user_id    uuid REFERENCES users (id) ON DELETE CASCADE,
    -- `confirm`: the person again by passkey, for an action that asks for
    -- it; `proof`: its outcome, a one-time code's hash for that action.
    kind       text NOT NULL CHECK (kind IN ('register', 'sign_in', 'confirm', 'proof')),
    state      jsonb NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX webauthn_ceremonies_expiry ON webauthn_ceremonies (expires_at);
