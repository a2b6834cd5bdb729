package monitor

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"go.uber.org/zap"
)

// targetSet is the targets in force and what confirmations need of the
// config. It is never modified once published: Apply builds a new one.
type targetSet struct {
	entries  []*entry // sorted by name
	byName   map[string]*entry
	services map[string][]string // service → targets, for ConfirmService
	cooldown time.Duration       // between two confirmations of a target
}

func (m *Monitor) load() *targetSet { return m.set.Load() }

// group is the targets that fire together: one entry of the wheel (an
// IntervalSchedule, wheel.go) or of cron (a `schedule:` spec) per distinct
// schedule, not per target (cron sorts all its entries at every wake, so
// 10,000 entries made every start late by the sort). Apply adds and removes
// members; an unchanged target keeps its group, so its phase does not move.
type group struct {
	key   any
	sched cron.Schedule
	id    cron.EntryID // a cron group's entry

	// A wheel group's place, guarded by the wheel's mu.
	next time.Time // its next instant
	idx  int       // its index in the wheel's heap; -1 when not in it
	tick func()    // instead of members: the liveness tick

	mu      sync.Mutex
	entries []*entry // copy on write: a running job keeps the slice it read
}

func (g *group) members() []*entry {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.entries
}

// groupKey tells which targets share a cron entry: interval schedules by
// interval and phase, cron specs by their text (the same text, the same
// times).
func groupKey(t Target, s cron.Schedule) any {
	if is, ok := s.(IntervalSchedule); ok {
		return is
	}
	return t.Schedule
}

// join puts e on its schedule's group, creating it (and its wheel or cron
// entry) when e is the first on that instant. The caller holds applyMu (or
// is New).
func (m *Monitor) join(e *entry, s cron.Schedule) {
	key := groupKey(e.target, s)
	g := m.groups[key]
	fresh := g == nil
	if fresh {
		g = &group{key: key, sched: s, idx: -1}
		m.groups[key] = g
	}
	g.mu.Lock()
	g.entries = append(slices.Clip(g.entries), e)
	g.mu.Unlock()
	e.group = g
	if !fresh {
		return
	}
	if _, ok := s.(IntervalSchedule); ok {
		m.wheel.add(g)
		return
	}
	g.id = m.cron.Schedule(s, cron.FuncJob(func() { m.scheduleGroup(m.slotOf(g.sched, time.Now()), g.members()) }))
}

// leave takes e off its cron entry, and removes the entry when it was the
// last on it. A job that already read the members may still call e once;
// e's held lock (see Apply) turns that into a skip.
func (m *Monitor) leave(e *entry) {
	g := e.group
	if g == nil {
		return
	}
	g.mu.Lock()
	g.entries = slices.DeleteFunc(slices.Clone(g.entries), func(x *entry) bool { return x == e })
	empty := len(g.entries) == 0
	g.mu.Unlock()
	if empty {
		if _, ok := g.sched.(IntervalSchedule); ok {
			m.wheel.remove(g)
		} else {
			m.cron.Remove(g.id)
		}
		delete(m.groups, g.key)
	}
	e.group = nil
}

// Update is what Apply puts in force: the whole list of targets, and the
// services and cooldown of confirmations (Options.Services,
// Options.ConfirmCooldown; a zero cooldown is DefaultConfirmCooldown).
type Update struct {
	Targets         []Target
	Services        map[string][]string
	ConfirmCooldown time.Duration
}

// Applied says what Apply did, by target name, each list sorted.
type Applied struct {
	Added, Removed, Changed []string
	Unchanged               int
}

// ErrStopped is returned by Apply after Stop.
var ErrStopped = errors.New("monitor stopped")

// Apply replaces the monitor's targets with u.Targets, while it runs:
//
//   - an added target starts UNKNOWN on its own slot;
//   - a removed target stops: its probe in flight and its confirmation are
//     cancelled (their results discarded), its slot's cron entry goes when
//     no other target shares it, and no Sink call is made for it once
//     Apply returned;
//   - a changed target (any field of its Target differs) starts afresh on
//     the new settings: counters and last result reset, state UNKNOWN —
//     except a DOWN target, which stays DOWN since when it went down, so
//     that its open incident ends with a RECOVERED when it passes
//     success_threshold probes and a target still down sends no second
//     DOWN;
//   - an unchanged target keeps its state, counters, phase and cron slot.
//
// Apply waits (until ctx ends) for the cancelled probes of removed and
// changed targets to return. The targets are checked as by New first; on
// an error nothing changes.
func (m *Monitor) Apply(ctx context.Context, u Update) (Applied, error) {
	schedules, err := checkTargets(u.Targets)
	if err != nil {
		return Applied{}, fmt.Errorf("apply: %w", err)
	}
	if u.ConfirmCooldown <= 0 {
		u.ConfirmCooldown = DefaultConfirmCooldown
	}
	m.applyMu.Lock()
	defer m.applyMu.Unlock()
	m.mu.Lock()
	stopped := m.stopped
	m.mu.Unlock()
	if stopped {
		return Applied{}, ErrStopped
	}

	old := m.load()
	now := m.now()
	next := &targetSet{byName: make(map[string]*entry, len(u.Targets)), services: u.Services, cooldown: u.ConfirmCooldown}
	var (
		res     Applied
		retired []*entry // removed or changed: their old entries
		fresh   []*entry // added or changed: their new entries
	)
	for _, t := range u.Targets {
		name := t.Probe.Name
		prev := old.byName[name]
		var e *entry
		switch {
		case prev == nil:
			e = m.newEntry(t, schedules[name], Status{Name: name, State: Unknown, Since: now})
			res.Added = append(res.Added, name)
			fresh = append(fresh, e)
		case reflect.DeepEqual(prev.target, t):
			e = prev
			res.Unchanged++
		default:
			e = m.newEntry(t, schedules[name], afresh(prev.snapshot(), now))
			res.Changed = append(res.Changed, name)
			retired = append(retired, prev)
			fresh = append(fresh, e)
		}
		next.byName[name] = e
		next.entries = append(next.entries, e)
	}
	for _, e := range old.entries {
		if next.byName[e.name()] == nil {
			res.Removed = append(res.Removed, e.name())
			retired = append(retired, e)
		}
	}
	sort.Slice(next.entries, func(i, j int) bool { return next.entries[i].name() < next.entries[j].name() })
	sort.Strings(res.Added)
	sort.Strings(res.Changed)
	sort.Strings(res.Removed)

	// Stop the old entries and wait for what they had in flight, so their
	// last Sink calls come before any of their successors' and none comes
	// after Apply. Their lock is never given back: a job that read them
	// before they left their group skips them.
	for _, e := range retired {
		m.leave(e)
		e.retire()
	}
	for _, e := range retired {
		if !e.lock(ctx) {
			m.log.Warn("probe of a removed or changed target still running; its result will be discarded",
				zap.String("target", e.name()))
		}
	}
	m.set.Store(next)
	for _, e := range fresh {
		m.join(e, schedules[e.name()])
	}
	// A removed target's series go with its entry: they are read from the
	// entries at scrape time.
	return res, nil
}

// afresh is the status a changed target starts from; see Apply.
func afresh(prev Status, now time.Time) Status {
	if prev.State == Down {
		return Status{Name: prev.Name, State: Down, Since: prev.Since}
	}
	return Status{Name: prev.Name, State: Unknown, Since: now}
}

// newEntry makes the entry of t, with its own ctx under the monitor's and
// its metric series.
func (m *Monitor) newEntry(t Target, s cron.Schedule, st Status) *entry {
	e := &entry{target: t, grace: graceOf(s), status: st}
	if m.metrics != nil {
		e.metrics = new(probeCounts)
	}
	return e
}

// checkTargets checks targets as New does and returns their schedules.
func checkTargets(targets []Target) (map[string]cron.Schedule, error) {
	out := make(map[string]cron.Schedule, len(targets))
	for _, t := range targets {
		name := t.Probe.Name
		if name == "" {
			return nil, errors.New("target without a name")
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("duplicate target %s", name)
		}
		if t.FailureThreshold < 1 || t.SuccessThreshold < 1 {
			return nil, fmt.Errorf("target %s: thresholds must be at least 1", name)
		}
		s, err := scheduleFor(t)
		if err != nil {
			return nil, err
		}
		out[name] = s
	}
	return out, nil
}
