-- Day buckets, and copy-up. Until this migration a probe was counted in
-- exactly one row: minute rows (table history) were moved into their hour
-- (history_hourly) once older than 48 hours. From here on every flushed
-- minute bucket is added to its minute row, its hour row and its day row in
-- one transaction, so each table holds every probe of the span it keeps
-- (minutes for 48 h, hours and days for the retention), and a reader takes
-- a disjoint cover: minutes up to the first hour boundary, hours up to the
-- first day boundary, days after. The rollup then only deletes minute rows.
CREATE TABLE history_daily (
	target         TEXT NOT NULL,
	day            INTEGER NOT NULL, -- unix day: unix seconds / 86400
	probes         INTEGER NOT NULL,
	failures       INTEGER NOT NULL,
	latency_sum_ms INTEGER NOT NULL,
	latency_max_ms INTEGER NOT NULL,
	PRIMARY KEY (target, day)
) WITHOUT ROWID;

-- Backfill, in the migration's one transaction. Under the old invariant a
-- minute row is not yet in its hour row, so adding the minute rows to the
-- hours is exact: afterwards every hour row holds all its probes. Then the
-- days are the sums of their hours. (On a 10,000-target database this reads
-- the 48 h of minute rows once, ~29 million rows, and the hour rows once.)
INSERT INTO history_hourly (target, hour, probes, failures, latency_sum_ms, latency_max_ms)
SELECT target, minute / 60, SUM(probes), SUM(failures), SUM(latency_sum_ms), MAX(latency_max_ms)
FROM history WHERE true
GROUP BY target, minute / 60
ON CONFLICT (target, hour) DO UPDATE SET
	probes = probes + excluded.probes,
	failures = failures + excluded.failures,
	latency_sum_ms = latency_sum_ms + excluded.latency_sum_ms,
	latency_max_ms = max(latency_max_ms, excluded.latency_max_ms);

INSERT INTO history_daily (target, day, probes, failures, latency_sum_ms, latency_max_ms)
SELECT target, hour / 24, SUM(probes), SUM(failures), SUM(latency_sum_ms), MAX(latency_max_ms)
FROM history_hourly
GROUP BY target, hour / 24;
