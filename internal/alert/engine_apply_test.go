package alert

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestEngine_Apply(t *testing.T) {
	e, sink := startEngine(t, nil, func(o *Options) {
		o.Targets = []string{"api", "db", "web"}
		o.Services = map[string][]string{"shop": {"api"}}
	})
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	e.Transition(down("api", t0, "refused"))
	e.Transition(down("db", t0, "timeout"))
	sink.want(t, 2)

	// db removed while DOWN, web removed while UP, api kept; new targets
	// and services, and api's channels narrowed.
	e.Apply(Options{
		Targets:        []string{"api", "cache"},
		Services:       map[string][]string{"shop": {"cache"}},
		TargetChannels: map[string][]string{"api": {"ops"}},
	})
	got := sink.want(t, 3) // db is retired: one "no longer monitored" notice
	if got[2].Kind != KindNotice || got[2].Key != "2:removed" || !strings.Contains(got[2].Text, "no longer monitored") {
		t.Errorf("after Apply: %s %q %q, want the removed notice of db", got[2].Kind, got[2].Key, got[2].Text)
	}
	if inc, _ := sink.store.Incident(2); inc.ClosedAt.IsZero() {
		t.Error("the removed target's incident was not closed in the store")
	}
	e.mu.Lock()
	_, apiOpen := e.open["api"]
	_, dbOpen := e.open["db"]
	svcs := e.tgtSvcs["cache"]
	e.mu.Unlock()
	if !apiOpen || dbOpen {
		t.Errorf("open after Apply: api=%v db=%v, want api only", apiOpen, dbOpen)
	}
	if !reflect.DeepEqual(svcs, []string{"shop"}) {
		t.Errorf("services of cache = %v", svcs)
	}

	// api is still down (the monitor's DOWN is repeated, as after a
	// restart): no second DOWN; its recovery goes to its new channels.
	e.Transition(Transition{Target: "api", From: "UNKNOWN", To: "DOWN", At: t0.Add(time.Minute), Reason: "refused"})
	sink.want(t, 3)
	e.Transition(up("api", t0, t0.Add(3*time.Minute)))
	got = sink.want(t, 4)
	if got[3].Kind != KindRecovered || !reflect.DeepEqual(got[3].Channels, []string{"ops"}) {
		t.Errorf("recovery %s to %v, want RECOVERED to [ops]", got[3].Kind, got[3].Channels)
	}
}
