package monitor

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/robfig/cron/v3"

	"github.com/pollerd/pollerd/internal/probe"
)

// TestMonitor_Metrics drives one target through UNKNOWN → UP → DOWN with
// confirmation probes (no scheduler) and checks the series after each step.
func TestMonitor_Metrics(t *testing.T) {
	timings := probe.Timings{DNS: 2 * time.Millisecond, Connect: 4 * time.Millisecond,
		TLS: 8 * time.Millisecond, FirstByte: 50 * time.Millisecond}
	fp := newFakeProbe(func(_ context.Context, _ string, n int) probe.Result {
		// 0 passes (→ UP); 1 fails (→ DOWN).
		return probe.Result{OK: n == 0, At: time.Now(), Duration: 75 * time.Millisecond, Timings: timings,
			Reason: map[bool]string{true: "", false: "connection refused"}[n == 0]}
	})
	reg := prometheus.NewRegistry()
	m := newTestMonitor(t, Options{
		Targets:         []Target{testTarget("api", time.Hour, 1, 1)},
		Sink:            &recordingSink{},
		Probe:           fp.probe,
		ConfirmCooldown: time.Nanosecond,
		Registerer:      reg,
	})

	// UNKNOWN: no pollerd_target_up at all, counters at zero, no phases.
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP pollerd_probes_total Probes of a target by result (ok or fail).
# TYPE pollerd_probes_total counter
pollerd_probes_total{result="fail",target="api"} 0
pollerd_probes_total{result="ok",target="api"} 0
`), "pollerd_target_up", "pollerd_probes_total", "pollerd_probe_phase_seconds"); err != nil {
		t.Fatalf("while UNKNOWN: %v", err)
	}

	m.Confirm(context.Background(), []string{"api"})
	if st, _ := m.Status("api"); st.State != Up {
		t.Fatalf("state = %s, want UP", st.State)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP pollerd_target_up Whether the target is up (1) or down (0) by its state machine; absent while UNKNOWN.
# TYPE pollerd_target_up gauge
pollerd_target_up{group="",target="api"} 1
# HELP pollerd_probes_total Probes of a target by result (ok or fail).
# TYPE pollerd_probes_total counter
pollerd_probes_total{result="fail",target="api"} 0
pollerd_probes_total{result="ok",target="api"} 1
# HELP pollerd_probe_phase_seconds Duration of each phase of the target's last probe: dns, connect, tls, and first_byte (time to first byte from the start). Zero when the probe kind has no such phase.
# TYPE pollerd_probe_phase_seconds gauge
pollerd_probe_phase_seconds{phase="connect",target="api"} 0.004
pollerd_probe_phase_seconds{phase="dns",target="api"} 0.002
pollerd_probe_phase_seconds{phase="first_byte",target="api"} 0.05
pollerd_probe_phase_seconds{phase="tls",target="api"} 0.008
`), "pollerd_target_up", "pollerd_probes_total", "pollerd_probe_phase_seconds"); err != nil {
		t.Fatalf("after UP: %v", err)
	}

	m.Confirm(context.Background(), []string{"api"})
	if st, _ := m.Status("api"); st.State != Down {
		t.Fatalf("state = %s, want DOWN", st.State)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP pollerd_target_up Whether the target is up (1) or down (0) by its state machine; absent while UNKNOWN.
# TYPE pollerd_target_up gauge
pollerd_target_up{group="",target="api"} 0
# HELP pollerd_probes_total Probes of a target by result (ok or fail).
# TYPE pollerd_probes_total counter
pollerd_probes_total{result="fail",target="api"} 1
pollerd_probes_total{result="ok",target="api"} 1
# HELP pollerd_probe_duration_seconds Duration of each probe of a target, start to verdict (scheduled and confirmation probes).
# TYPE pollerd_probe_duration_seconds histogram
pollerd_probe_duration_seconds_bucket{target="api",le="0.01"} 0
pollerd_probe_duration_seconds_bucket{target="api",le="0.025"} 0
pollerd_probe_duration_seconds_bucket{target="api",le="0.05"} 0
pollerd_probe_duration_seconds_bucket{target="api",le="0.1"} 2
pollerd_probe_duration_seconds_bucket{target="api",le="0.25"} 2
pollerd_probe_duration_seconds_bucket{target="api",le="0.5"} 2
pollerd_probe_duration_seconds_bucket{target="api",le="1"} 2
pollerd_probe_duration_seconds_bucket{target="api",le="2.5"} 2
pollerd_probe_duration_seconds_bucket{target="api",le="5"} 2
pollerd_probe_duration_seconds_bucket{target="api",le="10"} 2
pollerd_probe_duration_seconds_bucket{target="api",le="+Inf"} 2
pollerd_probe_duration_seconds_sum{target="api"} 0.15
pollerd_probe_duration_seconds_count{target="api"} 2
`), "pollerd_target_up", "pollerd_probes_total", "pollerd_probe_duration_seconds"); err != nil {
		t.Fatalf("after DOWN: %v", err)
	}

	// Confirmations are not scheduled: no lateness.
	if n := histogramCount(t, reg, "pollerd_schedule_lateness_seconds"); n != 0 {
		t.Errorf("lateness observations = %d, want 0 (confirmations only)", n)
	}
}

// TestMonitor_MetricsRestored: a state restored from the store shows at
// once, before any probe; an UNKNOWN one stays absent.
func TestMonitor_MetricsRestored(t *testing.T) {
	reg := prometheus.NewRegistry()
	fp := newFakeProbe(func(context.Context, string, int) probe.Result { return probe.Result{OK: true} })
	newTestMonitor(t, Options{
		Targets: []Target{testTarget("a", time.Hour, 1, 1), testTarget("b", time.Hour, 1, 1),
			testTarget("c", time.Hour, 1, 1)},
		Initial:    []Status{{Name: "a", State: Down}, {Name: "b", State: Up}, {Name: "c", State: Unknown}},
		Sink:       &recordingSink{},
		Probe:      fp.probe,
		Registerer: reg,
	})
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP pollerd_target_up Whether the target is up (1) or down (0) by its state machine; absent while UNKNOWN.
# TYPE pollerd_target_up gauge
pollerd_target_up{group="",target="a"} 0
pollerd_target_up{group="",target="b"} 1
`), "pollerd_target_up"); err != nil {
		t.Fatal(err)
	}
}

// TestMonitor_MetricsLateness: scheduled probes record how late they
// started after their slot.
func TestMonitor_MetricsLateness(t *testing.T) {
	reg := prometheus.NewRegistry()
	fp := newFakeProbe(func(context.Context, string, int) probe.Result { return probe.Result{OK: true, At: time.Now()} })
	m := newTestMonitor(t, Options{
		Targets:    []Target{testTarget("a", 50*time.Millisecond, 1, 1), testTarget("b", 50*time.Millisecond, 1, 1)},
		Sink:       &recordingSink{},
		Probe:      fp.probe,
		Registerer: reg,
	})
	m.Start()
	waitFor(t, "three probes of each target", func() bool { return fp.count("a") >= 3 && fp.count("b") >= 3 })
	n := histogramCount(t, reg, "pollerd_schedule_lateness_seconds")
	if n < 6 {
		t.Errorf("lateness observations = %d, want ≥ 6", n)
	}
	// A start is never measured as later than an interval: slots are the
	// schedule's own instants, not the time the job happened to run.
	mf := gather(t, reg, "pollerd_schedule_lateness_seconds")
	h := mf.GetMetric()[0].GetHistogram()
	if avg := h.GetSampleSum() / float64(h.GetSampleCount()); avg < 0 || avg >= 0.05 {
		t.Errorf("mean lateness = %gs, want in [0, 0.05)", avg)
	}
}

func TestScheduledSlot(t *testing.T) {
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	every5s, err := specParser.Parse("*/5 * * * * *")
	if err != nil {
		t.Fatal(err)
	}
	hourly, err := specParser.Parse("0 * * * *")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		s    cron.Schedule
		now  time.Time
		want time.Time
	}{
		// An interval schedule's slot is its Prev.
		{"interval", IntervalSchedule{Interval: 10 * time.Second, Phase: 3 * time.Second},
			at("2025-01-01T00:00:14.002Z"), at("2025-01-01T00:00:13Z")},
		// A cron spec: the last instant at or before now.
		{"spec, 2 ms late", every5s, at("2025-01-01T00:00:10.002Z"), at("2025-01-01T00:00:10Z")},
		{"spec, on time", every5s, at("2025-01-01T00:00:10Z"), at("2025-01-01T00:00:10Z")},
		// Beyond the lookback it is not told (zero: not recorded).
		{"spec, slot too far back", hourly, at("2025-01-01T00:30:00Z"), time.Time{}},
		{"spec, 30 s late", hourly, at("2025-01-01T01:00:30Z"), at("2025-01-01T01:00:00Z")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := scheduledSlot(tc.s, tc.now); !got.Equal(tc.want) {
				t.Errorf("scheduledSlot(%s) = %s, want %s", tc.now, got, tc.want)
			}
		})
	}
}

// TestNew_MetricsTwice: a second monitor on the same registry is refused
// (a reload must unregister the old one first), and leaves nothing behind.
func TestNew_MetricsTwice(t *testing.T) {
	reg := prometheus.NewRegistry()
	fp := newFakeProbe(func(context.Context, string, int) probe.Result { return probe.Result{OK: true} })
	o := Options{Targets: []Target{testTarget("a", time.Hour, 1, 1)}, Sink: &recordingSink{}, Probe: fp.probe, Registerer: reg}
	newTestMonitor(t, o)
	if _, err := New(o); err == nil || !strings.Contains(err.Error(), "register metrics") {
		t.Fatalf("second New on one registry: err = %v, want a registration error", err)
	}
}

// TestMonitor_MetricsLabels: the monitor's series carry only bounded
// labels: target names from the config, fixed results and phases.
func TestMonitor_MetricsLabels(t *testing.T) {
	reg := prometheus.NewRegistry()
	fp := newFakeProbe(func(context.Context, string, int) probe.Result {
		return probe.Result{At: time.Now(), Reason: "HTTP 503 from https://x.example/?token=secret"}
	})
	m := newTestMonitor(t, Options{Targets: []Target{testTarget("api", time.Hour, 1, 1)},
		Sink: &recordingSink{}, Probe: fp.probe, Registerer: reg})
	m.Confirm(context.Background(), []string{"api"})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]map[string]bool{
		"target": {"api": true},
		"group":  {"": true},
		"result": {"ok": true, "fail": true},
		"phase":  {phaseDNS: true, phaseConnect: true, phaseTLS: true, phaseFirstByte: true},
		"le":     nil, // bucket bounds
	}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			for _, lp := range mt.GetLabel() {
				vals, ok := allowed[lp.GetName()]
				if !ok || vals != nil && !vals[lp.GetValue()] {
					t.Errorf("%s: label %s=%q not allowed", mf.GetName(), lp.GetName(), lp.GetValue())
				}
			}
		}
	}
}

func gather(t *testing.T, g prometheus.Gatherer, name string) *dto.MetricFamily {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf
		}
	}
	t.Fatalf("no %s in the exposition", name)
	return nil
}

func histogramCount(t *testing.T, g prometheus.Gatherer, name string) uint64 {
	t.Helper()
	var n uint64
	for _, m := range gather(t, g, name).GetMetric() {
		n += m.GetHistogram().GetSampleCount()
	}
	return n
}

// A target's series live with its entry: a reload that removes the target
// removes them, one that adds a target adds them at zero.
func TestMonitor_MetricsFollowApply(t *testing.T) {
	reg := prometheus.NewRegistry()
	fp := newFakeProbe(failing)
	m := newTestMonitor(t, Options{Targets: []Target{testTarget("api", time.Hour, 3, 2)}, Sink: &recordingSink{},
		Probe: fp.probe, ConfirmInterval: time.Millisecond, Registerer: reg})
	m.Confirm(context.Background(), []string{"api"})
	if n := histogramCount(t, reg, "pollerd_probe_duration_seconds"); n != 3 {
		t.Fatalf("api's probe durations counted %d, want 3", n)
	}
	applyNow(t, m, Update{Targets: []Target{testTarget("db", time.Hour, 3, 2)}})
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP pollerd_probes_total Probes of a target by result (ok or fail).
# TYPE pollerd_probes_total counter
pollerd_probes_total{result="fail",target="db"} 0
pollerd_probes_total{result="ok",target="db"} 0
`), "pollerd_probes_total"); err != nil {
		t.Fatal(err)
	}
	if n := histogramCount(t, reg, "pollerd_probe_duration_seconds"); n != 0 {
		t.Errorf("probe durations counted %d after api was removed, want 0", n)
	}
}
