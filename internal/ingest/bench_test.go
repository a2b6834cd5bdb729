package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"golang.org/x/time/rate"

	"github.com/pollerd/pollerd/internal/alert"
)

// The design target: the ingest handler (rate limit, decode, describe,
// scrub, fingerprint, engine hand-off) serves at least 0.7× the throughput
// of a bare net/http server that only decodes the same body. Compare
//
//	go test -run='^$' -bench='Handler|BareJSON' -benchmem ./internal/ingest
//
// BenchmarkHandler/loopback against BenchmarkBareJSON/loopback (a real
// server on 127.0.0.1 and a keep-alive client); the recorder variants show
// the handlers' own cost without the network.
func BenchmarkHandler(b *testing.B) {
	var added atomic.Int64
	o := Options{
		Services: []Service{{Name: testService, AllowedOrigins: []string{testOrigin}}},
		Channels: []string{"slack", "log"},
		PerIP:    rate.Inf, PerIPBurst: 1, Global: rate.Inf,
		Reports:   reportsFunc{add: func(alert.Report) bool { added.Add(1); return false }},
		Confirmer: confirmerFunc(func(context.Context, string) {}),
	}
	h := newTestHandler(b, o)
	runBenchmarks(b, h)
	if added.Load() == 0 {
		b.Fatal("no report reached the engine")
	}
}

// BenchmarkBareJSON is the baseline: decode the body into a struct, answer 202.
func BenchmarkBareJSON(b *testing.B) {
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p struct {
			ServiceName string   `json:"serviceName"`
			Types       []string `json:"types"`
			Description string   `json:"description"`
		}
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"status":"accepted"}` + "\n"))
	})
	runBenchmarks(b, bare)
}

func runBenchmarks(b *testing.B, h http.Handler) {
	body := fixture(b, "node-502.json")
	b.Run("recorder", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r := httptest.NewRequest(http.MethodPost, "/api/v1/reports", bytes.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusAccepted {
					b.Errorf("status %d: %s", w.Code, w.Body)
					return
				}
			}
		})
	})
	b.Run("loopback", func(b *testing.B) {
		srv := httptest.NewServer(h)
		defer srv.Close()
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		defer client.CloseIdleConnections()
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req, err := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		})
	})
}
