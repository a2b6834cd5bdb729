package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/pollerd/pollerd/internal/incident"
)

// This file holds what the alert engine needs (alert.Store): a transition's
// writes in one transaction, the state to resume from, and delivery outcomes.

// Commit writes c in one transaction: target states are upserted (state and
// since only; the probe counters belong to Flush), incidents are upserted by
// ID (an empty MessageRef keeps the stored one: the engine does not know the
// ref a channel set with SetMessageRef), certificate notices are upserted by
// target, and deliveries are inserted unless their (Key, Channel) exists,
// which makes replaying a Commit harmless. Any failing row rolls back all of
// c.
func (db *DB) Commit(ctx context.Context, c incident.Change) error {
	now := msOf(db.now())
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		for _, t := range c.Targets {
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO target_state (name, state, since, updated_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (name) DO UPDATE SET state = excluded.state, since = excluded.since`,
				t.Name, t.State, msOf(t.Since), now); err != nil {
				return fmt.Errorf("target %s: %w", t.Name, err)
			}
		}
		for _, inc := range c.Incidents {
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO incidents (id, kind, subject, opened_at, closed_at, cause, reports, message_ref)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, subject = excluded.subject,
					opened_at = excluded.opened_at, closed_at = excluded.closed_at, cause = excluded.cause,
					reports = excluded.reports,
					message_ref = COALESCE(NULLIF(excluded.message_ref, ''), incidents.message_ref)`,
				inc.ID, inc.Kind, inc.Subject, msOf(inc.OpenedAt), nullMsOf(inc.ClosedAt),
				inc.Cause, inc.Reports, inc.MessageRef); err != nil {
				return fmt.Errorf("incident %d: %w", inc.ID, err)
			}
		}
		for _, n := range c.Certs {
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO cert_notices (target, not_after, threshold_ms, noticed_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (target) DO UPDATE SET not_after = excluded.not_after,
					threshold_ms = excluded.threshold_ms, noticed_at = excluded.noticed_at`,
				n.Target, msOf(n.NotAfter), n.Threshold.Milliseconds(), msOf(n.At)); err != nil {
				return fmt.Errorf("cert notice of %s: %w", n.Target, err)
			}
		}
		for _, d := range c.Deliveries {
			status := d.Status
			if status == "" {
				status = incident.DeliveryPending
			}
			created := msOf(d.CreatedAt)
			if created == 0 {
				created = now
			}
			payload := d.Payload
			if payload == nil {
				payload = []byte{}
			}
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO outbox (key, channel, incident_id, payload, status, attempts, next_at,
					last_error, created_at, delivered_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (key, channel) DO NOTHING`,
				d.Key, d.Channel, d.IncidentID, payload, status, d.Attempts, msOf(d.NextAt),
				d.LastError, created, nullMsOf(d.DeliveredAt)); err != nil {
				return fmt.Errorf("delivery %q to %s: %w", d.Key, d.Channel, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Load returns the engine's durable state: every target state, the open
// incidents, the pending deliveries oldest first, the number of failed
// deliveries and the highest incident ID (so new IDs never collide).
func (db *DB) Load(ctx context.Context) (incident.Snapshot, error) {
	var s incident.Snapshot
	err := db.inReadTx(ctx, func(tx *sql.Tx) error {
		recs, err := targetRecords(ctx, tx)
		if err != nil {
			return err
		}
		for _, r := range recs {
			s.Targets = append(s.Targets, incident.TargetState{Name: r.Name, State: r.State, Since: r.Since})
		}
		if s.OpenIncidents, err = queryIncidents(ctx, tx,
			`WHERE closed_at IS NULL ORDER BY id`); err != nil {
			return err
		}
		if s.Pending, err = queryDeliveries(ctx, tx,
			`WHERE status = 'pending' ORDER BY created_at, id`); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx,
			`SELECT COUNT(*) FROM outbox WHERE status = 'failed'`).Scan(&s.Failed); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx,
			`SELECT COALESCE(MAX(id), 0) FROM incidents`).Scan(&s.MaxIncidentID)
	})
	if err != nil {
		return incident.Snapshot{}, fmt.Errorf("load: %w", err)
	}
	return s, nil
}

// UpdateDelivery records an attempt's outcome on the delivery identified by
// (Key, Channel), which is unique: status, attempts, next try, last error and
// delivered-at. The other fields are fixed at insert and ignored here. The
// engine names rows by key because it queues them before their insert has
// returned an ID (or while the disk refuses the insert).
func (db *DB) UpdateDelivery(ctx context.Context, d incident.Delivery) error {
	res, err := db.sql.ExecContext(ctx, `
		UPDATE outbox SET status = ?, attempts = ?, next_at = ?, last_error = ?, delivered_at = ?
		WHERE key = ? AND channel = ?`,
		d.Status, d.Attempts, msOf(d.NextAt), d.LastError, nullMsOf(d.DeliveredAt), d.Key, d.Channel)
	if err != nil {
		return fmt.Errorf("update delivery %s/%s: %w", d.Key, d.Channel, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("update delivery %s/%s: %w", d.Key, d.Channel, err)
	} else if n == 0 {
		return fmt.Errorf("update delivery %s/%s: %w", d.Key, d.Channel, incident.ErrNotFound)
	}
	return nil
}

// inReadTx runs fn in a transaction that is always rolled back: reads that
// must see one consistent state.
func (db *DB) inReadTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.sql.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	return fn(tx)
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryStrings runs a query of one text column and returns its values.
func queryStrings(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func queryIncidents(ctx context.Context, q querier, where string, args ...any) ([]incident.Incident, error) {
	rows, err := q.QueryContext(ctx, `
		SELECT id, kind, subject, opened_at, COALESCE(closed_at, 0), cause, reports, message_ref
		FROM incidents `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []incident.Incident
	for rows.Next() {
		var inc incident.Incident
		var opened, closed int64
		if err := rows.Scan(&inc.ID, &inc.Kind, &inc.Subject, &opened, &closed,
			&inc.Cause, &inc.Reports, &inc.MessageRef); err != nil {
			return nil, err
		}
		inc.OpenedAt, inc.ClosedAt = timeOf(opened), timeOf(closed)
		out = append(out, inc)
	}
	return out, rows.Err()
}

func queryDeliveries(ctx context.Context, q querier, where string, args ...any) ([]incident.Delivery, error) {
	rows, err := q.QueryContext(ctx, `
		SELECT id, key, channel, incident_id, payload, status, attempts, next_at, last_error,
			created_at, COALESCE(delivered_at, 0)
		FROM outbox `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []incident.Delivery
	for rows.Next() {
		var d incident.Delivery
		var next, created, delivered int64
		if err := rows.Scan(&d.ID, &d.Key, &d.Channel, &d.IncidentID, &d.Payload, &d.Status,
			&d.Attempts, &next, &d.LastError, &created, &delivered); err != nil {
			return nil, err
		}
		d.NextAt, d.CreatedAt, d.DeliveredAt = timeOf(next), timeOf(created), timeOf(delivered)
		out = append(out, d)
	}
	return out, rows.Err()
}
