package alert

import (
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/alert/alerttest"
	"github.com/pollerd/pollerd/internal/incident"
	"go.uber.org/zap"
)

// discard is a Sink that drops everything.
type discard struct{}

func (discard) Emit(incident.Change, ...Message) {}

// benchEngine is an engine with the in-memory store and a discarding
// sink, not running: Add and Settle are measured alone.
func benchEngine(b *testing.B, maxFP int) *Engine {
	b.Helper()
	e, err := New(Options{
		Store:           alerttest.NewStore(),
		Sink:            discard{},
		Services:        map[string][]string{"shop": {"api"}},
		MaxFingerprints: maxFP,
		Logger:          zap.NewNop(),
	})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkEngine_AddRepeat is the hot path of a report storm: a repeat of a
// known fingerprint is counted.
func BenchmarkEngine_AddRepeat(b *testing.B) {
	e := benchEngine(b, 0)
	r := report("shop", "fp")
	e.Add(r)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		e.Add(r)
	}
}

// BenchmarkEngine_DistinctFingerprints floods the engine with 1,000,000
// distinct fingerprints (the default bound holds 100,000) and reports the
// heap the engine holds afterwards: memory is bounded by max_fingerprints,
// not by the flood.
func BenchmarkEngine_DistinctFingerprints(b *testing.B) {
	const n = 1_000_000
	fps := make([]string, n)
	for i := range fps {
		fps[i] = "fp" + strconv.Itoa(i)
	}
	for b.Loop() {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		e := benchEngine(b, 100_000)
		start := time.Now()
		for _, fp := range fps {
			e.Add(report("shop", fp))
		}
		took := time.Since(start)
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		e.reports.mu.Lock()
		held := len(e.reports.entries)
		e.reports.mu.Unlock()
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heap_MiB")
		b.ReportMetric(float64(held), "fingerprints_held")
		b.ReportMetric(float64(took.Nanoseconds())/n, "ns/report")
		runtime.KeepAlive(e)
	}
}
