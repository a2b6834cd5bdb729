-- Closed hours and days. From here on a flush writes minute rows only; the
-- store's background pass sums closed hours from their minutes into
-- history_hourly and closed days from their hours into history_daily, and
-- records how far it got in two watermarks:
--   hours_done: every hour before it has its hour rows, complete, for every
--               target (unix hour);
--   days_done:  every day before it has its day rows, complete (unix day).
-- Readers take minutes from hours_done * 60 on, hours from days_done * 24 to
-- hours_done, days before days_done.
CREATE TABLE history_marks (
	name  TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;

-- Under copy-up (migration 0006) every flushed minute was in its hour and
-- day rows, so the hours before the latest minute's hour are complete, and
-- the days before that hour's day. Later rows (the last, maybe partial,
-- hour and day) are ignored by readers until the pass recomputes them,
-- overwriting, before the watermark passes them. With no history at all
-- both are 0: the pass then jumps them to the first hour with minutes (or
-- to the current closed hour).
-- The latest minute is found with one seek per target through the primary
-- key rather than a scan of every minute row.
WITH RECURSIVE names(name) AS (
	SELECT (SELECT MIN(target) FROM history)
	UNION ALL
	SELECT (SELECT MIN(target) FROM history WHERE target > names.name)
	FROM names WHERE names.name IS NOT NULL
)
INSERT INTO history_marks (name, value)
SELECT 'hours_done', COALESCE(MAX((SELECT MAX(minute) FROM history WHERE target = names.name)) / 60, 0)
FROM names WHERE names.name IS NOT NULL;
INSERT INTO history_marks (name, value)
SELECT 'days_done', value / 24 FROM history_marks WHERE name = 'hours_done';
