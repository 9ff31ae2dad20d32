-- Notifications: what happens to people, told on the page and by mail.
-- Events of one kind about one object join one notification while it is
-- open (unread, and less than an hour since its first event), so a mix
-- favourited 10,000 times in an hour is one notification. The writer is
-- core/src/notify.rs; what may be shown is decided when it is read.
CREATE TABLE notifications (
    id uuid PRIMARY KEY,
    recipient_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('follower', 'comment', 'reply', 'mention', 'favourite', 'repost', 'new_mix', 'followed_repost', 'processed', 'processing_failed', 'export_ready', 'moderation')),
    -- What the events are about (a cloudcast, a comment, an export, or the
    -- recipient for followers): with the kind, the grouping key.
    object_id uuid NOT NULL,
    cloudcast_id uuid REFERENCES cloudcasts (id) ON DELETE CASCADE,
    detail text,
    first_at timestamptz NOT NULL DEFAULT now(),
    last_at timestamptz NOT NULL DEFAULT now(),
    open boolean NOT NULL DEFAULT true,
    read_at timestamptz,
    -- Mailed alone or in a digest (or by its cause, as moderation mails).
    mailed_at timestamptz
);
CREATE UNIQUE INDEX notifications_open_group ON notifications (recipient_id, kind, object_id) WHERE open;
CREATE INDEX notifications_by_recipient ON notifications (recipient_id, last_at DESC, id DESC);
CREATE INDEX notifications_unread ON notifications (recipient_id) WHERE read_at IS NULL;
CREATE INDEX notifications_unmailed ON notifications (first_at) WHERE mailed_at IS NULL;
CREATE INDEX notifications_cloudcast ON notifications (cloudcast_id) WHERE cloudcast_id IS NOT NULL;

-- Who caused a notification (one row per person, however often they did).
CREATE TABLE notification_events (
    notification_id uuid NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    actor_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    comment_id uuid REFERENCES comments (id) ON DELETE CASCADE,
    at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (notification_id, actor_id)
);
CREATE INDEX notification_events_actor ON notification_events (actor_id);
CREATE INDEX notification_events_comment ON notification_events (comment_id) WHERE comment_id IS NOT NULL;

-- How a person hears of each kind; a kind without a row has its default.
CREATE TABLE notification_settings (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind text NOT NULL,
    delivery text NOT NULL CHECK (delivery IN ('in_app', 'mail', 'daily', 'weekly', 'off')),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, kind)
);

-- When each digest last went out.
CREATE TABLE notification_digests (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    cadence text NOT NULL CHECK (cadence IN ('daily', 'weekly')),
    sent_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, cadence)
);

-- A mix is announced to its DJ's followers once, when it is first listed
-- (ready, public, published); what is listed already is not news.
ALTER TABLE cloudcasts ADD COLUMN announced_at timestamptz;
UPDATE cloudcasts SET announced_at = now()
 WHERE visibility = 'public' AND status = 'ready' AND listed_at <= now() AND taken_down_at IS NULL AND NOT draft;
CREATE INDEX cloudcasts_unannounced ON cloudcasts (listed_at) WHERE announced_at IS NULL;

-- Mail people may leave with one click (RFC 8058): where that click goes.
ALTER TABLE email_outbox ADD COLUMN unsubscribe_url text;
