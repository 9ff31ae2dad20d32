-- Comments on cloudcasts (seed §6): what a user writes there is public, and
-- obscene or abusive comments may be removed at any time. A comment the
-- filter flags, or that enough listeners report, is 'held': hidden from
-- everyone but its author until an administrator approves or removes it.
-- Deleting a comment deletes it outright; nothing of it is kept.
CREATE TABLE comments (
    id           uuid PRIMARY KEY,
    cloudcast_id uuid NOT NULL REFERENCES cloudcasts (id) ON DELETE CASCADE,
    author_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body         text NOT NULL,
    status       text NOT NULL CHECK (status IN ('visible', 'held')),
    -- Why it is held: the filter's categories, or 'reported'.
    held_reason  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- When an administrator last approved it.
    moderated_at timestamptz
);
-- A cloudcast's comments, oldest first.
CREATE INDEX comments_by_cloudcast ON comments (cloudcast_id, created_at);
-- The account erasure and data export find a user's comments.
CREATE INDEX comments_by_author ON comments (author_id);
-- The moderation queue.
CREATE INDEX comments_held ON comments (created_at) WHERE status = 'held';

-- One report per user per comment; an approval clears them.
CREATE TABLE comment_reports (
    comment_id  uuid REFERENCES comments (id) ON DELETE CASCADE,
    reporter_id uuid REFERENCES users (id) ON DELETE CASCADE,
    reason      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (comment_id, reporter_id)
);
CREATE INDEX comment_reports_by_reporter ON comment_reports (reporter_id);
