package store

import (
	"context"
	"database/sql"
	"math"
	"time"
)

// Closing hours and days (see rollup.go): the pass sums a closed hour's
// minute rows into hour rows, and a closed day's hour rows into day rows,
// overwriting what is there, and advances the watermark in the same
// transaction. An hour is summed target by target, maintTxTargets targets a
// transaction (one range seek each in history's primary key: history has no
// index on minute alone); the watermark moves only with its last chunk, so
// a pass cut between chunks, or a restart, only redoes work.

// hourCloseDelay is how long after an hour ends the pass waits before it
// sums it: a bucket is written within a minute of its minute's end (its
// offset is under 60 s), and a probe is recorded shortly after its start;
// five minutes leaves room for slow probes and flushes.
const hourCloseDelay = 5 * time.Minute

// historyMarks reads the watermarks: every hour before hw has complete hour
// rows, every day before dw complete day rows. dw*24 <= hw always.
func historyMarks(ctx context.Context, q *sql.Tx) (hw, dw int64, err error) {
	err = q.QueryRowContext(ctx, `
		SELECT (SELECT value FROM history_marks WHERE name = 'hours_done'),
		       (SELECT value FROM history_marks WHERE name = 'days_done')`).Scan(&hw, &dw)
	return hw, dw, err
}

func setMark(ctx context.Context, tx *sql.Tx, name string, v int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE history_marks SET value = ? WHERE name = ?`, v, name)
	return err
}

// closableHour returns the first hour the pass may not sum yet at now: the
// hours before it have ended hourCloseDelay ago, and no minute of theirs is
// buffered. Called under flushMu, so no flush is between its take and its
// commit: every bucket is either written or in the buffer.
func (db *DB) closableHour(now time.Time) int64 {
	limit := floorDiv(now.Add(-hourCloseDelay).Unix(), 3600)
	db.buf.mu.Lock()
	defer db.buf.mu.Unlock()
	for k := range db.buf.buckets {
		limit = min(limit, floorDiv(k.minute, 60))
	}
	return limit
}

// closeStep does one transaction of closing hours, then days, and reports
// whether nothing is left to close. It holds flushMu so that the buffer it
// checks (closableHour) cannot change under its sums by a flush.
func (db *DB) closeStep(ctx context.Context, p *maintPass) (done bool, err error) {
	db.flushMu.Lock()
	defer db.flushMu.Unlock()
	next := *p
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		hw, dw, err := historyMarks(ctx, tx)
		if err != nil {
			return err
		}
		if limit := db.closableHour(db.now()); hw < limit {
			return closeChunk(ctx, tx, &next, hourClose, hw, limit)
		}
		if (dw+1)*24 <= hw {
			return closeChunk(ctx, tx, &next, dayClose, dw, hw/24)
		}
		done = true
		return nil
	})
	if err != nil {
		return false, err
	}
	*p = next
	return done, nil
}

// closing is one resolution's summing: rows of table dst for one unit come
// from table src's rows of that unit.
type closing struct {
	mark       string
	src, scol  string
	dst, dcol  string
	per        int64 // src units per dst unit
	cursorName func(p *maintPass) (*string, *int64)
}

var (
	hourClose = closing{"hours_done", "history", "minute", "history_hourly", "hour", 60,
		func(p *maintPass) (*string, *int64) { return &p.hourCursor, &p.hourOf }}
	dayClose = closing{"days_done", "history_hourly", "hour", "history_daily", "day", 24,
		func(p *maintPass) (*string, *int64) { return &p.dayCursor, &p.dayOf }}
)

// closeChunk sums unit u (the watermark's value) for the next chunk of
// targets after p's cursor, and advances the watermark when the chunk is
// the last; limit is the first unit that may not be closed yet. At the
// start of a unit it first skips the units without source rows (after a
// downtime, or from 0 on an empty history): one seek per target.
func closeChunk(ctx context.Context, tx *sql.Tx, p *maintPass, c closing, u, limit int64) error {
	cursor, of := c.cursorName(p)
	if *of != u {
		*cursor, *of = "", u
	}
	if *cursor == "" {
		var first sql.NullInt64
		if err := tx.QueryRowContext(ctx, `
			WITH RECURSIVE names(name) AS (
				SELECT (SELECT MIN(target) FROM `+c.src+`)
				UNION ALL
				SELECT (SELECT MIN(target) FROM `+c.src+` WHERE target > names.name)
				FROM names WHERE names.name IS NOT NULL
			)
			SELECT MIN((SELECT MIN(`+c.scol+`) FROM `+c.src+`
				WHERE target = names.name AND `+c.scol+` >= ?1))
			FROM names WHERE names.name IS NOT NULL`, u*c.per).Scan(&first); err != nil {
			return err
		}
		skip := limit
		if first.Valid {
			skip = min(limit, floorDiv(first.Int64, c.per))
		}
		if skip > u {
			*of = skip
			return setMark(ctx, tx, c.mark, skip)
		}
	}
	names, err := targetsAfter(ctx, tx, c.src, *cursor, maintTxTargets)
	if err != nil {
		return err
	}
	// Overwrites: a rerun, or a row left by copy-up or a crash, ends up
	// the sum of its source rows.
	stmt, err := tx.PrepareContext(ctx, `
		INSERT INTO `+c.dst+` (target, `+c.dcol+`, probes, failures, latency_sum_ms, latency_max_ms)
		SELECT ?1, ?2, SUM(probes), SUM(failures), SUM(latency_sum_ms), MAX(latency_max_ms)
		FROM `+c.src+` WHERE target = ?1 AND `+c.scol+` >= ?3 AND `+c.scol+` < ?4
		HAVING COUNT(*) > 0
		ON CONFLICT (target, `+c.dcol+`) DO UPDATE SET
			probes = excluded.probes,
			failures = excluded.failures,
			latency_sum_ms = excluded.latency_sum_ms,
			latency_max_ms = excluded.latency_max_ms`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, name := range names {
		if _, err := stmt.ExecContext(ctx, name, u, u*c.per, (u+1)*c.per); err != nil {
			return err
		}
	}
	if len(names) == maintTxTargets {
		*cursor = names[len(names)-1]
		return nil
	}
	*cursor, *of = "", u+1
	return setMark(ctx, tx, c.mark, u+1)
}

// coverAfter is the cover of the history from the unix minute from on, as
// the watermarks hw and dw split it: minutes before the hour hs (the first
// hour read whole), then hours and days for [hs, hw), then minutes from
// hw on: the hours from hs to the first day boundary, the days up to dw,
// the hours from dw's start up to hw. Each probe is in exactly one span:
// minutes before hw*60 are also in hours (not read), hours before dw*24
// also in days (not read outside the first partial day).
func coverAfter(from, hs, hw, dw int64) []historySpan {
	if hs >= hw {
		return []historySpan{{"history", "minute", 1, from, math.MaxInt64}}
	}
	d1 := floorDiv(hs+23, 24) // first day boundary at or after hs
	spans := []historySpan{{"history", "minute", 1, from, hs * 60}}
	if d1 < dw {
		spans = append(spans,
			historySpan{"history_hourly", "hour", 60, hs, d1 * 24},
			historySpan{"history_daily", "day", 1440, d1, dw},
			historySpan{"history_hourly", "hour", 60, dw * 24, hw})
	} else {
		spans = append(spans, historySpan{"history_hourly", "hour", 60, hs, hw})
	}
	return append(spans, historySpan{"history", "minute", 1, hw * 60, math.MaxInt64})
}
