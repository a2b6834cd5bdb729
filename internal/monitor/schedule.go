package monitor

import (
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// IntervalSchedule is a cron.Schedule that fires every Interval at a fixed
// Phase: at the instants t with (t - Unix epoch - Phase) % Interval == 0.
// cron's own ConstantDelaySchedule truncates to whole seconds and counts from
// whenever the scheduler started, so 10,000 targets with the same interval
// would all fire in the same instant; a per-target phase spreads them evenly
// over the interval and keeps each target's slot stable across restarts.
type IntervalSchedule struct {
	Interval time.Duration
	Phase    time.Duration // in [0, Interval)
}

// PhaseGrid is the width of a phase slot: a target's slot is the hash of
// its name modulo interval/PhaseGrid. The targets of a slot start together,
// in one wake of the wheel (wheel.go).
const PhaseGrid = 25 * time.Millisecond

// SubSlots is how many start instants a slot holds: with more than one, a
// target starts at one of them (from the same hash), PhaseGrid/SubSlots
// apart, so the ~25 targets that share a slot at 10,000 targets / 10 s do
// not start in one burst. It is 1 on purpose: spreading was measured
// (BenchmarkDaemon10k, 2026-12-02, medians of 3, load 2-3) at 25 sub-slots
// (1 ms): lateness at the target server p99 4.8-9.4 ms but CPU 0.40 core,
// 1.97x the bare prober; at 5: p99 6.0 ms, 0.36 core, 1.66x; at 1 (25 ms
// batches): p99 11.9 ms, 0.25 core, 1.37x, with the bare prober's own p99
// 9.9 ms on the same batches. On this 2-core VM each wake from idle costs
// far more than a batch's extra probes (the bare prober pays +30% spread
// on 1 ms instants too), so the CPU goal wins over the burst's tail.
const SubSlots = 1

// NewIntervalSchedule returns the schedule of the target called name: its
// phase is the FNV-1a 64 hash of the name, mixed: modulo the slots (of
// PhaseGrid) in the interval for its slot, the quotient modulo SubSlots for
// its instant within the slot; so it is the same on every run and names
// spread evenly over the interval.
func NewIntervalSchedule(name string, interval time.Duration) IntervalSchedule {
	if interval <= 0 {
		return IntervalSchedule{Interval: interval}
	}
	h := fnv.New64a()
	h.Write([]byte(name)) // never fails
	slot := PhaseGrid
	if interval < 10*PhaseGrid {
		slot = interval / 10 // short intervals keep ten slots
	}
	slots := uint64(interval / slot)
	if slots == 0 {
		return IntervalSchedule{Interval: interval}
	}
	x := mix(h.Sum64())
	return IntervalSchedule{
		Interval: interval,
		Phase:    time.Duration(x%slots)*slot + time.Duration(x/slots%SubSlots)*(slot/SubSlots),
	}
}

// mix is MurmurHash3's 64-bit finalizer: FNV-1a's low bits barely change
// between names that differ in their last character (api-1, api-2…), so
// taken modulo a few hundred slots they would cluster.
func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// Next returns the first firing instant strictly after now, in now's
// location. A non-positive interval never fires (the zero time, which cron
// reads as "never").
func (s IntervalSchedule) Next(now time.Time) time.Time {
	if s.Interval <= 0 {
		return time.Time{}
	}
	return s.Prev(now).Add(s.Interval)
}

// Prev returns the last firing instant at or before t: the instant a probe
// started at t was scheduled for, when it is less than an interval late.
func (s IntervalSchedule) Prev(t time.Time) time.Time {
	if s.Interval <= 0 {
		return time.Time{}
	}
	n, iv := t.UnixNano(), int64(s.Interval)
	off := (n - int64(s.Phase)) % iv
	if off < 0 {
		off += iv
	}
	return time.Unix(0, n-off).In(t.Location())
}

// specParser reads `schedule:` strings: 5 fields, 6 with seconds first, or a
// descriptor (@hourly, @every 1m…).
var specParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour |
	cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// scheduleFor returns the schedule of t. "@every D" becomes an
// IntervalSchedule too, so that it gets a phase and sub-second precision
// instead of cron's whole seconds counted from start.
func scheduleFor(t Target) (cron.Schedule, error) {
	name := t.Probe.Name
	switch {
	case t.Interval > 0 && t.Schedule != "":
		return nil, fmt.Errorf("target %s: both interval and schedule set", name)
	case t.Interval > 0:
		return NewIntervalSchedule(name, t.Interval), nil
	case t.Interval < 0:
		return nil, fmt.Errorf("target %s: negative interval %s", name, t.Interval)
	case t.Schedule == "":
		return nil, fmt.Errorf("target %s: neither interval nor schedule set", name)
	}

	spec := strings.TrimSpace(t.Schedule)
	if rest, ok := strings.CutPrefix(spec, "@every "); ok {
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		if err != nil {
			return nil, fmt.Errorf("target %s: schedule %q: %w", name, t.Schedule, err)
		}
		if d <= 0 {
			return nil, fmt.Errorf("target %s: schedule %q: duration must be positive", name, t.Schedule)
		}
		return NewIntervalSchedule(name, d), nil
	}
	s, err := specParser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("target %s: schedule %q: %w", name, t.Schedule, err)
	}
	return s, nil
}
