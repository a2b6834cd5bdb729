-- Hour buckets. History keeps minute buckets (table history) for the last
-- 48 hours; the store's background loop rolls older minutes up into these,
-- moving them: a minute row is deleted in the same transaction that adds it
-- to its hour, so every probe is counted in exactly one row of one table.
-- Existing minute rows older than 48 h are rolled up by the first passes of
-- that loop after this migration (in short transactions), not here: a
-- migration runs in one transaction at start, and a large history would
-- hold start-up for minutes.
CREATE TABLE history_hourly (
	target         TEXT NOT NULL,
	hour           INTEGER NOT NULL, -- unix hour: unix seconds / 3600
	probes         INTEGER NOT NULL,
	failures       INTEGER NOT NULL,
	latency_sum_ms INTEGER NOT NULL,
	latency_max_ms INTEGER NOT NULL,
	PRIMARY KEY (target, hour)
) WITHOUT ROWID;
