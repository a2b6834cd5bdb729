package monitor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/pollerd/pollerd/internal/probe"
)

// benchRegisterer is a fresh registry when metrics is set, else none (an
// untyped nil: a nil *Registry would be a non-nil Registerer).
func benchRegisterer(metrics bool) prometheus.Registerer {
	if !metrics {
		return nil
	}
	return prometheus.NewRegistry()
}

// BenchmarkScheduler10kMetrics is BenchmarkScheduler10k with the metrics
// on: compare cpu_cores and lateness with it to see what they cost.
func BenchmarkScheduler10kMetrics(b *testing.B) { benchSchedulerOpts(b, 10_000, 2*time.Second, true) }

// BenchmarkScheduler10kAt10sMetrics is BenchmarkScheduler10kAt10s with the
// metrics on.
func BenchmarkScheduler10kAt10sMetrics(b *testing.B) {
	benchSchedulerOpts(b, 10_000, 10*time.Second, true)
}

// BenchmarkObserveProbe is the metrics' cost per scheduled probe: its
// duration, its result and its lateness.
//
//	go test -run='^$' -bench=ObserveProbe ./internal/monitor
func BenchmarkObserveProbe(b *testing.B) {
	m := benchMonitor(b, 1)
	e := m.load().entries[0]
	due := time.Now()
	for b.Loop() {
		m.observeLateness(due)
		m.observeProbe(e, 30*time.Millisecond, true)
	}
}

// BenchmarkGather10k is one scrape of the monitor's series with 10,000
// probed targets (about 200,000 samples: histograms, up, phases).
func BenchmarkGather10k(b *testing.B) {
	reg := prometheus.NewRegistry()
	m := benchMonitorOn(b, 10_000, reg)
	now := time.Now()
	for _, e := range m.load().entries {
		e.status.State = Up
		e.status.Last = probe.Result{OK: true, At: now, Duration: 40 * time.Millisecond,
			Timings: probe.Timings{DNS: time.Millisecond, Connect: 2 * time.Millisecond, TLS: 5 * time.Millisecond, FirstByte: 30 * time.Millisecond}}
		m.observeProbe(e, 40*time.Millisecond, true)
	}
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}

func benchMonitor(b *testing.B, n int) *Monitor {
	return benchMonitorOn(b, n, prometheus.NewRegistry())
}

func benchMonitorOn(b *testing.B, n int, reg prometheus.Registerer) *Monitor {
	b.Helper()
	targets := make([]Target, n)
	for i := range targets {
		targets[i] = testTarget(fmt.Sprintf("target-%05d", i), 10*time.Second, 3, 2)
	}
	m, err := New(Options{Targets: targets, Sink: nopSink{}, Logger: zap.NewNop(), Registerer: reg,
		Probe: func(context.Context, probe.Target) probe.Result { return probe.Result{OK: true} }})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = m.Stop(context.Background()) })
	return m
}
