package main

import (
	"context"
	"errors"

	"github.com/pollerd/pollerd/internal/alert"
	"github.com/pollerd/pollerd/internal/monitor"
	"github.com/pollerd/pollerd/internal/store"
)

// alertStore satisfies alert.Store with the store: the two packages declare
// field-for-field identical row types, so each conversion is a plain one.
type alertStore struct{ db *store.DB }

var _ alert.Store = alertStore{}

func (a alertStore) Commit(ctx context.Context, c alert.Change) error {
	return a.db.Commit(ctx, store.Change{
		Targets:    convertAll(c.Targets, func(t alert.TargetState) store.TargetState { return store.TargetState(t) }),
		Incidents:  convertAll(c.Incidents, func(i alert.Incident) store.Incident { return store.Incident(i) }),
		Deliveries: convertAll(c.Deliveries, func(d alert.Delivery) store.Delivery { return store.Delivery(d) }),
	})
}

func (a alertStore) Load(ctx context.Context) (alert.Snapshot, error) {
	s, err := a.db.Load(ctx)
	if err != nil {
		return alert.Snapshot{}, err
	}
	return alert.Snapshot{
		Targets:       convertAll(s.Targets, func(t store.TargetState) alert.TargetState { return alert.TargetState(t) }),
		OpenIncidents: convertAll(s.OpenIncidents, func(i store.Incident) alert.Incident { return alert.Incident(i) }),
		Pending:       convertAll(s.Pending, func(d store.Delivery) alert.Delivery { return alert.Delivery(d) }),
		Failed:        s.Failed,
		MaxIncidentID: s.MaxIncidentID,
	}, nil
}

// convertAll converts each element of in.
func convertAll[From, To any](in []From, conv func(From) To) []To {
	out := make([]To, len(in))
	for i, v := range in {
		out[i] = conv(v)
	}
	return out
}

func (a alertStore) UpdateDelivery(ctx context.Context, d alert.Delivery) error {
	err := a.db.UpdateDelivery(ctx, store.Delivery(d))
	if errors.Is(err, store.ErrNotFound) {
		// The row's insert was lost (dropped from a full backlog): retrying
		// cannot help, and must not hold up the writes behind it.
		return alert.Permanent(err)
	}
	return err
}

// monitorSink feeds what the monitor learns to the store (batched probe
// records) and to the alert engine (transitions).
type monitorSink struct {
	db     *store.DB
	engine *alert.Engine
}

var _ monitor.Sink = monitorSink{}

func (s monitorSink) Observe(st monitor.Status) {
	s.db.Record(store.ProbeRecord{
		Target:    st.Name,
		At:        st.Last.At,
		OK:        st.Last.OK,
		Latency:   st.Last.Duration,
		State:     string(st.State),
		Since:     st.Since,
		Failures:  st.ConsecutiveFailures,
		Successes: st.ConsecutiveSuccesses,
	})
}

func (s monitorSink) Transition(t monitor.Transition) {
	s.engine.Transition(alert.Transition{
		Target: t.Target,
		From:   string(t.From),
		To:     string(t.To),
		At:     t.At,
		Since:  t.Since,
		Reason: t.Result.Reason,
	})
}

// confirmer probes a service's targets when its clients report failures.
type confirmer struct {
	mon      *monitor.Monitor
	services map[string][]string
}

func (c confirmer) Confirm(ctx context.Context, service string) {
	if targets := c.services[service]; len(targets) > 0 {
		c.mon.Confirm(ctx, targets)
	}
}

// initialStatuses turns the store's records into the monitor's restored state.
func initialStatuses(recs map[string]store.TargetRecord) []monitor.Status {
	out := make([]monitor.Status, 0, len(recs))
	for _, r := range recs {
		out = append(out, monitor.Status{
			Name:                 r.Name,
			State:                monitor.State(r.State),
			Since:                r.Since,
			ConsecutiveFailures:  r.Failures,
			ConsecutiveSuccesses: r.Successes,
		})
	}
	return out
}
