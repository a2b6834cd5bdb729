package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Probe results are the store's one high-rate write: at 10,000 targets every
// 10 s they arrive at 1,000 a second. Record only adds them to an in-memory
// aggregate, one bucket per (target, minute) plus the target's latest
// counters, and Flush writes the aggregate in one transaction. The counters
// may therefore lag by a flush interval, which DESIGN.md allows: after a
// crash the monitor re-counts at most a threshold of probes, and the alert
// engine's committed state keeps it from alerting twice.

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
}

func (b *bucket) add(o bucket) {
	b.probes += o.probes
	b.failures += o.failures
	b.latencySumMs += o.latencySumMs
	b.latencyMaxMs = max(b.latencyMaxMs, o.latencyMaxMs)
}

// buffer holds what Record was given since the last successful flush.
type buffer struct {
	mu         sync.Mutex
	buckets    map[bucketKey]*bucket
	states     map[string]ProbeRecord // latest record per target
	maxBuckets int
	dropped    int64 // buckets refused because maxBuckets was reached
}

func (b *buffer) init(maxBuckets int) {
	b.maxBuckets = maxBuckets
	b.buckets = make(map[bucketKey]*bucket)
	b.states = make(map[string]ProbeRecord)
}

// take empties the buffer and returns its contents.
func (b *buffer) take() (map[bucketKey]*bucket, map[string]ProbeRecord) {
	b.mu.Lock()
	defer b.mu.Unlock()
	bk, st := b.buckets, b.states
	if len(bk) == 0 && len(st) == 0 {
		return nil, nil
	}
	b.buckets = make(map[bucketKey]*bucket, len(bk))
	b.states = make(map[string]ProbeRecord, len(st))
	return bk, st
}

// restore puts back what a failed flush took, under what arrived since:
// counts add up, and a target's newer state wins.
func (b *buffer) restore(bk map[bucketKey]*bucket, st map[string]ProbeRecord) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, v := range bk {
		if cur, ok := b.buckets[k]; ok {
			cur.add(*v)
		} else if len(b.buckets) < b.maxBuckets {
			b.buckets[k] = v
		} else {
			b.dropped++
		}
	}
	for name, r := range st {
		if _, newer := b.states[name]; !newer {
			b.states[name] = r
		}
	}
}

// Record buffers one probe's result for the next flush. It never blocks on
// the disk. While writes fail, buckets accumulate up to Options.MaxBuckets;
// past it new buckets are dropped (and counted) while the targets' latest
// counters are still kept.
func (db *DB) Record(r ProbeRecord) {
	lat := r.Latency.Milliseconds()
	one := bucket{probes: 1, latencySumMs: lat, latencyMaxMs: lat}
	if !r.OK {
		one.failures = 1
	}
	k := bucketKey{target: r.Target, minute: unixMinute(r.At)}

	b := &db.buf
	b.mu.Lock()
	defer b.mu.Unlock()
	if cur, ok := b.buckets[k]; ok {
		cur.add(one)
	} else if len(b.buckets) < b.maxBuckets {
		b.buckets[k] = &one
	} else {
		b.dropped++
	}
	b.states[r.Target] = r
}

func unixMinute(t time.Time) int64 { return t.Unix() / 60 }

// Flush writes the buffered records in one transaction: history rows get the
// buffered counts added, target rows get the latest counters. On failure the
// records go back into the buffer for the next try and Healthy reports the
// error until a flush succeeds.
func (db *DB) Flush(ctx context.Context) error {
	db.flushMu.Lock()
	defer db.flushMu.Unlock()

	bk, st := db.buf.take()
	if bk == nil && st == nil {
		return nil
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error { return writeRecords(ctx, tx, bk, st, msOf(db.now())) })
	if err != nil {
		db.buf.restore(bk, st)
		// The text names no target and no count, so it stays the same
		// from one failed tick to the next and is logged once.
		err = fmt.Errorf("flush probe records: %w", err)
	}
	db.setWriteErr(err)
	return err
}

func writeRecords(ctx context.Context, tx *sql.Tx, bk map[bucketKey]*bucket, st map[string]ProbeRecord, now int64) error {
	hist, err := tx.PrepareContext(ctx, `
		INSERT INTO history (target, minute, probes, failures, latency_sum_ms, latency_max_ms)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (target, minute) DO UPDATE SET
			probes = probes + excluded.probes,
			failures = failures + excluded.failures,
			latency_sum_ms = latency_sum_ms + excluded.latency_sum_ms,
			latency_max_ms = max(latency_max_ms, excluded.latency_max_ms)`)
	if err != nil {
		return err
	}
	defer hist.Close()
	for k, v := range bk {
		if _, err := hist.ExecContext(ctx, k.target, k.minute, v.probes, v.failures,
			v.latencySumMs, v.latencyMaxMs); err != nil {
			return err
		}
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
	for name, r := range st {
		if _, err := state.ExecContext(ctx, name, r.State, msOf(r.Since), r.Failures, r.Successes, now); err != nil {
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

// Run flushes every FlushInterval and, once an hour (and once at start),
// rolls minute history older than MinuteHistory up into hours and prunes
// what is older than the retention; that pass runs in slices of at most
// ~100 ms between flushes (see rollup.go). When ctx ends it flushes a last
// time (for at most 5 s) and returns. The caller owns it: start it once in
// a goroutine, cancel ctx and wait for it before Close.
func (db *DB) Run(ctx context.Context) {
	flush := time.NewTicker(db.opts.FlushInterval)
	defer flush.Stop()
	hourly := time.NewTicker(time.Hour)
	defer hourly.Stop()

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
			_ = db.Flush(fctx) // logged by setWriteErr; retried next tick
			cancel()
			m.slice(ctx)
		case <-hourly.C:
			m.due()
		}
	}
}
