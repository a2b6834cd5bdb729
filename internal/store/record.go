package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Probe results are the store's one high-rate write: at 10,000 targets every
// 10 s they arrive at 1,000 a second. Record only adds them to an in-memory
// buffer, and flushes write what is due of it, so the writes are few and
// spread evenly in time rather than one burst a second:
//
//   - History: one bucket per (target, minute). A bucket stays in memory
//     while its minute is open and is written once, after the minute has
//     closed, at an offset that is a stable hash of the target's name: the
//     bucket (target, minute m) is due at (m+1)·60 s + offset(target),
//     offset = FNV-1a 32(target) mod 60 s (ms resolution), fixed when the
//     bucket is created. So 10,000 buckets closing at the same minute
//     boundary are written over the next minute, ~1/60 of them per second
//     (~167/s at 10k targets), instead of 1,000 upserts every second. The
//     write is an upsert that adds counts, since a bucket may land on an
//     existing row (after a restored failed flush, or after a restart, or
//     after an explicit Flush of an open minute). Only the minute row is
//     written: Run's pass sums closed hours and days from the minutes (see
//     rollup.go), so each bucket costs one upsert (a bucket of an hour
//     already closed, written late, is added to its hour and day too).
//   - Target counters (target_state: state, since, consecutive failures and
//     successes): the buffer keeps the latest record per target. A record
//     that starts a run (Failures == 1 or Successes == 1), or whose state
//     differs from the pending record's, is prompt: the next flush writes
//     it. A record that only extends a run (Successes > 1 and Failures == 0,
//     or Failures > 1 and Successes == 0) is deferred: it is due with the
//     target's bucket of its minute (same due time as above; a later
//     deferred record keeps the earlier due time, so a target probed every
//     10 s still gets its row written once a minute). Prompt is sticky: a
//     deferred record replacing a prompt one stays prompt. Writing a
//     target's row removes its pending record.
//   - Flush (and Close, and Run's last flush when its ctx ends) writes
//     everything buffered, due or not: a clean stop loses nothing. Run's
//     ticker calls flushDue, which writes only what is due.
//
// At 10,000 targets that is ~333 rows a second (~167 buckets, ~167 deferred
// counters, plus the prompt ones), against ~2,000 when every flush wrote
// every bucket and counter touched (see BenchmarkRecordFlush). The buffer
// holds ~2 buckets per target in steady state (the open minute and the one
// waiting for its offset), so Options.MaxBuckets must stay above twice the
// targets.
//
// DESIGN.md allows the counters to lag: after a crash the monitor re-counts
// at most a threshold of probes, and the alert engine's committed state keeps
// it from alerting twice. Under this policy a crash loses at most the
// extension of a run (up to ~2 minutes of probes), never its start. It also
// loses the history buffered then (up to ~2 minutes); a clean stop loses
// nothing.
//
// Reads of history (UptimeAll, DailyUptime) add the buffered buckets to what
// is written, on one consistent cut (see readHistory in query.go), so a probe
// counts in uptime as soon as it is recorded.

// bucketKey is one history row.
type bucketKey struct {
	target string
	minute int64 // unix minute
}

// bucket is the not-yet-written part of one history row.
type bucket struct {
	probes, failures int64
	latencySumMs     int64
	latencyMaxMs     int64
	due              int64 // unix ms when a flushDue writes it
}

func (b *bucket) add(o bucket) {
	b.probes += o.probes
	b.failures += o.failures
	b.latencySumMs += o.latencySumMs
	b.latencyMaxMs = max(b.latencyMaxMs, o.latencyMaxMs)
}

// pendingState is a target's latest record, as its target_state row needs it.
type pendingState struct {
	state               string
	since               int64 // unix ms (msOf)
	failures, successes int
	prompt              bool  // written by the next flush
	due                 int64 // unix ms; when not prompt
}

// extendsRun reports whether r only extends a run of successes or failures
// that an earlier record started.
func extendsRun(r *ProbeRecord) bool {
	return (r.Successes > 1 && r.Failures == 0) || (r.Failures > 1 && r.Successes == 0)
}

// dueMs is when the bucket (target, minute) is written: after its minute
// closes, at the target's offset in the next minute.
func dueMs(target string, minute int64) int64 {
	return (minute+1)*60_000 + int64(offsetMs(target))
}

// offsetMs spreads the targets over a minute: FNV-1a 32 of the name, mod 60 s.
func offsetMs(target string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(target); i++ {
		h ^= uint32(target[i])
		h *= 16777619
	}
	return h % 60_000
}

// buffer holds what Record was given and no flush has written yet.
//
// So that a flush finds what is due without walking the whole buffer (~2
// buckets and a record per target: 30,000 entries at 10k targets, ~1.3 ms a
// second under mu, which Record waits for), the buffer also keeps an index:
//
//   - slots lists, by due second, the buckets and deferred records to look
//     at then. Every bucket in buckets has an entry at its due time, and
//     every deferred record in states has one (its bucket's, or its own)
//     at its due time. An entry may outlive what it names (a full Flush
//     took it, or its record turned prompt): take checks each entry's bucket
//     and record against their own due times, so such an entry does nothing.
//   - prompts lists the targets whose pending record is prompt (and may list
//     others, or some twice: take checks).
type buffer struct {
	mu         sync.Mutex
	buckets    map[bucketKey]bucket
	states     map[string]pendingState // latest record per target
	slots      map[int64][]dueEntry    // by due unix second
	prompts    []string
	spare      [][]dueEntry // emptied slots' slices, for reuse
	maxBuckets int
	dropped    int64 // buckets refused because maxBuckets was reached

	// takenB and takenS are flush's scratch slices, kept for the next
	// flush; guarded by DB.flushMu, not mu.
	takenB []takenBucket
	takenS []takenState
}

// dueEntry names a bucket and its target's record, due at due (unix ms).
type dueEntry struct {
	key bucketKey // minute == noBucket: the record alone
	due int64
}

// noBucket is the minute of a dueEntry that names a target's record only.
const noBucket = math.MinInt64

// maxSpare bounds the slices kept for reuse.
const maxSpare = 256

func (b *buffer) init(maxBuckets int) {
	b.maxBuckets = maxBuckets
	b.buckets = make(map[bucketKey]bucket)
	b.states = make(map[string]pendingState)
	b.slots = make(map[int64][]dueEntry)
}

// queue adds an entry for k at due. Called under mu.
func (b *buffer) queue(k bucketKey, due int64) {
	sec := floorDiv(due, 1000)
	q, ok := b.slots[sec]
	if !ok && len(b.spare) > 0 {
		q = b.spare[len(b.spare)-1]
		b.spare = b.spare[:len(b.spare)-1]
	}
	b.slots[sec] = append(q, dueEntry{k, due})
}

// takenBucket and takenState are what a flush took from the buffer.
type takenBucket struct {
	key bucketKey
	b   bucket
}

type takenState struct {
	target string
	s      pendingState
}

// take removes from the buffer what is due at nowMs (everything when all)
// and appends it to bk and st. Without all it visits only the prompt
// targets and the slots of seconds up to now's, not the whole buffer.
func (b *buffer) take(nowMs int64, all bool, bk []takenBucket, st []takenState) ([]takenBucket, []takenState) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if all {
		for k, v := range b.buckets {
			bk = append(bk, takenBucket{k, v})
		}
		for name, s := range b.states {
			st = append(st, takenState{name, s})
		}
		clear(b.buckets) // keeps the maps' room
		clear(b.states)
		for sec, q := range b.slots {
			b.recycle(q)
			delete(b.slots, sec)
		}
		clear(b.prompts)
		b.prompts = b.prompts[:0]
		return bk, st
	}

	for _, name := range b.prompts {
		if s, ok := b.states[name]; ok && s.prompt {
			st = append(st, takenState{name, s})
			delete(b.states, name)
		}
	}
	clear(b.prompts)
	b.prompts = b.prompts[:0]
	for sec, q := range b.slots {
		if sec*1000 > nowMs {
			continue
		}
		kept := q[:0]
		for _, e := range q {
			if e.due > nowMs {
				kept = append(kept, e)
				continue
			}
			if v, ok := b.buckets[e.key]; ok && v.due <= nowMs {
				bk = append(bk, takenBucket{e.key, v})
				delete(b.buckets, e.key)
			}
			if s, ok := b.states[e.key.target]; ok && !s.prompt && s.due <= nowMs {
				st = append(st, takenState{e.key.target, s})
				delete(b.states, e.key.target)
			}
		}
		if len(kept) > 0 {
			clear(q[len(kept):])
			b.slots[sec] = kept
		} else {
			b.recycle(q)
			delete(b.slots, sec)
		}
	}
	return bk, st
}

// recycle keeps an emptied slot's slice for reuse. Called under mu.
func (b *buffer) recycle(q []dueEntry) {
	if len(b.spare) < maxSpare {
		clear(q)
		b.spare = append(b.spare, q[:0])
	}
}

// restore puts back what a failed flush took, under what arrived since:
// counts add up, and a target's newer record wins but stays prompt if the
// one taken was, and keeps the earlier due time. What it puts back is due
// already, so the next flush takes it again.
func (b *buffer) restore(bk []takenBucket, st []takenState) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, t := range bk {
		if cur, ok := b.buckets[t.key]; ok { // created, and queued, since
			cur.add(t.b)
			b.buckets[t.key] = cur
		} else if len(b.buckets) < b.maxBuckets {
			b.buckets[t.key] = t.b
			b.queue(t.key, t.b.due)
		} else {
			b.dropped++
		}
	}
	for _, t := range st {
		s := t.s
		if cur, newer := b.states[t.target]; newer {
			cur.prompt = cur.prompt || s.prompt
			cur.due = min(cur.due, s.due)
			s = cur
		}
		b.states[t.target] = s
		if s.prompt {
			b.prompts = append(b.prompts, t.target)
		} else {
			b.queue(bucketKey{t.target, noBucket}, s.due)
		}
	}
}

// pendingFrom appends the buffered buckets of minute from on to out.
func (b *buffer) pendingFrom(from int64, out []takenBucket) []takenBucket {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, v := range b.buckets {
		if k.minute >= from {
			out = append(out, takenBucket{k, v})
		}
	}
	return out
}

// Record buffers one probe's result (see the policy above). It never blocks
// on the disk. Buckets accumulate up to Options.MaxBuckets (while writes
// fail, or with more than MaxBuckets/2 targets); past it new buckets are
// dropped (and counted) while the targets' latest counters are still kept.
func (db *DB) Record(r ProbeRecord) {
	lat := r.Latency.Milliseconds()
	one := bucket{probes: 1, latencySumMs: lat, latencyMaxMs: lat}
	if !r.OK {
		one.failures = 1
	}
	k := bucketKey{target: r.Target, minute: unixMinute(r.At)}
	ps := pendingState{state: r.State, since: msOf(r.Since), failures: r.Failures, successes: r.Successes}
	deferred := extendsRun(&r)

	b := &db.buf
	b.mu.Lock()
	defer b.mu.Unlock()
	covered := true // an entry at ps.due is queued
	if cur, ok := b.buckets[k]; ok {
		cur.add(one)
		b.buckets[k] = cur
		ps.due = cur.due
	} else {
		one.due = dueMs(k.target, k.minute)
		ps.due = one.due
		if len(b.buckets) < b.maxBuckets {
			b.buckets[k] = one
			b.queue(k, one.due)
		} else {
			b.dropped++
			covered = false
		}
	}
	prev, had := b.states[r.Target]
	if had {
		ps.prompt = prev.prompt || prev.state != ps.state
		if prev.due <= ps.due {
			// A deferred prev has an entry at its due; a prompt one
			// makes ps prompt, which needs none.
			ps.due, covered = prev.due, true
		}
	}
	ps.prompt = ps.prompt || !deferred
	switch {
	case ps.prompt && !(had && prev.prompt):
		b.prompts = append(b.prompts, r.Target)
	case !ps.prompt && !covered:
		b.queue(bucketKey{r.Target, noBucket}, ps.due)
	}
	b.states[r.Target] = ps
}

func unixMinute(t time.Time) int64 { return t.Unix() / 60 }

// Flush writes everything buffered, due or not, in one transaction: minute
// history rows get the buffered counts added, target rows get
// the latest counters.
// Close and Run's last flush use it; so can a caller that needs the rows on
// disk now. On failure the records go back into the buffer for the next try
// and Healthy reports the error until a flush succeeds.
func (db *DB) Flush(ctx context.Context) error {
	_, err := db.flush(ctx, db.now(), true)
	return err
}

// flushDue is Run's periodic flush: it writes what is due at now (see the
// policy above) and returns how many rows it wrote. Failures are handled as
// in Flush.
func (db *DB) flushDue(ctx context.Context, now time.Time) (int, error) {
	return db.flush(ctx, now, false)
}

func (db *DB) flush(ctx context.Context, now time.Time, all bool) (int, error) {
	db.flushMu.Lock()
	defer db.flushMu.Unlock()

	// The taken slices are reused from one flush to the next (under
	// flushMu); cleared so they do not pin names between flushes.
	bk, st := db.buf.take(now.UnixMilli(), all, db.buf.takenB[:0], db.buf.takenS[:0])
	defer func() {
		clear(bk)
		clear(st)
		db.buf.takenB, db.buf.takenS = bk[:0], st[:0]
	}()
	if len(bk) == 0 && len(st) == 0 {
		return 0, nil
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error { return writeRecords(ctx, tx, bk, st, msOf(db.now())) })
	if err != nil {
		db.buf.restore(bk, st)
		// The text names no target and no count, so it stays the same
		// from one failed tick to the next and is logged once.
		err = fmt.Errorf("flush probe records: %w", err)
	}
	db.setWriteErr(err)
	if err != nil {
		return 0, err
	}
	return len(bk) + len(st), nil
}

// historyUpserts add one bucket's counts to its row in a history table.
// Each adds what it is given, so a minute written in two parts (two
// flushes) sums up. A flush writes the minute row only: Run's pass sums
// closed hours and days from the minutes (see rollup.go). Only a bucket of
// an hour already closed (a probe recorded that late, or a bucket kept
// through a write outage across the close) is also added to its hour row,
// and to its day row if that day is closed too, so that those rows stay the
// sums of their parts.
var historyUpserts = [...]string{
	historyUpsert("history", "minute", 1),
	historyUpsert("history_hourly", "hour", 60),
	historyUpsert("history_daily", "day", 1440),
}

func historyUpsert(table, col string, minutes int) string {
	return fmt.Sprintf(`
		INSERT INTO %[1]s (target, %[2]s, probes, failures, latency_sum_ms, latency_max_ms)
		VALUES (?, ? / %[3]d, ?, ?, ?, ?)
		ON CONFLICT (target, %[2]s) DO UPDATE SET
			probes = probes + excluded.probes,
			failures = failures + excluded.failures,
			latency_sum_ms = latency_sum_ms + excluded.latency_sum_ms,
			latency_max_ms = max(latency_max_ms, excluded.latency_max_ms)`, table, col, minutes)
}

func writeRecords(ctx context.Context, tx *sql.Tx, bk []takenBucket, st []takenState, now int64) error {
	if len(bk) > 0 {
		hw, dw, err := historyMarks(ctx, tx)
		if err != nil {
			return err
		}
		// A bucket goes to the rows of historyUpserts' tables whose unit
		// is closed: its minute always, its hour before hw, its day
		// before dw. The pass sums the others.
		closedBefore := [len(historyUpserts)]int64{math.MaxInt64, hw * 60, dw * 1440}
		for i, q := range historyUpserts {
			var hist *sql.Stmt
			for _, t := range bk {
				if t.key.minute >= closedBefore[i] {
					continue
				}
				if hist == nil {
					if hist, err = tx.PrepareContext(ctx, q); err != nil {
						return err
					}
					defer hist.Close()
				}
				if _, err := hist.ExecContext(ctx, t.key.target, t.key.minute, t.b.probes, t.b.failures,
					t.b.latencySumMs, t.b.latencyMaxMs); err != nil {
					return err
				}
			}
		}
	}
	if len(st) == 0 {
		return nil
	}

	// The alert engine's Commit writes state and since with each
	// transition, and a buffered record may be older than that commit: the
	// record's state only applies when its since is not older than the
	// stored one, so a flush never rolls a committed transition back.
	state, err := tx.PrepareContext(ctx, `
		INSERT INTO target_state (name, state, since, failures, successes, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET
			state = CASE WHEN excluded.since >= since THEN excluded.state ELSE state END,
			since = max(since, excluded.since),
			failures = excluded.failures,
			successes = excluded.successes,
			updated_at = excluded.updated_at`)
	if err != nil {
		return err
	}
	defer state.Close()
	for _, t := range st {
		if _, err := state.ExecContext(ctx, t.target, t.s.state, t.s.since, t.s.failures, t.s.successes, now); err != nil {
			return err
		}
	}
	return nil
}

// setWriteErr records the outcome of a write for Healthy, logging a failure
// once per distinct error and the recovery once. Called under flushMu.
func (db *DB) setWriteErr(err error) {
	db.lastErr.Store(errBox{err})
	switch {
	case err != nil && err.Error() != db.errText:
		db.errText = err.Error()
		db.log.Error("store write failed; keeping records in memory and retrying",
			zap.String("path", db.path), zap.Error(err))
	case err == nil && db.errText != "":
		db.errText = ""
		db.log.Info("store writable again", zap.String("path", db.path))
	}
	db.buf.mu.Lock()
	dropped := db.buf.dropped
	db.buf.dropped = 0
	db.buf.mu.Unlock()
	if dropped > 0 {
		db.log.Warn("history buckets dropped while the store could not be written",
			zap.Int64("buckets", dropped))
	}
}

// Healthy returns nil while the last flush succeeded, else its error: what
// /readyz reports as "store cannot be written".
func (db *DB) Healthy() error {
	return db.lastErr.Load().(errBox).err
}

// Run writes what is due of the buffered records (flushDue) every
// FlushInterval and, once an hour (and once at start: hourCloseDelay after
// each hour ends), sums the closed hours and days, deletes the minute
// history older than MinuteHistory (of summed hours only) and prunes what is
// older than the retention; that pass runs in slices of at most ~100 ms
// between flushes (see rollup.go). When ctx ends it flushes everything a
// last time (for at most 5 s) and returns. The caller owns it: start it
// once in a goroutine, cancel ctx and wait for it before Close.
func (db *DB) Run(ctx context.Context) {
	flush := time.NewTicker(db.opts.FlushInterval)
	defer flush.Stop()
	m := maintainer{db: db}
	m.due()
	m.slice(ctx)
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeFlushTimeout)
			defer cancel()
			_ = db.Flush(fctx) // logged and kept in the buffer for Close
			return
		case <-flush.C:
			// Not on ctx: a stop landing mid-flush must not fail it (and log
			// a false store error); the flush is bounded on its own.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeFlushTimeout)
			_, _ = db.flushDue(fctx, db.now()) // logged by setWriteErr; retried next tick
			cancel()
			if !db.now().Before(m.next) {
				m.due()
			}
			m.slice(ctx)
		}
	}
}
