package monitor

import (
	"container/heap"
	"sync"
	"time"

	"go.uber.org/zap"
)

// wheel runs the interval targets (every IntervalSchedule: `interval:` and
// `@every`) and the liveness tick: one goroutine, one timer, and the groups
// (one per distinct phase) in a heap by their next instant. cron, which
// sorts all its entries at every wake, starts a goroutine per job and
// reads the clock in whole steps of its own, keeps the `schedule:` specs
// only. At a wake the loop starts the probes of every group that is due,
// each in its own goroutine (a hung target delays no other), and sleeps
// until the next group's instant, at most maxWheelSleep.
type wheel struct {
	log *zap.Logger
	// fire starts g's work for due; called by the loop under mu, it must
	// not block.
	fire func(due time.Time, g *group)

	mu       sync.Mutex
	groups   groupHeap
	last     time.Time // the loop's last wake, with its monotonic reading
	poke     chan struct{}
	stop     chan struct{}
	done     chan struct{}
	started  bool
	stopping bool
}

// maxWheelSleep bounds a sleep of the loop, so a step of the wall clock is
// noticed (see resync) even when no group is due for long.
const maxWheelSleep = time.Second

// clockStep is how far the wall clock may drift from the monotonic one
// between two wakes before the groups' instants are computed afresh.
const clockStep = time.Second

func newWheel(log *zap.Logger, fire func(time.Time, *group)) *wheel {
	return &wheel{log: log, fire: fire, poke: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

// add schedules g from its next instant after now.
func (w *wheel) add(g *group) {
	w.mu.Lock()
	defer w.mu.Unlock()
	g.next = g.sched.Next(time.Now())
	heap.Push(&w.groups, g)
	if g.idx == 0 {
		w.wake()
	}
}

// remove unschedules g; a run of its work already started goes on.
func (w *wheel) remove(g *group) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if g.idx >= 0 {
		heap.Remove(&w.groups, g.idx)
	}
}

func (w *wheel) wake() {
	select {
	case w.poke <- struct{}{}:
	default:
	}
}

// start starts the loop; it does nothing after stop.
func (w *wheel) start() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started || w.stopping {
		return
	}
	w.started = true
	w.last = time.Now()
	for _, g := range w.groups { // added before start: from now, not from then
		g.next = g.sched.Next(w.last)
	}
	heap.Init(&w.groups)
	go w.run()
}

// halt stops the loop and waits for it (not for the work it started).
func (w *wheel) halt() {
	w.mu.Lock()
	started, stopping := w.started, w.stopping
	w.stopping = true
	w.mu.Unlock()
	if stopping || !started {
		return
	}
	close(w.stop)
	<-w.done
}

func (w *wheel) run() {
	defer close(w.done)
	t := time.NewTimer(maxWheelSleep)
	defer t.Stop()
	for {
		t.Reset(w.runDue())
		select {
		case <-t.C:
		case <-w.poke:
		case <-w.stop:
			return
		}
	}
}

// runDue fires the groups that are due and returns how long to sleep.
func (w *wheel) runDue() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	w.resync(now)
	for len(w.groups) > 0 {
		g := w.groups[0]
		if d := g.next.Sub(now); d > 0 {
			return min(d, maxWheelSleep)
		}
		due := g.next
		w.fire(due, g)
		// The next instant after this one; after a long stall (a wedged
		// loop, a suspended machine) the next after now: missed turns are
		// skipped, not made up in a burst.
		if g.next = g.sched.Next(due); !g.next.After(now) {
			g.next = g.sched.Next(now)
		}
		heap.Fix(&w.groups, 0)
	}
	return maxWheelSleep
}

// resync recomputes every group's next instant when the wall clock stepped
// (NTP, a suspend) since the last wake: the instants are wall-clock times,
// and a step back would otherwise hold every target until the clock caught
// up. The caller holds mu.
func (w *wheel) resync(now time.Time) {
	mono := now.Sub(w.last)
	wall := now.Round(0).Sub(w.last.Round(0))
	w.last = now
	if (wall - mono).Abs() <= clockStep {
		return
	}
	w.log.Warn("wall clock stepped; rescheduling", zap.Duration("step", wall-mono))
	for _, g := range w.groups {
		g.next = g.sched.Next(now)
	}
	heap.Init(&w.groups)
}

// groupHeap orders groups by their next instant (container/heap).
type groupHeap []*group

func (h groupHeap) Len() int           { return len(h) }
func (h groupHeap) Less(i, j int) bool { return h[i].next.Before(h[j].next) }
func (h groupHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}

func (h *groupHeap) Push(x any) {
	g := x.(*group)
	g.idx = len(*h)
	*h = append(*h, g)
}

func (h *groupHeap) Pop() any {
	old := *h
	g := old[len(old)-1]
	old[len(old)-1] = nil
	g.idx = -1
	*h = old[:len(old)-1]
	return g
}
