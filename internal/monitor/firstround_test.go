package monitor

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/pollerd/pollerd/internal/probe"
)

// Start logs one first-round line at info; UNKNOWN → UP transitions are at
// debug, UNKNOWN → DOWN at info.
func TestMonitor_FirstRoundSummary(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	fp := newFakeProbe(func(_ context.Context, name string, _ int) probe.Result {
		if strings.HasPrefix(name, "bad") {
			return failResult(time.Now(), "refused")
		}
		return okResult(time.Now())
	})
	m := newTestMonitor(t, Options{
		Targets: []Target{testTarget("a", 10*time.Millisecond, 1, 1), testTarget("b", 10*time.Millisecond, 1, 1),
			testTarget("bad", 10*time.Millisecond, 1, 1)},
		Sink: &recordingSink{}, Probe: fp.probe, Logger: zap.New(core),
	})
	m.Start()
	waitFor(t, "the first-round line and three transitions", func() bool {
		return logs.FilterMessage("first round").Len() == 1 && logs.FilterMessage("transition").Len() >= 3
	})
	f := logs.FilterMessage("first round").All()[0]
	if got := f.ContextMap(); f.Level != zapcore.InfoLevel || got["up"] != int64(2) || got["down"] != int64(1) || got["unknown"] != int64(0) {
		t.Errorf("first round line %v at %v, want up 2, down 1, unknown 0 at info", got, f.Level)
	}
	for _, e := range logs.FilterMessage("transition").All() {
		want := zapcore.InfoLevel
		if e.ContextMap()["from"] == string(Unknown) && e.ContextMap()["to"] == string(Up) {
			want = zapcore.DebugLevel
		}
		if e.Level != want {
			t.Errorf("transition %v at %v, want %v", e.ContextMap(), e.Level, want)
		}
	}
	time.Sleep(30 * time.Millisecond) // more rounds: still one summary
	if n := logs.FilterMessage("first round").Len(); n != 1 {
		t.Errorf("%d first-round lines, want 1", n)
	}
}

// Targets never probed within the longest interval count as unknown.
func TestFirstRound_Deadline(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	f := newFirstRound(zap.New(core), []Target{testTarget("a", time.Second, 1, 1), testTarget("b", time.Second, 1, 1)})
	f.deadline = 10 * time.Millisecond
	f.start()
	f.observe("a", true)
	f.observe("a", true)
	waitFor(t, "the first-round line", func() bool { return logs.Len() == 1 })
	if got := logs.All()[0].ContextMap(); got["up"] != int64(1) || got["unknown"] != int64(1) {
		t.Errorf("first round %v, want up 1, unknown 1", got)
	}
}
