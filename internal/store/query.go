package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/pollerd/pollerd/internal/incident"
)

// This file holds the reads for the monitor's start and the status API, and
// retention. The history reads (UptimeAll, DailyUptime) count the buffered,
// not yet written buckets too, so they never lag Record. TargetRecords reads
// the written rows only: the counters in them may lag (see record.go); the
// monitor reads them once, at start, before it records anything.

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

// UptimeAll is Uptime for every target at once: the status API asks for
// thousands of targets. Targets with no probes are absent. A bucket counts
// when it contains or follows since: minute buckets for the last
// MinuteHistory, hour buckets before (so a since older than that counts from
// the start of its hour). Rollup moves probes from minutes to hours without
// copying, so the sum is the same before and after it.
func (db *DB) UptimeAll(ctx context.Context, since time.Time) (map[string]UptimeOf, error) {
	sums := make(map[string]DayCounts)
	add := func(name string, _, probes, failures int64) {
		s := sums[name]
		s.Probes += probes
		s.Failures += failures
		sums[name] = s
	}
	if err := db.readHistory(ctx, unixMinute(since), 0, add); err != nil {
		return nil, fmt.Errorf("uptime: %w", err)
	}
	out := make(map[string]UptimeOf, len(sums))
	for name, s := range sums {
		if s.Probes > 0 {
			out[name] = UptimeOf{Ratio: 1 - float64(s.Failures)/float64(s.Probes), Probes: s.Probes}
		}
	}
	return out, nil
}

// DayCounts is one target's probes and failures on one UTC day. It is an
// alias of an unnamed struct so that readers which declare the same shape
// (web.Day) take the store's answer as it is.
type DayCounts = struct {
	Probes, Failures int64
}

// DailyUptime returns per target its probes and failures on each of the
// last days UTC days, up to and including now's (so far): entry i is the
// day that starts days-1-i days before the start of now's day, so the last
// entry is today. Days without probes are zero; targets with no probes in
// the span are absent. This is what the status page's 90-day bars read: day
// boundaries fall on hour boundaries, so it reads the same numbers whether
// a day's probes sit in minute or in hour buckets.
func (db *DB) DailyUptime(ctx context.Context, days int, now time.Time) (map[string][]DayCounts, error) {
	if days <= 0 {
		return nil, nil
	}
	first := floorDiv(now.Unix(), 86400) - int64(days-1) // unix day
	out := make(map[string][]DayCounts)
	add := func(name string, day, probes, failures int64) {
		i := day - first
		if i < 0 || i >= int64(days) {
			return // after now: not asked for
		}
		d := out[name]
		if d == nil {
			d = make([]DayCounts, days)
			out[name] = d
		}
		d[i].Probes += probes
		d[i].Failures += failures
	}
	if err := db.readHistory(ctx, first*1440, 1440, add); err != nil {
		return nil, fmt.Errorf("daily uptime: %w", err)
	}
	return out, nil
}

// readHistory is sumHistory over the written history plus the buffered
// buckets, on one cut: every probe recorded before the cut is counted once,
// whether it was written, buffered, or taken by a flush under way.
//
// A flush holds flushMu from taking its records out of the buffer to its
// commit. So under flushMu readHistory begins its read transaction and fixes
// its snapshot (the database is in WAL mode: a read transaction's snapshot is
// taken by its first read and kept to its end) and copies the buffered
// buckets it needs; then it releases flushMu, so flushes go on while it does
// its long reads on that snapshot. A bucket a later flush writes is in the
// copy and not in the snapshot; one an earlier flush wrote is in the
// snapshot and no longer in the buffer.
//
// The buffered buckets count from the minute from on, as the minute rows do
// (a bucket buffered past MinuteHistory, after a long write outage, counts
// as a minute although its hour may already be rolled up).
func (db *DB) readHistory(ctx context.Context, from, groupMinutes int64,
	fn func(name string, group, probes, failures int64)) error {
	tx, pending, err := db.historySnapshot(ctx, from)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	if err := sumHistory(ctx, tx, from, groupMinutes, fn); err != nil {
		return err
	}
	for _, p := range pending {
		var g int64
		if groupMinutes > 0 {
			g = floorDiv(p.key.minute, groupMinutes)
		}
		fn(p.key.target, g, p.b.probes, p.b.failures)
	}
	return nil
}

// historySnapshot begins a read transaction with its snapshot fixed and
// returns it with the buffered buckets from the minute from on, both taken
// with no flush between its take and its commit (see readHistory).
func (db *DB) historySnapshot(ctx context.Context, from int64) (*sql.Tx, []takenBucket, error) {
	db.flushMu.Lock()
	defer db.flushMu.Unlock()
	tx, err := db.sql.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, nil, err
	}
	// BEGIN is deferred: the snapshot is taken by the first statement that
	// reads a table, not by BEGIN (nor by a SELECT without one).
	var exists bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM history)`).Scan(&exists); err != nil {
		tx.Rollback() //nolint:errcheck // read-only
		return nil, nil, err
	}
	return tx, db.buf.pendingFrom(from, nil), nil
}

// sumHistory adds up each target's history from the unix minute from on,
// per group of groupMinutes (a multiple of 60; 0 for one group), over both
// the minute and the hour buckets, and calls fn per table, target and group
// (group is unix minute / groupMinutes, or 0). An hour bucket counts when
// it contains or follows from.
//
// Run it in one read transaction: a rollup committing between the two
// tables' reads would otherwise move probes from one to the other unseen or
// seen twice.
//
// History has no index on time alone, so it walks the distinct targets
// through the primary key (one seek per target) and sums each target's
// range with another seek, rather than scanning every row ever kept. (One
// joined query grouping all targets at once was 4× slower: SQLite sorted
// every row into a temporary b-tree.)
func sumHistory(ctx context.Context, q querier, from int64, groupMinutes int64,
	fn func(name string, group, probes, failures int64)) error {
	for _, t := range []struct {
		table, col string
		from       int64
		perMinute  int64 // minutes per unit of col
	}{
		{"history", "minute", from, 1},
		{"history_hourly", "hour", floorDiv(from, 60), 60},
	} {
		names, err := distinctTargets(ctx, q, t.table)
		if err != nil {
			return err
		}
		// One range seek per target; its rows are few enough to group
		// (and its group-by sort stays small) per target.
		query := `SELECT 0, SUM(probes), SUM(failures) FROM ` + t.table + `
			WHERE target = ? AND ` + t.col + ` >= ?`
		if groupMinutes > 0 {
			query = fmt.Sprintf(`SELECT %[1]s / %[3]d, SUM(probes), SUM(failures) FROM %[2]s
				WHERE target = ? AND %[1]s >= ? GROUP BY 1`, t.col, t.table, groupMinutes/t.perMinute)
		}
		for _, name := range names {
			rows, err := q.QueryContext(ctx, query, name, t.from)
			if err != nil {
				return err
			}
			for rows.Next() {
				var g int64
				var p, f sql.NullInt64 // NULL: no rows for the target
				if err := rows.Scan(&g, &p, &f); err != nil {
					rows.Close()
					return err
				}
				if p.Int64 > 0 {
					fn(name, g, p.Int64, f.Int64)
				}
			}
			err = rows.Err()
			rows.Close()
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// distinctTargets lists the targets with rows in a history table, one seek
// per target through the primary key.
func distinctTargets(ctx context.Context, q querier, table string) ([]string, error) {
	return queryStrings(ctx, q, `
		WITH RECURSIVE names(name) AS (
			SELECT (SELECT MIN(target) FROM `+table+`)
			UNION ALL
			SELECT (SELECT MIN(target) FROM `+table+` WHERE target > names.name)
			FROM names WHERE names.name IS NOT NULL
		)
		SELECT name FROM names WHERE name IS NOT NULL`)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Uptime is each target's share of passed probes since a time: UptimeAll
// without the probe counts, as the status document shows it.
func (db *DB) Uptime(ctx context.Context, since time.Time) (map[string]float64, error) {
	all, err := db.UptimeAll(ctx, since)
	if err != nil {
		return nil, err
	}
	out := make(map[string]float64, len(all))
	for name, u := range all {
		out[name] = u.Ratio
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
