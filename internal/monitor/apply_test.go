package monitor

import (
	"context"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/probe"
)

// eventsFor returns the sink events of one target.
func eventsFor(s *recordingSink, name string) []event {
	var out []event
	for _, e := range s.snapshot() {
		if (e.observe && e.status.Name == name) || (!e.observe && e.transition.Target == name) {
			out = append(out, e)
		}
	}
	return out
}

func transitionsOf(s *recordingSink, name string) []Transition {
	var out []Transition
	for _, tr := range s.transitions() {
		if tr.Target == name {
			out = append(out, tr)
		}
	}
	return out
}

func applyNow(t *testing.T, m *Monitor, u Update) Applied {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := m.Apply(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestMonitor_Apply(t *testing.T) {
	// a always fails, b and c always pass.
	fp := newFakeProbe(func(_ context.Context, name string, _ int) probe.Result {
		if name == "a" {
			return failResult(time.Now(), "connection refused")
		}
		return okResult(time.Now())
	})
	sink := &recordingSink{}
	a := testTarget("a", 10*time.Millisecond, 2, 1)
	b := testTarget("b", 10*time.Millisecond, 2, 1)
	c := testTarget("c", 10*time.Millisecond, 2, 1)
	m := newTestMonitor(t, Options{Targets: []Target{a, b}, Sink: sink, Probe: fp.probe})
	m.Start()
	waitFor(t, "a DOWN and b UP", func() bool {
		sa, _ := m.Status("a")
		sb, _ := m.Status("b")
		return sa.State == Down && sb.State == Up
	})
	entryA := m.load().byName["a"]
	groupA := entryA.group

	res := applyNow(t, m, Update{Targets: []Target{a, c}})
	want := Applied{Added: []string{"c"}, Removed: []string{"b"}, Unchanged: 1}
	if !reflect.DeepEqual(res, want) {
		t.Fatalf("Apply = %+v, want %+v", res, want)
	}
	bAfter := len(eventsFor(sink, "b"))

	// Unchanged a: the same entry, state, slot; it keeps failing and stays
	// DOWN without a second transition.
	if m.load().byName["a"] != entryA || entryA.group != groupA {
		t.Error("unchanged target a got a new entry or slot")
	}
	failsBefore, _ := m.Status("a")
	waitFor(t, "c probed and UP", func() bool { st, _ := m.Status("c"); return st.State == Up })
	waitFor(t, "a probed again", func() bool {
		st, _ := m.Status("a")
		return st.ConsecutiveFailures > failsBefore.ConsecutiveFailures+2
	})
	if trs := transitionsOf(sink, "a"); len(trs) != 1 || trs[0].To != Down {
		t.Errorf("a transitions = %+v, want the one DOWN", trs)
	}
	// Removed b: gone from the statuses, no sink call after Apply.
	if _, ok := m.Status("b"); ok {
		t.Error("b still has a status")
	}
	names := []string{}
	for _, st := range m.Statuses() {
		names = append(names, st.Name)
	}
	if !reflect.DeepEqual(names, []string{"a", "c"}) {
		t.Errorf("statuses = %v", names)
	}
	n := fp.count("b")
	time.Sleep(50 * time.Millisecond)
	if got := len(eventsFor(sink, "b")); got != bAfter {
		t.Errorf("b had %d sink calls after Apply", got-bAfter)
	}
	if got := fp.count("b"); got != n {
		t.Errorf("b probed %d times after Apply", got-n)
	}
}

func TestMonitor_Apply_changed(t *testing.T) {
	var pass atomic.Bool // a fails until pass is set
	fp := newFakeProbe(func(_ context.Context, name string, _ int) probe.Result {
		if name == "a" && !pass.Load() {
			return failResult(time.Now(), "connection refused")
		}
		return okResult(time.Now())
	})
	sink := &recordingSink{}
	a := testTarget("a", 10*time.Millisecond, 2, 3)
	b := testTarget("b", 10*time.Millisecond, 2, 1)
	m := newTestMonitor(t, Options{Targets: []Target{a, b}, Sink: sink, Probe: fp.probe})
	m.Start()
	waitFor(t, "a DOWN and b UP", func() bool {
		sa, _ := m.Status("a")
		sb, _ := m.Status("b")
		return sa.State == Down && sb.State == Up
	})
	downSince := func() time.Time { st, _ := m.Status("a"); return st.Since }()

	a2 := a
	a2.Probe.Timeout = 2 * time.Second // any field counts as a change
	b2 := b
	b2.Interval = 20 * time.Millisecond
	res := applyNow(t, m, Update{Targets: []Target{a2, b2}})
	if want := []string{"a", "b"}; !reflect.DeepEqual(res.Changed, want) {
		t.Fatalf("changed = %v, want %v", res.Changed, want)
	}
	// Read before their first probe on the new settings could land: a
	// changed DOWN target stays DOWN since when it went down, an UP one
	// starts UNKNOWN; counters start from zero.
	sa, _ := m.Status("a")
	if sa.State != Down || !sa.Since.Equal(downSince) || sa.ConsecutiveFailures > 1 {
		t.Errorf("a after change = %+v, want DOWN since %v with fresh counters", sa, downSince)
	}
	if m.load().byName["b"].target.Interval != 20*time.Millisecond {
		t.Error("b runs on its old settings")
	}

	// Still down: no second DOWN. Then it recovers: one RECOVERED.
	time.Sleep(50 * time.Millisecond)
	if trs := transitionsOf(sink, "a"); len(trs) != 1 {
		t.Fatalf("a transitions = %+v, want the one DOWN", trs)
	}
	pass.Store(true)
	waitFor(t, "a UP", func() bool { st, _ := m.Status("a"); return st.State == Up })
	trs := transitionsOf(sink, "a")
	if len(trs) != 2 || trs[1].From != Down || trs[1].To != Up || !trs[1].Since.Equal(downSince) {
		t.Errorf("a transitions = %+v, want DOWN then DOWN→UP since %v", trs, downSince)
	}
	// b went UNKNOWN → UP again on its new interval, with no DOWN.
	for _, tr := range transitionsOf(sink, "b") {
		if tr.To == Down {
			t.Errorf("b went DOWN: %+v", tr)
		}
	}
}

func TestMonitor_Apply_cancelsInFlight(t *testing.T) {
	started := make(chan struct{}, 10)
	fp := newFakeProbe(func(ctx context.Context, name string, _ int) probe.Result {
		if name == "slow" {
			started <- struct{}{}
			<-ctx.Done() // hangs until cancelled
			return failResult(time.Now(), "cancelled")
		}
		return okResult(time.Now())
	})
	sink := &recordingSink{}
	slow := testTarget("slow", 10*time.Millisecond, 1, 1)
	m := newTestMonitor(t, Options{Targets: []Target{slow}, Sink: sink, Probe: fp.probe})
	m.Start()
	<-started
	res := applyNow(t, m, Update{})
	if !reflect.DeepEqual(res.Removed, []string{"slow"}) {
		t.Fatalf("removed = %v", res.Removed)
	}
	time.Sleep(30 * time.Millisecond)
	if ev := eventsFor(sink, "slow"); len(ev) != 0 {
		t.Errorf("cancelled probe reached the sink: %+v", ev)
	}
	if len(m.groupsSnapshot()) != 0 {
		t.Error("cron slot of the removed target kept")
	}
}

func TestMonitor_Apply_refused(t *testing.T) {
	fp := newFakeProbe(func(context.Context, string, int) probe.Result { return okResult(time.Now()) })
	a := testTarget("a", time.Hour, 1, 1)
	m := newTestMonitor(t, Options{Targets: []Target{a}, Sink: &recordingSink{}, Probe: fp.probe})
	bad := testTarget("b", time.Hour, 0, 1)
	if _, err := m.Apply(context.Background(), Update{Targets: []Target{bad}}); err == nil {
		t.Fatal("bad update applied")
	}
	if _, ok := m.Status("a"); !ok {
		t.Error("a refused update changed the targets")
	}
	if err := m.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Apply(context.Background(), Update{Targets: []Target{a}}); err != ErrStopped {
		t.Errorf("Apply after Stop = %v, want ErrStopped", err)
	}
}

func TestMonitor_Apply_services(t *testing.T) {
	fp := newFakeProbe(func(context.Context, string, int) probe.Result { return okResult(time.Now()) })
	a := testTarget("a", time.Hour, 1, 1)
	m := newTestMonitor(t, Options{Targets: []Target{a}, Sink: &recordingSink{}, Probe: fp.probe})
	m.Start()
	m.ConfirmService(context.Background(), "app") // no such service yet
	if fp.count("a") != 0 {
		t.Fatal("unknown service confirmed")
	}
	applyNow(t, m, Update{Targets: []Target{a}, Services: map[string][]string{"app": {"a"}}})
	m.ConfirmService(context.Background(), "app")
	if fp.count("a") != 1 {
		t.Errorf("a probed %d times, want 1", fp.count("a"))
	}
}

// Apply races scheduled probes and confirmations of the same targets; run
// with -race.
func TestMonitor_Apply_concurrent(t *testing.T) {
	fp := newFakeProbe(func(_ context.Context, name string, n int) probe.Result {
		if n%3 == 0 {
			return failResult(time.Now(), "flaky")
		}
		return okResult(time.Now())
	})
	sink := &recordingSink{}
	a := testTarget("a", 5*time.Millisecond, 2, 1)
	b := testTarget("b", 5*time.Millisecond, 2, 1)
	m := newTestMonitor(t, Options{Targets: []Target{a, b}, Sink: sink, Probe: fp.probe,
		ConfirmInterval: time.Millisecond, ConfirmCooldown: time.Nanosecond})
	m.Start()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			m.Confirm(ctx, []string{"a", "b"})
			_ = m.Statuses()
		}
	}()
	b2 := b
	b2.FailureThreshold = 3
	for i := range 20 {
		var u Update
		switch i % 3 {
		case 0:
			u.Targets = []Target{a}
		case 1:
			u.Targets = []Target{a, b}
		case 2:
			u.Targets = []Target{a, b2}
		}
		applyNow(t, m, u)
		time.Sleep(3 * time.Millisecond)
	}
	cancel()
	<-done
	if fp.overlaps.Load() != 0 {
		t.Errorf("%d overlapping probes of one target", fp.overlaps.Load())
	}
}

func (m *Monitor) groupsSnapshot() map[any]*group {
	m.applyMu.Lock()
	defer m.applyMu.Unlock()
	return m.groups
}
