-- The write-ahead-log segment that carried each row, so a segment shipped
-- again after a crash is recognised and not counted twice.
ALTER TABLE heartbeats ADD COLUMN wal_segment String
