package alert

import (
	"slices"
	"testing"
	"time"
)

// A target's notify list rides on its DOWN and RECOVERED messages; other
// targets' and reports' messages keep theirs (every channel, or a report's
// types).
func TestEngine_TargetChannels(t *testing.T) {
	e, sink := startEngine(t, nil, func(o *Options) {
		o.TargetChannels = map[string][]string{"api": {"slack", "ops"}}
	})
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	e.Transition(down("api", t0, "connection refused"))
	e.Transition(down("web", t0, "timeout"))
	e.Transition(up("api", t0, t0.Add(time.Minute)))
	e.Transition(up("web", t0, t0.Add(time.Minute)))
	msgs := sink.want(t, 4)
	for _, m := range msgs {
		want := []string(nil)
		if m.Target == "api" {
			want = []string{"slack", "ops"}
		}
		if !slices.Equal(m.Channels, want) {
			t.Errorf("%s %s: Channels = %v, want %v", m.Target, m.Kind, m.Channels, want)
		}
	}
	msgs[0].Channels[0] = "changed"
	e.Transition(down("api", t0.Add(2*time.Minute), "refused"))
	if got := sink.messages()[4].Channels; !slices.Equal(got, []string{"slack", "ops"}) {
		t.Errorf("a message shares the engine's list: %v", got)
	}
}
