package store

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
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
// are gone; its hour bucket counts whole). It reads a disjoint cover (see
// coverAfter): the minutes up to the first hour boundary, then the closed
// hours and days (up to the watermarks, see rollup.go), then the minutes
// after the last closed hour, plus the buffered buckets of those minutes.
// That is at most 59 + 23 + 23 rows per target, a row per closed day, and
// the minutes since the last closed hour (about an hour's).
func (db *DB) UptimeAll(ctx context.Context, since time.Time) (map[string]UptimeOf, error) {
	sums := make(map[string]DayCounts)
	add := func(name string, _, probes, failures int64) {
		s := sums[name]
		s.Probes += probes
		s.Failures += failures
		sums[name] = s
	}
	from, hs := uptimeStart(unixMinute(since), db.now())
	cover := func(hw, dw int64) []historySpan { return coverAfter(from, hs, hw, dw) }
	if err := db.readHistory(ctx, from, cover, 0, add); err != nil {
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

// uptimeStart returns where UptimeAll reads from the unix minute m on at
// now: the unix minute from (m when minute rows for m are still kept, else
// the start of m's hour) and the first hour hs it may read whole (the first
// hour boundary at or after from).
//
// Run's pass at a time p deletes the minutes before the hour of
// p-MinuteHistory (and only those of closed hours), and p is not after now,
// so the minutes from the hour of now-MinuteHistory on are all kept.
func uptimeStart(m int64, now time.Time) (from, hs int64) {
	from = m
	hs = floorDiv(m+59, 60)
	if m < unixHour(now.Add(-MinuteHistory))*60 {
		hs = floorDiv(m, 60)
		from = hs * 60
	}
	return from, hs
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
// the span are absent. This is what the status page's 90-day bars read: a
// day row per target and closed day (before the watermark days_done), the
// hour rows of the closed hours after it, the minute rows after those, and
// the buffered buckets.
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
	end := first + int64(days)
	cover := func(hw, dw int64) []historySpan {
		return []historySpan{
			{"history_daily", "day", 1440, first, min(dw, end)},
			{"history_hourly", "hour", 60, max(first, dw) * 24, min(hw, end*24)},
			{"history", "minute", 1, max(first*1440, hw*60), end * 1440},
		}
	}
	if err := db.readHistory(ctx, first*1440, cover, 1440, add); err != nil {
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
// taken by its first read and kept to its end), reads the watermarks in it,
// and copies the buffered buckets it needs; then it releases flushMu, so
// flushes go on while it does its long reads on that snapshot. A bucket a
// later flush writes is in the copy and not in the snapshot; one an earlier
// flush wrote is in the snapshot and no longer in the buffer.
//
// cover gives the spans to read for the watermarks of the snapshot (see
// rollup.go). The buffered buckets are in no table yet; each counts once,
// as the flush will write it: a bucket from hours_done on goes to its minute
// row only, which the cover reads from hours_done*60 on (or, before the
// first hour boundary, from from on); a bucket of a closed hour (the pass
// closes an hour only when none of its minutes is buffered, so only a probe
// recorded after its hour closed) goes to its minute row and its hour row,
// and its day row if that day is closed: whichever of them the cover reads
// for its minute.
func (db *DB) readHistory(ctx context.Context, from int64, cover func(hw, dw int64) []historySpan,
	groupMinutes int64, fn func(name string, group, probes, failures int64)) error {
	tx, hw, dw, pending, err := db.historySnapshot(ctx, from)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	spans := cover(hw, dw)
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
// returns it with the watermarks it sees and the buffered buckets from the
// minute from on, all taken
// with no flush between its take and its commit (see readHistory).
func (db *DB) historySnapshot(ctx context.Context, from int64) (tx *sql.Tx, hw, dw int64, pending []takenBucket, err error) {
	db.flushMu.Lock()
	defer db.flushMu.Unlock()
	tx, err = db.sql.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, 0, nil, err
	}
	// BEGIN is deferred: the snapshot is taken by the first statement that
	// reads a table, not by BEGIN (nor by a SELECT without one); this one
	// reads the watermarks in it.
	if hw, dw, err = historyMarks(ctx, tx); err != nil {
		tx.Rollback() //nolint:errcheck // read-only
		return nil, 0, 0, nil, err
	}
	return tx, hw, dw, db.buf.pendingFrom(from, nil), nil
}

// historySpan is one table's part of a read: the rows with lo <= col < hi.
type historySpan struct {
	table, col string
	minutes    int64 // minutes per unit of col
	lo, hi     int64 // in units of col
}

// maxSplit bounds the groups of one span that sumHistory reads as one part
// each.
const maxSplit = 120

// sumHistory adds up each target's rows in spans (which must not overlap in
// time: a probe is in its minute row and, once closed, its hour and day
// rows), per group of groupMinutes (a multiple of every span's minutes; 0
// for one group), and calls fn per target and part of a group (group is
// unix minute / groupMinutes, or 0): fn adds up what it is given.
//
// Run it in one read transaction, so that a flush or a pass committing
// midway is wholly seen or wholly not.
//
// History has no index on time alone, so it walks the distinct targets
// through the primary keys of the tables it reads (one seek per target and
// table: a target may have minute rows only, until its first hour closes,
// or day rows only) and sums each target's spans with one query, a range
// seek per span and group, rather than scanning every row ever kept. (One
// joined query grouping all targets at once was 4× slower: SQLite sorted
// every row into a temporary b-tree. Grouping each target's rows of all
// spans with GROUP BY sorted them too: at 10k targets over 90 days it took
// 1.0 s for a 24 h uptime and 3.0 s for the daily bars, against 0.54 and
// 1.35 s with one aggregate per span and group.)
func sumHistory(ctx context.Context, q *sql.Tx, spans []historySpan, groupMinutes int64,
	fn func(name string, group, probes, failures int64)) error {
	var parts []string
	var args []any
	arg := func(lo, hi int64) (int, int) {
		args = append(args, lo, hi)
		return len(args), len(args) + 1 // ?1 is the target
	}
	for _, s := range spans {
		if s.lo >= s.hi {
			continue
		}
		if groupMinutes > 0 && s.minutes == groupMinutes {
			// Its rows are the groups: read as they are.
			a, b := arg(s.lo, s.hi)
			parts = append(parts, fmt.Sprintf(`SELECT %[1]s, probes, failures FROM %[2]s
				WHERE target = ?1 AND %[1]s >= ?%[3]d AND %[1]s < ?%[4]d`, s.col, s.table, a, b))
			continue
		}
		if groupMinutes > 0 && floorDiv((s.hi-1)*s.minutes, groupMinutes)-floorDiv(s.lo*s.minutes, groupMinutes) >= maxSplit {
			// Too many groups for one part each (a compound SELECT
			// has at most 500 terms): grouped by SQLite.
			a, b := arg(s.lo, s.hi)
			parts = append(parts, fmt.Sprintf(`SELECT * FROM (SELECT %[1]s * %[2]d / %[3]d AS g, SUM(probes), SUM(failures)
				FROM %[4]s WHERE target = ?1 AND %[1]s >= ?%[5]d AND %[1]s < ?%[6]d GROUP BY g)`,
				s.col, s.minutes, groupMinutes, s.table, a, b))
			continue
		}
		// Summed in SQL, one row per group: the span is cut at the group
		// boundaries, so that each part is one aggregate of a range seek
		// with no GROUP BY (which would sort every target's rows).
		for lo := s.lo; lo < s.hi; {
			hi, g := s.hi, int64(0)
			if groupMinutes > 0 {
				g = floorDiv(lo*s.minutes, groupMinutes)
				hi = min(hi, (g+1)*groupMinutes/s.minutes)
			}
			a, b := arg(lo, hi)
			parts = append(parts, fmt.Sprintf(`SELECT %[1]d, COALESCE(SUM(probes), 0), COALESCE(SUM(failures), 0)
				FROM %[2]s WHERE target = ?1 AND %[3]s >= ?%[4]d AND %[3]s < ?%[5]d`, g, s.table, s.col, a, b))
			lo = hi
		}
	}
	if len(parts) == 0 {
		return nil
	}
	names, err := spanTargets(ctx, q, spans)
	if err != nil {
		return err
	}
	// fn adds up what it is given, so the parts need no grouping across
	// them.
	query := strings.Join(parts, "\nUNION ALL ")
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

// spanTargets lists, in order, the targets with rows in any table of the
// non-empty spans.
func spanTargets(ctx context.Context, q querier, spans []historySpan) ([]string, error) {
	tables := map[string]bool{}
	names := map[string]struct{}{}
	for _, s := range spans {
		if s.lo >= s.hi || tables[s.table] {
			continue
		}
		tables[s.table] = true
		ns, err := distinctTargets(ctx, q, s.table)
		if err != nil {
			return nil, err
		}
		for _, n := range ns {
			names[n] = struct{}{}
		}
	}
	return slices.Sorted(maps.Keys(names)), nil
}

// distinctTargets lists the targets with rows in a history table, one seek
// per target through the primary key.
func distinctTargets(ctx context.Context, q querier, table string) ([]string, error) {
	return targetsAfter(ctx, q, table, "", 0)
}

// targetsAfter lists, in order, the targets after the name after with rows
// in a history table, at most limit of them (0: all), one seek per target
// through the primary key.
func targetsAfter(ctx context.Context, q querier, table, after string, limit int) ([]string, error) {
	return queryStrings(ctx, q, `
		WITH RECURSIVE names(name, n) AS (
			SELECT (SELECT MIN(target) FROM `+table+` WHERE target > ?1), 1
			UNION ALL
			SELECT (SELECT MIN(target) FROM `+table+` WHERE target > names.name), n + 1
			FROM names WHERE names.name IS NOT NULL AND (?2 = 0 OR n < ?2)
		)
		SELECT name FROM names WHERE name IS NOT NULL`, after, limit)
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
