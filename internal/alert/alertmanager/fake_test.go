package alertmanager

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fakeAM is a recording Alertmanager: POST /api/v2/alerts (under an
// optional route prefix) answers status (200 by default) after delay.
type fakeAM struct {
	srv    *httptest.Server
	prefix string

	mu         sync.Mutex
	status     int
	retryAfter int
	delay      time.Duration
	posts      [][]postableAlert
	paths      []string
	changed    chan struct{}
}

func newFakeAM(t *testing.T, prefix string) *fakeAM {
	t.Helper()
	f := &fakeAM{prefix: prefix, status: http.StatusOK, changed: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the base URL to configure (with the prefix, without the API path).
func (f *fakeAM) URL() string { return f.srv.URL + f.prefix }

func (f *fakeAM) answer(status, retryAfter int, delay time.Duration) {
	f.mu.Lock()
	f.status, f.retryAfter, f.delay = status, retryAfter, delay
	f.mu.Unlock()
}

func (f *fakeAM) serve(w http.ResponseWriter, r *http.Request) {
	var alerts []postableAlert
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" ||
		json.NewDecoder(r.Body).Decode(&alerts) != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	status, ra, delay := f.status, f.retryAfter, f.delay
	f.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	f.mu.Lock()
	f.posts = append(f.posts, alerts)
	f.paths = append(f.paths, r.URL.Path)
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
	if ra > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ra))
	}
	if status/100 != 2 {
		http.Error(w, "refused by the fake", status)
		return
	}
	w.WriteHeader(status)
}

func (f *fakeAM) Posts() [][]postableAlert {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]postableAlert(nil), f.posts...)
}

// waitPosts waits until the fake saw at least n posts.
func (f *fakeAM) waitPosts(t *testing.T, n int, timeout time.Duration) [][]postableAlert {
	t.Helper()
	deadline := time.After(timeout)
	for {
		f.mu.Lock()
		got, ch := len(f.posts), f.changed
		f.mu.Unlock()
		if got >= n {
			return f.Posts()
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("fake alertmanager saw %d posts within %s, want %d", got, timeout, n)
		}
	}
}
