package web_test

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/pollerd/pollerd/internal/web"
)

// metricsRegistry is what cmd/pollerd serves, minus pollerd's own series
// (each package tests those): Go and process collectors, plus a labelled
// counter.
func metricsRegistry(t *testing.T) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pollerd_test_total", Help: "A test counter."}, []string{"result"})
	c.WithLabelValues("ok").Add(3)
	reg.MustRegister(c)
	return reg
}

func TestServer_Metrics(t *testing.T) {
	_, base := startServer(t, web.Options{Metrics: metricsRegistry(t)})
	r := do(t, "GET", base+"/metrics")
	if r.code != 200 {
		t.Fatalf("GET /metrics = %d %s", r.code, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type = %q, want the Prometheus text format", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(r.body))
	if err != nil {
		t.Fatalf("exposition does not parse: %v", err)
	}
	for _, name := range []string{"pollerd_test_total", "go_goroutines", "process_cpu_seconds_total"} {
		if mfs[name] == nil {
			t.Errorf("no %s in the exposition", name)
		}
	}
	if got := mfs["pollerd_test_total"].GetMetric()[0].GetCounter().GetValue(); got != 3 {
		t.Errorf("pollerd_test_total = %g, want 3", got)
	}
	if r := do(t, "POST", base+"/metrics"); r.code != 405 {
		t.Errorf("POST /metrics = %d, want 405", r.code)
	}
}

// TestServer_NoMetrics: without a Gatherer /metrics is an unknown route.
func TestServer_NoMetrics(t *testing.T) {
	_, base := startServer(t, web.Options{})
	r := do(t, "GET", base+"/metrics")
	if r.code != 404 {
		t.Fatalf("GET /metrics = %d, want 404", r.code)
	}
	jsonError(t, r)
}

// TestServer_MetricsPromtool checks the exposition with promtool (Debian's
// prometheus package; .ci/run installs it), as Prometheus would read it.
func TestServer_MetricsPromtool(t *testing.T) {
	_, base := startServer(t, web.Options{Metrics: metricsRegistry(t)})
	checkPromtool(t, do(t, "GET", base+"/metrics").body)
}

// checkPromtool pipes an exposition to `promtool check metrics` and fails on
// any problem it reports; it skips when promtool is not on PATH.
func checkPromtool(t *testing.T, exposition string) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not on PATH (Debian package prometheus); exposition not checked")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "check", "metrics")
	cmd.Stdin = strings.NewReader(exposition)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out.String())
	}
}
