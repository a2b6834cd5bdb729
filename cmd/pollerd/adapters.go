package main

import (
	"github.com/pollerd/pollerd/internal/alert"
	"github.com/pollerd/pollerd/internal/monitor"
	"github.com/pollerd/pollerd/internal/store"
)

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
