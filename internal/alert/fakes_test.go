package alert

import (
	"context"
	"sync"
	"testing"

	"github.com/pollerd/pollerd/internal/alert/alerttest"
	"github.com/pollerd/pollerd/internal/incident"
	"go.uber.org/zap/zaptest"
)

// recordSink is a Sink that writes each change to its store at once (when
// it has one) and records the messages in the order they were emitted.
type recordSink struct {
	store *alerttest.Store

	mu      sync.Mutex
	got     []Message
	changes []incident.Change
}

var _ Sink = (*recordSink)(nil)

func (s *recordSink) Emit(c incident.Change, msgs ...Message) {
	if s.store != nil {
		_ = s.store.Commit(context.Background(), c)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changes = append(s.changes, c)
	s.got = append(s.got, msgs...)
}

func (s *recordSink) messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.got...)
}

// want fails the test unless exactly n messages were emitted, and returns them.
func (s *recordSink) want(t *testing.T, n int) []Message {
	t.Helper()
	got := s.messages()
	if len(got) != n {
		t.Fatalf("got %d messages, want %d: %+v", len(got), n, got)
	}
	return got
}

// startEngine builds and loads an engine over store (a fresh one when nil)
// emitting into a recordSink that writes to the same store. It is not Run:
// tests drive its housekeeping with expireReports.
func startEngine(t *testing.T, store *alerttest.Store, mod func(*Options)) (*Engine, *recordSink) {
	t.Helper()
	if store == nil {
		store = alerttest.NewStore()
	}
	sink := &recordSink{store: store}
	o := Options{
		Store:    store,
		Sink:     sink,
		Services: map[string][]string{"shop": {"api"}},
		Logger:   zaptest.NewLogger(t),
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
	t.Cleanup(func() { _ = e.Close(context.Background()) })
	return e, sink
}

// sinkFunc is a Sink from a function.
type sinkFunc func(c incident.Change, msgs ...Message)

func (f sinkFunc) Emit(c incident.Change, msgs ...Message) { f(c, msgs...) }
