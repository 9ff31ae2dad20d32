-- One person's block of another (the policy's protection from harassment):
-- between them no follows, comments on each other's mixes or comments, nor
-- notifications of each other's doing (core/src/visibility.rs). Personal
-- data of the blocker: exported and erased with either account.
CREATE TABLE user_blocks (
    blocker_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (blocker_id, blocked_id),
    CHECK (blocker_id <> blocked_id)
);
-- "Who blocked me" is read for every comment and notification.
CREATE INDEX user_blocks_blocked ON user_blocks (blocked_id, blocker_id);

-- Comments on a person's profile (the policy's "comments on other users"):
-- the comments table holds them, with the same moderation, reports and
-- notifications, on a profile instead of a mix. Gone with the profile.
ALTER TABLE comments
    ALTER COLUMN cloudcast_id DROP NOT NULL,
    ADD COLUMN profile_id uuid REFERENCES users (id) ON DELETE CASCADE,
    ADD CONSTRAINT comments_on_one CHECK ((cloudcast_id IS NULL) <> (profile_id IS NULL)),
    ADD CONSTRAINT comments_profile_no_position CHECK (profile_id IS NULL OR position_ms IS NULL);
CREATE INDEX comments_by_profile ON comments (profile_id, created_at) WHERE profile_id IS NOT NULL;

-- The owner's switch; a minor's profile takes none whatever it says.
ALTER TABLE users ADD COLUMN profile_comments boolean NOT NULL DEFAULT true;

ALTER TABLE notifications
    DROP CONSTRAINT notifications_kind_check,
    ADD CONSTRAINT notifications_kind_check CHECK (kind IN ('follower', 'comment', 'reply', 'mention', 'favourite', 'repost', 'new_mix', 'followed_repost', 'processed', 'processing_failed', 'export_ready', 'moderation', 'profile_comment'));
