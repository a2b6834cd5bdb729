package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/pollerd/pollerd/internal/incident"
)

// AddSilence stores s (its ID, set by the caller, is unique) and deletes the
// silences that have ended by s.StartsAt, in one transaction.
func (db *DB) AddSilence(ctx context.Context, s incident.Silence) error {
	targets, err := json.Marshal(nonNil(s.Targets))
	if err != nil {
		return fmt.Errorf("add silence: %w", err)
	}
	groups, err := json.Marshal(nonNil(s.Groups))
	if err != nil {
		return fmt.Errorf("add silence: %w", err)
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM silences WHERE ends_at <= ?`, msOf(s.StartsAt)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `
			INSERT INTO silences (id, targets, groups, comment, starts_at, ends_at)
			VALUES (?, ?, ?, ?, ?, ?)`,
			s.ID, string(targets), string(groups), s.Comment, msOf(s.StartsAt), msOf(s.EndsAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("add silence: %w", err)
	}
	return nil
}

// ActiveSilences returns the silences that cover now, the earliest ending
// first.
func (db *DB) ActiveSilences(ctx context.Context, now time.Time) ([]incident.Silence, error) {
	rows, err := db.sql.QueryContext(ctx, `
		SELECT id, targets, groups, comment, starts_at, ends_at FROM silences
		WHERE starts_at <= ? AND ends_at > ? ORDER BY ends_at, id`, msOf(now), msOf(now))
	if err != nil {
		return nil, fmt.Errorf("list silences: %w", err)
	}
	defer rows.Close()
	var out []incident.Silence
	for rows.Next() {
		var s incident.Silence
		var targets, groups string
		var starts, ends int64
		if err := rows.Scan(&s.ID, &targets, &groups, &s.Comment, &starts, &ends); err != nil {
			return nil, fmt.Errorf("list silences: %w", err)
		}
		if err := json.Unmarshal([]byte(targets), &s.Targets); err != nil {
			return nil, fmt.Errorf("silence %s: targets: %w", s.ID, err)
		}
		if err := json.Unmarshal([]byte(groups), &s.Groups); err != nil {
			return nil, fmt.Errorf("silence %s: groups: %w", s.ID, err)
		}
		s.StartsAt, s.EndsAt = timeOf(starts), timeOf(ends)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list silences: %w", err)
	}
	return out, nil
}

// DeleteSilence ends a silence now by deleting it. A silence that does not
// exist, or has ended by now, is incident.ErrNotFound.
func (db *DB) DeleteSilence(ctx context.Context, id string, now time.Time) error {
	res, err := db.sql.ExecContext(ctx, `DELETE FROM silences WHERE id = ? AND ends_at > ?`, id, msOf(now))
	if err != nil {
		return fmt.Errorf("delete silence %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("silence %s: %w", id, incident.ErrNotFound)
	}
	return nil
}

// UnannouncedIncidents returns the open target incidents that have no
// outbox row for their DOWN (key "<id>:down"): DOWNs that a cover (a
// maintenance window or a silence) held when pollerd stopped. Delivered
// rows of open incidents are kept by retention (pruneOutbox), so an old
// outage whose DOWN went out is never taken for one that was held.
func (db *DB) UnannouncedIncidents(ctx context.Context) ([]incident.Incident, error) {
	out, err := queryIncidents(ctx, db.sql, `
		WHERE closed_at IS NULL AND kind = ?
		AND NOT EXISTS (SELECT 1 FROM outbox WHERE outbox.key = CAST(incidents.id AS TEXT) || ':down')
		ORDER BY id`, incident.KindTarget)
	if err != nil {
		return nil, fmt.Errorf("unannounced incidents: %w", err)
	}
	return out, nil
}

// UnannouncedGroupIncidents returns the open group incidents (kind
// "group") that have no outbox row for their grouped DOWN (key
// "<id>:down"): grouped DOWNs that a cover held when pollerd stopped. The
// group stage composes them again at start.
func (db *DB) UnannouncedGroupIncidents(ctx context.Context) ([]incident.Incident, error) {
	out, err := queryIncidents(ctx, db.sql, `
		WHERE closed_at IS NULL AND kind = ?
		AND NOT EXISTS (SELECT 1 FROM outbox WHERE outbox.key = CAST(incidents.id AS TEXT) || ':down')
		ORDER BY id`, incident.KindGroup)
	if err != nil {
		return nil, fmt.Errorf("unannounced group incidents: %w", err)
	}
	return out, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
