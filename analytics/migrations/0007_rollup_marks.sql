-- A rolled-up day is read from `listener_day_totals` only while its latest
-- mark says `rolled = 1`. Before a day is rolled up again, it is marked
-- `rolled = 0` and its old rows are deleted, so a marked day holds one row
-- per listener and queries read it without de-duplicating versions.
-- Existing marks read 0, so the rollup looks at every finished day once
-- more: a day still whole (its beat count unchanged, one version of each
-- row) is marked again as it is; one that an earlier re-roll left with two
-- versions is cleared and rolled up again.
ALTER TABLE rollup_days ADD COLUMN rolled UInt8 DEFAULT 0
