package outbox

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/alert"
	"github.com/pollerd/pollerd/internal/incident"
)

// stuck is a Notifier whose sends hang until their context ends.
type stuck struct {
	name    string
	mu      sync.Mutex
	entered int
}

func (s *stuck) Name() string { return s.name }

func (s *stuck) Notify(ctx context.Context, _ alert.Message) error {
	s.mu.Lock()
	s.entered++
	s.mu.Unlock()
	<-ctx.Done()
	return ctx.Err()
}

func (s *stuck) tries() int { s.mu.Lock(); defer s.mu.Unlock(); return s.entered }

func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 5s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func deliveryOf(store interface{ Deliveries() []incident.Delivery }, key, channel string) incident.Delivery {
	for _, d := range store.Deliveries() {
		if d.Key == key && d.Channel == channel {
			return d
		}
	}
	return incident.Delivery{}
}

// Apply with deliveries in flight: an unchanged channel keeps its queue, a
// removed one stops mid-send and its pending row fails "channel not
// configured", a changed one sends its pending row with the new Notifier,
// and an added one takes the next message.
func TestOutbox_Apply(t *testing.T) {
	store := newMemStore()
	keep := &recorder{name: "keep"}
	gone := &stuck{name: "gone"}
	oldHook := &recorder{name: "hook", answer: func(int, alert.Message) error { return errors.New("503 from the old URL") }}
	p := startEngine(t, store, keep, func(o *Options) {
		o.Channels = []Channel{{Notifier: keep, Rate: 100, Burst: 1}, {Notifier: gone}, {Notifier: oldHook}}
	})
	t0 := time.Now()
	p.Transition(down("api", t0, "connect: connection refused"))
	keep.waitFor(t, 1, 5*time.Second)
	eventually(t, "gone sending, the old hook failing", func() bool { return gone.tries() > 0 && oldHook.attempts() > 0 })

	newHook, added := &recorder{name: "hook"}, &recorder{name: "new"}
	a, err := p.ob.Apply([]Channel{{Notifier: keep, Rate: 100, Burst: 1}, {Notifier: newHook}, {Notifier: added}})
	if err != nil {
		t.Fatal(err)
	}
	want := Applied{Added: []string{"new"}, Removed: []string{"gone"}, Changed: []string{"hook"}, Unchanged: 1}
	if !slices.Equal(a.Added, want.Added) || !slices.Equal(a.Removed, want.Removed) ||
		!slices.Equal(a.Changed, want.Changed) || a.Unchanged != want.Unchanged {
		t.Fatalf("Apply = %+v, want %+v", a, want)
	}
	if got := newHook.waitFor(t, 1, 5*time.Second); got[0].Key != "1:down" {
		t.Errorf("the changed channel sent %s, want its pending 1:down", got[0].Key)
	}
	eventually(t, "gone's row failed", func() bool {
		d := deliveryOf(store, "1:down", "gone")
		return d.Status == incident.DeliveryFailed && d.LastError == "channel not configured"
	})

	p.Transition(up("api", t0, t0.Add(time.Minute)))
	if got := added.waitFor(t, 1, 5*time.Second); got[0].Key != "1:recovered" {
		t.Errorf("the added channel got %s, want 1:recovered", got[0].Key)
	}
	keep.waitFor(t, 2, 5*time.Second)
	newHook.waitFor(t, 2, 5*time.Second)
	if d := deliveryOf(store, "1:recovered", "gone"); d.Key != "" {
		t.Errorf("a row for the removed channel: %+v", d)
	}
	if n := gone.tries(); n != 1 {
		t.Errorf("removed channel tried %d times, want 1", n)
	}
	if pending, failed := p.ob.Deliveries(); pending != 0 || failed != 1 {
		t.Errorf("Deliveries() = %d pending, %d failed; want 0, 1", pending, failed)
	}
	if err := p.ob.Healthy(); err != nil {
		t.Errorf("Healthy: %v", err)
	}
}

// Apply keeps an unchanged channel's pending deliveries in their order and
// refuses nonsense; after Close it refuses everything.
func TestOutbox_ApplyKeepsAndRefuses(t *testing.T) {
	store := newMemStore()
	var fail sync.Mutex
	failing := true
	keep := &recorder{name: "keep", answer: func(int, alert.Message) error {
		fail.Lock()
		defer fail.Unlock()
		if failing {
			return errors.New("connection refused")
		}
		return nil
	}}
	p := startEngine(t, store, keep, nil)
	t0 := time.Now()
	p.Transition(down("api", t0, "x"))
	p.Transition(up("api", t0, t0.Add(time.Second)))
	eventually(t, "a failed try", func() bool { return keep.attempts() > 0 })
	if _, err := p.ob.Apply(nil); err == nil {
		t.Error("Apply(nil) accepted")
	}
	if _, err := p.ob.Apply([]Channel{{Notifier: keep}, {Notifier: &recorder{name: "keep"}}}); err == nil {
		t.Error("a name twice accepted")
	}
	if a, err := p.ob.Apply([]Channel{{Notifier: keep}}); err != nil || a.Unchanged != 1 || len(a.Changed)+len(a.Added)+len(a.Removed) != 0 {
		t.Fatalf("Apply(same) = %+v, %v", a, err)
	}
	if pending, _ := p.ob.Deliveries(); pending != 2 {
		t.Errorf("%d pending after Apply, want 2 kept", pending)
	}
	fail.Lock()
	failing = false
	fail.Unlock()
	got := keep.waitFor(t, 2, 5*time.Second)
	if got[0].Key != "1:down" || got[1].Key != "1:recovered" {
		t.Errorf("sent %s, %s; want 1:down then 1:recovered", got[0].Key, got[1].Key)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = p.Close(ctx)
	if _, err := p.ob.Apply([]Channel{{Notifier: keep}}); err == nil {
		t.Error("Apply after Close accepted")
	}
}
