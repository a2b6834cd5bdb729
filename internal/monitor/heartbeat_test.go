package monitor

import (
	"cmp"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

const hbSecretPath = "/ping/s3cr3t-uuid"

// hbRecorder is a loopback heartbeat receiver.
type hbRecorder struct {
	gets   atomic.Int64
	status atomic.Int64 // answer; 0 = 200
	srv    *httptest.Server
}

func newRecorder(t *testing.T) *hbRecorder {
	r := &hbRecorder{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodGet && req.URL.Path == hbSecretPath {
			r.gets.Add(1)
		}
		if s := r.status.Load(); s != 0 {
			w.WriteHeader(int(s))
		}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// hbWorld is the scheduler and store the heartbeat looks at, set by the test.
type hbWorld struct {
	mu      sync.Mutex
	stalled bool // the tick stops; Last stays where it was
	last    time.Time
	stalls  uint64
	store   error
	every   time.Duration // default 5 ms
}

func (w *hbWorld) liveness() Liveness {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stalled {
		w.last = time.Now()
	}
	return Liveness{Last: w.last, Stalls: w.stalls, Every: cmp.Or(w.every, 5*time.Millisecond)}
}

func (w *hbWorld) healthy() error { w.mu.Lock(); defer w.mu.Unlock(); return w.store }

func (w *hbWorld) set(f func(*hbWorld)) { w.mu.Lock(); f(w); w.mu.Unlock() }

func newHeartbeat(t *testing.T, url string, w *hbWorld, log *zap.Logger) *Heartbeat {
	t.Helper()
	h, err := NewHeartbeat(HeartbeatOptions{URL: url, Interval: 20 * time.Millisecond, Liveness: w.liveness, Healthy: w.healthy, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestHeartbeat_Run: GETs arrive while the scheduler runs and the store is
// writable; none while the store is not, or the scheduler's tick is stale.
func TestHeartbeat_Run(t *testing.T) {
	rec := newRecorder(t)
	w := &hbWorld{}
	h := newHeartbeat(t, rec.srv.URL+hbSecretPath, w, nil)
	h.Start()
	defer func() { _ = h.Stop(context.Background()) }()

	waitGets := func(what string, n int64) {
		t.Helper()
		from := rec.gets.Load()
		deadline := time.Now().Add(5 * time.Second)
		for rec.gets.Load() < from+n {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d GETs in 5s, want %d", what, rec.gets.Load()-from, n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	none := func(what string) {
		t.Helper()
		time.Sleep(40 * time.Millisecond) // a ping in flight lands
		from := rec.gets.Load()
		time.Sleep(200 * time.Millisecond) // ten intervals
		if got := rec.gets.Load() - from; got != 0 {
			t.Errorf("%s: %d GETs, want none", what, got)
		}
	}

	waitGets("healthy", 3)
	w.set(func(w *hbWorld) { w.store = errors.New("disk full") })
	none("store unwritable")
	w.set(func(w *hbWorld) { w.store = nil })
	waitGets("store writable again", 2)
	w.set(func(w *hbWorld) { w.stalled = true })
	none("scheduler stalled")
	w.set(func(w *hbWorld) { w.stalled = false })
	waitGets("scheduler ticking again", 2)
	if h.Failures() != 0 {
		t.Errorf("Failures() = %d, want 0 (withheld pings are no failures)", h.Failures())
	}
	if err := h.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestHeartbeat_beat: one beat per case, at an injected instant.
func TestHeartbeat_beat(t *testing.T) {
	rec := newRecorder(t)
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		live      Liveness
		store     error
		status    int
		wantErr   string // "" = a ping
		withheld  bool
		prevStall uint64
	}{
		{"on time, store writable: ping", Liveness{Last: t0, Every: time.Second}, nil, 0, "", false, 0},
		{"tick three periods old: still on time", Liveness{Last: t0.Add(-3 * time.Second), Every: time.Second}, nil, 0, "", false, 0},
		{"tick stale", Liveness{Last: t0.Add(-4 * time.Second), Every: time.Second}, nil, 0, "the scheduler is not on time", true, 0},
		{"never ticked", Liveness{Every: time.Second}, nil, 0, "the scheduler is not on time", true, 0},
		{"stalled during the interval, on time now", Liveness{Last: t0, Stalls: 1, Every: time.Second}, nil, 0, "the scheduler is not on time", true, 0},
		{"store unwritable", Liveness{Last: t0, Every: time.Second}, errors.New("read-only"), 0, "the store cannot be written", true, 0},
		{"receiver answers 503", Liveness{Last: t0, Every: time.Second}, nil, 503, "GET: status 503", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec.status.Store(int64(tt.status))
			w := &hbWorld{stalled: true, last: tt.live.Last, stalls: tt.live.Stalls, store: tt.store, every: tt.live.Every}
			h := newHeartbeat(t, rec.srv.URL+hbSecretPath, w, nil)
			h.stalls = tt.prevStall
			before := rec.gets.Load()
			err := h.beat(t0)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && !strings.Contains(got, tt.wantErr) {
				t.Fatalf("beat = %v, want %q", err, tt.wantErr)
			}
			if errors.Is(err, ErrHeartbeatWithheld) != tt.withheld {
				t.Errorf("withheld = %v, want %v", errors.Is(err, ErrHeartbeatWithheld), tt.withheld)
			}
			if sent := rec.gets.Load() - before; sent != 0 && tt.withheld || sent != 1 && !tt.withheld {
				t.Errorf("%d GETs, want %v", sent, !tt.withheld)
			}
		})
	}
}

// TestHeartbeat_report: failures are counted; a repeated one is logged on
// change and every HeartbeatLogEvery-th; the URL shows nowhere.
func TestHeartbeat_report(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + hbSecretPath
	l.Close()
	core, logs := observer.New(zap.DebugLevel)
	h := newHeartbeat(t, closed, &hbWorld{}, zap.New(core))
	var last error
	for range 25 {
		last = h.beat(time.Now())
		h.report(last)
	}
	if last == nil || errors.Is(last, ErrHeartbeatWithheld) {
		t.Fatalf("beat to a closed port = %v, want a failure", last)
	}
	if h.Failures() != 25 {
		t.Errorf("Failures() = %d, want 25", h.Failures())
	}
	if n := logs.FilterMessage("heartbeat not sent").Len(); n != 3 {
		t.Errorf("%d log lines for 25 identical failures, want 3 (1st, 11th, 21st)", n)
	}
	h.report(nil)
	h.report(nil)
	if n := logs.FilterMessage("heartbeat sent").Len(); n != 1 {
		t.Errorf("%d recovery lines, want 1", n)
	}
	h.report(last)
	if n := logs.FilterMessage("heartbeat not sent").Len(); n != 4 {
		t.Errorf("a failure after a recovery: %d lines, want 4", n)
	}
	for _, e := range logs.All() {
		for k, v := range e.ContextMap() {
			if s, _ := v.(string); strings.Contains(s, "s3cr3t") || strings.Contains(s, l.Addr().String()+"/") {
				t.Errorf("log field %s shows the URL: %q", k, s)
			}
		}
	}
	if strings.Contains(last.Error(), "s3cr3t") {
		t.Errorf("error shows the URL: %v", last)
	}
}

func TestNew_refuses(t *testing.T) {
	w := &hbWorld{}
	for _, u := range []string{"", "ftp://x/s3cr3t", "https:///s3cr3t", "::s3cr3t"} {
		_, err := NewHeartbeat(HeartbeatOptions{URL: u, Interval: time.Second, Liveness: w.liveness, Healthy: w.healthy})
		if err == nil {
			t.Errorf("NewHeartbeat(%q) accepted", u)
		} else if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("error quotes the URL: %v", err)
		}
	}
	if _, err := NewHeartbeat(HeartbeatOptions{URL: "https://hc-ping.com/x", Liveness: w.liveness, Healthy: w.healthy}); err == nil {
		t.Error("New without an interval accepted")
	}
}
