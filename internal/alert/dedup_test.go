package alert

import (
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/incident"
)

// Dedup's decisions, one rule a row, with no engine.
func TestDedup_Decisions(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	d := NewDedup(time.Minute, 100, 2, t0)
	r := report("shop", "a")

	if got := d.Add(r, t0).Action; got != Announce {
		t.Fatalf("first report: %v, want Announce", got)
	}
	if got := d.Add(r, t0).Action; got != Count {
		t.Errorf("repeat while confirming: %v, want Count", got)
	}
	w, ok := d.Settle("a", 7)
	if !ok || w.Reports != 2 || w.Incident != 7 || w.First.Fingerprint != "a" {
		t.Fatalf("Settle = %+v, %v; want the window of 2 reports as incident 7", w, ok)
	}
	if _, ok := d.Settle("a", 8); ok {
		t.Error("a second Settle announced again")
	}
	if got := d.Add(report("shop", "b"), t0).Action; got != Announce {
		t.Errorf("second distinct error: %v, want Announce", got)
	}
	if got := d.Add(report("shop", "c"), t0).Action; got != Overflow {
		t.Errorf("third distinct error over a budget of 2: %v, want Overflow", got)
	}

	// An outage absorbs what waits on its confirmation ("b"), and its
	// repeats are counted into the outage.
	if ws := d.Absorb([]string{"shop"}, 99); len(ws) != 1 || ws[0].First.Fingerprint != "b" {
		t.Fatalf("Absorb = %+v, want b only", ws)
	}
	if dec := d.Add(report("shop", "b"), t0); dec.Action != Absorb || dec.Incident != 99 {
		t.Errorf("repeat of an absorbed report: %+v, want Absorb into 99", dec)
	}
	if _, ok := d.Settle("b", 8); ok {
		t.Error("an absorbed report was announced")
	}
	d.Release(99)
	if got := d.Add(report("shop", "b"), t0).Action; got != Overflow {
		t.Errorf("after release: %v, want a new report (over the budget: Overflow)", got)
	}

	// The window ends: "a" is summarised as incident 7; the overflow is one summary.
	d.RateLimited()
	ends := d.Expire(t0.Add(time.Minute))
	if len(ends) != 2 || ends[0].Ending != Repeated || ends[0].Incident != 7 || ends[0].Reports != 2 || ends[0].RateLimited != 1 {
		t.Fatalf("Expire = %+v, want a's window (2 reports, 1 rate-limited), then the overflow", ends)
	}
	if o := ends[1]; o.Ending != Overflowed || o.Service != "shop" || o.Reports != 2 || o.Distinct != 2 {
		t.Errorf("overflow %+v, want 2 reports of 2 errors for shop", o)
	}
}

// Chain runs stages in order, each seeing every change and message on its
// way to the last sink.
func TestChain_StagesInOrder(t *testing.T) {
	last := &recordSink{}
	var order []string
	stage := func(name string) Stage {
		return func(next Sink) Sink {
			return sinkFunc(func(c incident.Change, msgs ...Message) {
				order = append(order, name)
				next.Emit(c, msgs...)
			})
		}
	}
	s := Chain(last, stage("group"), stage("silence"))
	s.Emit(incident.Change{}, Message{Key: "1:down"})
	if len(order) != 2 || order[0] != "group" || order[1] != "silence" || len(last.messages()) != 1 {
		t.Errorf("order %v, %d messages reached the last sink; want group, silence, 1", order, len(last.messages()))
	}
	if Chain(last) != Sink(last) {
		t.Error("Chain with no stage is not the last sink")
	}
}
