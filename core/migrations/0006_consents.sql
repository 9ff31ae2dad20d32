-- Proof of consent (seed §4, §10, §16): every change of a consent, with its
-- time and where it came from ('signup' for the defaults of a new account,
-- 'user' for a change the user made).
CREATE TABLE consent_events (
    id       bigserial PRIMARY KEY,
    user_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind     text NOT NULL CHECK (kind IN ('third_party_contact', 'personalised_ads')),
    granted  boolean NOT NULL,
    source   text NOT NULL CHECK (source IN ('signup', 'user')),
    at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consent_events_by_user ON consent_events (user_id, at);

-- The defaults in force for accounts made before this table existed.
INSERT INTO consent_events (user_id, kind, granted, source, at)
SELECT id, 'personalised_ads', ads_consent, 'signup', created_at FROM users;
INSERT INTO consent_events (user_id, kind, granted, source, at)
SELECT id, 'third_party_contact', third_party_consent, 'signup', created_at FROM users;

-- Work for the analytics node: a user whose ad-personalisation consent was
-- withdrawn has their rows removed from ClickHouse's ad-interest aggregates.
-- `run_after` repeats the removal once beats sent before the withdrawal
-- (still in a stream node's log or consent cache) have arrived.
CREATE TABLE analytics_purges (
    id         bigserial PRIMARY KEY,
    user_id    uuid NOT NULL,
    scope      text NOT NULL CHECK (scope IN ('ad_interest')),
    run_after  timestamptz NOT NULL DEFAULT now(),
    done_at    timestamptz
);
CREATE INDEX analytics_purges_pending ON analytics_purges (run_after) WHERE done_at IS NULL;
