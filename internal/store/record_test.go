package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/incident"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestDB_Flush_AggregatesPerMinute(t *testing.T) {
	db := mustOpen(t, t.TempDir())
	m0 := unixMinute(t0)
	rec := func(target string, at time.Duration, ok bool, lat time.Duration) {
		db.Record(ProbeRecord{Target: target, At: t0.Add(at), OK: ok, Latency: lat, State: "UP", Since: t0})
	}
	rec("api", 0, true, 10*time.Millisecond)
	rec("api", 15*time.Second, false, 30*time.Millisecond)
	rec("api", 59*time.Second, true, 20*time.Millisecond)
	rec("api", 60*time.Second, true, 5*time.Millisecond) // next minute
	rec("db", 0, false, time.Second)
	mustFlush(t, db)
	// A second flush adds to the same minute.
	rec("api", 30*time.Second, true, 40*time.Millisecond)
	mustFlush(t, db)

	tests := []struct {
		name                      string
		target                    string
		minute                    int64
		probes, failures, sum, mx int64
	}{
		{"two flushes summed", "api", m0, 4, 1, 100, 40},
		{"next minute apart", "api", m0 + 1, 1, 0, 5, 5},
		{"other target apart", "db", m0, 1, 1, 1000, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, f, s, m := historyRow(t, db, tt.target, tt.minute)
			if p != tt.probes || f != tt.failures || s != tt.sum || m != tt.mx {
				t.Errorf("row = probes %d failures %d sum %d max %d; want %d %d %d %d",
					p, f, s, m, tt.probes, tt.failures, tt.sum, tt.mx)
			}
		})
	}
	if n := countRows(t, db, "history"); n != 3 {
		t.Errorf("history rows = %d, want 3", n)
	}
}

func TestDB_Flush_Counters(t *testing.T) {
	db := mustOpen(t, t.TempDir())
	db.Record(ProbeRecord{Target: "api", At: t0, OK: false, State: "UP", Since: t0, Failures: 1})
	db.Record(ProbeRecord{Target: "api", At: t0.Add(time.Second), OK: false, State: "UP", Since: t0, Failures: 2})
	mustFlush(t, db)
	recs, err := db.TargetRecords(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := TargetRecord{Name: "api", State: "UP", Since: t0, Failures: 2, UpdatedAt: t0}
	if got := recs["api"]; got != want {
		t.Fatalf("record = %+v, want %+v (the latest)", got, want)
	}

	t.Run("stale record does not undo a committed transition", func(t *testing.T) {
		down := t0.Add(time.Minute)
		// The probe that crossed the threshold is buffered, its transition
		// committed, and only then flushed along with an older record.
		db.Record(ProbeRecord{Target: "api", At: t0.Add(2 * time.Second), State: "UP", Since: t0, Failures: 3})
		mustCommit(t, db, incident.Change{Targets: []incident.TargetState{{Name: "api", State: "DOWN", Since: down}}})
		mustFlush(t, db)
		recs, err := db.TargetRecords(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got := recs["api"]; got.State != "DOWN" || !got.Since.Equal(down) || got.Failures != 3 {
			t.Fatalf("record = %+v, want DOWN since %v with failures 3", got, down)
		}
	})
}

func TestDB_Healthy(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	db, err := Open(context.Background(), t.TempDir(), Options{Now: func() time.Time { return t0 }, Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Healthy(); err != nil {
		t.Fatalf("healthy at start = %v", err)
	}

	// Make the one connection refuse writes, as a full disk or a
	// read-only remount would.
	db.sql.SetMaxOpenConns(1)
	if _, err := db.sql.Exec(`PRAGMA query_only = 1`); err != nil {
		t.Fatal(err)
	}
	db.Record(ProbeRecord{Target: "api", At: t0, OK: false, State: "UP", Since: t0, Failures: 1})
	for i := range 3 {
		// A growing buffer, with another target each time.
		db.Record(ProbeRecord{Target: fmt.Sprintf("t%d", i), At: t0.Add(time.Duration(i) * time.Minute)})
		if err := db.Flush(context.Background()); err == nil {
			t.Fatal("flush succeeded on a read-only connection")
		}
	}
	herr := db.Healthy()
	if herr == nil || !strings.Contains(herr.Error(), "readonly") {
		t.Fatalf("healthy = %v, want the write error", herr)
	}
	if n := logs.FilterMessageSnippet("store write failed").Len(); n != 1 {
		t.Errorf("write failure logged %d times, want once", n)
	}

	// Records that arrive during the outage join the kept ones.
	db.Record(ProbeRecord{Target: "api", At: t0.Add(time.Second), OK: true, State: "UP", Since: t0, Successes: 1})
	if _, err := db.sql.Exec(`PRAGMA query_only = 0`); err != nil {
		t.Fatal(err)
	}
	mustFlush(t, db)
	if err := db.Healthy(); err != nil {
		t.Fatalf("healthy after recovery = %v", err)
	}
	if p, f, _, _ := historyRow(t, db, "api", unixMinute(t0)); p != 2 || f != 1 {
		t.Errorf("history = %d probes %d failures, want 2 and 1 (nothing lost)", p, f)
	}
	if n := countRows(t, db, "history"); n != 4 {
		t.Errorf("history rows = %d, want 4 (nothing lost)", n)
	}
	if n := logs.FilterMessage("store writable again").Len(); n != 1 {
		t.Errorf("recovery logged %d times, want once", n)
	}
}

func TestDB_Healthy_ClosedDB(t *testing.T) {
	db := mustOpen(t, t.TempDir())
	db.sql.Close()
	db.Record(ProbeRecord{Target: "api", At: t0})
	if err := db.Flush(context.Background()); err == nil {
		t.Fatal("flush succeeded on a closed database")
	}
	if db.Healthy() == nil {
		t.Fatal("healthy = nil after a failed flush")
	}
}

func TestDB_Record_MaxBuckets(t *testing.T) {
	db, err := Open(context.Background(), t.TempDir(), Options{MaxBuckets: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for i := range 5 {
		db.Record(ProbeRecord{Target: "api", At: t0.Add(time.Duration(i) * time.Minute), State: "UP", Failures: i})
	}
	mustFlush(t, db)
	if n := countRows(t, db, "history"); n != 2 {
		t.Errorf("history rows = %d, want 2 (the cap)", n)
	}
	recs, err := db.TargetRecords(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := recs["api"].Failures; got != 4 {
		t.Errorf("failures = %d, want 4: counters are kept past the cap", got)
	}
}

func TestDB_Run_FinalFlush(t *testing.T) {
	db, err := Open(context.Background(), t.TempDir(), Options{
		Now:           func() time.Time { return t0 },
		FlushInterval: time.Hour, // only the final flush can write
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		db.Run(ctx)
	}()
	db.Record(ProbeRecord{Target: "api", At: t0, State: "UP", Since: t0})
	cancel()
	<-done

	if p, _, _, _ := historyRow(t, db, "api", unixMinute(t0)); p != 1 {
		t.Errorf("probes = %d after Run returned, want 1", p)
	}
}

func TestDB_Close_Flushes(t *testing.T) {
	dir := t.TempDir()
	db := mustOpen(t, dir)
	db.Record(ProbeRecord{Target: "api", At: t0, State: "UP", Since: t0, Successes: 2})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = mustOpen(t, dir)
	recs, err := db.TargetRecords(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if recs["api"].Successes != 2 {
		t.Fatalf("records after reopen = %+v", recs)
	}
}

func TestDB_Close_ReportsLostFlush(t *testing.T) {
	db := mustOpen(t, t.TempDir())
	db.sql.Close()
	db.Record(ProbeRecord{Target: "api", At: t0})
	if err := db.Close(); err == nil || !strings.Contains(err.Error(), "final flush") {
		t.Fatalf("close = %v, want the final flush's error", err)
	}
}

// mustFlushDue runs flushDue at now and returns the rows it wrote.
func mustFlushDue(tb testing.TB, db *DB, now time.Time) int {
	tb.Helper()
	n, err := db.flushDue(context.Background(), now)
	if err != nil {
		tb.Fatalf("flushDue at %v: %v", now, err)
	}
	return n
}

// stateRow reads a target's counters as written (zero when it has no row).
func stateRow(tb testing.TB, db *DB, target string) TargetRecord {
	tb.Helper()
	recs, err := db.TargetRecords(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return recs[target]
}

func TestDB_FlushDue_BucketAfterItsMinute(t *testing.T) {
	db := mustOpen(t, t.TempDir())
	m0 := unixMinute(t0)
	due := time.UnixMilli(dueMs("api", m0)).UTC()
	if due.Before(t0.Add(time.Minute)) || !due.Before(t0.Add(2*time.Minute)) {
		t.Fatalf("due %v: want within the minute after the bucket's", due)
	}
	// A run's extension: its state row is deferred with the bucket.
	db.Record(ProbeRecord{Target: "api", At: t0.Add(10 * time.Second), OK: true, State: "UP", Since: t0, Successes: 5})
	db.Record(ProbeRecord{Target: "api", At: t0.Add(20 * time.Second), OK: false, State: "UP", Since: t0, Failures: 1})
	db.Record(ProbeRecord{Target: "api", At: t0.Add(30 * time.Second), OK: false, State: "UP", Since: t0, Failures: 2})

	for _, now := range []time.Time{t0.Add(30 * time.Second), t0.Add(time.Minute), due.Add(-time.Millisecond)} {
		mustFlushDue(t, db, now)
		if n := countRows(t, db, "history"); n != 0 {
			t.Fatalf("history rows at %v = %d, want 0: the bucket is due at %v", now, n, due)
		}
	}
	if n := mustFlushDue(t, db, due); n != 1 {
		t.Errorf("flushDue at the due time wrote %d rows, want 1 (the bucket)", n)
	}
	if p, f, s, m := historyRow(t, db, "api", m0); p != 3 || f != 2 || s != 0 || m != 0 {
		t.Errorf("row = %d %d %d %d, want 3 probes 2 failures", p, f, s, m)
	}
	if n := mustFlushDue(t, db, due.Add(time.Hour)); n != 0 {
		t.Errorf("a later flushDue wrote %d rows, want 0: each bucket is written once", n)
	}
	if err := db.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p, _, _, _ := historyRow(t, db, "api", m0); p != 3 {
		t.Errorf("probes after Flush = %d, want 3 (not written twice)", p)
	}
}

func TestOffsetMs_Spread(t *testing.T) {
	for _, format := range []string{"target-%05d", "https://svc-%d.example.com/healthz", "%d"} {
		t.Run(format, func(t *testing.T) {
			const n = 10_000
			var perSecond [60]int
			for i := range n {
				name := fmt.Sprintf(format, i)
				off := offsetMs(name)
				if off >= 60_000 {
					t.Fatalf("offset of %s = %d ms, want < 60 s", name, off)
				}
				if off != offsetMs(name) {
					t.Fatalf("offset of %s is not stable", name)
				}
				perSecond[off/1000]++
			}
			mean := n / 60.0
			for s, c := range perSecond {
				if float64(c) > 3*mean || float64(c) < mean/3 {
					t.Errorf("second %d holds %d buckets; mean %.0f", s, c, mean)
				}
			}
		})
	}
}

func TestDB_FlushDue_PromptAndDeferredStates(t *testing.T) {
	m0 := unixMinute(t0)
	rec := func(db *DB, target string, at time.Duration, state string, failures, successes int) {
		db.Record(ProbeRecord{Target: target, At: t0.Add(at), OK: failures == 0, State: state, Since: t0,
			Failures: failures, Successes: successes})
	}

	t.Run("a run's start is written by the next flush, its extension when due", func(t *testing.T) {
		db := mustOpen(t, t.TempDir())
		rec(db, "api", 0, "UP", 0, 1)
		if n := mustFlushDue(t, db, t0.Add(time.Second)); n != 1 {
			t.Errorf("flushDue wrote %d rows, want 1 (the state row, not the open bucket)", n)
		}
		if got := stateRow(t, db, "api"); got.Successes != 1 {
			t.Fatalf("successes = %d, want 1", got.Successes)
		}
		rec(db, "api", 10*time.Second, "UP", 0, 2)
		rec(db, "api", 20*time.Second, "UP", 0, 3)
		if n := mustFlushDue(t, db, t0.Add(21*time.Second)); n != 0 {
			t.Errorf("flushDue wrote %d rows, want 0: an extension waits for its bucket", n)
		}
		if got := stateRow(t, db, "api"); got.Successes != 1 {
			t.Errorf("successes = %d before due, want 1", got.Successes)
		}
		// The next minute's records keep the first one's due time.
		rec(db, "api", 70*time.Second, "UP", 0, 4)
		due := time.UnixMilli(dueMs("api", m0))
		if n := mustFlushDue(t, db, due); n != 2 {
			t.Errorf("flushDue at the bucket's due wrote %d rows, want 2 (bucket and state)", n)
		}
		if got := stateRow(t, db, "api"); got.Successes != 4 {
			t.Errorf("successes = %d at due, want 4 (the latest)", got.Successes)
		}
	})

	t.Run("a prompt record replaced by a deferred one stays prompt", func(t *testing.T) {
		db := mustOpen(t, t.TempDir())
		rec(db, "api", 0, "UP", 1, 0)
		rec(db, "api", 10*time.Second, "UP", 2, 0)
		mustFlushDue(t, db, t0.Add(11*time.Second))
		if got := stateRow(t, db, "api"); got.Failures != 2 {
			t.Errorf("failures = %d, want 2: the run's start is in the pending record", got.Failures)
		}
	})

	t.Run("a changed state is prompt", func(t *testing.T) {
		db := mustOpen(t, t.TempDir())
		rec(db, "api", 0, "UNKNOWN", 2, 0)
		mustFlushDue(t, db, t0.Add(time.Second))
		if got := stateRow(t, db, "api"); got.Name != "" {
			t.Fatalf("row = %+v, want none yet (an extension)", got)
		}
		rec(db, "api", 10*time.Second, "DOWN", 3, 0)
		mustFlushDue(t, db, t0.Add(11*time.Second))
		if got := stateRow(t, db, "api"); got.State != "DOWN" || got.Failures != 3 {
			t.Errorf("row = %+v, want DOWN with 3 failures", got)
		}
	})
}

func TestDB_Close_WritesEverything(t *testing.T) {
	dir := t.TempDir()
	db := mustOpen(t, dir)
	// An open minute and a deferred state: nothing is due at t0.
	db.Record(ProbeRecord{Target: "api", At: t0, OK: true, State: "UP", Since: t0, Successes: 7})
	db.Record(ProbeRecord{Target: "db", At: t0, OK: false, State: "DOWN", Since: t0, Failures: 9})
	if n := mustFlushDue(t, db, t0); n != 0 {
		t.Fatalf("flushDue wrote %d rows, want 0", n)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = mustOpen(t, dir)
	if p, f, _, _ := historyRow(t, db, "db", unixMinute(t0)); p != 1 || f != 1 {
		t.Errorf("db history = %d probes %d failures, want 1 and 1", p, f)
	}
	historyRow(t, db, "api", unixMinute(t0))
	if got := stateRow(t, db, "api"); got.Successes != 7 {
		t.Errorf("api successes = %d, want 7", got.Successes)
	}
	if got := stateRow(t, db, "db"); got.Failures != 9 {
		t.Errorf("db failures = %d, want 9", got.Failures)
	}
}

func TestDB_FlushDue_FailureRestores(t *testing.T) {
	db := mustOpen(t, t.TempDir())
	m0 := unixMinute(t0)
	due := time.UnixMilli(dueMs("api", m0))
	db.sql.SetMaxOpenConns(1)
	if _, err := db.sql.Exec(`PRAGMA query_only = 1`); err != nil {
		t.Fatal(err)
	}
	db.Record(ProbeRecord{Target: "api", At: t0, OK: false, State: "UP", Since: t0, Failures: 1})
	if _, err := db.flushDue(context.Background(), due); err == nil {
		t.Fatal("flushDue succeeded on a read-only connection")
	}
	if db.Healthy() == nil {
		t.Error("healthy = nil after a failed flushDue")
	}
	// What the failed flush took is back, still counted by reads, and joined
	// by what arrives meanwhile; the run's start stays prompt under a newer
	// extension.
	db.Record(ProbeRecord{Target: "api", At: t0.Add(10 * time.Second), OK: false, State: "UP", Since: t0, Failures: 2})
	if u := uptimeProbes(t, db, "api", t0); u != 2 {
		t.Errorf("uptime over %d probes during the outage, want 2", u)
	}
	if _, err := db.sql.Exec(`PRAGMA query_only = 0`); err != nil {
		t.Fatal(err)
	}
	if n := mustFlushDue(t, db, due); n != 2 {
		t.Errorf("flushDue after recovery wrote %d rows, want 2", n)
	}
	if db.Healthy() != nil {
		t.Errorf("healthy = %v after recovery", db.Healthy())
	}
	if p, f, _, _ := historyRow(t, db, "api", m0); p != 2 || f != 2 {
		t.Errorf("history = %d probes %d failures, want 2 and 2", p, f)
	}
	if got := stateRow(t, db, "api"); got.Failures != 2 {
		t.Errorf("failures = %d, want 2", got.Failures)
	}

	t.Run("prompt stays prompt", func(t *testing.T) {
		if _, err := db.sql.Exec(`PRAGMA query_only = 1`); err != nil {
			t.Fatal(err)
		}
		db.Record(ProbeRecord{Target: "web", At: t0, OK: true, State: "UP", Since: t0, Successes: 1})
		if _, err := db.flushDue(context.Background(), t0); err == nil {
			t.Fatal("flushDue succeeded on a read-only connection")
		}
		db.Record(ProbeRecord{Target: "web", At: t0.Add(time.Second), OK: true, State: "UP", Since: t0, Successes: 2})
		if _, err := db.sql.Exec(`PRAGMA query_only = 0`); err != nil {
			t.Fatal(err)
		}
		mustFlushDue(t, db, t0.Add(time.Second))
		if got := stateRow(t, db, "web"); got.Successes != 2 {
			t.Errorf("successes = %d, want 2 (written by the next flush)", got.Successes)
		}
	})
}

func uptimeProbes(tb testing.TB, db *DB, target string, since time.Time) int64 {
	tb.Helper()
	all, err := db.UptimeAll(context.Background(), since)
	if err != nil {
		tb.Fatal(err)
	}
	return all[target].Probes
}

func TestBuffer_RestoreUnderNewerRecords(t *testing.T) {
	db := mustOpen(t, t.TempDir())
	m0 := unixMinute(t0)
	db.Record(ProbeRecord{Target: "api", At: t0, OK: true, State: "UP", Since: t0, Successes: 1})
	bk, st := db.buf.take(0, true, nil, nil) // as a flush would, then fails
	// Arriving while the flush runs: an extension (deferred on its own) in
	// the same bucket.
	db.Record(ProbeRecord{Target: "api", At: t0.Add(10 * time.Second), OK: false, State: "UP", Since: t0, Successes: 2})
	db.buf.restore(bk, st)

	b := db.buf.buckets[bucketKey{"api", m0}]
	if b.probes != 2 || b.failures != 1 || b.due != dueMs("api", m0) {
		t.Errorf("bucket = %+v, want 2 probes 1 failure due %d", b, dueMs("api", m0))
	}
	s := db.buf.states["api"]
	if s.successes != 2 || !s.prompt {
		t.Errorf("state = %+v, want the newer record (2 successes), prompt as the taken one was", s)
	}
}

// checkIndex fails unless the buffer's index covers it: every bucket has an
// entry at its due time, every deferred record one at its due time, and
// every prompt record's target is listed in prompts.
func checkIndex(tb testing.TB, b *buffer) {
	tb.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	at := make(map[dueEntry]bool)
	targetAt := make(map[string]map[int64]bool)
	for sec, q := range b.slots {
		for _, e := range q {
			if floorDiv(e.due, 1000) != sec {
				tb.Fatalf("entry %+v in slot %d", e, sec)
			}
			at[e] = true
			if targetAt[e.key.target] == nil {
				targetAt[e.key.target] = make(map[int64]bool)
			}
			targetAt[e.key.target][e.due] = true
		}
	}
	for k, v := range b.buckets {
		if v.due != dueMs(k.target, k.minute) || !at[dueEntry{k, v.due}] {
			tb.Fatalf("bucket %+v due %d: no entry", k, v.due)
		}
	}
	prompt := make(map[string]bool)
	for _, name := range b.prompts {
		prompt[name] = true
	}
	for name, s := range b.states {
		if s.prompt && !prompt[name] {
			tb.Fatalf("prompt record of %s not listed", name)
		}
		if !s.prompt && !targetAt[name][s.due] {
			tb.Fatalf("deferred record of %s due %d: no entry", name, s.due)
		}
	}
}

// TestBuffer_IndexCoversEverything drives the buffer through random
// records, due and full flushes, and failed flushes, checking the index
// after each step; at the end a flushDue far in the future must write
// everything, and every probe must be in history once.
func TestBuffer_IndexCoversEverything(t *testing.T) {
	db, err := Open(context.Background(), t.TempDir(), Options{Now: func() time.Time { return t0 }, MaxBuckets: 40})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.sql.SetMaxOpenConns(1)
	rng := rand.New(rand.NewPCG(1, 2))
	counters := []int{0, 1, 2, 5}
	var now time.Time = t0
	readOnly := false
	for step := range 3000 {
		switch op := rng.IntN(100); {
		case op < 80:
			f, s := counters[rng.IntN(4)], counters[rng.IntN(4)]
			db.Record(ProbeRecord{Target: fmt.Sprintf("t%d", rng.IntN(40)),
				At: now.Add(time.Duration(rng.IntN(240)-120) * time.Second),
				OK: f == 0, State: []string{"UP", "DOWN"}[rng.IntN(2)], Since: t0, Failures: f, Successes: s})
		case op < 93:
			now = now.Add(time.Duration(rng.IntN(20_000)) * time.Millisecond)
			// With nothing due, flushDue writes nothing and succeeds.
			if _, err := db.flushDue(context.Background(), now); err != nil && !readOnly {
				t.Fatalf("step %d: flushDue = %v with read-only %v", step, err, readOnly)
			}
		case op < 95:
			if err := db.Flush(context.Background()); err != nil && !readOnly {
				t.Fatalf("step %d: Flush = %v with read-only %v", step, err, readOnly)
			}
		default:
			readOnly = !readOnly
			if _, err := db.sql.Exec(fmt.Sprintf(`PRAGMA query_only = %t`, readOnly)); err != nil {
				t.Fatal(err)
			}
		}
		checkIndex(t, &db.buf)
	}
	if readOnly {
		if _, err := db.sql.Exec(`PRAGMA query_only = 0`); err != nil {
			t.Fatal(err)
		}
	}
	db.buf.mu.Lock()
	var buffered int64
	for _, b := range db.buf.buckets {
		buffered += b.probes
	}
	db.buf.mu.Unlock()
	var before int64
	if err := db.sql.QueryRow(`SELECT COALESCE(SUM(probes), 0) FROM history`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	mustFlushDue(t, db, now.Add(time.Hour))
	if n, m := len(db.buf.buckets), len(db.buf.states); n != 0 || m != 0 {
		t.Fatalf("after a flushDue an hour on: %d buckets and %d records left", n, m)
	}
	var after int64
	if err := db.sql.QueryRow(`SELECT COALESCE(SUM(probes), 0) FROM history`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != before+buffered {
		t.Errorf("history holds %d probes, want %d + %d buffered", after, before, buffered)
	}
}
