package monitor

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/pollerd/pollerd/internal/probe"
)

// BenchmarkScheduler10k runs the real cron scheduler with 10,000 phased
// interval targets and a probe that only records when it started. The design
// interval is 10 s; the benchmark uses 2 s to stay short, which makes the
// scheduler's job five times harder (5,000 starts a second instead of 1,000).
// Each iteration runs one interval plus a quarter, then stops.
//
//	go test -run='^$' -bench=Scheduler10k -benchtime=1x ./internal/monitor
//
// Metrics: max_per_100ms (most probe starts in any 100 ms window) against
// ideal_per_100ms (n × 100 ms / interval); lateness_p50_ms and
// lateness_p99_ms (start minus the instant the target's phase scheduled);
// first_round_s (from Start until every target was probed once); cpu_cores
// (process CPU time over wall time while scheduling: the scheduler's cost,
// since the fake probe does next to nothing); missed_first_round (targets not
// probed at all within the window; 0 when the scheduler keeps up).
func BenchmarkScheduler10k(b *testing.B) { benchScheduler(b, 10_000, 2*time.Second) }

// BenchmarkScheduler1k is the same at a tenth of the targets: comparing the
// two shows how lateness grows with the number of cron entries.
func BenchmarkScheduler1k(b *testing.B) { benchScheduler(b, 1_000, 2*time.Second) }

type nopSink struct{}

func (nopSink) Transition(Transition) {}
func (nopSink) Observe(Status)        {}

// probeStart is one recorded probe start.
type probeStart struct {
	name string
	at   time.Time
}

type startRecorder struct {
	mu     sync.Mutex
	starts []probeStart
}

func (r *startRecorder) probe(_ context.Context, t probe.Target) probe.Result {
	now := time.Now()
	r.mu.Lock()
	r.starts = append(r.starts, probeStart{t.Name, now})
	r.mu.Unlock()
	return probe.Result{OK: true, At: now}
}

func benchScheduler(b *testing.B, n int, interval time.Duration) {
	benchSchedulerOpts(b, n, interval, false)
}

// benchSchedulerOpts is benchScheduler, with the monitor's metrics on a
// registry when metrics is set (metrics_bench_test.go), to show their cost.
func benchSchedulerOpts(b *testing.B, n int, interval time.Duration, metrics bool) {
	const window = 100 * time.Millisecond
	targets := make([]Target, n)
	schedules := make(map[string]IntervalSchedule, n)
	for i := range targets {
		name := fmt.Sprintf("target-%05d", i)
		targets[i] = testTarget(name, interval, 3, 2)
		schedules[name] = NewIntervalSchedule(name, interval)
	}

	var maxWin, p50, p99, firstRound, cores, missed []float64
	for b.Loop() {
		rec := &startRecorder{starts: make([]probeStart, 0, 2*n)}
		m, err := New(Options{Targets: targets, Sink: nopSink{}, Probe: rec.probe, Logger: zap.NewNop(),
			Registerer: benchRegisterer(metrics)})
		if err != nil {
			b.Fatal(err)
		}
		cpu0 := cpuTime(b)
		start := time.Now()
		m.Start()
		time.Sleep(interval + interval/4)
		cores = append(cores, float64(cpuTime(b)-cpu0)/float64(time.Since(start)))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = m.Stop(ctx)
		cancel()
		if err != nil {
			b.Fatal(err)
		}

		rec.mu.Lock()
		starts := rec.starts
		rec.mu.Unlock()
		first := make(map[string]time.Time, n)
		lateness := make([]time.Duration, 0, len(starts))
		ats := make([]time.Time, 0, len(starts))
		for _, s := range starts {
			if f, ok := first[s.name]; !ok || s.at.Before(f) {
				first[s.name] = s.at
			}
			lateness = append(lateness, s.at.Sub(schedules[s.name].Prev(s.at)))
			ats = append(ats, s.at)
		}
		// A scheduler that falls behind (cron's loop is CPU-bound, see the
		// report) leaves targets unprobed within the window: count them, and
		// let first_round_s be the whole window then.
		missed = append(missed, float64(n-len(first)))
		last := start.Add(interval + interval/4)
		if len(first) == n {
			last = time.Time{}
			for _, f := range first {
				if f.After(last) {
					last = f
				}
			}
		}
		firstRound = append(firstRound, last.Sub(start).Seconds())

		slices.SortFunc(lateness, func(a, b time.Duration) int { return int(a - b) })
		p50 = append(p50, ms(lateness[len(lateness)/2]))
		p99 = append(p99, ms(lateness[len(lateness)*99/100]))

		slices.SortFunc(ats, func(a, b time.Time) int { return a.Compare(b) })
		most, j := 0, 0
		for i := range ats {
			for ats[i].Sub(ats[j]) >= window {
				j++
			}
			most = max(most, i-j+1)
		}
		maxWin = append(maxWin, float64(most))
	}

	b.ReportMetric(median(maxWin), "max_per_100ms")
	b.ReportMetric(float64(n)*float64(window)/float64(interval), "ideal_per_100ms")
	b.ReportMetric(median(p50), "lateness_p50_ms")
	b.ReportMetric(median(p99), "lateness_p99_ms")
	b.ReportMetric(median(firstRound), "first_round_s")
	b.ReportMetric(median(cores), "cpu_cores")
	b.ReportMetric(median(missed), "missed_first_round")
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	return s[len(s)/2]
}

// BenchmarkScheduler10kAt10s is the design's case itself: 10,000 targets
// at 10 s (each iteration runs 12.5 s).
func BenchmarkScheduler10kAt10s(b *testing.B) { benchScheduler(b, 10_000, 10*time.Second) }
