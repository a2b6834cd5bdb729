package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pollerd/pollerd/internal/incident"
)

// This file holds the reads for the monitor's start and the status API, and
// retention. Reads see flushed data only: they may lag Record by one flush.

// TargetRecords returns every target's persisted state and counters by name,
// for the monitor to resume from at start.
func (db *DB) TargetRecords(ctx context.Context) (map[string]TargetRecord, error) {
	recs, err := targetRecords(ctx, db.sql)
	if err != nil {
		return nil, fmt.Errorf("target records: %w", err)
	}
	m := make(map[string]TargetRecord, len(recs))
	for _, r := range recs {
		m[r.Name] = r
	}
	return m, nil
}

func targetRecords(ctx context.Context, q querier) ([]TargetRecord, error) {
	rows, err := q.QueryContext(ctx, `
		SELECT name, state, since, failures, successes, updated_at FROM target_state ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TargetRecord
	for rows.Next() {
		var r TargetRecord
		var since, updated int64
		if err := rows.Scan(&r.Name, &r.State, &since, &r.Failures, &r.Successes, &updated); err != nil {
			return nil, err
		}
		r.Since, r.UpdatedAt = timeOf(since), timeOf(updated)
		out = append(out, r)
	}
	return out, rows.Err()
}

// UptimeOf is one target's uptime over a span: the share of probes that
// passed, and how many probes it rests on.
type UptimeOf struct {
	Ratio  float64
	Probes int64
}

// UptimeAll is Uptime for every target at once, in one query: the status
// API asks for thousands of targets. Targets with no probes are absent.
func (db *DB) UptimeAll(ctx context.Context, since time.Time) (map[string]UptimeOf, error) {
	rows, err := db.sql.QueryContext(ctx, `
		SELECT target, SUM(probes), SUM(failures) FROM history
		WHERE minute >= ? GROUP BY target`, unixMinute(since))
	if err != nil {
		return nil, fmt.Errorf("uptime: %w", err)
	}
	defer rows.Close()
	out := make(map[string]UptimeOf)
	for rows.Next() {
		var name string
		var probes, failures int64
		if err := rows.Scan(&name, &probes, &failures); err != nil {
			return nil, fmt.Errorf("uptime: %w", err)
		}
		if probes > 0 {
			out[name] = UptimeOf{Ratio: 1 - float64(failures)/float64(probes), Probes: probes}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("uptime: %w", err)
	}
	return out, nil
}

// RecentIncidents returns up to limit incidents, open or closed, newest
// first.
func (db *DB) RecentIncidents(ctx context.Context, limit int) ([]incident.Incident, error) {
	if limit <= 0 {
		return nil, nil
	}
	incs, err := queryIncidents(ctx, db.sql, `ORDER BY opened_at DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("recent incidents: %w", err)
	}
	return incs, nil
}

// DeliveryCounts returns how many deliveries are pending and how many
// failed permanently.
func (db *DB) DeliveryCounts(ctx context.Context) (pending, failed int, err error) {
	err = db.sql.QueryRowContext(ctx, `
		SELECT COALESCE(SUM(status = 'pending'), 0), COALESCE(SUM(status = 'failed'), 0) FROM outbox`).
		Scan(&pending, &failed)
	if err != nil {
		return 0, 0, fmt.Errorf("delivery counts: %w", err)
	}
	return pending, failed, nil
}

// Prune deletes history buckets for minutes before before, and delivered
// outbox rows delivered before it, and returns how many rows went. Pending
// and failed deliveries are never pruned: they still matter.
//
// History has no index on minute alone (it would nearly double its size),
// so Prune walks the targets through the primary key, one seek per target,
// and deletes each target's old range in its own short transaction, leaving
// the write lock free in between for Commit and Flush.
func (db *DB) Prune(ctx context.Context, before time.Time) (int64, error) {
	cutoff := unixMinute(before)
	var total int64
	target := ""
	for {
		var next string
		err := db.sql.QueryRowContext(ctx,
			`SELECT target FROM history WHERE target > ? ORDER BY target LIMIT 1`, target).Scan(&next)
		if errors.Is(err, sql.ErrNoRows) {
			break
		}
		if err != nil {
			return total, fmt.Errorf("prune history: %w", err)
		}
		res, err := db.sql.ExecContext(ctx, `DELETE FROM history WHERE target = ? AND minute < ?`, next, cutoff)
		if err != nil {
			return total, fmt.Errorf("prune history %s: %w", next, err)
		}
		n, _ := res.RowsAffected()
		total += n
		target = next
	}
	res, err := db.sql.ExecContext(ctx,
		`DELETE FROM outbox WHERE status = 'delivered' AND delivered_at < ?`, msOf(before))
	if err != nil {
		return total, fmt.Errorf("prune outbox: %w", err)
	}
	n, _ := res.RowsAffected()
	return total + n, nil
}
