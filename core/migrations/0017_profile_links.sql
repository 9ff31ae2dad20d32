-- A profile's links (a website, socials): up to five URLs, shown with
-- rel="me" when public, like the other fields.
ALTER TABLE profiles ADD COLUMN links text[];
