-- Data exports built in the background are jobs: a node leases one
-- (`worker`, `lease_until`) and renews the lease while it builds. A node
-- that restarts takes back at once the exports leased under its own name;
-- another node takes them once their lease has run out. After `attempts`
-- reaches the configured limit, a cut-off build is failed, not retried.
ALTER TABLE data_exports
    ADD COLUMN worker      text,
    ADD COLUMN lease_until timestamptz,
    ADD COLUMN attempts    integer NOT NULL DEFAULT 0;

CREATE INDEX data_exports_building ON data_exports (created_at) WHERE status = 'building';
