package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/pollerd/pollerd/internal/web"
)

func TestServer_Routes(t *testing.T) {
	// The ingest fake answers with the method it saw, proving which
	// requests reach it.
	ingest := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprint(w, "ingest "+r.Method)
	})
	tests := []struct {
		name     string
		ready    func() error
		status   statusFunc
		method   string
		path     string
		wantCode int
		wantBody string // exact, when not JSON
		wantErr  string // the JSON error, when one is expected
	}{
		{name: "healthz", method: "GET", path: "/healthz", wantCode: 200, wantBody: "ok"},
		{name: "healthz while not ready", ready: func() error { return errTest }, method: "GET", path: "/healthz", wantCode: 200, wantBody: "ok"},
		{name: "healthz wrong method", method: "POST", path: "/healthz", wantCode: 405, wantErr: "Method Not Allowed"},
		{name: "readyz ready", method: "GET", path: "/readyz", wantCode: 200, wantBody: "ready"},
		{name: "status", method: "GET", path: "/api/v1/status", wantCode: 200},
		{name: "status fails", status: func(context.Context) (web.Status, error) { return web.Status{}, errTest }, method: "GET", path: "/api/v1/status", wantCode: 500, wantErr: "status unavailable"},
		{name: "unknown path", method: "GET", path: "/nope", wantCode: 404, wantErr: "Not Found"},
		{name: "unknown under api", method: "GET", path: "/api/v1/other", wantCode: 404, wantErr: "Not Found"},
		{name: "ingest POST", method: "POST", path: "/api/v1/reports", wantCode: 202, wantBody: "ingest POST"},
		{name: "ingest OPTIONS", method: "OPTIONS", path: "/api/v1/reports", wantCode: 202, wantBody: "ingest OPTIONS"},
		{name: "ingest GET reaches ingest", method: "GET", path: "/api/v1/reports", wantCode: 202, wantBody: "ingest GET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := web.Options{Ingest: ingest, IngestPath: "/api/v1/reports", Ready: tt.ready}
			if tt.status != nil {
				o.Status = tt.status
			}
			_, base := startServer(t, o)
			r := do(t, tt.method, base+tt.path)
			if r.code != tt.wantCode {
				t.Fatalf("%s %s = %d %q, want %d", tt.method, tt.path, r.code, r.body, tt.wantCode)
			}
			switch {
			case tt.wantErr != "":
				if got := jsonError(t, r); got != tt.wantErr {
					t.Errorf("error = %q, want %q", got, tt.wantErr)
				}
			case tt.wantBody != "":
				if r.body != tt.wantBody {
					t.Errorf("body = %q, want %q", r.body, tt.wantBody)
				}
			}
		})
	}
}

func TestServer_MethodNotAllowedKeepsAllow(t *testing.T) {
	_, base := startServer(t, web.Options{})
	r := do(t, "DELETE", base+"/readyz")
	if r.code != 405 {
		t.Fatalf("code = %d, want 405", r.code)
	}
	if allow := r.header.Get("Allow"); !strings.Contains(allow, "GET") {
		t.Errorf("Allow = %q, want it to list GET", allow)
	}
}

func TestServer_Readyz(t *testing.T) {
	_, base := startServer(t, web.Options{Ready: func() error {
		return fmt.Errorf("slack: permanent: invalid_token (https://u:p@hooks.example/x?token=abc)")
	}})
	r := do(t, "GET", base+"/readyz")
	if r.code != http.StatusServiceUnavailable {
		t.Fatalf("code = %d, want 503", r.code)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	if got["status"] != "not ready" || !strings.Contains(got["reason"], "invalid_token") {
		t.Errorf("body = %v, want status \"not ready\" and the reason", got)
	}
	if strings.Contains(r.body, "token=abc") || strings.Contains(r.body, "u:p@") {
		t.Errorf("body leaks a secret: %s", r.body)
	}
}

func TestServer_Status(t *testing.T) {
	since := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	closed := since.Add(4 * time.Minute)
	src := web.Status{
		Targets: []web.TargetStatus{{
			Name:  "api",
			Kind:  "http",
			URL:   "https://alice:hunter2@home.example.com/api/health?token=abc#frag",
			State: "DOWN",
			Since: &since,
			LastResult: &web.Result{
				OK: false, At: since, DurationMS: 12.5, StatusCode: 503,
				Reason: `Get "https://alice:hunter2@home.example.com/api/health?token=abc": status 503`,
			},
			LastError: "probe api: https://alice:hunter2@home.example.com/?token=abc",
			Uptime:    map[string]float64{"24h": 0.99},
		}},
		Deliveries: web.Deliveries{Pending: 2, Failed: 1},
		Incidents: []web.Incident{{
			ID: 42, Kind: "target", Subject: "api", OpenedAt: since, ClosedAt: &closed,
			Cause: "status 503 from https://home.example.com/api/health?token=abc", Reports: 3,
		}},
	}
	_, base := startServer(t, web.Options{Status: statusFunc(func(context.Context) (web.Status, error) { return src, nil })})

	r := do(t, "GET", base+"/api/v1/status")
	if r.code != 200 {
		t.Fatalf("code = %d %q, want 200", r.code, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	for _, secret := range []string{"hunter2", "alice", "token=abc", "frag"} {
		if strings.Contains(r.body, secret) {
			t.Errorf("body contains %q: %s", secret, r.body)
		}
	}
	var got web.Status
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
	if len(got.Targets) != 1 || len(got.Incidents) != 1 {
		t.Fatalf("got %d targets, %d incidents, want 1 and 1", len(got.Targets), len(got.Incidents))
	}
	tg := got.Targets[0]
	if tg.URL != "https://home.example.com/api/health" {
		t.Errorf("url = %q, want it without userinfo, query, fragment", tg.URL)
	}
	if tg.State != "DOWN" || tg.Since == nil || !tg.Since.Equal(since) {
		t.Errorf("state, since = %q, %v, want DOWN, %v", tg.State, tg.Since, since)
	}
	if tg.LastResult == nil || tg.LastResult.StatusCode != 503 || tg.LastResult.DurationMS != 12.5 {
		t.Errorf("last_result = %+v", tg.LastResult)
	}
	if got.Deliveries != (web.Deliveries{Pending: 2, Failed: 1}) {
		t.Errorf("deliveries = %+v", got.Deliveries)
	}
	if inc := got.Incidents[0]; inc.ID != 42 || inc.ClosedAt == nil || inc.Reports != 3 {
		t.Errorf("incident = %+v", inc)
	}
	// RFC 3339 on the wire, as DESIGN promises.
	if !strings.Contains(r.body, `"since":"2025-03-01T12:00:00Z"`) {
		t.Errorf("since not RFC 3339 in %s", r.body)
	}
	// The caller's document is not modified by the sanitizing.
	if !strings.Contains(src.Targets[0].URL, "hunter2") || !strings.Contains(src.Targets[0].LastResult.Reason, "hunter2") {
		t.Errorf("source document was modified: %+v", src.Targets[0])
	}
}

func TestServer_StatusEmptyListsAreArrays(t *testing.T) {
	_, base := startServer(t, web.Options{})
	r := do(t, "GET", base+"/api/v1/status")
	if !strings.Contains(r.body, `"targets":[]`) || !strings.Contains(r.body, `"incidents":[]`) {
		t.Errorf("body = %s, want empty arrays, not null", r.body)
	}
}

func TestServer_RecoversPanics(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	ingest := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })
	_, base := startServer(t, web.Options{Logger: zap.New(core), Ingest: ingest, IngestPath: "/api/v1/reports"})

	r := do(t, "POST", base+"/api/v1/reports?token=secret")
	if r.code != 500 {
		t.Fatalf("code = %d, want 500", r.code)
	}
	if got := jsonError(t, r); got != "internal error" {
		t.Errorf("error = %q", got)
	}
	entries := logs.FilterMessage("handler panic").All()
	if len(entries) != 1 {
		t.Fatalf("got %d panic log entries, want 1", len(entries))
	}
	fields := entries[0].ContextMap()
	if fields["path"] != "/api/v1/reports" || fields["panic"] != "boom" {
		t.Errorf("panic log fields = %v", fields)
	}
	for k, v := range fields {
		if strings.Contains(fmt.Sprint(v), "secret") {
			t.Errorf("log field %s leaks the query: %v", k, v)
		}
	}
	// The server still serves.
	if r := do(t, "GET", base+"/healthz"); r.code != 200 {
		t.Errorf("healthz after panic = %d", r.code)
	}
}

func TestServer_StartLogsRealAddr(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	s, _ := startServer(t, web.Options{Addr: "127.0.0.1:0", Logger: zap.New(core)})
	entries := logs.FilterMessage("listening").All()
	if len(entries) != 1 {
		t.Fatalf("got %d listening entries, want 1", len(entries))
	}
	addr := entries[0].ContextMap()["addr"]
	if addr != s.Addr().String() || strings.HasSuffix(s.Addr().String(), ":0") {
		t.Errorf("listening addr = %v, server addr = %v: want the real port", addr, s.Addr())
	}
}

func TestServer_StartTwice(t *testing.T) {
	s, _ := startServer(t, web.Options{})
	if err := s.Start(); err == nil {
		t.Error("second Start succeeded, want an error")
	}
}

func TestServer_StartPortInUse(t *testing.T) {
	first, _ := startServer(t, web.Options{})
	s, err := web.New(web.Options{Addr: first.Addr().String(), Status: statusFunc(emptyStatus), Ready: alwaysReady})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err == nil || !strings.Contains(err.Error(), "listen") {
		t.Errorf("Start on a used port = %v, want a listen error", err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown of an unstarted server = %v", err)
	}
}

func TestNew_Errors(t *testing.T) {
	ok := web.Options{Addr: "127.0.0.1:0", Status: statusFunc(emptyStatus), Ready: alwaysReady}
	h := http.NotFoundHandler()
	tests := []struct {
		name   string
		modify func(*web.Options)
		want   string
	}{
		{"no addr", func(o *web.Options) { o.Addr = "" }, "listen address"},
		{"no status", func(o *web.Options) { o.Status = nil }, "status source"},
		{"no ready", func(o *web.Options) { o.Ready = nil }, "readiness"},
		{"negative timeout", func(o *web.Options) { o.ReadTimeout = -time.Second }, "negative"},
		{"relative ingest path", func(o *web.Options) { o.Ingest, o.IngestPath = h, "api/v1/reports" }, "absolute path"},
		{"empty ingest path", func(o *web.Options) { o.Ingest, o.IngestPath = h, "" }, "absolute path"},
		{"wildcard ingest path", func(o *web.Options) { o.Ingest, o.IngestPath = h, "/api/{x}" }, "wildcards"},
		{"ingest shadows healthz", func(o *web.Options) { o.Ingest, o.IngestPath = h, "/healthz" }, "shadows"},
		{"ingest on root", func(o *web.Options) { o.Ingest, o.IngestPath = h, "/" }, "shadows"},
		{"ingest subtree over status", func(o *web.Options) { o.Ingest, o.IngestPath = h, "/api/" }, "shadows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.modify(&o)
			_, err := web.New(o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
