-- Drafts: a cloudcast its DJ is still describing. Nobody else sees it,
-- whatever its visibility, until the DJ publishes it (visibility.rs). An
-- upload asks for one with `draft` in its tus metadata.
ALTER TABLE cloudcasts ADD COLUMN draft boolean NOT NULL DEFAULT false;
ALTER TABLE uploads ADD COLUMN draft boolean NOT NULL DEFAULT false;
