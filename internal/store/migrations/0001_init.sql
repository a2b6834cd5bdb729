-- Times are unix milliseconds (UTC); 0 or NULL means unset.

-- One row per target: its state (written with transitions, by Commit) and
-- its consecutive probe counters (written in batches, by Flush).
CREATE TABLE target_state (
	name       TEXT PRIMARY KEY,
	state      TEXT NOT NULL,
	since      INTEGER NOT NULL,
	failures   INTEGER NOT NULL DEFAULT 0,
	successes  INTEGER NOT NULL DEFAULT 0,
	updated_at INTEGER NOT NULL
);

-- Incident IDs are assigned by the alert engine, which keys messages on them.
CREATE TABLE incidents (
	id          INTEGER PRIMARY KEY,
	kind        TEXT NOT NULL,
	subject     TEXT NOT NULL,
	opened_at   INTEGER NOT NULL,
	closed_at   INTEGER,
	cause       TEXT NOT NULL DEFAULT '',
	reports     INTEGER NOT NULL DEFAULT 0,
	message_ref TEXT NOT NULL DEFAULT ''
);

CREATE INDEX incidents_open ON incidents (id) WHERE closed_at IS NULL;

-- One message for one channel; (key, channel) makes a retried Commit or a
-- replayed transition a no-op rather than a second message.
CREATE TABLE outbox (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	key          TEXT NOT NULL CHECK (key <> ''),
	channel      TEXT NOT NULL CHECK (channel <> ''),
	incident_id  INTEGER NOT NULL DEFAULT 0,
	payload      BLOB NOT NULL,
	status       TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_at      INTEGER NOT NULL DEFAULT 0,
	last_error   TEXT NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	delivered_at INTEGER,
	UNIQUE (key, channel)
);

CREATE INDEX outbox_status ON outbox (status, created_at, id);
