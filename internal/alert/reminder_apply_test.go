package alert

import (
	"context"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/incident"
)

// repeat_interval follows a reload: off keeps track silently, on reminds
// at the next whole interval, a change never reuses a key, groups follow.
func TestReminders_Apply(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	now := t0
	rec := &recordSink{}
	r := NewReminders(ReminderOptions{Now: func() time.Time { return now }}) // off
	sink := r.Stage(rec)
	inc := incident.Incident{ID: 42, Kind: incident.KindTarget, Subject: "api", OpenedAt: t0, Cause: "refused"}
	sink.Emit(incident.Change{Incidents: []incident.Incident{inc}}, Message{Kind: KindDown, Target: "api"})
	r.remind(t0.Add(3 * time.Hour))
	rec.want(t, 1) // the DOWN only: off

	now = t0.Add(150 * time.Minute)
	r.Apply(time.Hour, map[string]string{"api": "home"})
	r.remind(now)
	rec.want(t, 1) // not at once
	r.remind(t0.Add(3 * time.Hour))
	if got := rec.want(t, 2)[1]; got.Key != "42:reminder-3" || got.Group != "home" {
		t.Errorf("first reminder after turning on = %+v", got)
	}

	// Longer: numbered past reminder-3, at the next whole 2h from the start.
	now = t0.Add(3*time.Hour + time.Minute)
	r.Apply(2*time.Hour, nil)
	r.remind(t0.Add(6 * time.Hour))
	rec.want(t, 2) // n=3 under 2h: already had a reminder-3
	r.remind(t0.Add(8 * time.Hour))
	if got := rec.want(t, 3)[2]; got.Key != "42:reminder-4" || got.Group != "" {
		t.Errorf("reminder after a longer interval = %+v", got)
	}

	r.Apply(0, nil)
	r.remind(t0.Add(20 * time.Hour))
	rec.want(t, 3)
}

// The ticker follows Apply: a stage started off reminds within the new
// interval once turned on.
func TestReminders_ApplyTicks(t *testing.T) {
	rec := &recordSink{}
	r := NewReminders(ReminderOptions{})
	sink := r.Stage(rec)
	r.Run(context.Background())
	defer func() { _ = r.Close(context.Background()) }()
	inc := incident.Incident{ID: 1, Kind: incident.KindTarget, Subject: "api", OpenedAt: time.Now()}
	sink.Emit(incident.Change{Incidents: []incident.Incident{inc}}, Message{Kind: KindDown, Target: "api"})
	r.Apply(100*time.Millisecond, nil)
	deadline := time.Now().Add(2 * time.Second)
	for len(rec.messages()) < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := len(rec.messages()); n < 3 {
		t.Fatalf("%d messages within 2s of a 100ms interval, want the DOWN and reminders", n)
	}
}
