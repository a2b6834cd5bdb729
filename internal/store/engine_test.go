package store

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/incident"
)

func TestDB_Commit(t *testing.T) {
	db := mustOpen(t, t.TempDir())
	ms := time.Millisecond
	inc := incident.Incident{ID: 42, Kind: "target", Subject: "api", OpenedAt: t0.Add(3 * ms), Cause: "connection refused", Reports: 2, MessageRef: "ts-1"}
	del := incident.Delivery{Key: "42:down", Channel: "slack", IncidentID: 42, Payload: []byte(`{"text":"api DOWN"}`),
		Status: incident.DeliveryPending, NextAt: t0.Add(time.Second), CreatedAt: t0}
	mustCommit(t, db, incident.Change{
		Targets:    []incident.TargetState{{Name: "api", State: "DOWN", Since: t0}},
		Incidents:  []incident.Incident{inc},
		Deliveries: []incident.Delivery{del},
	})

	s := mustLoad(t, db)
	if want := []incident.TargetState{{Name: "api", State: "DOWN", Since: t0}}; !reflect.DeepEqual(s.Targets, want) {
		t.Errorf("targets = %+v, want %+v", s.Targets, want)
	}
	if want := []incident.Incident{inc}; !reflect.DeepEqual(s.OpenIncidents, want) {
		t.Errorf("open incidents = %+v, want %+v", s.OpenIncidents, want)
	}
	if len(s.Pending) != 1 || s.Pending[0].ID == 0 {
		t.Fatalf("pending = %+v, want one with an ID", s.Pending)
	}
	del.ID = s.Pending[0].ID
	if !reflect.DeepEqual(s.Pending[0], del) {
		t.Errorf("pending = %+v, want %+v", s.Pending[0], del)
	}
	if s.MaxIncidentID != 42 {
		t.Errorf("max incident id = %d, want 42", s.MaxIncidentID)
	}

	t.Run("replayed delivery is ignored", func(t *testing.T) {
		dup := del
		dup.ID, dup.Payload = 0, []byte(`{"text":"second"}`)
		mustCommit(t, db, incident.Change{Deliveries: []incident.Delivery{dup}})
		s := mustLoad(t, db)
		if len(s.Pending) != 1 || string(s.Pending[0].Payload) != `{"text":"api DOWN"}` {
			t.Fatalf("pending = %+v, want the first delivery only", s.Pending)
		}
	})

	t.Run("same key on another channel is a new delivery", func(t *testing.T) {
		other := del
		other.ID, other.Channel = 0, "webhook"
		mustCommit(t, db, incident.Change{Deliveries: []incident.Delivery{other}})
		if n := countRows(t, db, "outbox"); n != 2 {
			t.Fatalf("outbox rows = %d, want 2", n)
		}
	})

	t.Run("incident upsert closes it", func(t *testing.T) {
		closed := inc
		closed.ClosedAt = t0.Add(time.Hour)
		closed.Reports = 5
		mustCommit(t, db, incident.Change{
			Targets:   []incident.TargetState{{Name: "api", State: "UP", Since: closed.ClosedAt}},
			Incidents: []incident.Incident{closed},
		})
		s := mustLoad(t, db)
		if len(s.OpenIncidents) != 0 {
			t.Errorf("open incidents = %+v, want none", s.OpenIncidents)
		}
		recent, err := db.RecentIncidents(context.Background(), 10)
		if err != nil {
			t.Fatal(err)
		}
		if want := []incident.Incident{closed}; !reflect.DeepEqual(recent, want) {
			t.Errorf("recent = %+v, want %+v", recent, want)
		}
		if s.Targets[0].State != "UP" || !s.Targets[0].Since.Equal(closed.ClosedAt) {
			t.Errorf("target = %+v, want UP since the close", s.Targets[0])
		}
	})
}

func TestDB_Commit_LeavesCountersAlone(t *testing.T) {
	db := mustOpen(t, t.TempDir())
	db.Record(ProbeRecord{Target: "api", At: t0, State: "UP", Since: t0, Failures: 2, Successes: 0})
	mustFlush(t, db)
	mustCommit(t, db, incident.Change{Targets: []incident.TargetState{{Name: "api", State: "DOWN", Since: t0.Add(time.Minute)}}})
	recs, err := db.TargetRecords(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r := recs["api"]; r.State != "DOWN" || r.Failures != 2 {
		t.Fatalf("record = %+v, want DOWN with failures 2", r)
	}
}

func TestDB_Commit_Atomic(t *testing.T) {
	tests := []struct {
		name   string
		change incident.Change
	}{
		{"delivery with empty key", incident.Change{Deliveries: []incident.Delivery{{Key: "", Channel: "slack", IncidentID: 1}}}},
		{"delivery with unknown status", incident.Change{Deliveries: []incident.Delivery{{Key: "1:down", Channel: "slack", Status: "sent"}}}},
		{"delivery with empty channel", incident.Change{Deliveries: []incident.Delivery{{Key: "1:down", Channel: ""}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := mustOpen(t, t.TempDir())
			c := tt.change
			c.Targets = []incident.TargetState{{Name: "api", State: "DOWN", Since: t0}}
			c.Incidents = []incident.Incident{{ID: 1, Kind: "target", Subject: "api", OpenedAt: t0}}
			// A good delivery before the bad one: it must roll back too.
			c.Deliveries = append([]incident.Delivery{{Key: "0:down", Channel: "slack"}}, c.Deliveries...)
			if err := db.Commit(context.Background(), c); err == nil {
				t.Fatal("commit succeeded")
			}
			for _, table := range []string{"target_state", "incidents", "outbox"} {
				if n := countRows(t, db, table); n != 0 {
					t.Errorf("%s has %d rows after a failed commit", table, n)
				}
			}
		})
	}
}

func TestDB_Commit_Closed(t *testing.T) {
	db := mustOpen(t, t.TempDir())
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Commit(context.Background(), incident.Change{Targets: []incident.TargetState{{Name: "api", State: "UP"}}}); err == nil {
		t.Fatal("commit on a closed store succeeded")
	}
}

func TestDB_Load_PendingOldestFirst(t *testing.T) {
	db := mustOpen(t, t.TempDir())
	mk := func(key string, created time.Time, status string) incident.Delivery {
		return incident.Delivery{Key: key, Channel: "slack", Status: status, CreatedAt: created}
	}
	// Inserted out of age order, with delivered and failed rows between.
	mustCommit(t, db, incident.Change{Deliveries: []incident.Delivery{
		mk("3:down", t0.Add(3*time.Second), incident.DeliveryPending),
		mk("1:down", t0.Add(1*time.Second), incident.DeliveryPending),
		mk("9:down", t0, incident.DeliveryDelivered),
		mk("8:down", t0, incident.DeliveryFailed),
		mk("2:down", t0.Add(2*time.Second), ""), // empty status means pending
	}})
	mustCommit(t, db, incident.Change{Deliveries: []incident.Delivery{mk("7:down", t0, incident.DeliveryFailed)}})
	s := mustLoad(t, db)
	var keys []string
	for _, d := range s.Pending {
		keys = append(keys, d.Key)
	}
	if want := []string{"1:down", "2:down", "3:down"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("pending = %v, want %v", keys, want)
	}
	if s.Failed != 2 {
		t.Errorf("failed = %d, want 2", s.Failed)
	}
	pending, failed, err := db.DeliveryCounts(context.Background())
	if err != nil || pending != 3 || failed != 2 {
		t.Errorf("delivery counts = %d, %d, %v; want 3, 2", pending, failed, err)
	}
}

func TestDB_UpdateDelivery(t *testing.T) {
	db := mustOpen(t, t.TempDir())
	mustCommit(t, db, incident.Change{Deliveries: []incident.Delivery{{Key: "1:down", Channel: "slack", Payload: []byte("p"), CreatedAt: t0}}})
	d := mustLoad(t, db).Pending[0]

	t.Run("retry later", func(t *testing.T) {
		d.Attempts, d.NextAt, d.LastError = 1, t0.Add(30*time.Second), "slack: 503"
		if err := db.UpdateDelivery(context.Background(), d); err != nil {
			t.Fatal(err)
		}
		got := mustLoad(t, db).Pending
		if len(got) != 1 || !reflect.DeepEqual(got[0], d) {
			t.Fatalf("pending = %+v, want %+v", got, d)
		}
	})
	t.Run("delivered", func(t *testing.T) {
		d.Status, d.Attempts, d.LastError, d.DeliveredAt = incident.DeliveryDelivered, 2, "", t0.Add(time.Minute)
		if err := db.UpdateDelivery(context.Background(), d); err != nil {
			t.Fatal(err)
		}
		if got := mustLoad(t, db).Pending; len(got) != 0 {
			t.Fatalf("pending = %+v, want none", got)
		}
		var delivered int64
		if err := db.sql.QueryRow(`SELECT delivered_at FROM outbox WHERE id = ?`, d.ID).Scan(&delivered); err != nil || delivered != d.DeliveredAt.UnixMilli() {
			t.Fatalf("delivered_at = %d, %v", delivered, err)
		}
	})
	t.Run("identified by key and channel, not ID", func(t *testing.T) {
		byKey := d
		byKey.ID, byKey.LastError = 0, "by key"
		if err := db.UpdateDelivery(context.Background(), byKey); err != nil {
			t.Fatal(err)
		}
		var lastErr string
		if err := db.sql.QueryRow(`SELECT last_error FROM outbox WHERE id = ?`, d.ID).Scan(&lastErr); err != nil || lastErr != "by key" {
			t.Fatalf("last_error = %q, %v; want the update found by key", lastErr, err)
		}
	})
	t.Run("unknown key", func(t *testing.T) {
		err := db.UpdateDelivery(context.Background(), incident.Delivery{Key: "999:down", Channel: "slack", Status: incident.DeliveryFailed})
		if !errors.Is(err, incident.ErrNotFound) {
			t.Fatalf("error = %v, want incident.ErrNotFound", err)
		}
	})
	t.Run("bad status", func(t *testing.T) {
		bad := d
		bad.Status = "sent"
		if err := db.UpdateDelivery(context.Background(), bad); err == nil {
			t.Fatal("update with an unknown status succeeded")
		}
	})
}
