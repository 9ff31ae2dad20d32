-- Reports on cloudcasts and notice-and-takedown (EU DSA Art. 16, 17, 20):
-- anyone may report a cloudcast (abuse, or a copyright notice with its
-- particulars); a moderator upholds or dismisses it; an upheld report takes
-- the cloudcast down (hidden from all but its owner) and its DJ is told why
-- and may answer with a counter-notice, which a moderator decides.

ALTER TABLE cloudcasts
    ADD COLUMN taken_down_at   timestamptz,
    -- The statement of reasons the DJ was sent (Art. 17).
    ADD COLUMN takedown_reason text;

CREATE TABLE cloudcast_reports (
    id             uuid PRIMARY KEY,
    cloudcast_id   uuid NOT NULL REFERENCES cloudcasts (id) ON DELETE CASCADE,
    -- NULL for a notice sent without an account. A reporter's reports go
    -- with their account: an erasure keeps nothing of them.
    reporter_id    uuid REFERENCES users (id) ON DELETE CASCADE,
    kind           text NOT NULL CHECK (kind IN ('abuse', 'copyright')),
    -- Why the content is unlawful or abusive (Art. 16(2)(a)).
    reason         text NOT NULL,
    -- A copyright notice's particulars (Art. 16(2)(b)-(d)): who gives it,
    -- how to reach them, the work, and their statement of good faith.
    notifier_name  text,
    notifier_email text,
    work           text,
    good_faith     boolean NOT NULL DEFAULT false,
    status         text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'dismissed', 'upheld')),
    decided_by     uuid REFERENCES users (id) ON DELETE SET NULL,
    decided_at     timestamptz,
    decision_note  text,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cloudcast_reports_open ON cloudcast_reports (created_at) WHERE status = 'open';
CREATE INDEX cloudcast_reports_by_cloudcast ON cloudcast_reports (cloudcast_id);
CREATE INDEX cloudcast_reports_by_reporter ON cloudcast_reports (reporter_id);

-- A DJ's answer to a takedown (Art. 20: the internal complaint).
CREATE TABLE counter_notices (
    id            uuid PRIMARY KEY,
    cloudcast_id  uuid NOT NULL REFERENCES cloudcasts (id) ON DELETE CASCADE,
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    statement     text NOT NULL,
    status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'rejected', 'reinstated')),
    decided_by    uuid REFERENCES users (id) ON DELETE SET NULL,
    decided_at    timestamptz,
    decision_note text,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX counter_notices_open ON counter_notices (created_at) WHERE status = 'open';
CREATE INDEX counter_notices_by_user ON counter_notices (user_id);
-- One open answer per takedown.
CREATE UNIQUE INDEX counter_notices_one_open ON counter_notices (cloudcast_id) WHERE status = 'open';
