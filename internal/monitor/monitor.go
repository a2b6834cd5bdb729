// Package monitor owns the schedule of every target, runs their probes and
// keeps each target's state machine. It tells a Sink what it learns (every
// probe's status, every transition); what to say about it is the alert
// package's business. It runs probes concurrently with a generous bound, so a
// target that hangs until its timeout never delays another's probe, and it
// probes on demand (Confirm) when clients report failures.
package monitor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"
	"go.uber.org/zap"

	"github.com/pollerd/pollerd/internal/probe"
)

// Defaults for the zero values of Options.
const (
	DefaultMaxConcurrent   = 1024
	DefaultConfirmInterval = time.Second
	DefaultConfirmCooldown = time.Minute
)

// Options configure a Monitor.
type Options struct {
	Targets []Target
	// Initial is restored from the store: state, since and counters. Names
	// that are not in Targets are ignored.
	Initial []Status
	Sink    Sink       // required
	Probe   probe.Func // required; cmd passes probe.Run
	// MaxConcurrent bounds the probes in flight (default 1024). It is
	// generous on purpose: a hung probe holds its slot until its timeout, and
	// a tight bound would let a few hung targets starve all the others.
	MaxConcurrent int
	// ConfirmInterval is the gap between confirmation re-probes (default 1s).
	ConfirmInterval time.Duration
	// ConfirmCooldown is the minimum time between two confirmations of one
	// target (default 1m); within it Confirm reports the current state.
	ConfirmCooldown time.Duration
	// Services maps a service (the name client reports carry) to its
	// targets, for ConfirmService.
	Services map[string][]string
	Logger   *zap.Logger      // default: no logging
	Now      func() time.Time // default time.Now; for Since and cooldowns
	// Registerer gets the monitor's metrics (metrics.go); nil: none.
	Registerer prometheus.Registerer
	// Tick is the period of the scheduler's liveness tick (default
	// DefaultTick); see Liveness.
	Tick time.Duration
}

// Monitor schedules and probes targets. Start starts it; Stop stops it and
// waits for the probes it started. A stopped Monitor cannot be restarted.
type Monitor struct {
	probe           probe.Func
	sink            Sink
	log             *zap.Logger
	now             func() time.Time
	confirmInterval time.Duration
	metrics         *metrics // nil: no metrics

	// slots bounds the probes in flight across all targets.
	slots chan struct{}
	// set is the targets in force, replaced whole by Apply (apply.go), so
	// readers take one snapshot without a lock.
	set   atomic.Pointer[targetSet]
	wheel *wheel     // interval targets and the liveness tick (wheel.go)
	pool  *workers   // the goroutines the wheel's probes run on (workers.go)
	cron  *cron.Cron // `schedule:` specs
	alive *liveness  // the scheduler's own tick; see Liveness
	// running counts the probes the wheel started (cron's Stop waits for
	// its own jobs).
	running sync.WaitGroup
	first   *firstRound // the one-line summary of the first round

	// applyMu serializes Apply; groups (one cron entry per schedule slot,
	// see group) are only touched under it.
	applyMu sync.Mutex
	groups  map[any]*group

	// ctx is the root of every probe's ctx; cancel (in Stop) aborts them all.
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	stopped  bool           // guarded by mu; no confirmation starts after it
	confirms sync.WaitGroup // running confirmation series
}

// entry is one target and its state.
type entry struct {
	target Target
	group  *group // its wheel or cron group; guarded by Monitor.applyMu

	grace time.Duration // see skipGrace

	mu          sync.Mutex // guards the fields below
	status      Status
	confirm     *confirmation // the confirmation in flight, if any
	confirmedAt time.Time     // when the last confirmation settled
	// The cancels of the contexts of e's work in flight (see work), and
	// whether Apply retired e. Not one context per entry for its lifetime:
	// at 10,000 targets those, with what each probe's dial and
	// context.AfterFunc left registered in them, held 5 MB of heap.
	cancels []*context.CancelFunc
	retired bool
	// busy is e's probe lock (lock, tryLock, unlock): held while a probe of
	// this target runs and its result is stepped and delivered, so the
	// target's probes never overlap and its Sink calls are ordered. Not a
	// sync.Mutex, so that a confirmation can give up waiting when its ctx
	// ends; not a channel per target either, which cost 96 bytes of heap
	// each (1 MB at 10,000 targets) for a lock that is rarely contended.
	// wake is made by the first waiter and closed by unlock.
	busy bool
	wake chan struct{}

	metrics *probeCounts // nil without metrics
}

func (e *entry) name() string { return e.target.Probe.Name }

// work returns a context for one piece of e's work (a probe, a
// confirmation series) under parent (the monitor's: Stop cancels it), which
// retire cancels too; release ends it. After retire it is cancelled at once.
func (e *entry) work(parent context.Context) (ctx context.Context, release func()) {
	ctx, cancel := context.WithCancel(parent)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.retired {
		cancel()
		return ctx, func() {}
	}
	c := &cancel
	e.cancels = append(e.cancels, c)
	return ctx, func() {
		cancel()
		e.mu.Lock()
		defer e.mu.Unlock()
		if i := slices.Index(e.cancels, c); i >= 0 {
			last := len(e.cancels) - 1
			e.cancels[i], e.cancels[last] = e.cancels[last], nil
			e.cancels = e.cancels[:last]
		}
	}
}

// retire cancels e's work in flight and any it would start: Apply removed
// or changed the target.
func (e *entry) retire() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.retired = true
	for _, c := range e.cancels {
		(*c)()
	}
}

// tryLock takes e's probe lock if it is free.
func (e *entry) tryLock() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.busy {
		return false
	}
	e.busy = true
	return true
}

// lock takes e's probe lock, waiting for it until ctx ends; it reports
// whether it took it.
func (e *entry) lock(ctx context.Context) bool {
	for {
		e.mu.Lock()
		if !e.busy {
			e.busy = true
			e.mu.Unlock()
			return true
		}
		if e.wake == nil {
			e.wake = make(chan struct{})
		}
		wake := e.wake
		e.mu.Unlock()
		select {
		case <-wake: // freed: try again, as every waiter does
		case <-ctx.Done():
			return false
		}
	}
}

// unlock gives e's probe lock back and wakes its waiters.
func (e *entry) unlock() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.busy = false
	if e.wake != nil {
		close(e.wake)
		e.wake = nil
	}
}

func (e *entry) snapshot() Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.status
}

// New checks the targets, restores their statuses from o.Initial and
// schedules them; nothing runs until Start.
func New(o Options) (*Monitor, error) {
	if o.Probe == nil {
		return nil, errors.New("new monitor: no probe function")
	}
	if o.Sink == nil {
		return nil, errors.New("new monitor: no sink")
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = DefaultMaxConcurrent
	}
	if o.ConfirmInterval <= 0 {
		o.ConfirmInterval = DefaultConfirmInterval
	}
	if o.ConfirmCooldown <= 0 {
		o.ConfirmCooldown = DefaultConfirmCooldown
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Tick <= 0 {
		o.Tick = DefaultTick
	}

	ctx, cancel := context.WithCancel(context.Background())
	m := &Monitor{
		probe:           o.Probe,
		sink:            o.Sink,
		log:             o.Logger,
		now:             o.Now,
		confirmInterval: o.ConfirmInterval,
		slots:           make(chan struct{}, o.MaxConcurrent),
		groups:          make(map[any]*group),
		cron:            cron.New(cron.WithLogger(cronLogger{o.Logger.Sugar()})),
		ctx:             ctx,
		cancel:          cancel,
		alive:           &liveness{every: o.Tick},
	}

	m.wheel = newWheel(o.Logger, m.fireGroup)
	m.pool = newWorkers(func(j probeJob) {
		defer m.running.Done()
		m.scheduled(j.due, j.e)
	})
	m.first = newFirstRound(o.Logger, o.Targets)
	start := o.Now()
	set := &targetSet{byName: make(map[string]*entry, len(o.Targets)), services: o.Services, cooldown: o.ConfirmCooldown}
	schedules := make(map[string]cron.Schedule, len(o.Targets))
	for _, t := range o.Targets {
		name := t.Probe.Name
		if name == "" {
			cancel()
			return nil, errors.New("new monitor: target without a name")
		}
		if _, dup := set.byName[name]; dup {
			cancel()
			return nil, fmt.Errorf("new monitor: duplicate target %s", name)
		}
		if t.FailureThreshold < 1 || t.SuccessThreshold < 1 {
			cancel()
			return nil, fmt.Errorf("new monitor: target %s: thresholds must be at least 1", name)
		}
		s, err := scheduleFor(t)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("new monitor: %w", err)
		}
		schedules[name] = s
		e := &entry{
			target: t,
			grace:  graceOf(s),
			status: Status{Name: name, State: Unknown, Since: start},
		}
		set.byName[name] = e
		set.entries = append(set.entries, e)
	}
	sort.Slice(set.entries, func(i, j int) bool { return set.entries[i].name() < set.entries[j].name() })
	m.set.Store(set)
	if err := m.registerMetrics(o.Registerer); err != nil {
		cancel()
		return nil, fmt.Errorf("new monitor: %w", err)
	}

	for _, s := range o.Initial {
		e, ok := set.byName[s.Name]
		if !ok {
			m.log.Debug("ignoring restored status of unknown target", zap.String("target", s.Name))
			continue
		}
		if s.State == "" {
			s.State = Unknown
		}
		if s.Since.IsZero() {
			s.Since = start
		}
		e.status = s
	}

	// One cron entry per distinct schedule, not per target (see group).
	for _, e := range set.entries {
		m.join(e, schedules[e.name()])
	}
	m.wheel.add(&group{key: "liveness", sched: m.alive.schedule(), idx: -1, tick: func() { m.alive.tick(m.now()) }})
	return m, nil
}

// fireGroup is the wheel's work for g at due: the liveness tick, run in the
// wheel's loop, or the probes of g's targets, each on a worker of its own
// (workers.go) so a hung target delays no other (Stop waits for them
// through running). Its debug line is checked before anything is formatted.
func (m *Monitor) fireGroup(due time.Time, g *group) {
	if g.tick != nil {
		if ce := m.log.Check(zap.DebugLevel, "scheduler tick"); ce != nil {
			ce.Write(zap.Time("due", due))
		}
		g.tick()
		return
	}
	members := g.members()
	if ce := m.log.Check(zap.DebugLevel, "scheduler wake"); ce != nil {
		ce.Write(zap.Time("due", due), zap.Int("targets", len(members)))
	}
	m.running.Add(len(members))
	for _, e := range members {
		m.pool.do(probeJob{due: due, e: e})
	}
}

// scheduleGroup starts the probes of a cron group's targets (a `schedule:`
// spec) that share a firing instant,
// each in its own goroutine so a hung target delays no other, and returns
// when they are done: cron's Stop waits for running jobs, so Stop waits for
// these probes too. due is the slot they were scheduled for (zero: not
// measured), for the lateness metric.
func (m *Monitor) scheduleGroup(due time.Time, entries []*entry) {
	if len(entries) == 1 {
		m.scheduled(due, entries[0])
		return
	}
	var wg sync.WaitGroup
	for _, e := range entries {
		wg.Go(func() { m.scheduled(due, e) })
	}
	wg.Wait()
}

// Start starts the scheduler. It does nothing after Stop.
func (m *Monitor) Start() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return
	}
	m.wheel.start()
	m.cron.Start()
	m.first.start()
}

// Stop stops scheduling, cancels the probes in flight (their ctx derives from
// the monitor's) and waits until every running job and confirmation has
// returned, or ctx ends. Results of cancelled probes are discarded: a
// shutdown is not an outage. Stop may be called more than once.
func (m *Monitor) Stop(ctx context.Context) error {
	m.mu.Lock()
	m.stopped = true
	m.mu.Unlock()
	m.cancel()
	m.first.stop()
	jobs := m.cron.Stop()
	m.wheel.halt() // starts no probe once it returns

	done := make(chan struct{})
	// Exits when the jobs and confirmations return, which the cancel above
	// makes prompt; if ctx ends first it outlives Stop by that much.
	go func() {
		<-jobs.Done()
		m.pool.stop() // after halt: no probe is handed to it any more
		m.running.Wait()
		m.confirms.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop monitor: %w", ctx.Err())
	}
}

// Statuses returns a snapshot of every target's status, sorted by name.
func (m *Monitor) Statuses() []Status {
	entries := m.load().entries
	out := make([]Status, len(entries))
	for i, e := range entries {
		out[i] = e.snapshot()
	}
	return out
}

// Status returns the named target's status.
func (m *Monitor) Status(name string) (Status, bool) {
	e, ok := m.load().byName[name]
	if !ok {
		return Status{}, false
	}
	return e.snapshot(), true
}

// skipGrace is how long a due probe waits for the target's previous one
// before skipping its turn (at most a tenth of the interval): a timeout may
// equal the interval, and a probe that used all of it ends just as the next
// is due.
const skipGrace = 100 * time.Millisecond

// graceOf is e's wait before a skip; cron specs, which have no interval to
// compare a timeout with, skip at once.
func graceOf(s cron.Schedule) time.Duration {
	if is, ok := s.(IntervalSchedule); ok {
		return min(skipGrace, is.Interval/10)
	}
	return 0
}

// scheduled is the scheduled probe of one target. It skips its turn while
// the previous probe (or a confirmation) still runs after skipGrace, like
// cron's SkipIfStillRunning, so a slow target never piles up probes.
func (m *Monitor) scheduled(due time.Time, e *entry) {
	defer m.recoverPanic(e)
	if !e.tryLock() && (e.grace <= 0 || !m.lockWithin(e, e.grace)) {
		m.log.Debug("probe skipped: previous still running", zap.String("target", e.name()))
		return
	}
	defer e.unlock()
	if st, ok := m.probeLocked(e, due); ok {
		m.first.observe(e.name(), st.Last.OK)
	}
}

// lockWithin waits up to d for e's lock; the slow path of scheduled.
func (m *Monitor) lockWithin(e *entry, d time.Duration) bool {
	ctx, cancel := context.WithTimeout(m.ctx, d)
	defer cancel()
	return e.lock(ctx)
}

// probeLocked probes e once, steps its state machine and tells the sink:
// Observe, then Transition if there is one. The caller holds e's probe lock. due is
// the slot of a scheduled probe, zero for a confirmation. It reports false
// when the probe was cut short by Stop, in which case nothing was recorded.
func (m *Monitor) probeLocked(e *entry, due time.Time) (Status, bool) {
	r, ok := m.runProbe(e, due)
	if !ok {
		return Status{}, false
	}
	m.observeProbe(e, r.Duration, r.OK)

	e.mu.Lock()
	st, tr := Step(e.status, r, e.target.FailureThreshold, e.target.SuccessThreshold)
	e.status = st
	e.mu.Unlock()

	// Checked first: Debug(msg, fields...) builds its fields on the heap
	// even when debug is off, 256 bytes on every probe.
	if ce := m.log.Check(zap.DebugLevel, "probe"); ce != nil {
		ce.Write(zap.String("target", e.name()), zap.Bool("ok", r.OK),
			zap.Duration("duration", r.Duration), zap.String("reason", r.Reason))
	}
	m.sink.Observe(st)
	if tr != nil {
		// UNKNOWN → UP is every target at start: at debug, summed up in the
		// first-round line (firstround.go). DOWN and RECOVERED stay at info.
		lvl := zap.InfoLevel
		if tr.From == Unknown && tr.To == Up {
			lvl = zap.DebugLevel
		}
		m.log.Log(lvl, "transition",
			zap.String("target", tr.Target),
			zap.String("from", string(tr.From)),
			zap.String("to", string(tr.To)),
			zap.String("reason", transitionReason(*tr, st)))
		m.sink.Transition(*tr)
	}
	return st, true
}

// runProbe calls the probe function within a concurrency slot. It reports
// false when Stop or Apply cut it short: that result says nothing about the
// target.
func (m *Monitor) runProbe(e *entry, due time.Time) (probe.Result, bool) {
	ctx, release := e.work(m.ctx)
	defer release()
	select {
	case m.slots <- struct{}{}:
	default: // all taken: wait, unless Stop or Apply ends this probe first
		select {
		case m.slots <- struct{}{}:
		case <-ctx.Done():
			return probe.Result{}, false
		}
	}
	defer func() { <-m.slots }()
	if ctx.Err() != nil {
		return probe.Result{}, false
	}
	m.observeLateness(due)
	start := m.now()
	r := m.probe(ctx, e.target.Probe)
	if ctx.Err() != nil {
		return probe.Result{}, false
	}
	if r.At.IsZero() {
		r.At = start
	}
	return r, true
}

// transitionReason is the why of a transition for the log: the probe's own
// reason for DOWN, the run of successes for UP.
func transitionReason(tr Transition, st Status) string {
	if tr.To == Down {
		return tr.Result.Reason
	}
	return fmt.Sprintf("%d consecutive successes", st.ConsecutiveSuccesses)
}

// recoverPanic keeps a panicking probe or sink from taking the daemon down;
// the target's locks are released by the deferred unlocks already.
func (m *Monitor) recoverPanic(e *entry) {
	if r := recover(); r != nil {
		m.log.Error("probe panicked", zap.String("target", e.name()), zap.Any("panic", r), zap.StackSkip("stack", 1))
	}
}
