package outbox

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/pollerd/pollerd/internal/alert"
	"github.com/pollerd/pollerd/internal/alert/alerttest"
)

// recorder is a Notifier that records what it accepted; answer, when set,
// decides each attempt's outcome.
type recorder struct {
	name   string
	mu     sync.Mutex
	got    []alert.Message
	tries  []time.Time
	answer func(n int, m alert.Message) error
}

var _ alert.Notifier = (*recorder)(nil)

func (r *recorder) Name() string { return r.name }

func (r *recorder) Notify(_ context.Context, m alert.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tries = append(r.tries, time.Now())
	if r.answer != nil {
		if err := r.answer(len(r.tries), m); err != nil {
			return err
		}
	}
	r.got = append(r.got, m)
	return nil
}

func (r *recorder) messages() []alert.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]alert.Message(nil), r.got...)
}

func (r *recorder) attempts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.tries)
}

// waitFor polls until the recorder holds n messages.
func (r *recorder) waitFor(t *testing.T, n int, timeout time.Duration) []alert.Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if m := r.messages(); len(m) >= n {
			return m
		}
		time.Sleep(10 * time.Millisecond)
	}
	m := r.messages()
	t.Fatalf("got %d messages after %s, want %d: %+v", len(m), timeout, n, m)
	return nil
}

// pipeline is the alert pipeline as cmd/pollerd wires it: the incident
// engine emitting into an outbox.
type pipeline struct {
	*alert.Engine
	ob *Outbox
}

// Close closes the engine, then the outbox, as the daemon does.
func (p pipeline) Close(ctx context.Context) error {
	_ = p.Engine.Close(ctx)
	return p.ob.Close(ctx)
}

func (p pipeline) Deliveries() (pending, failed int) { return p.ob.Deliveries() }
func (p pipeline) Healthy() error                    { return p.ob.Healthy() }

// startEngine builds, loads and runs an engine and its outbox over store
// with one recording channel; they are closed at the end of the test.
// modOutbox, when set, edits the outbox's options.
func startEngine(t *testing.T, store alert.Store, rec *recorder, modOutbox func(*Options)) pipeline {
	t.Helper()
	o := Options{
		Store:       store,
		Channels:    []Channel{{Notifier: rec}},
		BackoffBase: 10 * time.Millisecond,
		Logger:      zaptest.NewLogger(t),
	}
	if modOutbox != nil {
		modOutbox(&o)
	}
	ob, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	e, err := alert.New(alert.Options{
		Store:    store,
		Sink:     alert.Chain(ob),
		Services: map[string][]string{"shop": {"api"}},
		Logger:   o.Logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := ob.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := e.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	ob.Run(context.Background())
	e.Run(context.Background())
	p := pipeline{Engine: e, ob: ob}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = p.Close(ctx)
	})
	return p
}

func newMemStore() *alerttest.Store { return alerttest.NewStore() }

func down(target string, at time.Time, reason string) alert.Transition {
	return alert.Transition{Target: target, From: "UP", To: "DOWN", At: at, Reason: reason}
}

func up(target string, since, at time.Time) alert.Transition {
	return alert.Transition{Target: target, From: "DOWN", To: "UP", Since: since, At: at}
}

func report(service, fp string) alert.Report {
	return alert.Report{Service: service, Fingerprint: fp, Method: "GET", Path: "/api/stores/:id",
		Status: 502, StatusText: "Bad Gateway", Code: "ERR_BAD_RESPONSE", Message: "Request failed with status code 502"}
}
