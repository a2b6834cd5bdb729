package alert

import (
	"context"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/incident"
)

// The canary judgement as a table: after a sequence of target states, is
// pollerd's network judged down, since when, and does a target's DOWN go
// out (after the canaries' probe, which here changes nothing)?
func TestCanaries_JudgementTable(t *testing.T) {
	type st struct {
		name, state string
		at          time.Duration // since gt0
	}
	tests := []struct {
		name    string
		quorum  int
		states  []st
		offline bool
		since   time.Duration // when offline: the latest canary DOWN
	}{
		{"quorum 2: one down", 2, []st{{"ca", "DOWN", 0}}, false, 0},
		{"quorum 2: two down", 2, []st{{"ca", "DOWN", 0}, {"cb", "DOWN", time.Second}}, true, time.Second},
		{"quorum 2: one down, the others unknown", 2,
			[]st{{"ca", "DOWN", 0}, {"cb", "UNKNOWN", 0}, {"cc", "UNKNOWN", 0}}, false, 0},
		{"quorum 2: one down twice", 2, []st{{"ca", "DOWN", 0}, {"ca", "DOWN", time.Second}}, false, 0},
		{"quorum 2: one canary and a target down", 2, []st{{"ca", "DOWN", 0}, {"web", "DOWN", 0}}, false, 0},
		{"quorum 2: two down, one back up", 2,
			[]st{{"ca", "DOWN", 0}, {"cb", "DOWN", time.Second}, {"ca", "UP", 2 * time.Second}}, false, 0},
		{"quorum 2: two down, one back to unknown (reload)", 2,
			[]st{{"ca", "DOWN", 0}, {"cb", "DOWN", time.Second}, {"cb", "UNKNOWN", 2 * time.Second}}, false, 0},
		{"quorum 2: three down, one back up", 2,
			[]st{{"ca", "DOWN", 0}, {"cb", "DOWN", time.Second}, {"cc", "DOWN", 2 * time.Second}, {"ca", "UP", 3 * time.Second}}, true, time.Second},
		{"quorum 3: k-1 down", 3, []st{{"ca", "DOWN", 0}, {"cb", "DOWN", 0}}, false, 0},
		{"quorum 3: k down", 3, []st{{"ca", "DOWN", 0}, {"cb", "DOWN", time.Second}, {"cc", "DOWN", 5 * time.Second}}, true, 5 * time.Second},
		{"quorum 1: one down", 1, []st{{"cc", "DOWN", time.Minute}}, true, time.Minute},
		{"quorum 1: none down", 1, []st{{"ca", "UP", 0}, {"cb", "UNKNOWN", 0}}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recordSink{}
			c := NewCanaries(CanaryOptions{Canaries: []string{"ca", "cb", "cc"}, Quorum: tt.quorum,
				Confirmer: ConfirmFunc(func(context.Context, []string) []string { return nil }),
				Now:       func() time.Time { return gt0.Add(time.Hour) }})
			c.Stage(rec)
			t.Cleanup(func() { _ = c.Close(context.Background()) })
			for _, s := range tt.states {
				c.Emit(incident.Change{Targets: []incident.TargetState{{Name: s.name, State: s.state, Since: gt0.Add(s.at)}}})
			}
			state, since := c.State()
			if want := map[bool]string{true: "offline", false: "ok"}[tt.offline]; state != want {
				t.Fatalf("state %s, want %s", state, want)
			}
			if tt.offline && !since.Equal(gt0.Add(tt.since)) {
				t.Errorf("offline since %s, want %s", since, gt0.Add(tt.since))
			}

			// What the judgement does to a target's DOWN.
			ch, m := memberDown(42, "api")
			c.Emit(ch, m)
			downs := func() (n int) {
				for _, m := range rec.messages() {
					if m.Kind == KindDown && m.Target == "api" {
						n++
					}
				}
				return n
			}
			// The canaries' probe returns at once: online, the DOWN follows
			// it; offline, it is held (nothing within the same time).
			for deadline := time.Now().Add(2 * time.Second); downs() == 0 && !tt.offline && time.Now().Before(deadline); {
				time.Sleep(2 * time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond)
			if want := map[bool]int{true: 0, false: 1}[tt.offline]; downs() != want {
				t.Errorf("api's DOWN sent %d times, want %d: %+v", downs(), want, rec.messages())
			}
		})
	}
}
