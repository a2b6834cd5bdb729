package ingest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/pollerd/pollerd/internal/alert"
)

// reportsFunc fakes the alert engine with one function per method; nil
// functions do nothing (Add then says "not first").
type reportsFunc struct {
	add         func(alert.Report) bool
	settle      func(alert.Report)
	rateLimited func()
}

var _ Reports = reportsFunc{}

func (f reportsFunc) Add(r alert.Report) bool {
	if f.add == nil {
		return false
	}
	return f.add(r)
}

func (f reportsFunc) Settle(r alert.Report) {
	if f.settle != nil {
		f.settle(r)
	}
}

func (f reportsFunc) RateLimited() {
	if f.rateLimited != nil {
		f.rateLimited()
	}
}

// confirmerFunc fakes the monitor's confirm-on-demand.
type confirmerFunc func(ctx context.Context, service string)

var _ Confirmer = confirmerFunc(nil)

func (f confirmerFunc) ConfirmService(ctx context.Context, service string) { f(ctx, service) }

// recorder is an engine fake that keeps what it was given.
type recorder struct {
	mu          sync.Mutex
	first       bool // what Add answers
	added       []alert.Report
	settled     []alert.Report
	rateLimited int
}

func (r *recorder) reports() Reports {
	return reportsFunc{
		add: func(rep alert.Report) bool {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.added = append(r.added, rep)
			return r.first
		},
		settle: func(rep alert.Report) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.settled = append(r.settled, rep)
		},
		rateLimited: func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.rateLimited++
		},
	}
}

func (r *recorder) snapshot() (added, settled []alert.Report, limited int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]alert.Report(nil), r.added...), append([]alert.Report(nil), r.settled...), r.rateLimited
}

// fakeClock is a settable clock for rate-limit tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const (
	testService = "tteokbokki-map"
	testOrigin  = "https://tteokbokki-map.example"
)

// The secrets planted in the fixtures (Authorization header and token query
// parameter, in config and again in raw.config).
var fixtureSecrets = []string{"SECRET_PLACEHOLDER_TOKEN", "QUERY_PLACEHOLDER_TOKEN"}

// testOptions is a permissive configuration: one service with one origin,
// no token, no rate limit to speak of.
func testOptions(rec *recorder) Options {
	return Options{
		Services: []Service{
			{Name: testService, AllowedOrigins: []string{testOrigin}},
			{Name: "locked", AllowedOrigins: []string{"https://locked.example"}, Token: "s3cr3t-token"},
		},
		Channels:   []string{"slack", "log"},
		PerIP:      rate.Inf,
		PerIPBurst: 1,
		Global:     rate.Inf,
		Reports:    rec.reports(),
		Confirmer:  confirmerFunc(func(context.Context, string) {}),
		Now:        func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) },
	}
}

func newTestHandler(tb testing.TB, o Options) *Handler {
	tb.Helper()
	h, err := New(o)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() { _ = h.Close(context.Background()) })
	return h
}

func fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "reports", name))
	if err != nil {
		tb.Fatalf("fixture: %v", err)
	}
	return b
}

// post builds a report request from 192.0.2.1 with the given content type.
func post(body, contentType string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/api/v1/reports", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	r.RemoteAddr = "192.0.2.1:40000"
	return r
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// reportStrings lists every string field of a report, for leak checks.
func reportStrings(r alert.Report) []string {
	s := []string{r.Service, r.Fingerprint, r.Method, r.Host, r.Path, r.StatusText, r.Code, r.Message, r.Opaque}
	return append(s, r.Channels...)
}
