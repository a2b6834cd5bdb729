package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/pollerd/pollerd/internal/incident"
)

// MessageRef returns the message reference kept in an incident's row (Slack
// bot mode: the channel and ts of the incident's first message, which later
// messages reply to in its thread); "" when none was set or there is no
// such incident.
func (db *DB) MessageRef(ctx context.Context, incidentID int64) (string, error) {
	var ref string
	err := db.sql.QueryRowContext(ctx, `SELECT message_ref FROM incidents WHERE id = ?`, incidentID).Scan(&ref)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("read message ref of incident %d: %w", incidentID, err)
	}
	return ref, nil
}

// SetMessageRef keeps ref in the incident's row. A later Commit of the
// incident by the engine (which knows no ref) keeps it. It fails with
// incident.ErrNotFound when the row is not written yet.
func (db *DB) SetMessageRef(ctx context.Context, incidentID int64, ref string) error {
	res, err := db.sql.ExecContext(ctx, `UPDATE incidents SET message_ref = ? WHERE id = ?`, ref, incidentID)
	if err != nil {
		return fmt.Errorf("set message ref of incident %d: %w", incidentID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("set message ref of incident %d: %w", incidentID, err)
	} else if n == 0 {
		return fmt.Errorf("set message ref of incident %d: %w", incidentID, incident.ErrNotFound)
	}
	return nil
}
