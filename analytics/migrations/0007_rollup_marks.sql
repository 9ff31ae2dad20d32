-- A rolled-up day is read from `listener_day_totals` only while its latest
-- mark says `rolled = 1`. Before a day is rolled up again, it is marked
-- `rolled = 0` and its old rows are deleted, so a marked day holds one row
-- per listener and queries read it without de-duplicating versions.
-- Existing marks read 0: every finished day is rolled up once more, which
-- clears the duplicate versions that earlier rollups left.
ALTER TABLE rollup_days ADD COLUMN rolled UInt8 DEFAULT 0
