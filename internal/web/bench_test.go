package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkHandler measures the server's own cost per request (routing, the
// JSON fallback, panic recovery, encoding) without the network.
func BenchmarkHandler(b *testing.B) {
	since := time.Now()
	doc := Status{Targets: make([]TargetStatus, 50)}
	for i := range doc.Targets {
		doc.Targets[i] = TargetStatus{Name: "t", Kind: "http", URL: "https://u:p@h.example/x?token=t",
			State: "UP", Since: &since, LastResult: &Result{OK: true, At: since, Reason: "status 200"}}
	}
	ingest := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) })
	s, err := New(Options{Addr: "127.0.0.1:0", Ingest: ingest, IngestPath: "/api/v1/reports",
		Status: statusOf(func(context.Context) (Status, error) { return doc, nil }),
		Ready:  func() error { return nil }})
	if err != nil {
		b.Fatal(err)
	}
	// The baseline: a bare ServeMux with the same no-op ingest route.
	bare := http.NewServeMux()
	bare.Handle("/api/v1/reports", ingest)
	b.Run("bare mux ingest", func(b *testing.B) {
		req := httptest.NewRequest("POST", "/api/v1/reports", nil)
		b.ReportAllocs()
		for b.Loop() {
			bare.ServeHTTP(httptest.NewRecorder(), req)
		}
	})
	for _, bc := range []struct{ name, method, path string }{
		{"healthz", "GET", "/healthz"},
		{"ingest", "POST", "/api/v1/reports"},
		{"not found", "GET", "/nope"},
		{"status 50 targets", "GET", "/api/v1/status"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest(bc.method, bc.path, nil)
			b.ReportAllocs()
			for b.Loop() {
				s.srv.Handler.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}
