package monitor

import (
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
)

// TestWheel: groups fire on their own instants, in order, each instant
// once; a removed group fires no more; halt stops the loop.
func TestWheel(t *testing.T) {
	var mu sync.Mutex
	fired := map[any][]time.Time{}
	w := newWheel(zap.NewNop(), func(due time.Time, g *group) {
		mu.Lock()
		fired[g.key] = append(fired[g.key], due)
		mu.Unlock()
	})
	a := &group{key: "a", sched: IntervalSchedule{Interval: 40 * time.Millisecond}, idx: -1}
	b := &group{key: "b", sched: IntervalSchedule{Interval: 40 * time.Millisecond, Phase: 20 * time.Millisecond}, idx: -1}
	w.add(a)
	w.start()
	defer w.halt()
	w.add(b) // after start: the loop is poked
	time.Sleep(300 * time.Millisecond)
	w.remove(a)
	mu.Lock()
	na := len(fired["a"])
	mu.Unlock()
	time.Sleep(150 * time.Millisecond)
	w.halt()

	mu.Lock()
	defer mu.Unlock()
	if len(fired["a"]) != na {
		t.Errorf("a fired %d times after its removal", len(fired["a"])-na)
	}
	for _, g := range []*group{a, b} {
		dues := fired[g.key]
		if len(dues) < 5 {
			t.Fatalf("%v fired %d times in 300 ms at 40 ms, want ≥ 5", g.key, len(dues))
		}
		s := g.sched.(IntervalSchedule)
		for i, d := range dues {
			if !s.Prev(d).Equal(d) {
				t.Errorf("%v fired for %v, not one of its instants", g.key, d)
			}
			if i > 0 && d.Sub(dues[i-1]) != s.Interval {
				t.Errorf("%v: instants %v then %v, want %v apart", g.key, dues[i-1], d, s.Interval)
			}
		}
	}
}

// TestWheel_lateLoopSkips: a loop that wakes long after a group's instant
// fires it once, for that instant, and goes on from the next instant after
// now, not with a burst of the missed ones.
func TestWheel_lateLoopSkips(t *testing.T) {
	var dues []time.Time
	w := newWheel(zap.NewNop(), func(due time.Time, _ *group) { dues = append(dues, due) })
	g := &group{key: "g", sched: IntervalSchedule{Interval: 10 * time.Millisecond}, idx: -1}
	w.last = time.Now()
	w.add(g)
	time.Sleep(55 * time.Millisecond)
	w.runDue()
	if len(dues) != 1 {
		t.Fatalf("fired %d times after a 55 ms stall, want 1", len(dues))
	}
	if !g.next.After(time.Now().Add(-time.Millisecond)) {
		t.Errorf("next instant %v is in the past", g.next)
	}
}
