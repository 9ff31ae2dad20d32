-- Follow and unfollow events, for a DJ's followers over time (insights):
-- copied to ClickHouse by id as favourite and repost events are
-- (analytics/src/event_sync.rs). Written by a trigger on `follows`, so every
-- way a follow starts or ends (follow, unfollow, a block ending it) is one
-- event. An erased account's follows end with it and leave no event: the
-- trigger writes none while either account is being deleted, and the
-- events of both accounts cascade.
CREATE TABLE follow_events (
    id          bigserial PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followee_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    delta       smallint NOT NULL CHECK (delta IN (-1, 1)),
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX follow_events_by_user ON follow_events (user_id, id);
CREATE INDEX follow_events_by_followee ON follow_events (followee_id, at);

CREATE FUNCTION follow_event() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO follow_events (user_id, followee_id, delta)
        VALUES (NEW.follower_id, NEW.followee_id, 1);
    ELSIF EXISTS (SELECT 1 FROM users WHERE id = OLD.follower_id)
      AND EXISTS (SELECT 1 FROM users WHERE id = OLD.followee_id) THEN
        INSERT INTO follow_events (user_id, followee_id, delta)
        VALUES (OLD.follower_id, OLD.followee_id, -1);
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER follows_events AFTER INSERT OR DELETE ON follows
    FOR EACH ROW EXECUTE FUNCTION follow_event();

-- Follows made before events were kept count from when they were made.
INSERT INTO follow_events (user_id, followee_id, delta, at)
SELECT follower_id, followee_id, 1, created_at FROM follows ORDER BY created_at;
