package ingest

import (
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/alert"
)

var fixedNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestNormalizePath(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"numeric id", "/stores/123", "/stores/:id"},
		{"nested ids", "/api/stores/123/reviews/9", "/api/stores/:id/reviews/:id"},
		{"uuid", "/users/3f2504e0-4f89-11d3-9a0c-0305e82c3301/avatar", "/users/:id/avatar"},
		{"hex id", "/objects/5f3a9c0e12ab", "/objects/:id"},
		{"short hex word kept", "/cafe/menu", "/cafe/menu"},
		{"hex-only word kept", "/deadbeef", "/deadbeef"},
		{"base64ish token", "/reset/dGhpcyBpcyBhIHRva2VuMTIz", "/reset/:id"},
		{"jwt", "/verify/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2ln", "/verify/:id"},
		{"route words kept", "/api/v1/reports", "/api/v1/reports"},
		{"trailing slash", "/stores/123/", "/stores/:id"},
		{"root", "/", "/"},
		{"empty", "", ""},
		{"file name kept", "/static/app.123.js", "/static/app.123.js"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := normalizePath(tt.in); got != tt.want {
				t.Errorf("normalizePath(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeMessage(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"status digits", "Request failed with status code 502", "request failed with status code #"},
		{"address and port", "connect ECONNREFUSED 127.0.0.1:18673", "connect econnrefused #.#.#.#:#"},
		{"spacing", "  Timeout \t of\n 2000ms  exceeded ", "timeout of #ms exceeded"},
		{"empty", "", ""},
		{"unicode kept", "Ошибка 42", "Ошибка #"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := normalizeMessage(tt.in); got != tt.want {
				t.Errorf("normalizeMessage(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	base := alert.Report{Service: "s", Method: "GET", Path: "/stores/:id", Status: 502, Code: "ERR_BAD_RESPONSE", Message: "Request failed with status code 502"}
	same := func(edit func(*alert.Report)) alert.Report { r := base; edit(&r); return r }
	tests := []struct {
		name  string
		other alert.Report
		equal bool
	}{
		{"host ignored", same(func(r *alert.Report) { r.Host = "api.example:8443" }), true},
		{"time ignored", same(func(r *alert.Report) { r.At = fixedNow }), true},
		{"channels ignored", same(func(r *alert.Report) { r.Channels = []string{"log"} }), true},
		{"message digits folded", same(func(r *alert.Report) { r.Message = "request failed with status code 503" }), true},
		{"service differs", same(func(r *alert.Report) { r.Service = "t" }), false},
		{"method differs", same(func(r *alert.Report) { r.Method = "POST" }), false},
		{"path differs", same(func(r *alert.Report) { r.Path = "/users/:id" }), false},
		{"status differs", same(func(r *alert.Report) { r.Status = 504 }), false},
		{"code differs", same(func(r *alert.Report) { r.Code = "ECONNABORTED" }), false},
		{"message differs", same(func(r *alert.Report) { r.Message = "timeout" }), false},
		{"fields do not run together", same(func(r *alert.Report) { r.Method, r.Path = "GET/stores", "/:id" }), false},
	}
	want := fingerprint(&base)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fingerprint(&tt.other)
			if (got == want) != tt.equal {
				t.Errorf("fingerprint equal = %v, want %v", got == want, tt.equal)
			}
		})
	}
}
