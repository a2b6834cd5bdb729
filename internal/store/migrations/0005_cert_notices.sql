-- Certificate notices sent, one row per target: the certificate (its
-- NotAfter) and the smallest cert_warn threshold announced for it. Written
-- by Commit with the notice's outbox rows.
CREATE TABLE cert_notices (
	target       TEXT PRIMARY KEY,
	not_after    INTEGER NOT NULL,
	threshold_ms INTEGER NOT NULL,
	noticed_at   INTEGER NOT NULL
) WITHOUT ROWID;
