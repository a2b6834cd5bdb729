package monitor

import (
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"

	"github.com/pollerd/pollerd/internal/probe"
)

// Buckets of the monitor's histograms. Probe durations run from a few
// milliseconds on a LAN to the timeout (at most the interval); lateness is
// meant to stay under 5 ms at p99 (DESIGN), so its buckets are fine below
// that and coarse above.
var latenessBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}

// Phases of pollerd_probe_phase_seconds, in probe.Timings order.
const (
	phaseDNS       = "dns"
	phaseConnect   = "connect"
	phaseTLS       = "tls"
	phaseFirstByte = "first_byte"
)

// metrics are the monitor's Prometheus series. A target's probe counts and
// duration histogram live in its entry (probeCounts: a dozen atomic words,
// about 100 bytes) and become series at scrape time, like everything its
// status already holds (up or down, the last probe's phases): at 10,000
// targets, client_golang's own per-target vectors held 1.8 KB a target.
// Only the lateness histogram, one series, is client_golang's.
type metrics struct {
	lateness prometheus.Histogram
}

// probeCounts are one target's probe counters: results, and the duration
// histogram's buckets (non-cumulative), count and sum.
type probeCounts struct {
	ok, fail atomic.Uint64
	buckets  [len(probeDurationBucketsArr)]atomic.Uint64 // the last one is +Inf
	sumNanos atomic.Uint64
}

// probeDurationBucketsArr fixes the bucket count at compile time.
var probeDurationBucketsArr = [...]float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, math.Inf(1)}

// registerMetrics registers the monitor's series on reg; a nil reg means
// no metrics (and no per-probe cost).
func (m *Monitor) registerMetrics(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	mt := &metrics{
		lateness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "pollerd_schedule_lateness_seconds",
			Help:    "How late a scheduled probe started after its slot.",
			Buckets: latenessBuckets,
		}),
	}
	cs := []prometheus.Collector{mt.lateness, statusCollector{m}}
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			for _, done := range cs[:i] {
				reg.Unregister(done)
			}
			return fmt.Errorf("register metrics: %w", err)
		}
	}
	for _, e := range m.load().entries {
		e.metrics = new(probeCounts)
	}
	m.metrics = mt
	return nil
}

// observeProbe counts one probe of e. Cheap enough to run on every probe:
// three atomic adds.
func (m *Monitor) observeProbe(e *entry, d time.Duration, ok bool) {
	c := e.metrics
	if c == nil {
		return
	}
	secs := d.Seconds()
	i := 0
	for i < len(probeDurationBucketsArr)-1 && secs > probeDurationBucketsArr[i] {
		i++
	}
	c.buckets[i].Add(1)
	c.sumNanos.Add(uint64(max(d, 0)))
	if ok {
		c.ok.Add(1)
	} else {
		c.fail.Add(1)
	}
}

// observeLateness records how late a scheduled probe started after due, its
// slot; a zero due (a confirmation) is not scheduled and not recorded. The
// wall clock, not Options.Now: cron fires on the wall clock.
func (m *Monitor) observeLateness(due time.Time) {
	if m.metrics == nil || due.IsZero() {
		return
	}
	m.metrics.lateness.Observe(max(time.Since(due), 0).Seconds())
}

// slotOf is the firing instant of s that a job running at now was started
// for; zero when metrics are off or it cannot be told.
func (m *Monitor) slotOf(s cron.Schedule, now time.Time) time.Time {
	if m.metrics == nil {
		return time.Time{}
	}
	return scheduledSlot(s, now)
}

// slotLookback bounds the search for the slot of a cron-spec schedule: a
// job later than this is not measured (it would be a wedged scheduler, which
// the watchdog catches).
const slotLookback = time.Minute

// scheduledSlot returns the last firing instant of s at or before now. An
// IntervalSchedule knows it (Prev); a cron spec is walked forward from
// slotLookback ago (its instants are whole seconds, so at most 60 steps).
func scheduledSlot(s cron.Schedule, now time.Time) time.Time {
	if is, ok := s.(IntervalSchedule); ok {
		return is.Prev(now)
	}
	t := s.Next(now.Add(-slotLookback))
	if t.IsZero() || t.After(now) {
		return time.Time{}
	}
	for {
		n := s.Next(t)
		if n.IsZero() || n.After(now) {
			return t
		}
		t = n
	}
}

// targetGroup is a target's group label (DESIGN: group="" for a target
// without one).
func targetGroup(t Target) string { return t.Group }

// statusCollector reads every target's status at scrape time:
// pollerd_target_up (absent while UNKNOWN) and the phases of its last probe
// (targets × 4 series, none before the first probe). Reading here costs
// nothing per probe; a scrape of 10,000 targets takes a lock per target.
type statusCollector struct{ m *Monitor }

var (
	targetUpDesc = prometheus.NewDesc("pollerd_target_up",
		"Whether the target is up (1) or down (0) by its state machine; absent while UNKNOWN.",
		[]string{"target", "group"}, nil)
	probeDurationDesc = prometheus.NewDesc("pollerd_probe_duration_seconds",
		"Duration of each probe of a target, start to verdict (scheduled and confirmation probes).",
		[]string{"target"}, nil)
	probesDesc = prometheus.NewDesc("pollerd_probes_total",
		"Probes of a target by result (ok or fail).",
		[]string{"target", "result"}, nil)
	probePhaseDesc = prometheus.NewDesc("pollerd_probe_phase_seconds",
		"Duration of each phase of the target's last probe: dns, connect, tls, and first_byte (time to first byte from the start). Zero when the probe kind has no such phase.",
		[]string{"target", "phase"}, nil)
)

func (c statusCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- targetUpDesc
	ch <- probePhaseDesc
	ch <- probeDurationDesc
	ch <- probesDesc
}

func (c statusCollector) Collect(ch chan<- prometheus.Metric) {
	// One snapshot per target, then each series in the order the registry
	// sorts it into (by label values, label names in order: phase before
	// target), so its sort finds them sorted: a third of a 10,000-target
	// scrape's cost otherwise (BenchmarkGather10k).
	entries := c.m.load().entries
	sts := make([]Status, len(entries))
	for i, e := range entries {
		sts[i] = e.snapshot()
	}
	for i, e := range entries {
		switch sts[i].State {
		case Up:
			ch <- prometheus.MustNewConstMetric(targetUpDesc, prometheus.GaugeValue, 1, e.name(), targetGroup(e.target))
		case Down:
			ch <- prometheus.MustNewConstMetric(targetUpDesc, prometheus.GaugeValue, 0, e.name(), targetGroup(e.target))
		}
	}
	phases := []struct {
		name string
		of   func(probe.Timings) time.Duration
	}{ // sorted by name
		{phaseConnect, func(t probe.Timings) time.Duration { return t.Connect }},
		{phaseDNS, func(t probe.Timings) time.Duration { return t.DNS }},
		{phaseFirstByte, func(t probe.Timings) time.Duration { return t.FirstByte }},
		{phaseTLS, func(t probe.Timings) time.Duration { return t.TLS }},
	}
	for _, ph := range phases {
		for i, e := range entries {
			if sts[i].Last.At.IsZero() {
				continue // not probed since start
			}
			ch <- prometheus.MustNewConstMetric(probePhaseDesc, prometheus.GaugeValue,
				ph.of(sts[i].Last.Timings).Seconds(), e.name(), ph.name)
		}
	}
	for _, e := range entries {
		if c := e.metrics; c != nil {
			ch <- c.histogram(e.name())
		}
	}
	for _, result := range []string{"fail", "ok"} { // sorted
		for _, e := range entries {
			c := e.metrics
			if c == nil {
				continue
			}
			n := c.ok.Load()
			if result == "fail" {
				n = c.fail.Load()
			}
			ch <- prometheus.MustNewConstMetric(probesDesc, prometheus.CounterValue, float64(n), e.name(), result)
		}
	}
}

// histogram is the target's pollerd_probe_duration_seconds, cumulative as
// Prometheus wants it. The buckets are read one by one while probes go on,
// so a scrape may see a probe in count but not yet in its bucket; the next
// scrape is exact, as with client_golang's own histograms.
func (c *probeCounts) histogram(target string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(probeDurationBucketsArr)-1)
	var cum uint64
	for i, le := range probeDurationBucketsArr[:len(probeDurationBucketsArr)-1] {
		cum += c.buckets[i].Load()
		buckets[le] = cum
	}
	count := cum + c.buckets[len(probeDurationBucketsArr)-1].Load()
	sum := time.Duration(c.sumNanos.Load()).Seconds()
	return prometheus.MustNewConstHistogram(probeDurationDesc, count, sum, buckets, target)
}
