-- A tag shows on the tag lists as soon as a listed cloudcast carries it,
-- not only after the next recount: a tag new to the catalogue gets its row
-- (one cloudcast, which is exact for a new tag) when it is first written;
-- the recount keeps the figures of every tag right after that.
CREATE OR REPLACE FUNCTION cloudcasts_tags() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM cloudcast_tags WHERE cloudcast_id = NEW.id AND tag <> ALL (NEW.tags);
    UPDATE cloudcast_tags SET listed_at = NEW.listed_at
     WHERE cloudcast_id = NEW.id AND listed_at <> NEW.listed_at;
    INSERT INTO cloudcast_tags (tag, cloudcast_id, listed_at)
    SELECT DISTINCT t, NEW.id, NEW.listed_at FROM unnest(NEW.tags) t
    ON CONFLICT DO NOTHING;
    INSERT INTO tag_counts (tag, cloudcasts)
    SELECT DISTINCT t, 1 FROM unnest(NEW.tags) t
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
