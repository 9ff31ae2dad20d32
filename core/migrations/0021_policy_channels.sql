-- The policy's own channels: versioned policy documents and who was shown
-- or accepted which; the contact page's cases (reports on accounts, privacy
-- requests, feedback); decisions on accounts with their reasons and
-- appeals (EU DSA Art. 17, 20); an alternative contact for security
-- notices; private listening activity; personalised ads by consent only.

-- Each version of the privacy policy and the terms, copied from the files
-- the config names when a node starts, so every node serves the same text
-- and earlier versions stay readable after their files are gone.
CREATE TABLE policy_versions (
    kind          text NOT NULL CHECK (kind IN ('privacy', 'terms')),
    version       text NOT NULL,
    effective_at  timestamptz NOT NULL,
    summary       text NOT NULL,
    body          text NOT NULL,
    -- The announcement by mail goes out in batches: the last account
    -- mailed, and when every account had been.
    announced_through uuid,
    announced_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, version)
);
CREATE INDEX policy_versions_current ON policy_versions (kind, effective_at DESC);
CREATE INDEX policy_versions_unannounced ON policy_versions (created_at) WHERE announced_at IS NULL;

-- Each time a version was put in front of a person (sign-up, banner, mail,
-- the page itself): the policy is shown, not forced.
CREATE TABLE policy_showings (
    id        bigserial PRIMARY KEY,
    user_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind      text NOT NULL,
    version   text NOT NULL,
    via       text NOT NULL CHECK (via IN ('signup', 'banner', 'mail')),
    shown_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX policy_showings_by_user ON policy_showings (user_id, kind, version);

-- Terms accepted, version by version.
CREATE TABLE policy_acceptances (
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        text NOT NULL,
    version     text NOT NULL,
    accepted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, kind, version)
);

ALTER TABLE users
    -- The terms version in force the person accepted (the gate compares).
    ADD COLUMN terms_version text,
    -- The privacy version whose banner the person dismissed.
    ADD COLUMN privacy_seen_version text,
    -- Restrictions by a moderator's decision, each until a time (the year
    -- 9999 for good); the decisions themselves are `account_decisions`.
    ADD COLUMN suspended_until timestamptz,
    ADD COLUMN no_uploads_until timestamptz,
    ADD COLUMN no_comments_until timestamptz,
    -- Where security notices go besides (or instead of) the account's
    -- address (policy §5).
    ADD COLUMN security_contact text,
    -- Listening activity, favourites, reposts and follows kept private.
    ADD COLUMN activity_private boolean NOT NULL DEFAULT false,
    -- Personalised ads by consent only (given, not presumed).
    ALTER COLUMN ads_consent SET DEFAULT false;

-- A suspended owner's cloudcasts are hidden by the visibility rule until
-- then (a copy of `users.suspended_until`, so lists need no join).
ALTER TABLE cloudcasts ADD COLUMN owner_hidden_until timestamptz;

-- The contact page: reports on accounts, privacy requests and feedback,
-- from anyone, signed in or not.
CREATE TABLE contact_cases (
    id          uuid PRIMARY KEY,
    topic       text NOT NULL CHECK (topic IN ('impersonation', 'spam', 'harassment', 'under_13', 'other_abuse', 'withdraw_consent', 'data_access', 'privacy_concern', 'feedback')),
    -- The account reported. Cases about an account go with it.
    subject_id  uuid REFERENCES users (id) ON DELETE CASCADE,
    -- The sender, when signed in. Their cases go with their account.
    reporter_id uuid REFERENCES users (id) ON DELETE CASCADE,
    -- How to answer the sender: kept until the case closes plus 30 days.
    name        text,
    email       text,
    message     text NOT NULL,
    status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    answer      text,
    closed_by   uuid REFERENCES users (id) ON DELETE SET NULL,
    closed_at   timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contact_cases_open ON contact_cases (created_at) WHERE status = 'open';
CREATE INDEX contact_cases_subject ON contact_cases (subject_id);
CREATE INDEX contact_cases_reporter ON contact_cases (reporter_id);
CREATE INDEX contact_cases_contact_kept ON contact_cases (closed_at) WHERE email IS NOT NULL OR name IS NOT NULL;

-- Every decision on an account: who, when, why, until when. The record
-- outlives an erased account without naming it (`user_id` cleared).
CREATE TABLE account_decisions (
    id          uuid PRIMARY KEY,
    user_id     uuid REFERENCES users (id) ON DELETE SET NULL,
    action      text NOT NULL CHECK (action IN ('suspend', 'no_uploads', 'no_comments', 'erase_minor')),
    -- The statement of reasons (DSA Art. 17).
    reasons     text NOT NULL,
    -- NULL: for good.
    until       timestamptz,
    -- An under-13 erasure waits for the contest period.
    erase_after timestamptz,
    case_id     uuid REFERENCES contact_cases (id) ON DELETE SET NULL,
    state       text NOT NULL DEFAULT 'in_force' CHECK (state IN ('in_force', 'lifted', 'carried_out')),
    decided_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    ended_at    timestamptz
);
CREATE INDEX account_decisions_by_user ON account_decisions (user_id, created_at DESC);
CREATE INDEX account_decisions_due ON account_decisions (erase_after) WHERE state = 'in_force' AND erase_after IS NOT NULL;

-- A person's answer to a decision (DSA Art. 20).
CREATE TABLE account_appeals (
    id          uuid PRIMARY KEY,
    decision_id uuid NOT NULL REFERENCES account_decisions (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    statement   text NOT NULL,
    status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'granted', 'rejected')),
    answer      text,
    decided_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    decided_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX account_appeals_open ON account_appeals (created_at) WHERE status = 'open';
CREATE INDEX account_appeals_by_user ON account_appeals (user_id);
CREATE UNIQUE INDEX account_appeals_one_open ON account_appeals (decision_id) WHERE status = 'open';

-- Consent changes may now come from a policy change (with its reason).
ALTER TABLE consent_events
    DROP CONSTRAINT consent_events_source_check,
    ADD CONSTRAINT consent_events_source_check CHECK (source IN ('signup', 'user', 'policy')),
    ADD COLUMN reason text;
