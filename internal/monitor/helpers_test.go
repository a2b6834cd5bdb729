package monitor

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/probe"
)

// event is one Sink call, in the order the monitor made it.
type event struct {
	observe    bool // else a transition
	status     Status
	transition Transition
}

// recordingSink records every Sink call.
type recordingSink struct {
	mu     sync.Mutex
	events []event
}

var _ Sink = (*recordingSink)(nil)

func (s *recordingSink) Observe(st Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, event{observe: true, status: st})
}

func (s *recordingSink) Transition(tr Transition) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, event{transition: tr})
}

func (s *recordingSink) snapshot() []event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]event(nil), s.events...)
}

func (s *recordingSink) transitions() []Transition {
	var out []Transition
	for _, e := range s.snapshot() {
		if !e.observe {
			out = append(out, e.transition)
		}
	}
	return out
}

// fakeProbe counts calls per target and flags overlapping calls of one
// target; result decides what the n-th call (from 0) of a target returns.
type fakeProbe struct {
	result func(ctx context.Context, name string, n int) probe.Result

	mu       sync.Mutex
	calls    map[string]int
	inFlight map[string]int
	overlaps atomic.Int32
}

func newFakeProbe(result func(ctx context.Context, name string, n int) probe.Result) *fakeProbe {
	return &fakeProbe{result: result, calls: map[string]int{}, inFlight: map[string]int{}}
}

func (f *fakeProbe) probe(ctx context.Context, t probe.Target) probe.Result {
	f.mu.Lock()
	n := f.calls[t.Name]
	f.calls[t.Name]++
	f.inFlight[t.Name]++
	if f.inFlight[t.Name] > 1 {
		f.overlaps.Add(1)
	}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight[t.Name]--
		f.mu.Unlock()
	}()
	return f.result(ctx, t.Name, n)
}

func (f *fakeProbe) count(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[name]
}

// fakeClock is a settable Options.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func testTarget(name string, interval time.Duration, failureThreshold, successThreshold int) Target {
	t := Target{Interval: interval, FailureThreshold: failureThreshold, SuccessThreshold: successThreshold}
	t.Probe.Name = name
	t.Probe.Timeout = time.Second
	return t
}

// newTestMonitor builds a Monitor that the test's cleanup stops.
func newTestMonitor(t *testing.T, o Options) *Monitor {
	t.Helper()
	m, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return m
}

// waitFor polls cond until it holds. The deadline only keeps a broken
// monitor from hanging the test run; it asserts no speed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func okResult(at time.Time) probe.Result { return probe.Result{OK: true, At: at} }

func failResult(at time.Time, reason string) probe.Result {
	return probe.Result{At: at, Reason: reason}
}
