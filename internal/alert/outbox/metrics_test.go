package outbox

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap/zaptest"

	"github.com/pollerd/pollerd/internal/alert"
	"github.com/pollerd/pollerd/internal/alert/alerttest"
	"github.com/pollerd/pollerd/internal/incident"
)

// TestOutbox_MetricsPending: deliveries restored at start are pending, and
// the oldest one's age counts from when it was written.
func TestOutbox_MetricsPending(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	store := alerttest.NewStore()
	payload, err := encode(alert.Message{Key: "1:down", Kind: alert.KindDown, Text: "api DOWN"})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Commit(context.Background(), incident.Change{Deliveries: []incident.Delivery{
		{Key: "1:down", Channel: "slack", Payload: payload, Status: incident.DeliveryPending, CreatedAt: t0.Add(10 * time.Second)},
		{Key: "1:down", Channel: "ops", Payload: payload, Status: incident.DeliveryPending, CreatedAt: t0},
		{Key: "2:down", Channel: "slack", Payload: payload, Status: incident.DeliveryPending, CreatedAt: t0.Add(20 * time.Second)},
	}}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	clock := alerttest.NewClock(t0.Add(90 * time.Second))
	ob, err := New(Options{Store: store, Channels: []Channel{{Notifier: &recorder{name: "slack"}}, {Notifier: &recorder{name: "ops"}}},
		Logger: zaptest.NewLogger(t), Now: clock.Now, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP pollerd_outbox_oldest_pending_age_seconds Age of the oldest pending delivery (since it was written); 0 when none is pending.
# TYPE pollerd_outbox_oldest_pending_age_seconds gauge
pollerd_outbox_oldest_pending_age_seconds 0
# HELP pollerd_outbox_pending Deliveries waiting to be sent, over all channels.
# TYPE pollerd_outbox_pending gauge
pollerd_outbox_pending 0
`), "pollerd_outbox_pending", "pollerd_outbox_oldest_pending_age_seconds"); err != nil {
		t.Fatalf("before Load: %v", err)
	}
	if err := ob.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP pollerd_outbox_oldest_pending_age_seconds Age of the oldest pending delivery (since it was written); 0 when none is pending.
# TYPE pollerd_outbox_oldest_pending_age_seconds gauge
pollerd_outbox_oldest_pending_age_seconds 90
# HELP pollerd_outbox_pending Deliveries waiting to be sent, over all channels.
# TYPE pollerd_outbox_pending gauge
pollerd_outbox_pending 3
`), "pollerd_outbox_pending", "pollerd_outbox_oldest_pending_age_seconds"); err != nil {
		t.Fatalf("after Load: %v", err)
	}
}

// TestOutbox_MetricsNotifications: each attempt counts once under its
// channel and result; once all are out nothing is pending.
func TestOutbox_MetricsNotifications(t *testing.T) {
	// slack: the DOWN fails once (retried), then goes (delivered); the
	// RECOVERED is refused for good (failed). log takes both at once.
	slack := &recorder{name: "slack", answer: func(n int, _ alert.Message) error {
		switch n {
		case 1:
			return errors.New("status 500")
		case 3:
			return alert.Permanent(errors.New("invalid_payload"))
		}
		return nil
	}}
	logCh := &recorder{name: "log"}
	reg := prometheus.NewRegistry()
	ob, err := New(Options{Store: alerttest.NewStore(), Channels: []Channel{{Notifier: slack}, {Notifier: logCh}},
		BackoffBase: 10 * time.Millisecond, Logger: zaptest.NewLogger(t), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := ob.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	ob.Run(context.Background())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = ob.Close(ctx)
	})
	ob.Emit(incident.Change{},
		alert.Message{Key: "1:down", Kind: alert.KindDown, Text: "api DOWN"},
		alert.Message{Key: "1:recovered", Kind: alert.KindRecovered, Text: "api RECOVERED"})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if p, _ := ob.Deliveries(); p == 0 && slack.attempts() == 3 && len(logCh.messages()) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries not settled: slack %d attempts, log %d messages", slack.attempts(), len(logCh.messages()))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP pollerd_notifications_total Delivery attempts per channel since start, by result: delivered, retried (will be tried again) or failed (for good).
# TYPE pollerd_notifications_total counter
pollerd_notifications_total{channel="log",result="delivered"} 2
pollerd_notifications_total{channel="log",result="failed"} 0
pollerd_notifications_total{channel="log",result="retried"} 0
pollerd_notifications_total{channel="slack",result="delivered"} 1
pollerd_notifications_total{channel="slack",result="failed"} 1
pollerd_notifications_total{channel="slack",result="retried"} 1
# HELP pollerd_outbox_oldest_pending_age_seconds Age of the oldest pending delivery (since it was written); 0 when none is pending.
# TYPE pollerd_outbox_oldest_pending_age_seconds gauge
pollerd_outbox_oldest_pending_age_seconds 0
# HELP pollerd_outbox_pending Deliveries waiting to be sent, over all channels.
# TYPE pollerd_outbox_pending gauge
pollerd_outbox_pending 0
`)); err != nil {
		t.Fatal(err)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %+v", err, problems)
	}
}

// TestNew_MetricsTwice: a second outbox on one registry is refused.
func TestNew_MetricsTwice(t *testing.T) {
	reg := prometheus.NewRegistry()
	o := Options{Store: alerttest.NewStore(), Channels: []Channel{{Notifier: &recorder{name: "slack"}}}, Registerer: reg}
	if _, err := New(o); err != nil {
		t.Fatal(err)
	}
	if _, err := New(o); err == nil {
		t.Fatal("second New on one registry: no error")
	}
}
