package store

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/incident"
)

func TestDB_Uptime(t *testing.T) {
	db := mustOpen(t, t.TempDir())
	// api: 10 probes in each of minutes 0..9, the probes of minute 5 failed;
	// the probe at minute -1 is before every window below.
	for m := range 10 {
		for range 10 {
			db.Record(ProbeRecord{Target: "api", At: t0.Add(time.Duration(m) * time.Minute), OK: m != 5})
		}
	}
	db.Record(ProbeRecord{Target: "api", At: t0.Add(-time.Minute), OK: false})
	db.Record(ProbeRecord{Target: "other", At: t0, OK: false})
	mustFlush(t, db)

	tests := []struct {
		name       string
		target     string
		since      time.Time
		wantRatio  float64
		wantProbes int64
	}{
		{"whole window", "api", t0, 0.9, 100},
		{"mid-minute since counts that minute", "api", t0.Add(5*time.Minute + 30*time.Second), 0.8, 50},
		{"after the outage", "api", t0.Add(6 * time.Minute), 1, 40},
		{"including the earlier failure", "api", t0.Add(-time.Minute), 90.0 / 101, 101},
		{"no probes", "api", t0.Add(time.Hour), 0, 0},
		{"unknown target", "nope", t0, 0, 0},
		{"all failed", "other", t0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all, err := db.UptimeAll(context.Background(), tt.since)
			if err != nil {
				t.Fatal(err)
			}
			ratio, probes := all[tt.target].Ratio, all[tt.target].Probes
			if probes != tt.wantProbes || math.Abs(ratio-tt.wantRatio) > 1e-9 {
				t.Errorf("uptime = %v over %d probes, want %v over %d", ratio, probes, tt.wantRatio, tt.wantProbes)
			}
		})
	}
}

func TestDB_Prune(t *testing.T) {
	db := mustOpen(t, t.TempDir())
	cutoff := t0.Add(-24 * time.Hour)
	for i := range 5 {
		target := fmt.Sprintf("t%d", i)
		db.Record(ProbeRecord{Target: target, At: cutoff.Add(-2 * time.Minute)}) // pruned
		db.Record(ProbeRecord{Target: target, At: cutoff.Add(-time.Minute)})     // pruned
		db.Record(ProbeRecord{Target: target, At: cutoff})                       // kept: not before
		db.Record(ProbeRecord{Target: target, At: t0})                           // kept
	}
	mustFlush(t, db)
	old, recent := cutoff.Add(-time.Hour), cutoff.Add(time.Hour)
	mustCommit(t, db, incident.Change{Deliveries: []incident.Delivery{
		{Key: "1:down", Channel: "slack", Status: incident.DeliveryDelivered, DeliveredAt: old, CreatedAt: old}, // pruned
		{Key: "2:down", Channel: "slack", Status: incident.DeliveryDelivered, DeliveredAt: recent, CreatedAt: old},
		{Key: "3:down", Channel: "slack", Status: incident.DeliveryPending, CreatedAt: old},
		{Key: "4:down", Channel: "slack", Status: incident.DeliveryFailed, CreatedAt: old},
	}})

	n, err := db.Prune(context.Background(), cutoff)
	if err != nil {
		t.Fatal(err)
	}
	// Per target: the two pruned minutes, and the hour holding them (the
	// day holding them is kept: it holds the cutoff).
	if n != 16 {
		t.Errorf("pruned %d rows, want 16 (10 minute, 5 hour, 1 outbox)", n)
	}
	if got := countRows(t, db, "history"); got != 10 {
		t.Errorf("history rows = %d, want 10", got)
	}
	if got := countRows(t, db, "outbox"); got != 3 {
		t.Errorf("outbox rows = %d, want 3: pending and failed stay", got)
	}
	if n, err := db.Prune(context.Background(), cutoff); err != nil || n != 0 {
		t.Errorf("second prune = %d, %v; want 0", n, err)
	}
}

func TestDB_RecentIncidents(t *testing.T) {
	db := mustOpen(t, t.TempDir())
	var incs []incident.Incident
	for i := 1; i <= 5; i++ {
		incs = append(incs, incident.Incident{ID: int64(i), Kind: "target", Subject: "api", OpenedAt: t0.Add(time.Duration(i) * time.Hour)})
	}
	mustCommit(t, db, incident.Change{Incidents: incs})
	tests := []struct {
		name  string
		limit int
		want  []int64
	}{
		{"newest first, limited", 3, []int64{5, 4, 3}},
		{"limit above count", 10, []int64{5, 4, 3, 2, 1}},
		{"zero limit", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.RecentIncidents(context.Background(), tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, inc := range got {
				ids = append(ids, inc.ID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(tt.want) {
				t.Errorf("ids = %v, want %v", ids, tt.want)
			}
		})
	}
}

// TestDB_UptimeCountsBufferedOnce reads history while its buckets move from
// the buffer to the disk: every read counts each probe once.
func TestDB_UptimeCountsBufferedOnce(t *testing.T) {
	db := mustOpen(t, t.TempDir())
	ctx := context.Background()
	var want int64
	for m := range 3 {
		for i, name := range []string{"api", "db", "web"} {
			for s := range 6 {
				db.Record(ProbeRecord{Target: name, At: t0.Add(time.Duration(m)*time.Minute + time.Duration(s*10+i)*time.Second),
					OK: s != 0, State: "UP", Since: t0, Successes: s + 2})
				want++
			}
		}
	}
	check := func(when string) {
		t.Helper()
		all, err := db.UptimeAll(ctx, t0)
		if err != nil {
			t.Fatal(err)
		}
		var probes int64
		for _, name := range []string{"api", "db", "web"} {
			u := all[name]
			probes += u.Probes
			if u.Probes != 18 || math.Abs(u.Ratio-15.0/18) > 1e-9 {
				t.Errorf("%s: %s uptime %v over %d probes, want %v over 18", when, name, u.Ratio, u.Probes, 15.0/18)
			}
		}
		if probes != want {
			t.Errorf("%s: %d probes in all, want %d", when, probes, want)
		}
		days, err := db.DailyUptime(ctx, 2, t0)
		if err != nil {
			t.Fatal(err)
		}
		if d := days["api"]; len(d) != 2 || d[0].Probes != 0 || d[1].Probes != 18 || d[1].Failures != 3 {
			t.Errorf("%s: daily api = %v, want [{0 0} {18 3}]", when, d)
		}
	}

	check("all buffered")
	if n := countRows(t, db, "history"); n != 0 {
		t.Fatalf("history rows = %d before any flush", n)
	}
	// The first minute's buckets are due in the second and third minutes,
	// at each target's own offset.
	for s := 60; s <= 180; s += 7 {
		mustFlushDue(t, db, t0.Add(time.Duration(s)*time.Second))
		check(fmt.Sprintf("after flushDue at +%ds", s))
	}
	if n := countRows(t, db, "history"); n < 3 {
		t.Errorf("history rows = %d after flushDue past the first minute's due, want >= 3", n)
	}
	mustFlush(t, db)
	check("after Flush")
	if n := countRows(t, db, "history"); n != 9 {
		t.Errorf("history rows = %d after Flush, want 9", n)
	}
}

// TestDB_UptimeDuringFlushes reads uptime while records arrive and flushes
// (due and full) run: each read counts at least the probes recorded before
// it began and at most those recorded before it ended, so a probe in flight
// between buffer and disk is neither lost nor counted twice.
func TestDB_UptimeDuringFlushes(t *testing.T) {
	db := mustOpen(t, t.TempDir())
	ctx := context.Background()
	var started, recorded atomic.Int64 // Records begun, Records returned
	var sim atomic.Int64               // simulated seconds since t0
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // 100 targets, 10 a simulated second, for 10 simulated minutes
		defer close(done)
		for i := range 600 {
			s := sim.Add(1)
			for j := range 10 {
				started.Add(1)
				db.Record(ProbeRecord{Target: fmt.Sprintf("t%02d", (i*10+j)%100), At: t0.Add(time.Duration(s) * time.Second),
					OK: j != 0, State: "UP", Since: t0, Successes: i/10 + 2})
				recorded.Add(1)
			}
			time.Sleep(200 * time.Microsecond)
		}
	})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			var err error
			if i%50 == 49 {
				err = db.Flush(ctx)
			} else {
				_, err = db.flushDue(ctx, t0.Add(time.Duration(sim.Load())*time.Second))
			}
			if err != nil {
				t.Error(err)
				return
			}
		}
	})
	reads := 0
	defer wg.Wait() // before the cleanup closes db, also when a read fails
	for finished := false; !finished || reads < 20; reads++ {
		select {
		case <-done:
			finished = true
		default:
		}
		lo := recorded.Load()
		all, err := db.UptimeAll(ctx, t0)
		hi := started.Load()
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, u := range all {
			n += u.Probes
		}
		if n < lo || n > hi {
			t.Fatalf("read %d counted %d probes; %d were recorded before it, %d begun by its end", reads, n, lo, hi)
		}
	}
	wg.Wait()
	if n := countRows(t, db, "history"); n == 0 {
		t.Error("no history written during the test")
	}
	t.Logf("%d reads over %d probes", reads, recorded.Load())
}
