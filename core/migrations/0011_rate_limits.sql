-- Rate limits every node shares (sign-in per login and per address, open-API
-- keys): one cell per limit and key, holding its theoretical arrival time
-- (GCRA, core/src/ratelimit.rs). The key is a keyed hash of the login,
-- address or key id, never the thing itself. A cell in the past allows as much as no
-- cell, so old ones are deleted now and then (by `tat`). Unlogged: a crash
-- forgets the cells, which can only forgive a client, and no sign-in pays
-- for a write-ahead-log record.
CREATE UNLOGGED TABLE rate_limits (
    scope text        NOT NULL,
    key   text        NOT NULL,
    tat   timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX rate_limits_tat ON rate_limits (tat);
