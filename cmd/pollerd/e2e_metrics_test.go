package main

import (
	"bytes"
	"context"
	"net/http"
	"os/exec"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/pollerd/pollerd/internal/alert/alerttest"
)

// TestE2E_Metrics scrapes /metrics of the real daemon after a scripted
// outage and reports, parses it as Prometheus would (expfmt), checks that
// the counters moved as they should, and runs promtool over it.
func TestE2E_Metrics(t *testing.T) {
	_, targetURL := newFlipperServer(t, false)
	wh := alerttest.NewWebhook(t)
	cfg := repConfig(t.TempDir(), true, repTarget("homeserver", targetURL),
		"  - name: "+repService+"\n    targets: [homeserver]\n", "")
	d := startDaemon(t, writeConfig(t, t.TempDir(), cfg), "SLACK_WEBHOOK_URL="+wh.URL())
	c := newRepClient(t, d, 1)

	if p := c.post(t, repFixture(t, "node-502.json")); p.status != http.StatusAccepted {
		t.Fatalf("report: %d %s", p.status, p.body)
	}
	if p := c.post(t, repFixture(t, "node-502.json")); p.status != http.StatusAccepted {
		t.Fatalf("repeat report: %d %s", p.status, p.body)
	}
	if p := c.post(t, repForService(t, repFixture(t, "node-502.json"), "no-such-service")); p.status != http.StatusNotFound {
		t.Fatalf("unknown service: %d %s", p.status, p.body)
	}
	wh.WaitFor(t, 1, repWait) // the DOWN, delivered

	var mfs map[string]*dto.MetricFamily
	var body []byte
	deadline := time.Now().Add(repWait)
	for {
		var code int
		code, body = d.get("/metrics")
		if code != http.StatusOK {
			t.Fatalf("GET /metrics = %d %s", code, body)
		}
		var err error
		parser := expfmt.NewTextParser(model.UTF8Validation)
		mfs, err = parser.TextToMetricFamilies(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("exposition does not parse: %v", err)
		}
		// The outbox marks the DOWN delivered just after Slack took it.
		if metricValue(mfs, "pollerd_notifications_total", "channel", "slack", "result", "delivered") >= 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	checks := []struct {
		name   string
		labels []string
		want   func(float64) bool
		what   string
	}{
		{"pollerd_target_up", []string{"target", "homeserver", "group", ""}, valueIs(0), "0 (DOWN)"},
		{"pollerd_probes_total", []string{"target", "homeserver", "result", "fail"}, valueAtLeast(1), "≥ 1"},
		{"pollerd_probes_total", []string{"target", "homeserver", "result", "ok"}, valueIs(0), "0"},
		{"pollerd_probe_duration_seconds", []string{"target", "homeserver"}, valueAtLeast(1), "≥ 1 observation"},
		{"pollerd_reports_total", []string{"service", repService, "result", "accepted"}, valueIs(1), "1"},
		{"pollerd_reports_total", []string{"service", repService, "result", "deduplicated"}, valueIs(1), "1"},
		{"pollerd_reports_total", []string{"service", "unknown", "result", "rejected"}, valueIs(1), "1"},
		{"pollerd_notifications_total", []string{"channel", "slack", "result", "delivered"}, valueAtLeast(1), "≥ 1"},
		{"pollerd_outbox_pending", nil, valueAtLeast(0), "present"},
		{"pollerd_outbox_oldest_pending_age_seconds", nil, valueAtLeast(0), "present"},
		{"pollerd_schedule_lateness_seconds", nil, valueAtLeast(0), "present"}, // hourly target: confirmations only
		{"go_goroutines", nil, valueAtLeast(1), "present"},
		{"process_resident_memory_bytes", nil, valueAtLeast(1), "present"},
	}
	for _, ck := range checks {
		if got := metricValue(mfs, ck.name, ck.labels...); !ck.want(got) {
			t.Errorf("%s%v = %g, want %s", ck.name, ck.labels, got, ck.what)
		}
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetValue() == "no-such-service" {
					t.Errorf("%s: a client's service name became a label", mf.GetName())
				}
			}
		}
	}

	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not on PATH (Debian package prometheus); exposition not checked")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// metricValue is the value of the series of family name with the given label
// pairs (name, value, …): a counter's or gauge's value, a histogram's
// count; -1 when there is none.
func metricValue(mfs map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	mf := mfs[name]
	if mf == nil {
		return -1
	}
next:
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if v, ok := have[labels[i]]; !ok || v != labels[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return -1
}

func valueIs(want float64) func(float64) bool      { return func(v float64) bool { return v == want } }
func valueAtLeast(want float64) func(float64) bool { return func(v float64) bool { return v >= want } }
