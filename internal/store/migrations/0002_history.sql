-- Per-target, per-minute probe aggregates for uptime figures. Flush adds to
-- a row, so a minute written by two flushes sums up. WITHOUT ROWID keeps the
-- rows in primary-key order with no second b-tree.
CREATE TABLE history (
	target         TEXT NOT NULL,
	minute         INTEGER NOT NULL, -- unix minute: unix seconds / 60
	probes         INTEGER NOT NULL,
	failures       INTEGER NOT NULL,
	latency_sum_ms INTEGER NOT NULL,
	latency_max_ms INTEGER NOT NULL,
	PRIMARY KEY (target, minute)
) WITHOUT ROWID;

-- No index on minute alone: it would nearly double the table's size.
-- Retention walks the targets through the primary key instead.

-- Retention deletes delivered rows by age.
CREATE INDEX outbox_delivered ON outbox (delivered_at) WHERE status = 'delivered';
