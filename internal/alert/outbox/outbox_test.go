package outbox

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/pollerd/pollerd/internal/alert"
	"github.com/pollerd/pollerd/internal/alert/alerttest"
	"github.com/pollerd/pollerd/internal/incident"
)

// The outbox's promises, most of them through the pipeline as the daemon
// wires it (the incident engine emitting into the outbox), so that what a
// transition or a report becomes on a channel is tested end to end.

func TestEngine_OneDownOneRecoveredPerOutage(t *testing.T) {
	store, rec := newMemStore(), &recorder{name: "slack"}
	e := startEngine(t, store, rec, nil)
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

	e.Transition(alert.Transition{Target: "api", From: "UNKNOWN", To: "UP", At: t0})
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
		kind alert.Kind
		has  []string
	}{
		{alert.KindDown, []string{"DOWN", "api", "connect: connection refused"}},
		{alert.KindRecovered, []string{"RECOVERED", "api", "4m12s"}},
		{alert.KindDown, []string{"DOWN", "api", "status 502, want 200"}},
		{alert.KindRecovered, []string{"RECOVERED", "api", "3s"}},
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
	if s := store.StatusOf("2:recovered"); s != incident.DeliveryDelivered {
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
	e2.Transition(alert.Transition{Target: "api", From: "UNKNOWN", To: "DOWN", At: t0.Add(2 * time.Minute), Reason: "timeout after 5s"})
	e2.Transition(up("api", t0.Add(2*time.Minute), t0.Add(10*time.Minute)))
	got := rec2.waitFor(t, 1, 5*time.Second)
	time.Sleep(50 * time.Millisecond)
	if n := len(rec2.messages()); n != 1 {
		t.Fatalf("after restart got %d messages, want only the RECOVERED: %+v", n, rec2.messages())
	}
	if got[0].Kind != alert.KindRecovered || !strings.Contains(got[0].Text, "10m0s") {
		t.Errorf("got %q, want a RECOVERED after 10m0s", got[0].Text)
	}
}

func TestEngine_PendingDeliveredAfterRestart(t *testing.T) {
	store := newMemStore()
	t0 := time.Now()
	failing := &recorder{name: "slack", answer: func(int, alert.Message) error { return errors.New("connection refused") }}
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
	if s := store.StatusOf("1:down"); s != incident.DeliveryPending {
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
		answer   func(n int, m alert.Message) error
		wantMsgs int
		minTries int
		wantFail int
		minGap   time.Duration // between the first two tries
	}{{
		name: "429 waits its Retry-After",
		answer: func(n int, _ alert.Message) error {
			if n == 1 {
				return alert.RetryAfter(300*time.Millisecond, errors.New("status 429"))
			}
			return nil
		},
		wantMsgs: 2, minTries: 3, minGap: 300 * time.Millisecond,
	}, {
		name: "5xx retried with backoff",
		answer: func(n int, _ alert.Message) error {
			if n <= 3 {
				return errors.New("status 500")
			}
			return nil
		},
		wantMsgs: 2, minTries: 5,
	}, {
		name: "permanent error not retried, next message still sent",
		answer: func(_ int, m alert.Message) error {
			if m.Kind == alert.KindDown {
				return alert.Permanent(errors.New("invalid_payload"))
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
			if got[len(got)-1].Kind != alert.KindRecovered {
				t.Errorf("last message %s, want RECOVERED", got[len(got)-1].Kind)
			}
			if tc.wantMsgs == 2 && got[0].Kind != alert.KindDown {
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
	store.SetFail(errors.New("disk full"))
	t0 := time.Now()
	e.Transition(down("api", t0, "refused"))
	rec.waitFor(t, 1, 5*time.Second)
	if err := e.Healthy(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Healthy() = %v, want the store error", err)
	}
	store.SetFail(nil)
	deadline := time.Now().Add(5 * time.Second)
	for e.Healthy() != nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := e.Healthy(); err != nil {
		t.Fatalf("store writable again but Healthy() = %v", err)
	}
	if s := store.StatusOf("1:down"); s != incident.DeliveryDelivered {
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

func TestEngine_PermanentFailureUntilASuccess(t *testing.T) {
	var refuse atomic.Bool
	refuse.Store(true)
	rec := &recorder{name: "slack", answer: func(int, alert.Message) error {
		if refuse.Load() {
			return alert.Permanent(errors.New("no_service"))
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
	if _, ok := store.Incident(1); !ok {
		t.Fatal("the write behind the bad one did not land")
	}
}

type blockingStore struct {
	*alerttest.Store
	release chan struct{}
}

func (s blockingStore) Commit(ctx context.Context, c incident.Change) error {
	<-s.release
	return s.Store.Commit(ctx, c)
}

func TestEngine_SlowStoreStallsNoCaller(t *testing.T) {
	store := blockingStore{Store: newMemStore(), release: make(chan struct{})}
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

func TestEngine_StoreFailingAlertsFromMemory(t *testing.T) {
	store, rec := newMemStore(), &recorder{name: "slack"}
	e := startEngine(t, store, rec, nil)
	store.SetFail(errors.New("disk full"))
	t0 := time.Now()
	e.Transition(down("api", t0, "refused"))
	e.Transition(down("db", t0, "refused"))
	e.Transition(up("api", t0, t0.Add(time.Second)))
	got := rec.waitFor(t, 3, 5*time.Second)
	if got[0].Target != "api" || got[0].Kind != alert.KindDown || got[2].Kind != alert.KindRecovered {
		t.Errorf("order: %s %s, %s %s, %s %s", got[0].Kind, got[0].Target, got[1].Kind, got[1].Target, got[2].Kind, got[2].Target)
	}
}

type gatedStore struct {
	*alerttest.Store
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
	return s.Store.Commit(ctx, c)
}

func TestPersister_FullBacklogKeepsTheWriteInFlight(t *testing.T) {
	store := &gatedStore{Store: newMemStore(), entered: make(chan struct{}), release: make(chan struct{})}
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
		if _, ok := store.Incident(id); !ok {
			t.Errorf("write %d was not made", id)
		}
	}
}

type wedgedStore struct{ *alerttest.Store }

func (s wedgedStore) Commit(ctx context.Context, _ incident.Change) error {
	<-ctx.Done()
	return ctx.Err()
}

func TestEngine_CloseBoundedOnWedgedStore(t *testing.T) {
	rec := &recorder{name: "slack"}
	ob, err := New(Options{Store: wedgedStore{newMemStore()}, Channels: []Channel{{Notifier: rec}}, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ob.Run(context.Background())
	ob.Emit(incident.Change{}, alert.Message{Key: "1:down", Kind: alert.KindDown, Text: "api is DOWN: refused"})
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	_ = ob.Close(ctx)
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("Close took %s with a 1s deadline", took)
	}
}
