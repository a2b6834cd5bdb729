package monitor

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/pollerd/pollerd/internal/probe"
)

func TestNew(t *testing.T) {
	sink := &recordingSink{}
	fp := newFakeProbe(func(context.Context, string, int) probe.Result { return probe.Result{OK: true} })
	good := testTarget("api", time.Second, 3, 2)
	withThresholds := func(f, s int) Target { t := good; t.FailureThreshold, t.SuccessThreshold = f, s; return t }
	withSchedule := func(s string) Target { t := good; t.Schedule = s; return t }
	tests := []struct {
		name    string
		o       Options
		wantErr string
	}{
		{"no probe", Options{Sink: sink}, "new monitor: no probe function"},
		{"no sink", Options{Probe: fp.probe}, "new monitor: no sink"},
		{"no name", Options{Sink: sink, Probe: fp.probe, Targets: []Target{testTarget("", time.Second, 1, 1)}}, "new monitor: target without a name"},
		{"duplicate", Options{Sink: sink, Probe: fp.probe, Targets: []Target{good, good}}, "new monitor: duplicate target api"},
		{"zero threshold", Options{Sink: sink, Probe: fp.probe, Targets: []Target{withThresholds(0, 1)}}, "new monitor: target api: thresholds must be at least 1"},
		{"bad schedule", Options{Sink: sink, Probe: fp.probe, Targets: []Target{withSchedule("@hourly")}}, "new monitor: target api: both interval and schedule set"},
		{"no targets is fine", Options{Sink: sink, Probe: fp.probe}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(tc.o)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if err := m.Stop(context.Background()); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || err.Error() != tc.wantErr {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestMonitor_Start(t *testing.T) {
	// Probes 0–1 pass (→ UP), 2–3 fail (→ DOWN), then all pass (→ UP).
	fp := newFakeProbe(func(_ context.Context, _ string, n int) probe.Result {
		if n == 2 || n == 3 {
			return failResult(time.Now(), "connection refused")
		}
		return okResult(time.Now())
	})
	sink := &recordingSink{}
	core, logs := observer.New(zapcore.InfoLevel)
	m := newTestMonitor(t, Options{
		Targets: []Target{testTarget("api", 10*time.Millisecond, 2, 2)},
		Sink:    sink,
		Probe:   fp.probe,
		Logger:  zap.New(core),
	})
	m.Start()
	waitFor(t, "three transitions", func() bool { return len(sink.transitions()) >= 3 })
	if err := m.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}

	trs := sink.transitions()
	want := [][2]State{{Unknown, Up}, {Up, Down}, {Down, Up}}
	if len(trs) != len(want) {
		t.Fatalf("got %d transitions, want %d: %+v", len(trs), len(want), trs)
	}
	for i, tr := range trs {
		if tr.Target != "api" || tr.From != want[i][0] || tr.To != want[i][1] {
			t.Errorf("transition %d = %s %s→%s, want api %s→%s", i, tr.Target, tr.From, tr.To, want[i][0], want[i][1])
		}
		if !tr.At.Equal(tr.Result.At) {
			t.Errorf("transition %d: At %s, want the probe's %s", i, tr.At, tr.Result.At)
		}
		if i > 0 && !tr.Since.Equal(trs[i-1].At) {
			t.Errorf("transition %d: Since %s, want the previous transition's At %s", i, tr.Since, trs[i-1].At)
		}
	}
	if trs[1].Result.Reason != "connection refused" {
		t.Errorf("DOWN reason = %q", trs[1].Result.Reason)
	}

	// Every probe is observed, and a transition follows its probe's Observe.
	events := sink.snapshot()
	observed := 0
	for i, e := range events {
		if e.observe {
			observed++
			continue
		}
		if i == 0 || !events[i-1].observe || events[i-1].status.State != e.transition.To {
			t.Errorf("transition %s→%s not preceded by its Observe", e.transition.From, e.transition.To)
		}
	}
	if got := fp.count("api"); observed != got {
		t.Errorf("observed %d probes, made %d", observed, got)
	}
	if n := fp.overlaps.Load(); n != 0 {
		t.Errorf("%d overlapping probes", n)
	}

	// Info carries the first-round summary and one line per transition but
	// UNKNOWN → UP (at debug), and nothing per probe.
	info := logs.All()
	if len(info) != 3 || info[0].Message != "first round" {
		t.Fatalf("got %d info lines, want the first round and 2 transitions: %v", len(info), info)
	}
	for i, l := range info[1:] {
		f := l.ContextMap()
		if l.Message != "transition" || f["target"] != "api" || f["from"] != string(want[i+1][0]) || f["to"] != string(want[i+1][1]) || f["reason"] == "" {
			t.Errorf("info line %d = %q %v", i+1, l.Message, f)
		}
	}
}

func TestMonitor_Stop(t *testing.T) {
	t.Run("cancels a hanging probe", func(t *testing.T) {
		started, returned := make(chan struct{}), make(chan error, 1)
		fp := newFakeProbe(func(ctx context.Context, _ string, n int) probe.Result {
			if n == 0 {
				close(started)
			}
			<-ctx.Done()
			returned <- ctx.Err()
			return failResult(time.Now(), "cancelled")
		})
		sink := &recordingSink{}
		m := newTestMonitor(t, Options{
			Targets: []Target{testTarget("api", 10*time.Millisecond, 1, 1)},
			Sink:    sink,
			Probe:   fp.probe,
		})
		m.Start()
		<-started
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Stop(ctx); err != nil {
			t.Fatalf("stop: %v", err)
		}
		if err := <-returned; !errors.Is(err, context.Canceled) {
			t.Errorf("probe ctx ended with %v, want context.Canceled", err)
		}
		// A shutdown is no outage: the cancelled probe's failure is dropped.
		if ev := sink.snapshot(); len(ev) != 0 {
			t.Errorf("sink got %d calls after a cancelled probe, want none", len(ev))
		}
		if st, _ := m.Status("api"); st.State != Unknown || st.ConsecutiveFailures != 0 {
			t.Errorf("status = %+v, want untouched", st)
		}
	})

	t.Run("gives up when its ctx ends", func(t *testing.T) {
		started, release := make(chan struct{}), make(chan struct{})
		fp := newFakeProbe(func(_ context.Context, _ string, n int) probe.Result {
			if n == 0 {
				close(started)
			}
			<-release // ignores its ctx
			return okResult(time.Now())
		})
		m, err := New(Options{
			Targets: []Target{testTarget("api", 10*time.Millisecond, 1, 1)},
			Sink:    &recordingSink{},
			Probe:   fp.probe,
		})
		if err != nil {
			t.Fatal(err)
		}
		m.Start()
		<-started
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := m.Stop(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("stop = %v, want context.Canceled", err)
		}
		close(release)
		if err := m.Stop(context.Background()); err != nil {
			t.Errorf("second stop: %v", err)
		}
	})
}

// A target that hangs until its timeout holds only its own probe: the others
// keep their schedule, and the hung one is skipped rather than piled up.
func TestMonitor_hangingTargets(t *testing.T) {
	const hung = 10
	hangStarted := make(chan struct{}, hung)
	fp := newFakeProbe(func(ctx context.Context, name string, _ int) probe.Result {
		if strings.HasPrefix(name, "hang") {
			hangStarted <- struct{}{}
			<-ctx.Done()
			return failResult(time.Now(), "timeout")
		}
		return okResult(time.Now())
	})
	targets := []Target{testTarget("healthy", 10*time.Millisecond, 3, 2)}
	for i := range hung {
		targets = append(targets, testTarget(fmt.Sprintf("hang-%d", i), 10*time.Millisecond, 3, 2))
	}
	m := newTestMonitor(t, Options{Targets: targets, Sink: &recordingSink{}, Probe: fp.probe})
	m.Start()
	for i := range hung {
		select {
		case <-hangStarted:
		case <-time.After(10 * time.Second): // a guard against hanging, not a speed check
			t.Fatalf("only %d of %d hanging probes started", i, hung)
		}
	}
	base := fp.count("healthy")
	waitFor(t, "20 healthy probes while 10 targets hang", func() bool { return fp.count("healthy") >= base+20 })
	for i := range hung {
		if n := fp.count(fmt.Sprintf("hang-%d", i)); n != 1 {
			t.Errorf("hang-%d probed %d times while hung, want 1 (skip while running)", i, n)
		}
	}
}

func TestMonitor_Initial(t *testing.T) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	fp := newFakeProbe(func(context.Context, string, int) probe.Result { return okResult(time.Now()) })
	sink := &recordingSink{}
	restored := Status{Name: "api", State: Down, Since: t0, ConsecutiveFailures: 5}
	m := newTestMonitor(t, Options{
		Targets: []Target{testTarget("api", 10*time.Millisecond, 3, 2)},
		Initial: []Status{restored, {Name: "ghost", State: Down, Since: t0}},
		Sink:    sink,
		Probe:   fp.probe,
	})

	if got, _ := m.Status("api"); !reflect.DeepEqual(got, restored) {
		t.Errorf("restored status = %+v, want %+v", got, restored)
	}
	if _, ok := m.Status("ghost"); ok {
		t.Error("unknown restored target was kept")
	}
	if all := m.Statuses(); len(all) != 1 {
		t.Errorf("Statuses = %+v, want api only", all)
	}

	m.Start()
	waitFor(t, "a transition", func() bool { return len(sink.transitions()) > 0 })
	tr := sink.transitions()[0]
	if tr.From != Down || tr.To != Up || !tr.Since.Equal(t0) {
		t.Errorf("transition = %s→%s since %s, want DOWN→UP since the restored %s", tr.From, tr.To, tr.Since, t0)
	}
	if n := fp.count("api"); n < 2 {
		t.Errorf("recovered after %d probes, want success_threshold 2", n)
	}
}

func TestMonitor_Statuses(t *testing.T) {
	fp := newFakeProbe(func(context.Context, string, int) probe.Result { return okResult(time.Now()) })
	clock := &fakeClock{now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	m := newTestMonitor(t, Options{
		Targets: []Target{testTarget("web", time.Hour, 1, 1), testTarget("api", time.Hour, 1, 1), testTarget("db", time.Hour, 1, 1)},
		Sink:    &recordingSink{},
		Probe:   fp.probe,
		Now:     clock.Now,
	})
	var names []string
	for _, s := range m.Statuses() {
		names = append(names, s.Name)
		if s.State != Unknown || !s.Since.Equal(clock.Now()) {
			t.Errorf("%s: %s since %s, want UNKNOWN since start", s.Name, s.State, s.Since)
		}
	}
	if got := strings.Join(names, ","); got != "api,db,web" {
		t.Errorf("names = %s, want api,db,web", got)
	}
}

func TestMonitor_panicRecovered(t *testing.T) {
	fp := newFakeProbe(func(_ context.Context, _ string, n int) probe.Result {
		if n == 0 {
			panic("probe bug")
		}
		return okResult(time.Now())
	})
	m := newTestMonitor(t, Options{
		Targets: []Target{testTarget("api", 10*time.Millisecond, 1, 1)},
		Sink:    &recordingSink{},
		Probe:   fp.probe,
	})
	m.Start()
	waitFor(t, "probes after a panic", func() bool { return fp.count("api") >= 3 })
}
