package alert

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/alert/alerttest"
	"github.com/pollerd/pollerd/internal/incident"
	"go.uber.org/zap"
)

// firstMessageSink is the outbox's place in the bench: it commits each
// change to the in-memory store (as the outbox writes its rows) and
// records the messages, noting when the first one arrived.
type firstMessageSink struct {
	store *alerttest.Store

	mu    sync.Mutex
	msgs  []Message
	first chan time.Time
}

func (s *firstMessageSink) Emit(c incident.Change, msgs ...Message) {
	_ = s.store.Commit(context.Background(), c)
	if len(msgs) == 0 {
		return
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.msgs) == 0 {
		s.first <- now
	}
	s.msgs = append(s.msgs, msgs...)
}

// newGroupBench is an engine behind a group stage of one group "big" of
// names, over a fresh store, its sink recording the first message; the
// fake monitor's Confirm finds every target it sweeps failing at once.
func newGroupBench(b *testing.B, names []string, t0 time.Time) (*Engine, *Grouping, *firstMessageSink) {
	b.Helper()
	store := alerttest.NewStore()
	sink := &firstMessageSink{store: store, first: make(chan time.Time, 1)}
	var engine *Engine
	grouping := NewGrouping(GroupOptions{
		Groups: map[string][]string{"big": names},
		Confirmer: ConfirmFunc(func(_ context.Context, targets []string) []string {
			for _, t := range targets {
				engine.Transition(down(t, t0, "connect: connection refused"))
			}
			return targets
		}),
		Logger: zap.NewNop(),
	})
	var err error
	engine, err = New(Options{Store: store, Sink: Chain(sink, grouping.Stage), Targets: names, Logger: zap.NewNop()})
	if err != nil {
		b.Fatal(err)
	}
	grouping.UseIDs(engine.NewIncidentID)
	if err := engine.Load(context.Background()); err != nil {
		b.Fatal(err)
	}
	return engine, grouping, sink
}

// BenchmarkGroup1000: a group of 1,000 targets failing at once. The first
// member crosses its threshold (engine.Transition); the group stage holds
// its DOWN and sweeps the other 999 through a fake monitor whose Confirm
// finds each failing at once and feeds its DOWN transition to the engine,
// as the monitor's state machine does. One grouped DOWN must come out.
// ms_to_message is from the first threshold crossing to that message
// reaching the sink (the outbox's Emit); ns/op is the same span, setup
// excluded.
//
//	go test -run '^$' -bench Group1000 ./internal/alert
func BenchmarkGroup1000(b *testing.B) {
	const n = 1000
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("t%04d", i)
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var total time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		engine, grouping, sink := newGroupBench(b, names, t0)
		b.StartTimer()

		start := time.Now()
		engine.Transition(down(names[0], t0, "connect: connection refused"))
		var took time.Duration
		select {
		case at := <-sink.first:
			took = at.Sub(start)
		case <-time.After(10 * time.Second):
			b.Fatal("no message within 10s")
		}

		b.StopTimer()
		total += took
		_ = grouping.Close(context.Background())
		_ = engine.Close(context.Background())
		sink.mu.Lock()
		msgs := sink.msgs
		sink.mu.Unlock()
		if len(msgs) != 1 || msgs[0].Kind != KindDown || !strings.Contains(msgs[0].Text, "big: 1000 of 1000 DOWN") ||
			len(msgs[0].Targets) != n {
			b.Fatalf("%d messages, want one grouped DOWN of 1000: %.200q", len(msgs), msgs[0].Text)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms_to_message")
}

// BenchmarkGroup1000Recovered: the same group's recovery, member by member
// (1,000 UP transitions back to back, as if all came up together);
// ms_all_up_to_message is from the first UP to the one grouped RECOVERED,
// which the last UP releases. Each member's RECOVERED rewrites the group
// incident's Cause (every member, with the downtimes so far, for a
// restart), so this is the quadratic side of grouping: about 65 MB
// allocated for 1,000 members.
func BenchmarkGroup1000Recovered(b *testing.B) {
	const n = 1000
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("t%04d", i)
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var total time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		engine, grouping, sink := newGroupBench(b, names, t0)
		engine.Transition(down(names[0], t0, "connect: connection refused"))
		<-sink.first
		sink.mu.Lock()
		sink.msgs = nil
		sink.mu.Unlock()
		b.StartTimer()

		start := time.Now()
		for i, name := range names {
			engine.Transition(up(name, t0, t0.Add(time.Minute+time.Duration(i)*time.Second)))
		}
		var took time.Duration
		select {
		case at := <-sink.first:
			took = at.Sub(start)
		case <-time.After(10 * time.Second):
			b.Fatal("no message within 10s")
		}

		b.StopTimer()
		total += took
		_ = grouping.Close(context.Background())
		_ = engine.Close(context.Background())
		sink.mu.Lock()
		msgs := sink.msgs
		sink.mu.Unlock()
		if len(msgs) != 1 || msgs[0].Kind != KindRecovered || len(msgs[0].Targets) != n {
			b.Fatalf("%d messages, want one grouped RECOVERED of 1000", len(msgs))
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms_all_up_to_message")
}
