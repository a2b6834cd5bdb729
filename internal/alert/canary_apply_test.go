package alert

import (
	"context"
	"strings"
	"testing"
)

// Canaries follow a reload: none is a pass-through; targets already DOWN
// made canaries go offline at once; removing them goes back online with
// the held DOWNs re-probed and the one notice.
func TestCanaries_Apply(t *testing.T) {
	rec := &recordSink{}
	probed := make(chan []string, 10)
	c := NewCanaries(CanaryOptions{Confirmer: ConfirmFunc(func(_ context.Context, targets []string) []string {
		probed <- targets
		return targets // still failing
	})})
	c.Stage(rec)
	t.Cleanup(func() { _ = c.Close(context.Background()) })

	// No canaries: a DOWN goes out at once, unprobed.
	c.Emit(canaryState("ca", "DOWN"))
	c.Emit(canaryState("cb", "DOWN"))
	ch, m := memberDown(1, "api")
	c.Emit(ch, m)
	if got := rec.want(t, 1); got[0].Key != "1:down" || len(probed) != 0 {
		t.Fatalf("without canaries: %+v, %d probes", got, len(probed))
	}
	if st, _ := c.State(); st != "ok" {
		t.Fatalf("state without canaries = %s", st)
	}

	// ca and cb are DOWN already: quorum 2 of them is offline now.
	c.Apply([]string{"ca", "cb", "cc"}, 2)
	if st, _ := c.State(); st != "offline" {
		t.Fatalf("state after Apply = %s, want offline", st)
	}
	ch, m = memberDown(2, "db")
	c.Emit(ch, m)
	rec.want(t, 1) // held

	// A larger quorum lifts it: db re-probed, still failing, goes out.
	c.Apply([]string{"ca", "cb", "cc"}, 3)
	msgs := waitMessages(t, rec, 3)
	if msgs[1].Key != "2:down" || msgs[2].Kind != KindNotice || !strings.Contains(msgs[2].Text, "held 1 target alert") {
		t.Errorf("after the quorum was raised: %+v", msgs[1:])
	}
	if st, _ := c.State(); st != "ok" {
		t.Errorf("state = %s", st)
	}
	// A canary's own message is dropped; a non-canary is probed before.
	ch, m = memberDown(3, "ca")
	c.Emit(ch, m)
	ch, m = memberDown(4, "web")
	c.Emit(ch, m)
	if got := waitMessages(t, rec, 4)[3]; got.Key != "4:down" {
		t.Errorf("got %+v, want 4:down", got)
	}
}
