package monitor

import (
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// DefaultTick is how often the scheduler proves it is alive when
// Options.Tick is zero.
const DefaultTick = time.Second

// Liveness is what the scheduler's own tick shows: an entry of the wheel
// like the interval targets', run by the wheel's loop that starts their
// probes, so a loop that is wedged (blocked on a log write, a lock, a
// starved CPU) stops it too.
//
// It is pulled (Monitor.Liveness), not pushed through a callback: its two
// readers, the systemd watchdog and the heartbeat, look at it at their own
// pace, and each sends its ping only when the tick is fresh. A ping sent
// from a goroutine of its own, that does not ask the scheduler, would go on
// while the scheduler is stuck and defeat both.
type Liveness struct {
	// Last is when the tick last ran; zero before Start.
	Last time.Time
	// Stalls counts ticks that came more than two periods after the one
	// before: the scheduler was stuck or badly late in between, even if it
	// has caught up since.
	Stalls uint64
	// Every is the tick's period.
	Every time.Duration
}

// StaleTicks is how many periods may pass without a tick before the
// scheduler counts as stuck: one late wake is not a wedge.
const StaleTicks = 3

// Fresh reports whether the last tick is at most maxAge old at now.
func (l Liveness) Fresh(now time.Time, maxAge time.Duration) bool {
	return !l.Last.IsZero() && now.Sub(l.Last) <= maxAge
}

// OnTime reports whether the scheduler ticked within StaleTicks periods
// before now.
func (l Liveness) OnTime(now time.Time) bool { return l.Fresh(now, StaleTicks*l.Every) }

// liveness records the ticks; its wheel entry is added in New.
type liveness struct {
	every time.Duration

	mu sync.Mutex
	l  Liveness
}

// schedule is the tick's cron schedule: on the whole period, phase 0.
func (lv *liveness) schedule() cron.Schedule { return IntervalSchedule{Interval: lv.every} }

// tick is the wheel's job: it runs in the wheel's loop.
func (lv *liveness) tick(now time.Time) {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	if !lv.l.Last.IsZero() && now.Sub(lv.l.Last) > 2*lv.every {
		lv.l.Stalls++
	}
	lv.l.Last = now
}

// Liveness returns the scheduler's tick record. See Liveness.
func (m *Monitor) Liveness() Liveness {
	m.alive.mu.Lock()
	defer m.alive.mu.Unlock()
	l := m.alive.l
	l.Every = m.alive.every
	return l
}
