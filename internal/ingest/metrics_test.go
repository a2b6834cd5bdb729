package ingest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestHandler_Metrics counts every refused and accepted POST once, under
// its configured service or "unknown"; preflights and other methods are no
// reports.
func TestHandler_Metrics(t *testing.T) {
	rec := &recorder{}
	reg := prometheus.NewRegistry()
	o := testOptions(rec)
	o.Registerer = reg
	h := newTestHandler(t, o)
	okBody := `{"serviceName":"` + testService + `","description":"x"}`

	// First of its fingerprint, then a repeat.
	rec.first = true
	mustStatus(t, serve(h, post(okBody, "application/json")), http.StatusAccepted)
	rec.first = false
	mustStatus(t, serve(h, post(okBody, "application/json")), http.StatusAccepted)
	mustStatus(t, serve(h, post(okBody, "application/json")), http.StatusAccepted)

	// Refusals that name no configured service: "unknown", whatever name
	// the client sent.
	mustStatus(t, serve(h, post(`{"serviceName":"made-up-by-a-client"}`, "application/json")), http.StatusNotFound)
	mustStatus(t, serve(h, post(`{"serviceName":`, "application/json")), http.StatusBadRequest)
	mustStatus(t, serve(h, post(okBody, "application/xml")), http.StatusUnsupportedMediaType)
	// Refusals of a configured service count under it.
	r := post(okBody, "application/json")
	r.Header.Set("Origin", "https://evil.example")
	mustStatus(t, serve(h, r), http.StatusForbidden)
	mustStatus(t, serve(h, post(`{"serviceName":"locked"}`, "application/json")), http.StatusUnauthorized)
	// Not reports: a refused preflight, a GET.
	pre := post("", "")
	pre.Method = http.MethodOptions
	pre.Header.Set("Origin", "https://evil.example")
	pre.Header.Set("Access-Control-Request-Method", http.MethodPost)
	mustStatus(t, serve(h, pre), http.StatusForbidden)
	get := post("", "")
	get.Method = http.MethodGet
	mustStatus(t, serve(h, get), http.StatusMethodNotAllowed)

	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP pollerd_reports_total Client failure reports by service and result: accepted (first of its fingerprint), deduplicated (a repeat folded into it), rejected (4xx or 429; service="unknown" when it names no configured service).
# TYPE pollerd_reports_total counter
pollerd_reports_total{result="accepted",service="locked"} 0
pollerd_reports_total{result="accepted",service="tteokbokki-map"} 1
pollerd_reports_total{result="accepted",service="unknown"} 0
pollerd_reports_total{result="deduplicated",service="locked"} 0
pollerd_reports_total{result="deduplicated",service="tteokbokki-map"} 2
pollerd_reports_total{result="deduplicated",service="unknown"} 0
pollerd_reports_total{result="rejected",service="locked"} 1
pollerd_reports_total{result="rejected",service="tteokbokki-map"} 1
pollerd_reports_total{result="rejected",service="unknown"} 3
`)); err != nil {
		t.Fatal(err)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %+v", err, problems)
	}
}

// TestHandler_MetricsRateLimited: a 429 is decided before the body is read,
// so its service is unknown.
func TestHandler_MetricsRateLimited(t *testing.T) {
	rec := &recorder{}
	reg := prometheus.NewRegistry()
	o := testOptions(rec)
	o.Registerer = reg
	o.PerIP, o.PerIPBurst = 0.001, 1
	h := newTestHandler(t, o)
	body := `{"serviceName":"` + testService + `"}`
	mustStatus(t, serve(h, post(body, "application/json")), http.StatusAccepted)
	mustStatus(t, serve(h, post(body, "application/json")), http.StatusTooManyRequests)
	if got := counterValue(t, reg, unknownService, "rejected"); got != 1 {
		t.Errorf("rejected{service=unknown} = %g, want 1", got)
	}
	if got := counterValue(t, reg, testService, "rejected"); got != 0 {
		t.Errorf("rejected{service=%s} = %g, want 0", testService, got)
	}
}

// TestHandler_MetricsBoundedLabels: nothing a client sends becomes a label
// value: not the report's path, host or fingerprint, not a made-up service
// name. Every label value is a configured service, "unknown" or a result.
func TestHandler_MetricsBoundedLabels(t *testing.T) {
	rec := &recorder{first: true}
	reg := prometheus.NewRegistry()
	o := testOptions(rec)
	o.Registerer = reg
	h := newTestHandler(t, o)
	for _, name := range []string{"browser-502.json", "node-502.json", "node-econnrefused.json"} {
		mustStatus(t, serve(h, post(string(fixture(t, name)), "application/json")), http.StatusAccepted)
	}
	mustStatus(t, serve(h, post(`{"serviceName":"/api/stores/42?token=x"}`, "application/json")), http.StatusNotFound)
	added, _, _ := rec.snapshot()
	if len(added) == 0 {
		t.Fatal("no report reached the engine")
	}

	allowed := map[string]map[string]bool{
		"service": {testService: true, "locked": true, unknownService: true},
		"result":  {"accepted": true, "deduplicated": true, "rejected": true},
	}
	client := map[string]bool{"/api/stores/42?token=x": true}
	for _, rep := range added {
		for _, s := range []string{rep.Path, rep.Host, rep.Fingerprint, rep.Message, rep.Code} {
			if s != "" {
				client[s] = true
			}
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if !allowed[lp.GetName()][lp.GetValue()] {
					t.Errorf("%s: label %s=%q is not bounded by the config", mf.GetName(), lp.GetName(), lp.GetValue())
				}
				if client[lp.GetValue()] {
					t.Errorf("%s: label %s=%q comes from a client", mf.GetName(), lp.GetName(), lp.GetValue())
				}
			}
		}
	}
}

func mustStatus(t *testing.T, w interface{ Result() *http.Response }, want int) {
	t.Helper()
	if got := w.Result().StatusCode; got != want {
		t.Fatalf("status = %d, want %d", got, want)
	}
}

func counterValue(t *testing.T, g prometheus.Gatherer, service, result string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "pollerd_reports_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var s, r string
			for _, lp := range m.GetLabel() {
				switch lp.GetName() {
				case "service":
					s = lp.GetValue()
				case "result":
					r = lp.GetValue()
				}
			}
			if s == service && r == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no pollerd_reports_total{service=%q,result=%q}", service, result)
	return 0
}
