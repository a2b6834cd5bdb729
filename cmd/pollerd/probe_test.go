package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/probe"
)

// TestPrintResult: `pollerd probe` shows what a DNS probe was answered and
// when a TLS probe's certificate expires.
func TestPrintResult(t *testing.T) {
	notAfter := time.Date(2031, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		r     probe.Result
		lines []string
	}{
		{name: "dns", r: probe.Result{OK: false, Reason: "home.example.com A → 203.0.113.8, want 203.0.113.7",
			Duration: 3 * time.Millisecond, Timings: probe.Timings{DNS: 3 * time.Millisecond},
			Answers: []string{"203.0.113.8", "v=spf1 -all", "a,b"}},
			lines: []string{
				"home: FAIL: home.example.com A → 203.0.113.8, want 203.0.113.7",
				"  total      3ms",
				"  dns        3ms",
				`  answers    203.0.113.8, "v=spf1 -all", "a,b"`,
			}},
		{name: "tls", r: probe.Result{OK: true, Duration: 5 * time.Millisecond,
			Timings:      probe.Timings{Connect: time.Millisecond, TLS: 4 * time.Millisecond},
			CertNotAfter: notAfter},
			lines: []string{
				"home: ok",
				"  total      5ms",
				"  connect    1ms",
				"  tls        4ms",
				"  cert until 2031-05-01T12:00:00Z (",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			printResult(&b, "home", tt.r)
			got := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
			if len(got) != len(tt.lines) {
				t.Fatalf("got:\n%s", b.String())
			}
			for i, want := range tt.lines {
				if !strings.HasPrefix(got[i], want) {
					t.Errorf("line %d = %q, want %q…", i, got[i], want)
				}
			}
		})
	}
}
