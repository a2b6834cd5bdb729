package store

import (
	"context"
	"fmt"
	"math"
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
	if n != 11 {
		t.Errorf("pruned %d rows, want 11 (10 history, 1 outbox)", n)
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
