-- Silences created through the admin API. targets and groups are JSON
-- arrays of names. Rows that ended are deleted when a silence is added.
CREATE TABLE silences (
	id        TEXT PRIMARY KEY,
	targets   TEXT NOT NULL DEFAULT '[]',
	groups    TEXT NOT NULL DEFAULT '[]',
	comment   TEXT NOT NULL DEFAULT '',
	starts_at INTEGER NOT NULL,
	ends_at   INTEGER NOT NULL
);

CREATE INDEX silences_ends ON silences (ends_at);
