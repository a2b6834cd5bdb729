package alert

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/alert/alerttest"
	"github.com/pollerd/pollerd/internal/incident"
)

func TestReminders_Remind(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	rec := &recordSink{}
	r := NewReminders(ReminderOptions{Interval: time.Hour, Groups: map[string]string{"api": "home"}})
	sink := r.Stage(rec)
	inc := incident.Incident{ID: 42, Kind: incident.KindTarget, Subject: "api", OpenedAt: t0, Cause: "connection refused"}

	r.remind(t0.Add(2 * time.Hour)) // nothing open yet
	sink.Emit(incident.Change{Incidents: []incident.Incident{inc}})
	r.remind(t0.Add(2 * time.Hour)) // its DOWN has not gone by (held by grouping)
	rec.want(t, 0)

	sink.Emit(incident.Change{}, Message{Kind: KindDown, Group: "home", Targets: []string{"api", "db"}})
	r.remind(t0.Add(59 * time.Minute)) // not yet an interval
	r.remind(t0.Add(time.Hour))
	r.remind(t0.Add(time.Hour + 30*time.Minute)) // the same n: nothing
	got := rec.want(t, 2)[1]
	if got.Kind != KindReminder || got.Key != "42:reminder-1" || got.Group != "home" ||
		got.Text != "api still DOWN for 1h0m0s: connection refused" {
		t.Errorf("reminder = %+v", got)
	}
	r.remind(t0.Add(3*time.Hour + time.Second)) // late tick: the n of now, not every missed one
	if got := rec.want(t, 3)[2]; got.Key != "42:reminder-3" || !strings.Contains(got.Text, "still DOWN for 3h0m1s") {
		t.Errorf("late reminder = %+v", got)
	}

	inc.ClosedAt = t0.Add(4 * time.Hour)
	sink.Emit(incident.Change{Incidents: []incident.Incident{inc}})
	r.remind(t0.Add(10 * time.Hour))
	rec.want(t, 3)
}

// After a restart, open incidents are reminded of with the key of the
// current n, which the outbox already holds if it was sent.
func TestReminders_Restore(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	rec := &recordSink{}
	r := NewReminders(ReminderOptions{Interval: 10 * time.Minute})
	r.Stage(rec)
	r.Restore([]incident.Incident{
		{ID: 7, Kind: incident.KindTarget, Subject: "db", OpenedAt: t0},
		{ID: 8, Kind: incident.KindService, Subject: "shop", OpenedAt: t0},
	})
	r.remind(t0.Add(25 * time.Minute))
	if got := rec.want(t, 1)[0]; got.Key != "7:reminder-2" || got.Target != "db" {
		t.Errorf("restored reminder = %+v", got)
	}
}

func TestReminders_RunAndClose(t *testing.T) {
	clk := alerttest.NewClock(time.Now())
	rec := &recordSink{}
	r := NewReminders(ReminderOptions{Interval: time.Second, Tick: 5 * time.Millisecond, Now: clk.Now})
	sink := r.Stage(rec)
	sink.Emit(incident.Change{Incidents: []incident.Incident{{ID: 1, Kind: incident.KindTarget, Subject: "api", OpenedAt: clk.Now()}}},
		Message{Kind: KindDown, Target: "api", Key: "1:down"})
	r.Run(context.Background())
	clk.Add(time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for len(rec.messages()) < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec.want(t, 2)
}

// A target removed from the config while DOWN: one NOTICE at Load, and one
// from Retire (a reload); neither says DOWN or RECOVERED.
func TestEngine_RemovedWhileDown(t *testing.T) {
	store := alerttest.NewStore()
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	_ = store.Commit(context.Background(), incident.Change{Incidents: []incident.Incident{
		{ID: 3, Kind: incident.KindTarget, Subject: "old", OpenedAt: t0, Cause: "timeout"},
		{ID: 4, Kind: incident.KindTarget, Subject: "api", OpenedAt: t0, Cause: "timeout"},
		{ID: 5, Kind: incident.KindGroup, Subject: "home", OpenedAt: t0, Cause: "api, db"},
	}})
	e, sink := startEngine(t, store, func(o *Options) { o.Targets = []string{"api", "db"} })
	got := sink.want(t, 1)[0]
	if got.Kind != KindNotice || got.Key != "3:removed" || got.Text != "old is no longer monitored (was down since 2025-03-01 12:00:00 UTC)" {
		t.Errorf("notice = %+v", got)
	}
	if inc, _ := store.Incident(3); inc.Open() {
		t.Error("removed target's incident still open")
	}
	if inc, _ := store.Incident(5); !inc.Open() {
		t.Error("the group stage's incident was closed by the engine")
	}

	e.Retire([]string{"api", "nope"})
	e.Retire([]string{"api"}) // once
	got = sink.want(t, 2)[1]
	if got.Key != "4:removed" || !strings.Contains(got.Text, "api is no longer monitored") ||
		strings.Contains(got.Text, "DOWN") || strings.Contains(got.Text, "RECOVERED") {
		t.Errorf("retire notice = %+v", got)
	}
	if inc, _ := store.Incident(4); inc.Open() {
		t.Error("retired target's incident still open")
	}
}
