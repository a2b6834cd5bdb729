package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is a fake report endpoint: it answers 202 and keeps the
// /api/x… paths the bodies carry.
type recorder struct {
	mu    sync.Mutex
	paths map[string]int
	n     atomic.Int64
}

var variedPath = regexp.MustCompile(`/api/x[a-z]+`)

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.n.Add(1)
	r.mu.Lock()
	for _, p := range variedPath.FindAll(b, -1) {
		r.paths[string(p)]++
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"accepted"}`)
}

func TestRun_SendsExactlyN(t *testing.T) {
	for _, distinct := range []bool{false, true} {
		name := "same"
		if distinct {
			name = "distinct"
		}
		t.Run(name, func(t *testing.T) {
			rec := &recorder{paths: make(map[string]int)}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			const n = 60
			res, err := Run(context.Background(), Options{
				URL: srv.URL + "/api/v1/reports", N: n, Workers: 4, Start: 1000,
				Body: []byte(defaultBody), ContentType: "application/json", Distinct: distinct,
				Timeout: 30 * time.Second, RequestTimeout: 10 * time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Sent != n || res.ByStatus[http.StatusAccepted] != n || res.Errors != 0 || len(res.Latencies) != n {
				t.Fatalf("sent %d, by status %v, errors %d, %d latencies; want %d accepted", res.Sent, res.ByStatus, res.Errors, len(res.Latencies), n)
			}
			if got := rec.n.Load(); got != n {
				t.Errorf("server saw %d requests, want %d", got, n)
			}
			wantPaths := 0
			if distinct {
				wantPaths = n // one per request, each once (the body names it once)
			}
			if len(rec.paths) != wantPaths {
				t.Errorf("server saw %d distinct /api/x… paths, want %d", len(rec.paths), wantPaths)
			}
			if distinct && rec.paths["/api/x"+letters(1000)] != 1 {
				t.Errorf("no request carries the -start path /api/x%s", letters(1000))
			}
			for p, c := range rec.paths {
				if c != 1 {
					t.Errorf("path %s in %d requests, want 1", p, c)
				}
			}
			if res.Quantile(0.5) > res.Quantile(0.99) || res.Quantile(0.99) > res.Quantile(1) {
				t.Errorf("quantiles out of order: %v %v %v", res.Quantile(0.5), res.Quantile(0.99), res.Quantile(1))
			}
			var out bytes.Buffer
			res.Print(&out)
			for _, want := range []string{"requests  60", "202: 60", "reports/s", "p99"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}

func TestRun_RefusesNonLoopback(t *testing.T) {
	cases := []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080/api/v1/reports", true},
		{"http://localhost:8080/api/v1/reports", true},
		{"http://[::1]:8080/api/v1/reports", true},
		{"https://127.0.0.1/api/v1/reports", true},
		{"http://example.com/api/v1/reports", false},
		{"http://10.0.0.1:8080/api/v1/reports", false},
		{"http://127.0.0.2:8080/api/v1/reports", false},
		{"http://0.0.0.0:8080/api/v1/reports", false},
		{"http://[::2]:8080/", false},
		{"http://localhost.example.com/", false},
		{"http://127.0.0.1.nip.io/", false},
		{"ftp://127.0.0.1/", false},
		{"127.0.0.1:8080", false},
	}
	for _, tc := range cases {
		t.Run(tc.url, func(t *testing.T) {
			if err := CheckLoopback(tc.url); (err == nil) != tc.ok {
				t.Fatalf("CheckLoopback = %v, want ok %v", err, tc.ok)
			}
			if tc.ok {
				return
			}
			res, err := Run(context.Background(), Options{URL: tc.url, N: 1, Workers: 1, Body: []byte(defaultBody),
				Timeout: time.Second, RequestTimeout: time.Second})
			if err == nil || res != nil {
				t.Fatalf("Run = %v, %v: want a refusal and nothing sent", res, err)
			}
		})
	}
}

func TestRun_DistinctNeedsTheVariedPath(t *testing.T) {
	_, err := Run(context.Background(), Options{URL: "http://127.0.0.1:1/", N: 1, Workers: 1, Body: []byte(`{"serviceName":"x"}`),
		Distinct: true, Timeout: time.Second, RequestTimeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "-vary") {
		t.Fatalf("err = %v, want one naming -vary", err)
	}
}

func TestLetters(t *testing.T) {
	seen := make(map[string]bool)
	for i := range 30000 {
		s := letters(i)
		if seen[s] || strings.ContainsAny(s, "0123456789") {
			t.Fatalf("letters(%d) = %q: repeated or has a digit", i, s)
		}
		seen[s] = true
	}
	for i, want := range map[int]string{0: "a", 25: "z", 26: "aa", 701: "zz", 702: "aaa"} {
		if got := letters(i); got != want {
			t.Errorf("letters(%d) = %q, want %q", i, got, want)
		}
	}
}

func TestCLI_ExitCodes(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"-url", "http://example.com/", "-n", "1"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "not loopback") {
		t.Errorf("non-loopback: exit %d, stderr %q; want 2 and a refusal", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"-bogus"}, &out, &errb); code != 2 {
		t.Errorf("bad flag: exit %d, want 2", code)
	}
}
