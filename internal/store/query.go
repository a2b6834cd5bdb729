package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
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
// when it contains or follows since: minute buckets when since is within
// MinuteHistory of now, else from the start of since's hour (the minutes
// are gone; its hour bucket counts whole). Each probe is in its minute, its
// hour and its day bucket (see rollup.go), so it reads one of them per
// probe: the minutes up to the first hour boundary, the hours up to the
// first day boundary, the days after. That is at most 59 + 23 rows per
// target and a row per day, and the sum is the same before and after a
// rollup (which deletes only minutes whose hours hold them).
func (db *DB) UptimeAll(ctx context.Context, since time.Time) (map[string]UptimeOf, error) {
	sums := make(map[string]DayCounts)
	add := func(name string, _, probes, failures int64) {
		s := sums[name]
		s.Probes += probes
		s.Failures += failures
		sums[name] = s
	}
	from, spans := uptimeCover(unixMinute(since), db.now())
	if err := db.readHistory(ctx, from, spans, 0, add); err != nil {
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

// uptimeCover returns the disjoint cover of the history from the unix
// minute m on that UptimeAll reads at now, and the unix minute it starts at:
// m when minute rows for m are still kept, else the start of m's hour.
//
// Run's pass at a time p deletes the minutes before the hour of
// p-MinuteHistory, and p is not after now, so the minutes from the hour of
// now-MinuteHistory on are all kept.
func uptimeCover(m int64, now time.Time) (from int64, spans []historySpan) {
	from = m
	h1 := floorDiv(m+59, 60) // first hour boundary at or after m
	if m < unixHour(now.Add(-MinuteHistory))*60 {
		h1 = floorDiv(m, 60)
		from = h1 * 60
	}
	d1 := floorDiv(h1+23, 24) // first day boundary at or after h1
	return from, []historySpan{
		{"history", "minute", 1, from, h1 * 60},
		{"history_hourly", "hour", 60, h1, d1 * 24},
		{"history_daily", "day", 1440, d1, math.MaxInt64},
	}
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
// the span are absent. This is what the status page's 90-day bars read: one
// day bucket per target and day (each holds every probe of its day, today's
// up to the last flush, plus the buffered ones).
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
	spans := []historySpan{{"history_daily", "day", 1440, first, first + int64(days)}}
	if err := db.readHistory(ctx, first*1440, spans, 1440, add); err != nil {
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
// The buffered buckets count from the minute from on, where spans start:
// they are in no table yet, so they count whatever spans cover them.
func (db *DB) readHistory(ctx context.Context, from int64, spans []historySpan, groupMinutes int64,
	fn func(name string, group, probes, failures int64)) error {
	tx, pending, err := db.historySnapshot(ctx, from)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	if err := sumHistory(ctx, tx, spans, groupMinutes, fn); err != nil {
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

// historySpan is one table's part of a read: the rows with lo <= col < hi.
type historySpan struct {
	table, col string
	minutes    int64 // minutes per unit of col
	lo, hi     int64 // in units of col
}

// sumHistory adds up each target's rows in spans (which must not overlap in
// time: each probe is in every table), per group of groupMinutes (a multiple
// of every span's minutes; 0 for one group), and calls fn per target and
// group (group is unix minute / groupMinutes, or 0).
//
// Run it in one read transaction, so that a flush or a rollup committing
// midway is wholly seen or wholly not.
//
// History has no index on time alone, so it walks the distinct targets
// through history_daily's primary key (one seek per target: every target
// with rows in any table has day rows, which are the last pruned) and sums
// each target's spans with one query, a range seek per table, rather than
// scanning every row ever kept. (One joined query grouping all targets at
// once was 4× slower: SQLite sorted every row into a temporary b-tree.)
func sumHistory(ctx context.Context, q *sql.Tx, spans []historySpan, groupMinutes int64,
	fn func(name string, group, probes, failures int64)) error {
	var parts []string
	var args []any
	var one historySpan // the last span read
	for _, s := range spans {
		if s.lo >= s.hi {
			continue
		}
		one = s
		g := "0"
		if groupMinutes > 0 {
			g = fmt.Sprintf("%s * %d / %d", s.col, s.minutes, groupMinutes)
		}
		parts = append(parts, fmt.Sprintf(`SELECT %[1]s AS g, probes AS p, failures AS f FROM %[2]s
			WHERE target = ?1 AND %[3]s >= ?%[4]d AND %[3]s < ?%[5]d`, g, s.table, s.col, len(args)+2, len(args)+3))
		args = append(args, s.lo, s.hi)
	}
	if len(parts) == 0 {
		return nil
	}
	names, err := distinctTargets(ctx, q, "history_daily")
	if err != nil {
		return err
	}
	// A target's rows are few (at most 59 minutes, 23 hours and a day per
	// day of the span), so grouping them per target stays small. One span
	// whose rows are the groups (DailyUptime's days) needs no grouping: that
	// read takes half the time without it (0.21 → 0.10 s at 1,000 targets).
	query := `SELECT g, SUM(p), SUM(f) FROM (` + strings.Join(parts, "\nUNION ALL ") + `) GROUP BY g`
	if len(parts) == 1 && groupMinutes == one.minutes {
		query = fmt.Sprintf(`SELECT %[1]s, probes, failures FROM %[2]s
			WHERE target = ?1 AND %[1]s >= ?2 AND %[1]s < ?3`, one.col, one.table)
	}
	stmt, err := q.PrepareContext(ctx, query)
	if err != nil {
		return err
	}
	defer stmt.Close()
	args = append([]any{nil}, args...)
	for _, name := range names {
		args[0] = name
		rows, err := stmt.QueryContext(ctx, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var g, p, f int64
			if err := rows.Scan(&g, &p, &f); err != nil {
				rows.Close()
				return err
			}
			if p > 0 {
				fn(name, g, p, f)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
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
