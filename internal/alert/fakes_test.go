package alert

import (
	"context"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/incident"
	"go.uber.org/zap/zaptest"
)

// memStore is an in-memory Store with the semantics internal/store promises
// (upsert incidents by ID, ignore a delivery whose key+channel exists). Set
// fail to make every write fail, as a full disk would.
type memStore struct {
	mu         sync.Mutex
	fail       error
	targets    map[string]incident.TargetState
	incidents  map[int64]incident.Incident
	deliveries []incident.Delivery
	commits    int
}

var _ Store = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{targets: map[string]incident.TargetState{}, incidents: map[int64]incident.Incident{}}
}

func (s *memStore) setFail(err error) { s.mu.Lock(); s.fail = err; s.mu.Unlock() }

func (s *memStore) Commit(_ context.Context, c incident.Change) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.commits++
	for _, t := range c.Targets {
		s.targets[t.Name] = t
	}
	for _, i := range c.Incidents {
		s.incidents[i.ID] = i
	}
next:
	for _, d := range c.Deliveries {
		for _, have := range s.deliveries {
			if have.Key == d.Key && have.Channel == d.Channel {
				continue next
			}
		}
		d.ID = int64(len(s.deliveries) + 1)
		s.deliveries = append(s.deliveries, d)
	}
	return nil
}

func (s *memStore) Load(context.Context) (incident.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var snap incident.Snapshot
	for _, t := range s.targets {
		snap.Targets = append(snap.Targets, t)
	}
	for id, i := range s.incidents {
		snap.MaxIncidentID = max(snap.MaxIncidentID, id)
		if i.ClosedAt.IsZero() {
			snap.OpenIncidents = append(snap.OpenIncidents, i)
		}
	}
	for _, d := range s.deliveries {
		switch d.Status {
		case incident.DeliveryPending:
			snap.Pending = append(snap.Pending, d)
		case incident.DeliveryFailed:
			snap.Failed++
		}
	}
	sort.Slice(snap.Pending, func(i, j int) bool { return snap.Pending[i].ID < snap.Pending[j].ID })
	return snap, nil
}

func (s *memStore) UpdateDelivery(_ context.Context, d incident.Delivery) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	for i, have := range s.deliveries {
		if have.Key == d.Key && have.Channel == d.Channel {
			d.ID = have.ID
			s.deliveries[i] = d
			return nil
		}
	}
	return Permanent(errors.New("no such delivery"))
}

func (s *memStore) statusOf(key string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.deliveries {
		if d.Key == key {
			return d.Status
		}
	}
	return ""
}

// recorder is a Notifier that records what it accepted; answer, when set,
// decides each attempt's outcome.
type recorder struct {
	name   string
	mu     sync.Mutex
	got    []Message
	tries  []time.Time
	answer func(n int, m Message) error
}

func (r *recorder) Name() string { return r.name }

func (r *recorder) Notify(_ context.Context, m Message) error {
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

func (r *recorder) messages() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Message(nil), r.got...)
}

// waitFor polls until the recorder holds n messages.
func (r *recorder) waitFor(t *testing.T, n int, timeout time.Duration) []Message {
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

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// startEngine builds, loads and runs an engine over store with one
// recording channel; it is closed at the end of the test.
func startEngine(t *testing.T, store Store, rec *recorder, mod func(*Options)) *Engine {
	t.Helper()
	o := Options{
		Store:       store,
		Channels:    []Channel{{Notifier: rec}},
		Services:    map[string][]string{"shop": {"api"}},
		BackoffBase: 10 * time.Millisecond,
		Logger:      zaptest.NewLogger(t),
	}
	if mod != nil {
		mod(&o)
	}
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.Run(context.Background())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = e.Close(ctx)
	})
	return e
}
