package monitor

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/probe"
)

// confirmTarget is never probed by the scheduler during a test: its interval
// is an hour, and these tests do not Start the monitor unless they say so.
func confirmTarget() Target { return testTarget("api", time.Hour, 3, 2) }

func failing(context.Context, string, int) probe.Result {
	return failResult(time.Now(), "connection refused")
}

func TestMonitor_Confirm(t *testing.T) {
	t.Run("failing target goes down within failure_threshold probes", func(t *testing.T) {
		fp := newFakeProbe(failing)
		sink := &recordingSink{}
		m := newTestMonitor(t, Options{Targets: []Target{confirmTarget()}, Sink: sink, Probe: fp.probe, ConfirmInterval: 50 * time.Millisecond})
		got := m.Confirm(context.Background(), []string{"api"})
		if len(got) != 1 || got[0].State != Down {
			t.Fatalf("Confirm = %+v, want api DOWN", got)
		}
		if n := fp.count("api"); n != 3 {
			t.Errorf("%d probes, want failure_threshold 3", n)
		}
		trs := sink.transitions()
		if len(trs) != 1 || trs[0].From != Unknown || trs[0].To != Down {
			t.Errorf("transitions = %+v, want one UNKNOWN→DOWN", trs)
		}
	})

	t.Run("passing probe settles at once", func(t *testing.T) {
		fp := newFakeProbe(func(context.Context, string, int) probe.Result { return okResult(time.Now()) })
		m := newTestMonitor(t, Options{Targets: []Target{confirmTarget()}, Sink: &recordingSink{}, Probe: fp.probe, ConfirmInterval: 50 * time.Millisecond})
		got := m.Confirm(context.Background(), []string{"api"})
		if len(got) != 1 || got[0].State != Unknown || got[0].ConsecutiveSuccesses != 1 {
			t.Fatalf("Confirm = %+v, want api UNKNOWN after one success", got)
		}
		if n := fp.count("api"); n != 1 {
			t.Errorf("%d probes, want 1", n)
		}
	})

	t.Run("unknown names skipped, duplicates once", func(t *testing.T) {
		fp := newFakeProbe(failing)
		m := newTestMonitor(t, Options{Targets: []Target{confirmTarget()}, Sink: &recordingSink{}, Probe: fp.probe, ConfirmInterval: time.Millisecond})
		got := m.Confirm(context.Background(), []string{"nope", "api", "api"})
		if len(got) != 1 || got[0].Name != "api" {
			t.Fatalf("Confirm = %+v, want api once", got)
		}
		if n := fp.count("api"); n != 3 {
			t.Errorf("%d probes, want one series of 3", n)
		}
	})

	t.Run("concurrent callers share one series", func(t *testing.T) {
		started, gate := make(chan struct{}), make(chan struct{})
		fp := newFakeProbe(func(ctx context.Context, name string, n int) probe.Result {
			if n == 0 {
				close(started)
				<-gate
			}
			return failing(ctx, name, n)
		})
		m := newTestMonitor(t, Options{Targets: []Target{confirmTarget()}, Sink: &recordingSink{}, Probe: fp.probe, ConfirmInterval: time.Millisecond})

		results := make([][]Status, 2)
		var wg sync.WaitGroup
		wg.Go(func() { results[0] = m.Confirm(context.Background(), []string{"api"}) })
		<-started
		wg.Go(func() { results[1] = m.Confirm(context.Background(), []string{"api"}) })
		e := m.load().byName["api"]
		waitFor(t, "the second caller to join", func() bool {
			e.mu.Lock()
			defer e.mu.Unlock()
			return e.confirm != nil && e.confirm.waiters == 2
		})
		close(gate)
		wg.Wait()

		for i, r := range results {
			if len(r) != 1 || r[0].State != Down {
				t.Errorf("caller %d got %+v, want api DOWN", i, r)
			}
		}
		if n := fp.count("api"); n != 3 {
			t.Errorf("%d probes, want one series of 3", n)
		}
	})

	t.Run("cooldown", func(t *testing.T) {
		fp := newFakeProbe(failing)
		clock := &fakeClock{now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
		m := newTestMonitor(t, Options{
			Targets: []Target{confirmTarget()}, Sink: &recordingSink{}, Probe: fp.probe,
			ConfirmInterval: time.Millisecond, ConfirmCooldown: time.Minute, Now: clock.Now,
		})
		m.Confirm(context.Background(), []string{"api"})
		if n := fp.count("api"); n != 3 {
			t.Fatalf("first confirmation: %d probes, want 3", n)
		}

		clock.Add(59 * time.Second)
		got := m.Confirm(context.Background(), []string{"api"})
		if n := fp.count("api"); n != 3 {
			t.Errorf("within cooldown: %d probes, want still 3", n)
		}
		if len(got) != 1 || got[0].State != Down {
			t.Errorf("within cooldown: %+v, want the current DOWN", got)
		}

		clock.Add(2 * time.Second)
		m.Confirm(context.Background(), []string{"api"})
		// Already DOWN: one failing probe settles it.
		if n := fp.count("api"); n != 4 {
			t.Errorf("after cooldown: %d probes, want 4", n)
		}
	})

	t.Run("returns when ctx ends", func(t *testing.T) {
		fp := newFakeProbe(func(ctx context.Context, _ string, _ int) probe.Result {
			<-ctx.Done() // until Stop
			return failResult(time.Now(), "cancelled")
		})
		m := newTestMonitor(t, Options{Targets: []Target{confirmTarget()}, Sink: &recordingSink{}, Probe: fp.probe})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		got := m.Confirm(ctx, []string{"api"})
		if len(got) != 1 || got[0].State != Unknown {
			t.Errorf("Confirm = %+v, want the current UNKNOWN", got)
		}
	})

	t.Run("no probes after stop", func(t *testing.T) {
		fp := newFakeProbe(failing)
		m := newTestMonitor(t, Options{Targets: []Target{confirmTarget()}, Sink: &recordingSink{}, Probe: fp.probe})
		if err := m.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		m.Confirm(context.Background(), []string{"api"})
		if n := fp.count("api"); n != 0 {
			t.Errorf("%d probes after stop, want 0", n)
		}
	})

	t.Run("never overlaps scheduled probes", func(t *testing.T) {
		fp := newFakeProbe(func(ctx context.Context, name string, n int) probe.Result {
			time.Sleep(2 * time.Millisecond) // widen the window for an overlap
			return failing(ctx, name, n)
		})
		tg := testTarget("api", 3*time.Millisecond, 3, 2)
		m := newTestMonitor(t, Options{
			Targets: []Target{tg}, Sink: &recordingSink{}, Probe: fp.probe,
			ConfirmInterval: time.Millisecond, ConfirmCooldown: time.Nanosecond,
		})
		m.Start()
		for range 20 {
			m.Confirm(context.Background(), []string{"api"})
		}
		if n := fp.overlaps.Load(); n != 0 {
			t.Errorf("%d overlapping probes", n)
		}
	})

	t.Run("panicking probe settles", func(t *testing.T) {
		fp := newFakeProbe(func(context.Context, string, int) probe.Result { panic("probe bug") })
		m := newTestMonitor(t, Options{Targets: []Target{confirmTarget()}, Sink: &recordingSink{}, Probe: fp.probe})
		got := m.Confirm(context.Background(), []string{"api"})
		if len(got) != 1 || got[0].State != Unknown {
			t.Errorf("Confirm = %+v, want the current UNKNOWN", got)
		}
	})
}

func TestConfirmGap(t *testing.T) {
	tests := []struct {
		interval  time.Duration
		threshold int
		want      time.Duration
	}{
		{time.Second, 1, time.Second},                      // one probe: no gap used
		{time.Second, 3, time.Second},                      // 2 gaps of 1s fit in 2s
		{time.Second, 5, 500 * time.Millisecond},           // 4 gaps squeezed into 2s
		{time.Second, 30, 100 * time.Millisecond},          // floor: never hammer a target
		{50 * time.Millisecond, 5, 100 * time.Millisecond}, // floor applies to a configured gap too
	}
	for _, tc := range tests {
		if got := confirmGap(tc.interval, tc.threshold); got != tc.want {
			t.Errorf("confirmGap(%s, %d) = %s, want %s", tc.interval, tc.threshold, got, tc.want)
		}
	}
}

func TestMonitor_ConfirmService(t *testing.T) {
	tests := []struct {
		name    string
		service string
		probes  int
	}{
		{"a service's targets are confirmed", "shop", 3},
		{"an unknown service probes nothing", "nope", 0},
		{"a service with no targets probes nothing", "empty", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fp := newFakeProbe(failing)
			m := newTestMonitor(t, Options{Targets: []Target{confirmTarget()}, Sink: &recordingSink{}, Probe: fp.probe,
				ConfirmInterval: time.Millisecond, Services: map[string][]string{"shop": {"api"}, "empty": nil}})
			m.ConfirmService(context.Background(), tt.service)
			if n := fp.count("api"); n != tt.probes {
				t.Errorf("%d probes of api, want %d", n, tt.probes)
			}
		})
	}
}
