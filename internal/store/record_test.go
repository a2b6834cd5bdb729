package store

import (
	"context"
	"fmt"
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
