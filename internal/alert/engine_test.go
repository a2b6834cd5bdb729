package alert

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/incident"
	"go.uber.org/zap/zaptest"
)

func down(target string, at time.Time, reason string) Transition {
	return Transition{Target: target, From: "UP", To: "DOWN", At: at, Reason: reason}
}

func up(target string, since, at time.Time) Transition {
	return Transition{Target: target, From: "DOWN", To: "UP", Since: since, At: at}
}

func TestEngine_OneDownOneRecoveredPerOutage(t *testing.T) {
	store, rec := newMemStore(), &recorder{name: "slack"}
	e := startEngine(t, store, rec, nil)
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

	e.Transition(Transition{Target: "api", From: "UNKNOWN", To: "UP", At: t0})
	e.Transition(down("api", t0.Add(time.Minute), "connect: connection refused"))
	e.Transition(up("api", t0.Add(time.Minute), t0.Add(5*time.Minute+12*time.Second)))
	e.Transition(down("api", t0.Add(time.Hour), "status 502, want 200"))
	e.Transition(up("api", t0.Add(time.Hour), t0.Add(time.Hour+3*time.Second)))

	got := rec.waitFor(t, 4, 5*time.Second)
	time.Sleep(50 * time.Millisecond)
	if n := len(rec.messages()); n != 4 {
		t.Fatalf("got %d messages, want 4", n)
	}
	want := []struct {
		kind Kind
		has  []string
	}{
		{KindDown, []string{"DOWN", "api", "connect: connection refused"}},
		{KindRecovered, []string{"RECOVERED", "api", "4m12s"}},
		{KindDown, []string{"DOWN", "api", "status 502, want 200"}},
		{KindRecovered, []string{"RECOVERED", "api", "3s"}},
	}
	for i, w := range want {
		if got[i].Kind != w.kind {
			t.Errorf("message %d kind %s, want %s", i, got[i].Kind, w.kind)
		}
		for _, s := range w.has {
			if !strings.Contains(got[i].Text, s) {
				t.Errorf("message %d text %q lacks %q", i, got[i].Text, s)
			}
		}
	}
	if got[0].Key != "1:down" || got[1].Key != "1:recovered" || got[2].Key != "2:down" {
		t.Errorf("keys %q %q %q, want 1:down 1:recovered 2:down", got[0].Key, got[1].Key, got[2].Key)
	}
	if s := store.statusOf("2:recovered"); s != incident.DeliveryDelivered {
		t.Errorf("2:recovered status %q, want delivered", s)
	}
}

func TestEngine_RestartDuringOutage(t *testing.T) {
	store := newMemStore()
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

	rec1 := &recorder{name: "slack"}
	e1 := startEngine(t, store, rec1, nil)
	e1.Transition(down("api", t0, "timeout after 5s"))
	rec1.waitFor(t, 1, 5*time.Second)
	if err := e1.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Restarted: a monitor whose state was not restored (UNKNOWN) counts
	// again and reports DOWN; the engine must not announce it twice, and the
	// recovery is timed from the original DOWN.
	rec2 := &recorder{name: "slack"}
	e2 := startEngine(t, store, rec2, nil)
	e2.Transition(Transition{Target: "api", From: "UNKNOWN", To: "DOWN", At: t0.Add(2 * time.Minute), Reason: "timeout after 5s"})
	e2.Transition(up("api", t0.Add(2*time.Minute), t0.Add(10*time.Minute)))
	got := rec2.waitFor(t, 1, 5*time.Second)
	time.Sleep(50 * time.Millisecond)
	if n := len(rec2.messages()); n != 1 {
		t.Fatalf("after restart got %d messages, want only the RECOVERED: %+v", n, rec2.messages())
	}
	if got[0].Kind != KindRecovered || !strings.Contains(got[0].Text, "10m0s") {
		t.Errorf("got %q, want a RECOVERED after 10m0s", got[0].Text)
	}
}

func TestEngine_PendingDeliveredAfterRestart(t *testing.T) {
	store := newMemStore()
	t0 := time.Now()
	failing := &recorder{name: "slack", answer: func(int, Message) error { return errors.New("connection refused") }}
	e1 := startEngine(t, store, failing, func(o *Options) { o.BackoffBase = 200 * time.Millisecond })
	e1.Transition(down("api", t0, "connect: connection refused"))
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		failing.mu.Lock()
		n := len(failing.tries)
		failing.mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_ = e1.Close(ctx)
	if s := store.statusOf("1:down"); s != incident.DeliveryPending {
		t.Fatalf("after a failed send the DOWN is %q, want pending", s)
	}

	rec := &recorder{name: "slack"}
	e2 := startEngine(t, store, rec, nil)
	if p, _ := e2.Deliveries(); p != 1 {
		// Loaded but perhaps already sent; the message count below decides.
		t.Logf("pending after load: %d", p)
	}
	got := rec.waitFor(t, 1, 5*time.Second)
	if got[0].Key != "1:down" {
		t.Errorf("got %s, want 1:down", got[0].Key)
	}
}

func TestEngine_RetryPolicy(t *testing.T) {
	tests := []struct {
		name     string
		answer   func(n int, m Message) error
		wantMsgs int
		minTries int
		wantFail int
		minGap   time.Duration // between the first two tries
	}{{
		name: "429 waits its Retry-After",
		answer: func(n int, _ Message) error {
			if n == 1 {
				return RetryAfter(300*time.Millisecond, errors.New("status 429"))
			}
			return nil
		},
		wantMsgs: 2, minTries: 3, minGap: 300 * time.Millisecond,
	}, {
		name: "5xx retried with backoff",
		answer: func(n int, _ Message) error {
			if n <= 3 {
				return errors.New("status 500")
			}
			return nil
		},
		wantMsgs: 2, minTries: 5,
	}, {
		name: "permanent error not retried, next message still sent",
		answer: func(_ int, m Message) error {
			if m.Kind == KindDown {
				return Permanent(errors.New("invalid_payload"))
			}
			return nil
		},
		wantMsgs: 1, minTries: 2, wantFail: 1,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{name: "slack", answer: tc.answer}
			e := startEngine(t, newMemStore(), rec, nil)
			t0 := time.Now()
			e.Transition(down("api", t0, "refused"))
			e.Transition(up("api", t0, t0.Add(time.Second)))
			got := rec.waitFor(t, tc.wantMsgs, 10*time.Second)
			if got[len(got)-1].Kind != KindRecovered {
				t.Errorf("last message %s, want RECOVERED", got[len(got)-1].Kind)
			}
			if tc.wantMsgs == 2 && got[0].Kind != KindDown {
				t.Errorf("order: first %s, want DOWN before RECOVERED", got[0].Kind)
			}
			rec.mu.Lock()
			tries := append([]time.Time(nil), rec.tries...)
			rec.mu.Unlock()
			if len(tries) < tc.minTries {
				t.Errorf("%d tries, want at least %d", len(tries), tc.minTries)
			}
			if tc.minGap > 0 && tries[1].Sub(tries[0]) < tc.minGap {
				t.Errorf("retried after %s, want at least %s", tries[1].Sub(tries[0]), tc.minGap)
			}
			if _, failed := e.Deliveries(); failed != tc.wantFail {
				t.Errorf("failed = %d, want %d", failed, tc.wantFail)
			}
			if err := e.Healthy(); err != nil {
				t.Errorf("Healthy() = %v after a successful send, want nil", err)
			}
		})
	}
}

func TestEngine_StoreFailureKeepsAlerting(t *testing.T) {
	store, rec := newMemStore(), &recorder{name: "slack"}
	e := startEngine(t, store, rec, nil)
	store.setFail(errors.New("disk full"))
	t0 := time.Now()
	e.Transition(down("api", t0, "refused"))
	rec.waitFor(t, 1, 5*time.Second)
	if err := e.Healthy(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Healthy() = %v, want the store error", err)
	}
	store.setFail(nil)
	deadline := time.Now().Add(5 * time.Second)
	for e.Healthy() != nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := e.Healthy(); err != nil {
		t.Fatalf("store writable again but Healthy() = %v", err)
	}
	if s := store.statusOf("1:down"); s != incident.DeliveryDelivered {
		t.Errorf("replayed writes left 1:down %q, want delivered", s)
	}
}

func TestEngine_ChannelsNarrowedByTypes(t *testing.T) {
	slack, logs := &recorder{name: "slack"}, &recorder{name: "log"}
	e := startEngine(t, newMemStore(), slack, func(o *Options) {
		o.Channels = []Channel{{Notifier: slack}, {Notifier: logs}}
	})
	r := report("shop", "fp1")
	r.Channels = []string{"log"}
	if !e.Add(r) {
		t.Fatal("first report not first")
	}
	e.Settle(r)
	logs.waitFor(t, 1, 5*time.Second)
	time.Sleep(50 * time.Millisecond)
	if n := len(slack.messages()); n != 0 {
		t.Errorf("types [log] still reached slack: %d messages", n)
	}
}

func report(service, fp string) Report {
	return Report{Service: service, Fingerprint: fp, Method: "GET", Path: "/api/stores/:id",
		Status: 502, StatusText: "Bad Gateway", Code: "ERR_BAD_RESPONSE", Message: "Request failed with status code 502"}
}

func TestEngine_ReportStormFoldsIntoTwoMessages(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	rec := &recorder{name: "slack"}
	e := startEngine(t, newMemStore(), rec, func(o *Options) { o.Now = clk.Now; o.DedupWindow = time.Minute })
	firsts := 0
	for i := 0; i < 10_000; i++ {
		r := report("shop", "fp1")
		if e.Add(r) {
			firsts++
			e.Settle(r)
		}
	}
	for i := 0; i < 7; i++ {
		e.RateLimited()
	}
	if firsts != 1 {
		t.Fatalf("%d reports were first, want 1", firsts)
	}
	rec.waitFor(t, 1, 5*time.Second)
	clk.Add(time.Minute)
	e.expireReports()
	got := rec.waitFor(t, 2, 5*time.Second)
	time.Sleep(50 * time.Millisecond)
	if n := len(rec.messages()); n != 2 {
		t.Fatalf("storm gave %d messages, want 2", n)
	}
	for _, s := range []string{"shop", "GET /api/stores/:id → 502 Bad Gateway", "10000 reports", "7 more rate-limited"} {
		if !strings.Contains(got[1].Text, s) {
			t.Errorf("summary %q lacks %q", got[1].Text, s)
		}
	}
	for _, m := range got {
		if strings.Contains(m.Text, "DOWN") || strings.Contains(m.Text, "RECOVERED") {
			t.Errorf("report message reads as a transition: %q", m.Text)
		}
	}
}

func TestEngine_ReportsJoinTheOutage(t *testing.T) {
	rec := &recorder{name: "slack"}
	e := startEngine(t, newMemStore(), rec, nil)
	t0 := time.Now()

	// A report arrives; while its confirmation runs, the target goes DOWN:
	// the one DOWN carries the report, and no REPORT message follows.
	r := report("shop", "fp1")
	if !e.Add(r) {
		t.Fatal("first report not first")
	}
	e.Transition(down("api", t0, "connect: connection refused"))
	e.Settle(r)
	// Reports during the outage are counted into it.
	for i := 0; i < 5; i++ {
		if e.Add(report("shop", fmt.Sprintf("other%d", i))) {
			t.Fatal("a report during an outage alerted on its own")
		}
	}
	e.Transition(up("api", t0, t0.Add(time.Minute)))
	got := rec.waitFor(t, 2, 5*time.Second)
	time.Sleep(50 * time.Millisecond)
	if n := len(rec.messages()); n != 2 {
		t.Fatalf("got %d messages, want DOWN and RECOVERED only: %+v", n, rec.messages())
	}
	if !strings.Contains(got[0].Text, "DOWN") || !strings.Contains(got[0].Text, "GET /api/stores/:id → 502") {
		t.Errorf("DOWN %q does not carry the report", got[0].Text)
	}
	if !strings.Contains(got[1].Text, "6 client reports") {
		t.Errorf("RECOVERED %q does not count the 6 reports", got[1].Text)
	}
}

func TestEngine_DistinctErrorsBudget(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	rec := &recorder{name: "slack"}
	e := startEngine(t, newMemStore(), rec, func(o *Options) {
		o.Now = clk.Now
		o.DedupWindow = time.Minute
		o.MaxReportAlerts = 3
	})
	for i := 0; i < 50; i++ {
		r := report("shop", fmt.Sprintf("fp%d", i))
		if e.Add(r) {
			e.Settle(r)
		}
	}
	rec.waitFor(t, 3, 5*time.Second)
	clk.Add(time.Minute)
	e.expireReports()
	got := rec.waitFor(t, 4, 5*time.Second)
	time.Sleep(50 * time.Millisecond)
	if n := len(rec.messages()); n != 4 {
		t.Fatalf("50 distinct errors gave %d messages, want 3 + 1 summary", n)
	}
	if !strings.Contains(got[3].Text, "47 client reports of 47 other errors") {
		t.Errorf("summary %q", got[3].Text)
	}
}

func TestEngine_FingerprintsBounded(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	rec := &recorder{name: "slack"}
	e := startEngine(t, newMemStore(), rec, func(o *Options) {
		o.Now = clk.Now
		o.MaxFingerprints = 100
	})
	// Pending reports (waiting on a confirmation) are never evicted; they
	// are bounded by services × MaxReportAlerts, and settle within 3 s.
	for i := 0; i < 10_000; i++ {
		r := report("shop", fmt.Sprintf("fp%d", i))
		if e.Add(r) {
			e.Settle(r)
		}
	}
	e.mu.Lock()
	n, lru, exp := len(e.reports.entries), e.reports.lru.Len(), e.reports.expiry.Len()
	e.mu.Unlock()
	if n > 100 || lru > 100 || exp > 100 {
		t.Fatalf("holding %d fingerprints (lru %d, expiry %d), want at most 100 each", n, lru, exp)
	}
}

// A window that ends while the report's confirmation is still running must
// not fold the report away: the DOWN that the confirmation finds carries it.
func TestEngine_WindowEndsDuringConfirmation(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	rec := &recorder{name: "slack"}
	e := startEngine(t, newMemStore(), rec, func(o *Options) { o.Now = clk.Now; o.DedupWindow = time.Second })
	r := report("shop", "fp1")
	if !e.Add(r) {
		t.Fatal("first report not first")
	}
	clk.Add(2 * time.Second)
	e.expireReports()
	if e.Add(r) {
		t.Fatal("a repeat during the confirmation counted as first")
	}
	e.Transition(down("api", clk.Now(), "connect: connection refused"))
	e.Settle(r)
	clk.Add(2 * time.Second)
	e.expireReports()
	got := rec.waitFor(t, 1, 5*time.Second)
	time.Sleep(50 * time.Millisecond)
	if n := len(rec.messages()); n != 1 {
		t.Fatalf("got %d messages, want the DOWN only: %+v", n, rec.messages())
	}
	if !strings.Contains(got[0].Text, "GET /api/stores/:id → 502 Bad Gateway, 2 reports") {
		t.Errorf("DOWN %q does not carry both reports", got[0].Text)
	}
}

// A channel that refuses permanently makes the engine unhealthy (/readyz
// 503) until a send succeeds again.
func TestEngine_PermanentFailureUntilASuccess(t *testing.T) {
	var refuse atomic.Bool
	refuse.Store(true)
	rec := &recorder{name: "slack", answer: func(int, Message) error {
		if refuse.Load() {
			return Permanent(errors.New("no_service"))
		}
		return nil
	}}
	e := startEngine(t, newMemStore(), rec, nil)
	t0 := time.Now()
	e.Transition(down("api", t0, "refused"))
	deadline := time.Now().Add(5 * time.Second)
	for e.Healthy() == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := e.Healthy(); err == nil || !strings.Contains(err.Error(), "no_service") {
		t.Fatalf("Healthy() = %v, want the permanent failure", err)
	}
	if _, failed := e.Deliveries(); failed != 1 {
		t.Errorf("failed = %d, want 1", failed)
	}
	refuse.Store(false)
	e.Transition(up("api", t0, t0.Add(time.Second)))
	rec.waitFor(t, 1, 5*time.Second)
	if err := e.Healthy(); err != nil {
		t.Errorf("Healthy() = %v after a successful send, want nil", err)
	}
}

// Reports after a recovery alert afresh: the fingerprints the outage
// carried are released with it.
func TestEngine_ReportsAfterRecoveryAlertAgain(t *testing.T) {
	rec := &recorder{name: "slack"}
	e := startEngine(t, newMemStore(), rec, nil)
	t0 := time.Now()
	r := report("shop", "fp1")
	if !e.Add(r) {
		t.Fatal("first report not first")
	}
	e.Transition(down("api", t0, "refused"))
	e.Settle(r)
	e.Transition(up("api", t0, t0.Add(time.Minute)))
	if !e.Add(r) {
		t.Fatal("a report after the recovery was folded into the closed outage")
	}
	e.Settle(r)
	got := rec.waitFor(t, 3, 5*time.Second)
	if got[2].Kind != KindReport {
		t.Errorf("third message %s, want the new REPORT", got[2].Kind)
	}
}

// types narrow the configured channels and never add one: types [log] with
// only Slack configured reaches no channel; the stand-in log takes all.
func TestEngine_TypesNeverAddAChannel(t *testing.T) {
	slack := &recorder{name: "slack"}
	e := startEngine(t, newMemStore(), slack, nil)
	r := report("shop", "fp1")
	r.Channels = []string{"log"}
	if e.Add(r) {
		e.Settle(r)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(slack.messages()); n != 0 {
		t.Fatalf("types [log] reached slack: %d messages", n)
	}

	logs := &recorder{name: "log"}
	e2 := startEngine(t, newMemStore(), logs, func(o *Options) { o.Channels = []Channel{{Notifier: logs, All: true}} })
	r.Channels = []string{"slack"}
	if e2.Add(r) {
		e2.Settle(r)
	}
	logs.waitFor(t, 1, 5*time.Second)
}

// A write the store can never accept (its row is gone) is dropped, not
// retried forever ahead of every later write.
func TestPersister_DropsPermanentWrites(t *testing.T) {
	store := newMemStore()
	p := newPersister(store, zaptest.NewLogger(t))
	p.updateDelivery(incident.Delivery{Key: "9:down", Channel: "slack", Status: incident.DeliveryDelivered})
	landed := false
	p.commit(incident.Change{Incidents: []incident.Incident{{ID: 1, Subject: "api"}}}, func() { landed = true })
	p.flush(context.Background())
	if !landed {
		t.Error("the commit's then-func did not run")
	}
	if err := p.err(); err != nil {
		t.Fatalf("err() = %v, want nil: the bad write was dropped", err)
	}
	if _, ok := store.incidents[1]; !ok {
		t.Fatal("the write behind the bad one did not land")
	}
}

// blockingStore holds every Commit until release is closed.
type blockingStore struct {
	*memStore
	release chan struct{}
}

func (s blockingStore) Commit(ctx context.Context, c incident.Change) error {
	<-s.release
	return s.memStore.Commit(ctx, c)
}

// A slow disk never stalls the engine's callers (the monitor, ingest), and a
// message is sent only after its outbox row is written.
func TestEngine_SlowStoreStallsNoCaller(t *testing.T) {
	store := blockingStore{memStore: newMemStore(), release: make(chan struct{})}
	rec := &recorder{name: "slack"}
	e := startEngine(t, store, rec, nil)
	done := make(chan struct{})
	go func() {
		e.Transition(down("api", time.Now(), "refused"))
		r := report("other", "fp1")
		if e.Add(r) {
			e.Settle(r)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Transition/Add/Settle blocked on a slow store")
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(rec.messages()); n != 0 {
		t.Fatalf("%d messages sent before their outbox rows were written", n)
	}
	close(store.release)
	rec.waitFor(t, 2, 5*time.Second)
}

// An outage of a target removed from the configuration is closed at start:
// nothing would ever recover it.
func TestEngine_LoadClosesIncidentsOfRemovedTargets(t *testing.T) {
	store := newMemStore()
	t0 := time.Now()
	if err := store.Commit(context.Background(), incident.Change{Incidents: []incident.Incident{
		{ID: 1, Kind: incident.KindTarget, Subject: "gone", OpenedAt: t0},
		{ID: 2, Kind: incident.KindTarget, Subject: "api", OpenedAt: t0},
	}}); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{name: "slack"}
	e := startEngine(t, store, rec, func(o *Options) { o.Targets = []string{"api"} })
	e.mu.Lock()
	_, gone := e.open["gone"]
	_, api := e.open["api"]
	e.mu.Unlock()
	if gone || !api {
		t.Fatalf("open after load: gone=%v api=%v, want only api", gone, api)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		store.mu.Lock()
		closed := !store.incidents[1].ClosedAt.IsZero()
		store.mu.Unlock()
		if closed {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the removed target's incident was not closed in the store")
}

// While the store refuses writes, every transition's message still goes out,
// in order, not just the first one's.
func TestEngine_StoreFailingAlertsFromMemory(t *testing.T) {
	store, rec := newMemStore(), &recorder{name: "slack"}
	e := startEngine(t, store, rec, nil)
	store.setFail(errors.New("disk full"))
	t0 := time.Now()
	e.Transition(down("api", t0, "refused"))
	e.Transition(down("db", t0, "refused"))
	e.Transition(up("api", t0, t0.Add(time.Second)))
	got := rec.waitFor(t, 3, 5*time.Second)
	if got[0].Target != "api" || got[0].Kind != KindDown || got[2].Kind != KindRecovered {
		t.Errorf("order: %s %s, %s %s, %s %s", got[0].Kind, got[0].Target, got[1].Kind, got[1].Target, got[2].Kind, got[2].Target)
	}
}

// gatedStore holds the first Commit until release is closed.
type gatedStore struct {
	*memStore
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (s *gatedStore) Commit(ctx context.Context, c incident.Change) error {
	first := false
	s.once.Do(func() { first = true })
	if first {
		close(s.entered)
		<-s.release
	}
	return s.memStore.Commit(ctx, c)
}

// A full backlog never drops the write being made: each write's messages
// are released exactly once, and the write behind it is still made.
func TestPersister_FullBacklogKeepsTheWriteInFlight(t *testing.T) {
	store := &gatedStore{memStore: newMemStore(), entered: make(chan struct{}), release: make(chan struct{})}
	p := newPersister(store, zaptest.NewLogger(t))
	p.max = 3
	var mu sync.Mutex
	ran := map[int64]int{}
	commit := func(id int64) {
		p.commit(incident.Change{Incidents: []incident.Incident{{ID: id, Subject: "x"}}}, func() { mu.Lock(); ran[id]++; mu.Unlock() })
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	commit(1)
	go func() { p.run(ctx); close(done) }()
	<-store.entered // write 1 is in flight
	for id := int64(2); id <= 5; id++ {
		commit(id) // the backlog holds 3: 2 and 3 are dropped, never 1
	}
	close(store.release)
	deadline := time.Now().Add(5 * time.Second)
	for p.pending() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	for id := int64(1); id <= 5; id++ {
		if ran[id] != 1 {
			t.Errorf("write %d released its messages %d times, want once", id, ran[id])
		}
	}
	for _, id := range []int64{1, 4, 5} {
		if _, ok := store.incidents[id]; !ok {
			t.Errorf("write %d was not made", id)
		}
	}
}

// wedgedStore never answers until its ctx ends.
type wedgedStore struct{ *memStore }

func (s wedgedStore) Commit(ctx context.Context, _ incident.Change) error {
	<-ctx.Done()
	return ctx.Err()
}

// Close keeps to its deadline even when the disk hangs.
func TestEngine_CloseBoundedOnWedgedStore(t *testing.T) {
	rec := &recorder{name: "slack"}
	e, err := New(Options{Store: wedgedStore{newMemStore()}, Channels: []Channel{{Notifier: rec}}, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	e.Run(context.Background())
	e.Transition(down("api", time.Now(), "refused"))
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	_ = e.Close(ctx)
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("Close took %s with a 1s deadline", took)
	}
}

// An incident whose close was lost (the target has been seen UP since) does
// not swallow the next outage's DOWN.
func TestEngine_StaleIncidentDoesNotSwallowADown(t *testing.T) {
	store := newMemStore()
	t0 := time.Now()
	if err := store.Commit(context.Background(), incident.Change{Incidents: []incident.Incident{
		{ID: 1, Kind: incident.KindTarget, Subject: "api", OpenedAt: t0.Add(-time.Hour)},
	}}); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{name: "slack"}
	e := startEngine(t, store, rec, nil)
	e.Transition(down("api", t0, "refused")) // from UP
	got := rec.waitFor(t, 1, 5*time.Second)
	if got[0].Kind != KindDown || got[0].Key != "2:down" {
		t.Fatalf("got %s %s, want a new DOWN (2:down)", got[0].Kind, got[0].Key)
	}
}

// Reports that were only ever refused with 429 are still told, once a
// window, when no summary counted them.
func TestEngine_RateLimitedAlone(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	rec := &recorder{name: "slack"}
	e := startEngine(t, newMemStore(), rec, func(o *Options) { o.Now = clk.Now; o.DedupWindow = time.Minute })
	for range 42 {
		e.RateLimited()
	}
	e.expireReports()
	time.Sleep(50 * time.Millisecond)
	if n := len(rec.messages()); n != 0 {
		t.Fatalf("%d messages before the window ended", n)
	}
	clk.Add(time.Minute)
	e.expireReports()
	got := rec.waitFor(t, 1, 5*time.Second)
	if !strings.Contains(got[0].Text, "42 client reports rate-limited in 1m") {
		t.Errorf("text %q", got[0].Text)
	}
	clk.Add(time.Minute)
	e.expireReports()
	time.Sleep(50 * time.Millisecond)
	if n := len(rec.messages()); n != 1 {
		t.Errorf("%d messages, want 1: nothing more was refused", n)
	}
}
