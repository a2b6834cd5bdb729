package alert

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/incident"
)

func canaryState(name, state string) incident.Change {
	return incident.Change{Targets: []incident.TargetState{{Name: name, State: state, Since: gt0}}}
}

func TestCanaries_HoldWhileOffline(t *testing.T) {
	rec := &recordSink{}
	var c *Canaries
	stillDown := []string{"db"}
	c = NewCanaries(CanaryOptions{Canaries: []string{"ca", "cb"}, Quorum: 2,
		Confirmer: ConfirmFunc(func(_ context.Context, targets []string) []string {
			if targets[0] == "ca" {
				return nil
			}
			return stillDown
		})})
	c.Stage(rec)
	t.Cleanup(func() { _ = c.Close(context.Background()) })

	// A canary's own DOWN is not sent; two make the quorum.
	ch, m := memberDown(1, "ca")
	ch.Targets = canaryState("ca", "DOWN").Targets
	c.Emit(ch, m)
	c.Emit(canaryState("cb", "DOWN"), Message{Kind: KindDown, Target: "cb", IncidentID: 2})
	if st, _ := c.State(); st != "offline" {
		t.Fatalf("state = %s", st)
	}
	for i, name := range []string{"api", "db", "web"} {
		ch, m := memberDown(int64(10+i), name)
		c.Emit(ch, m)
	}
	ch, m = memberUp(12, "web", time.Minute) // recovered while held: nothing
	c.Emit(ch, m)
	c.Emit(incident.Change{}, Message{Kind: KindReminder, Target: "x", IncidentID: 99})
	rec.want(t, 0)

	c.Emit(canaryState("ca", "UP"))
	msgs := waitMessages(t, rec, 2)
	if msgs[0].Key != "11:down" || msgs[1].Kind != KindNotice ||
		!strings.HasPrefix(msgs[1].Text, "lost connectivity for ") || !strings.Contains(msgs[1].Text, "held 3 target alerts") {
		t.Errorf("after reconnect: %+v", msgs)
	}
	ch, m = memberUp(10, "api", time.Minute) // re-probed up: its RECOVERED is dropped too
	c.Emit(ch, m)
	rec.want(t, 2)
	if st, _ := c.State(); st != "ok" {
		t.Errorf("state = %s", st)
	}
}

// Online, a DOWN waits for the canaries' probe, then goes out.
func TestCanaries_CheckBeforeDown(t *testing.T) {
	rec := &recordSink{}
	c := NewCanaries(CanaryOptions{Canaries: []string{"ca"}, Quorum: 1,
		Confirmer: ConfirmFunc(func(context.Context, []string) []string { return nil })})
	c.Stage(rec)
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	ch, m := memberDown(1, "api")
	c.Emit(ch, m)
	if got := waitMessages(t, rec, 1)[0]; got.Key != "1:down" {
		t.Errorf("DOWN = %+v", got)
	}
}

// The probe before a DOWN finds the quorum failing: the DOWN is held.
func TestCanaries_CheckFindsOffline(t *testing.T) {
	rec := &recordSink{}
	var c *Canaries
	c = NewCanaries(CanaryOptions{Canaries: []string{"ca"}, Quorum: 1,
		Confirmer: ConfirmFunc(func(context.Context, []string) []string {
			c.Emit(canaryState("ca", "DOWN"), Message{Kind: KindDown, Target: "ca", IncidentID: 5})
			return []string{"ca"}
		})})
	c.Stage(rec)
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	ch, m := memberDown(1, "api")
	c.Emit(ch, m)
	waitMessages(t, rec, 0)
	if st, _ := c.State(); st != "offline" {
		t.Errorf("state = %s", st)
	}
}
