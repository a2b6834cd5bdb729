package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
)

// History has three resolutions: table history holds one row per target
// and minute for the last MinuteHistory (48 h), history_hourly one row per
// target and hour, and history_daily one row per target and day, both for
// the retention. A flush writes minute rows only (see writeRecords). Run's
// pass closes what has ended: once no minute of an hour H can still be
// written (hourCloseDelay after it ends, and none of its minutes buffered),
// it sums H's minute rows into hour rows for every target, overwriting, and
// advances the watermark hours_done (table history_marks) to H+1 in the
// same transaction; once hours_done has passed a day D, it sums D's hour
// rows into day rows and advances days_done to D+1 (see marks.go). So:
//
//   - every hour before hours_done has hour rows holding exactly its
//     minutes' probes, and every day before days_done day rows holding
//     exactly its hours' (days_done*24 <= hours_done);
//   - minute rows at or after hours_done*60 are never deleted, and rows of
//     hours and days at or after the watermarks are ignored by readers (a
//     copy-up era row there is overwritten before the watermark passes it).
//
// A reader reads the watermarks in its snapshot and adds up a disjoint
// cover of its span: minutes up to the first hour boundary, hours up to the
// first day boundary, days up to days_done, hours up to hours_done, and the
// minutes (written and buffered) from there (see coverAfter, DailyUptime),
// counting each probe once, whatever the pass has done.
//
// Rollup deletes minute rows older than MinuteHistory whose hours are
// closed. Retention deletes minute (of closed hours only) and hour rows
// before the cutoff, and day rows of days entirely before it (the day
// containing the cutoff stays whole).
//
// Size, at a probe every 10 s (see BenchmarkHistoryGrowth): 48 h of minutes
// plus 90 days of hours and 90 days of days is 2,880 + 2,160 + 90 rows per
// target, about 5,100 rows of 30-odd bytes (158 kB per target packed at 90
// days, 193 kB in the live file, as measured with copy-up, which had the
// same rows), against 129,600 minute rows with no rollup.
//
// Closing, rollup and retention run in the store's background loop (Run) as
// one pass an hour (hourCloseDelay after the hour), first closing hours and
// days one unit and maintTxTargets targets a transaction, then walking the
// targets in primary-key order for the deletions. A pass is cut into
// transactions of at most maintTxRows rows, and Run gives it at most
// maintSlice of work between two flushes, so neither Flush nor Commit waits
// long for the write lock, and a pass after a long downtime spreads over as
// many ticks as it needs.

// MinuteHistory is how long history keeps minute buckets before Run deletes
// them (once their hours are closed: their hour and day buckets hold them).
const MinuteHistory = 48 * time.Hour

const (
	// maintChunkMinutes bounds one statement's range of minute rows for one
	// target: a day of them.
	maintChunkMinutes = 24 * 60
	// maintTxRows and maintTxTargets bound one maintenance transaction.
	maintTxRows    = 4096
	maintTxTargets = 256
	// maintSlice is how much maintenance work Run does between two flushes.
	maintSlice = 100 * time.Millisecond
)

// maintPass is one walk of rollup and retention over every target.
type maintPass struct {
	rollupBefore int64 // unix minute, on an hour: minute rows before it are deleted; 0: no rollup
	pruneMinute  int64 // unix minute: history before it is deleted; 0: no pruning
	pruneBefore  time.Time
	cursor       string // every target up to and including it is done
	rolledUp     int64  // minute rows within the retention deleted by the rollup (their hours hold them)
	pruned       int64  // rows deleted by retention, of any table
	closed       bool   // closing hours and days is done for this pass
	minuteLimit  int64  // hours_done*60 as this transaction read it: no minute at or after it goes

	// The closing's cursors: targets up to the cursor have their row for
	// the unit (hourOf, dayOf) summed; "" for none.
	hourCursor, dayCursor string
	hourOf, dayOf         int64
}

func newPass(rollupBefore, pruneBefore time.Time) *maintPass {
	p := &maintPass{pruneBefore: pruneBefore}
	if !rollupBefore.IsZero() {
		p.rollupBefore = unixHour(rollupBefore) * 60
	}
	if !pruneBefore.IsZero() {
		p.pruneMinute = unixMinute(pruneBefore)
	}
	return p
}

func unixHour(t time.Time) int64 { return t.Unix() / 3600 }

// Rollup closes the hours and days that have ended (see above), then
// deletes every minute bucket that lies in a closed hour before the hour
// containing before (their hour and day buckets hold them), and returns how
// many minute rows it deleted. Run does this on its own for
// minutes older than MinuteHistory; this is for tools and tests. A before
// later than MinuteHistory ago is taken as MinuteHistory ago: UptimeAll reads
// minute rows over that span.
func (db *DB) Rollup(ctx context.Context, before time.Time) (int64, error) {
	if limit := db.now().Add(-MinuteHistory); before.After(limit) {
		before = limit
	}
	p := newPass(before, time.Time{})
	if err := db.runPass(ctx, p, 0); err != nil {
		return p.rolledUp, fmt.Errorf("rollup history: %w", err)
	}
	return p.rolledUp, nil
}

// Prune closes the hours and days that have ended, then deletes history
// buckets before before (minute buckets of closed hours for earlier
// minutes, hour buckets for earlier hours, day buckets for earlier days: the
// bucket containing before is kept), and delivered outbox rows delivered before it, and returns how many
// rows went. Pending and failed deliveries are never pruned: they still
// matter.
//
// History has no index on time alone (it would nearly double its size), so
// Prune walks the targets through the primary keys, in short transactions
// that leave the write lock free in between for Commit and Flush.
func (db *DB) Prune(ctx context.Context, before time.Time) (int64, error) {
	p := newPass(time.Time{}, before)
	if err := db.runPass(ctx, p, 0); err != nil {
		return p.pruned, fmt.Errorf("prune history: %w", err)
	}
	n, err := db.pruneOutbox(ctx, before)
	return p.pruned + n, err
}

func (db *DB) pruneOutbox(ctx context.Context, before time.Time) (int64, error) {
	res, err := db.sql.ExecContext(ctx,
		// Rows of open incidents stay: UnannouncedIncidents reads a DOWN's
		// row as "announced", however long the outage lasts.
		`DELETE FROM outbox WHERE status = 'delivered' AND delivered_at < ?
			AND incident_id NOT IN (SELECT id FROM incidents WHERE closed_at IS NULL)`, msOf(before))
	if err != nil {
		return 0, fmt.Errorf("prune outbox: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// runPass works on p in transactions until p is done (nil) or, with a
// positive budget, until budget has passed (errPassPaused).
func (db *DB) runPass(ctx context.Context, p *maintPass, budget time.Duration) error {
	start := time.Now()
	for !p.closed {
		done, err := db.closeStep(ctx, p)
		if err != nil {
			return err
		}
		p.closed = done
		if !done && budget > 0 && time.Since(start) >= budget {
			return errPassPaused
		}
	}
	for {
		done, err := db.maintTx(ctx, p)
		if err != nil || done {
			return err
		}
		if budget > 0 && time.Since(start) >= budget {
			return errPassPaused
		}
	}
}

// errPassPaused means a pass ran out of its time slice; the next slice
// carries on from its cursor.
var errPassPaused = errors.New("maintenance pass paused")

// maintTx does one bounded transaction of p and reports whether p is done.
// p changes only when the transaction commits.
func (db *DB) maintTx(ctx context.Context, p *maintPass) (done bool, err error) {
	next := *p
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		hw, _, err := historyMarks(ctx, tx)
		if err != nil {
			return err
		}
		next.minuteLimit = hw * 60
		rows := 0
		for visited := 0; rows < maintTxRows && visited < maintTxTargets; visited++ {
			target, ok, err := nextHistoryTarget(ctx, tx, next.cursor)
			if err != nil {
				return err
			}
			if !ok {
				done = true
				return nil
			}
			n, finished, err := maintainTarget(ctx, tx, target, &next, maintTxRows-rows)
			if err != nil {
				return fmt.Errorf("%s: %w", target, err)
			}
			rows += n
			if !finished {
				return nil // the next transaction picks this target up again
			}
			next.cursor = target
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	*p = next
	return done, nil
}

// nextHistoryTarget returns the first target after cursor that has rows in
// any history table: one seek in each primary key.
func nextHistoryTarget(ctx context.Context, tx *sql.Tx, cursor string) (string, bool, error) {
	var next [3]sql.NullString
	if err := tx.QueryRowContext(ctx, `
		SELECT (SELECT target FROM history WHERE target > ?1 ORDER BY target LIMIT 1),
		       (SELECT target FROM history_hourly WHERE target > ?1 ORDER BY target LIMIT 1),
		       (SELECT target FROM history_daily WHERE target > ?1 ORDER BY target LIMIT 1)`,
		cursor).Scan(&next[0], &next[1], &next[2]); err != nil {
		return "", false, err
	}
	var first sql.NullString
	for _, n := range next {
		if n.Valid && (!first.Valid || n.String < first.String) {
			first = n
		}
	}
	return first.String, first.Valid, nil
}

// maintainTarget applies p to one target, touching about budget rows at
// most (a step may pass it by one chunk), and reports the rows touched and
// whether the target is done.
func maintainTarget(ctx context.Context, tx *sql.Tx, target string, p *maintPass, budget int) (int, bool, error) {
	// Minute rows before limit go, but never one of an hour not closed.
	limit := min(max(p.rollupBefore, p.pruneMinute), p.minuteLimit)
	rows := 0
	deleteMinutes := func(from, to int64) (int64, error) {
		if from >= to {
			return 0, nil
		}
		res, err := tx.ExecContext(ctx,
			`DELETE FROM history WHERE target = ? AND minute >= ? AND minute < ?`, target, from, to)
		if err != nil {
			return 0, err
		}
		n, _ := res.RowsAffected()
		rows += int(n)
		return n, nil
	}
	for limit > 0 {
		var first int64
		err := tx.QueryRowContext(ctx,
			`SELECT minute FROM history WHERE target = ? ORDER BY minute LIMIT 1`, target).Scan(&first)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && first >= limit) {
			break
		}
		if err != nil {
			return rows, false, err
		}
		if rows >= budget {
			return rows, false, nil
		}
		end := min(limit, first/60*60+maintChunkMinutes)
		// Minutes before the prune limit are pruned; the others are
		// rolled up: deleted too, since their (closed) hours and days hold
		// them.
		mid := min(max(p.pruneMinute, first), end)
		n, err := deleteMinutes(first, mid)
		if err != nil {
			return rows, false, err
		}
		p.pruned += n
		if n, err = deleteMinutes(mid, end); err != nil {
			return rows, false, err
		}
		p.rolledUp += n
	}
	if p.pruneMinute > 0 {
		// At most retention's worth of rows, and usually one per table.
		for _, q := range []struct {
			sql    string
			before int64
		}{
			{`DELETE FROM history_hourly WHERE target = ? AND hour < ?`, floorDiv(p.pruneMinute, 60)},
			{`DELETE FROM history_daily WHERE target = ? AND day < ?`, floorDiv(p.pruneMinute, 1440)},
		} {
			res, err := tx.ExecContext(ctx, q.sql, target, q.before)
			if err != nil {
				return rows, false, err
			}
			n, _ := res.RowsAffected()
			rows += int(n)
			p.pruned += n
		}
	}
	return rows, true, nil
}

// maintainer drives the hourly pass from Run: it starts a pass when one is
// due (hourCloseDelay after each hour's end) and gives it a slice of work per call.
type maintainer struct {
	db   *DB
	pass *maintPass
	// started is when the current pass began, for its log line.
	started time.Time
	// next is when the next pass is due: hourCloseDelay after the end of
	// the hour the current one started in.
	next time.Time
}

// due starts a pass unless one is under way, and sets when the next is due.
func (m *maintainer) due() {
	now := m.db.now()
	m.next = now.Add(-hourCloseDelay).Truncate(time.Hour).Add(time.Hour + hourCloseDelay)
	if m.pass != nil {
		return
	}
	m.pass = newPass(now.Add(-MinuteHistory), now.Add(-m.db.opts.Retention))
	m.started = time.Now()
}

// slice does up to maintSlice of the current pass, if any; at its end it
// prunes the outbox and logs what the pass did.
func (m *maintainer) slice(ctx context.Context) {
	if m.pass == nil {
		return
	}
	err := m.db.runPass(ctx, m.pass, maintSlice)
	if errors.Is(err, errPassPaused) {
		return
	}
	p := m.pass
	m.pass = nil
	if err != nil {
		if ctx.Err() == nil {
			m.db.log.Warn("history rollup and retention failed; retrying next hour", zap.Error(err))
		}
		return
	}
	n, err := m.db.pruneOutbox(ctx, p.pruneBefore)
	if err != nil && ctx.Err() == nil {
		m.db.log.Warn("prune failed", zap.Error(err))
	}
	if p.rolledUp > 0 || p.pruned+n > 0 {
		m.db.log.Debug("history rolled up and pruned",
			zap.Int64("minutes_dropped", p.rolledUp), zap.Int64("rows_pruned", p.pruned+n),
			zap.Time("pruned_before", p.pruneBefore), zap.Duration("took", time.Since(m.started)))
	}
}
