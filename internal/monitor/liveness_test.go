package monitor

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func TestLiveness_tick(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	lv := &liveness{every: time.Second}
	for _, s := range []struct {
		name       string
		at         time.Duration
		wantStalls uint64
	}{
		{"first tick", 0, 0},
		{"on time", time.Second, 0},
		{"a little late is not a stall", 2500 * time.Millisecond, 0},
		{"three periods apart is a stall", 5600 * time.Millisecond, 1},
		{"on time again", 6600 * time.Millisecond, 1},
	} {
		lv.tick(t0.Add(s.at))
		if lv.l.Stalls != s.wantStalls || !lv.l.Last.Equal(t0.Add(s.at)) {
			t.Errorf("%s: %+v, want stalls %d, last %v", s.name, lv.l, s.wantStalls, t0.Add(s.at))
		}
	}
	l := Liveness{Last: t0}
	if !l.Fresh(t0.Add(3*time.Second), 3*time.Second) || l.Fresh(t0.Add(3*time.Second+1), 3*time.Second) {
		t.Error("Fresh: wrong at the bound")
	}
	if l := (Liveness{Last: t0, Every: time.Second}); !l.OnTime(t0.Add(3*time.Second)) || l.OnTime(t0.Add(3*time.Second+1)) {
		t.Error("OnTime: wrong at 3 periods")
	}
	if (Liveness{}).Fresh(t0, time.Hour) {
		t.Error("Fresh: zero Liveness (never ticked) is fresh")
	}
}

// gateWriter blocks every Write while the gate is closed: a log sink that
// hangs, like a full stderr pipe.
type gateWriter struct {
	mu   sync.Mutex
	open chan struct{} // closed = open
}

func (g *gateWriter) Write(p []byte) (int, error) {
	g.mu.Lock()
	c := g.open
	g.mu.Unlock()
	<-c
	return len(p), nil
}

func (g *gateWriter) set(open bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if open {
		close(g.open)
	} else {
		g.open = make(chan struct{})
	}
}

// TestMonitor_Liveness: the tick runs while the scheduler runs, and stops
// when cron's own loop is wedged (here: blocked writing its debug "wake"
// line), so whoever reads it stops pinging.
func TestMonitor_Liveness(t *testing.T) {
	const tick = 20 * time.Millisecond
	gate := &gateWriter{open: make(chan struct{})}
	gate.set(true)
	core := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewDevelopmentEncoderConfig()), zapcore.AddSync(gate), zap.DebugLevel)
	m, err := New(Options{Sink: &recordingSink{}, Probe: newFakeProbe(nil).probe, Logger: zap.New(core), Tick: tick})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Liveness(); !got.Last.IsZero() {
		t.Fatalf("Liveness before Start = %+v, want zero", got)
	}
	m.Start()
	defer func() { _ = m.Stop(context.Background()) }()

	waitFor(t, "a tick", func() bool { return m.Liveness().OnTime(time.Now()) })

	gate.set(false) // wedge cron's run loop on its next log line
	time.Sleep(3 * tick)
	frozen := m.Liveness().Last
	time.Sleep(10 * tick)
	if got := m.Liveness(); !got.Last.Equal(frozen) || got.OnTime(time.Now()) {
		t.Fatalf("wedged scheduler still ticks: %+v (frozen at %v)", got, frozen)
	}

	gate.set(true)
	waitFor(t, "a fresh tick after the stall", func() bool { return m.Liveness().OnTime(time.Now()) })
	if got := m.Liveness(); got.Stalls == 0 {
		t.Errorf("Stalls = 0 after a stall of %s, want ≥ 1", 10*tick)
	}
}
