package monitor

import (
	"sync"
	"time"

	"go.uber.org/zap"
)

// firstRound logs one info line once every target has had its first
// scheduled probe, or once the longest interval (plus a second) has passed
// since Start, whichever comes first:
//
//	first round  {"up": 9990, "down": 10, "unknown": 0, "took": "10.02s"}
//
// up and down count the targets whose first probe succeeded or failed;
// unknown, those not probed yet (a cron target due later, or a probe still
// running). It stands in for one UNKNOWN → UP line per target at start,
// which are at debug.
type firstRound struct {
	log      *zap.Logger
	total    int
	deadline time.Duration // longest interval + 1s

	mu        sync.Mutex
	seen      map[string]struct{} // nil once logged
	up, down  int
	startedAt time.Time
	timer     *time.Timer
}

func newFirstRound(log *zap.Logger, targets []Target) *firstRound {
	var longest time.Duration
	for _, t := range targets {
		if s, err := scheduleFor(t); err == nil {
			if is, ok := s.(IntervalSchedule); ok {
				longest = max(longest, is.Interval)
			}
		}
	}
	return &firstRound{log: log, total: len(targets), deadline: longest + time.Second,
		seen: make(map[string]struct{}, len(targets))}
}

// start arms the deadline; Start calls it once.
func (f *firstRound) start() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.startedAt = time.Now()
	if f.seen != nil {
		f.timer = time.AfterFunc(f.deadline, func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.flushLocked()
		})
	}
}

// stop disarms the deadline without logging.
func (f *firstRound) stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.timer != nil {
		f.timer.Stop()
	}
	f.seen = nil
}

// observe counts a target's first scheduled probe.
func (f *firstRound) observe(name string, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seen == nil {
		return
	}
	if _, dup := f.seen[name]; dup {
		return
	}
	f.seen[name] = struct{}{}
	if ok {
		f.up++
	} else {
		f.down++
	}
	if len(f.seen) >= f.total {
		f.flushLocked()
	}
}

func (f *firstRound) flushLocked() {
	if f.seen == nil {
		return
	}
	f.seen = nil
	if f.timer != nil {
		f.timer.Stop()
	}
	f.log.Info("first round",
		zap.Int("up", f.up), zap.Int("down", f.down), zap.Int("unknown", max(0, f.total-f.up-f.down)),
		zap.Duration("took", time.Since(f.startedAt).Round(time.Millisecond)))
}
