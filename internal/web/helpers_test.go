package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/pollerd/pollerd/internal/web"
)

// statusFunc is a StatusSource made of a func.
type statusFunc func(ctx context.Context) (web.Status, error)

func (f statusFunc) Status(ctx context.Context) (web.Status, error) { return f(ctx) }

var _ web.StatusSource = statusFunc(nil)

func emptyStatus(context.Context) (web.Status, error) { return web.Status{}, nil }

func alwaysReady() error { return nil }

// startServer starts a server on 127.0.0.1:0 with o's fields filled where
// empty, and shuts it down when the test ends. It returns the base URL.
func startServer(t *testing.T, o web.Options) (*web.Server, string) {
	t.Helper()
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Status == nil {
		o.Status = statusFunc(emptyStatus)
	}
	if o.Ready == nil {
		o.Ready = alwaysReady
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	s, err := web.New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return s, "http://" + s.Addr().String()
}

// testClient never waits long: a hung server fails the test instead of
// hanging it.
var testClient = &http.Client{Timeout: 10 * time.Second}

type response struct {
	code   int
	header http.Header
	body   string
}

func do(t *testing.T, method, url string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: string(b)}
}

// jsonError decodes {"error": …} and fails when the body is anything else.
func jsonError(t *testing.T, r response) string {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.body), &e); err != nil || e.Error == "" {
		t.Fatalf("body %q is not a JSON error (%v)", r.body, err)
	}
	return e.Error
}

var errTest = errors.New("store: disk I/O error")
