package alert

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pollerd/pollerd/internal/incident"
	"go.uber.org/zap"
)

// Transition is a target's change of state, as the engine needs it. cmd/pollerd
// converts the monitor's transitions to it.
type Transition struct {
	Target string
	From   string // UNKNOWN, UP, DOWN
	To     string
	At     time.Time
	Since  time.Time // when From began
	Reason string    // the probe's one-line reason
}

// Options configure an Engine.
type Options struct {
	// Store is read once, at Load: open incidents and the last incident id.
	// Everything the engine writes goes through Sink.
	Store Loader
	// Sink takes each change and its messages: Chain(outbox, stages…).
	Sink Sink
	// Services maps a service name to its targets: reports for a service
	// join the incident of its DOWN target instead of alerting on their own.
	Services map[string][]string
	// Targets are the configured targets' names. An open incident of a
	// target no longer configured is closed at Load with one NOTICE (its
	// "no longer monitored", key "<id>:removed"): nothing would ever
	// recover it. Nil: keep every incident.
	Targets []string
	// DedupWindow is how long repeats of a fingerprint are folded into one
	// summary; default 10m.
	DedupWindow time.Duration
	// MaxFingerprints bounds the fingerprints held; the least recently seen
	// is evicted into the "other errors" summary. Default 100,000.
	MaxFingerprints int
	// MaxReportAlerts bounds the distinct report alerts per service per
	// window; further distinct errors fold into one summary. Default 5.
	MaxReportAlerts int
	// TargetChannels maps a target to the channels its messages go to
	// (targets[].notify): they carry the list in Message.Channels, which
	// narrows the configured channels and never adds one. A target not
	// in the map: every channel.
	TargetChannels map[string][]string
	Logger         *zap.Logger
	Now            func() time.Time
}

// Engine is the incident engine: it turns transitions and client reports
// into incidents and their messages, and emits both into its Sink. It knows
// nothing of queues, pacing or retries. Start it with Run; stop it with Close.
type Engine struct {
	opts    Options
	log     *zap.Logger
	now     func() time.Time
	sink    Sink
	reports *Dedup

	ids atomic.Int64 // the last incident id given; see NewIncidentID

	mu         sync.Mutex
	open       map[string]*incident.Incident // open target incidents by target name
	svcTargets map[string][]string
	tgtSvcs    map[string][]string
	dirty      map[int64]*incident.Incident // report counts not yet emitted

	cancel context.CancelFunc
	done   sync.WaitGroup
	stop   sync.Once
}

// New builds an engine; Load restores its durable state.
func New(o Options) (*Engine, error) {
	if o.Store == nil {
		return nil, errors.New("alert: no store")
	}
	if o.Sink == nil {
		return nil, errors.New("alert: no sink")
	}
	if o.DedupWindow <= 0 {
		o.DedupWindow = 10 * time.Minute
	}
	if o.MaxFingerprints <= 0 {
		o.MaxFingerprints = 100_000
	}
	if o.MaxReportAlerts <= 0 {
		o.MaxReportAlerts = 5
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	e := &Engine{
		opts:       o,
		log:        o.Logger,
		now:        o.Now,
		sink:       o.Sink,
		open:       make(map[string]*incident.Incident),
		svcTargets: o.Services,
		tgtSvcs:    make(map[string][]string),
		dirty:      make(map[int64]*incident.Incident),
	}
	for svc, targets := range o.Services {
		for _, t := range targets {
			e.tgtSvcs[t] = append(e.tgtSvcs[t], svc)
		}
	}
	e.reports = NewDedup(o.DedupWindow, o.MaxFingerprints, o.MaxReportAlerts, o.Now())
	return e, nil
}

// Load restores open incidents. Call it once, before Run.
func (e *Engine) Load(ctx context.Context) error {
	snap, err := e.opts.Store.Load(ctx)
	if err != nil {
		return fmt.Errorf("load alert state: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ids.Store(snap.MaxIncidentID)
	var stale []incident.Incident
	var notices []Message
	for _, inc := range snap.OpenIncidents {
		switch {
		case inc.Kind == incident.KindTarget && e.opts.Targets != nil && !slices.Contains(e.opts.Targets, inc.Subject):
			inc.ClosedAt = e.now()
			stale = append(stale, inc)
			notices = append(notices, removedMessage(inc, inc.ClosedAt))
			e.log.Warn("open incident closed: its target is no longer configured",
				zap.String("target", inc.Subject), zap.Int64("incident", inc.ID), zap.Time("down_since", inc.OpenedAt))
		case inc.Kind == incident.KindGroup:
			// The group stage's own: it restores it (GroupStage.Restore).
		case inc.Kind == incident.KindTarget:
			inc := inc
			e.open[inc.Subject] = &inc
		default:
			// A report window cut by a restart: its repeats were counted in
			// memory only. Close it; the next report opens a new window.
			inc.ClosedAt = e.now()
			stale = append(stale, inc)
		}
	}
	if len(stale) > 0 {
		e.sink.Emit(incident.Change{Incidents: stale}, notices...)
	}
	return nil
}

// Retire stops alerting on targets removed from the config (by a reload):
// the open incident of each gets one NOTICE ("api is no longer monitored",
// key "<id>:removed") and closes, with no RECOVERED: nothing would ever
// recover it. A target with no open incident is skipped. Load does the
// same at start for targets no longer in Options.Targets.
func (e *Engine) Retire(targets []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.retireLocked(targets)
}

// retireLocked is Retire with e.mu held.
func (e *Engine) retireLocked(targets []string) {
	var c incident.Change
	var msgs []Message
	now := e.now()
	for _, t := range targets {
		inc := e.open[t]
		if inc == nil {
			continue
		}
		inc.ClosedAt = now
		e.reports.Release(inc.ID)
		delete(e.open, t)
		delete(e.dirty, inc.ID)
		c.Incidents = append(c.Incidents, *inc)
		msgs = append(msgs, removedMessage(*inc, now))
		e.log.Warn("open incident closed: its target is no longer configured",
			zap.String("target", t), zap.Int64("incident", inc.ID), zap.Time("down_since", inc.OpenedAt))
	}
	if len(c.Incidents) > 0 {
		e.sink.Emit(c, msgs...)
	}
}

// Run starts the housekeeping loop (report windows, report counts); it
// returns at once. Close stops it.
func (e *Engine) Run(ctx context.Context) {
	ctx, e.cancel = context.WithCancel(ctx)
	e.done.Add(1)
	go func() {
		defer e.done.Done()
		e.housekeep(ctx)
	}()
}

// Close stops the housekeeping loop and emits the report counts not yet
// emitted. Close it before its sink, so those reach the store.
func (e *Engine) Close(context.Context) error {
	e.stop.Do(func() {
		if e.cancel != nil {
			e.cancel()
		}
		e.done.Wait()
		e.flushDirty()
	})
	return nil
}

// housekeep closes report windows and emits report counts, once a second.
func (e *Engine) housekeep(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			e.expireReports()
			e.flushDirty()
		}
	}
}

// Transition turns a target's state change into an incident and its
// messages, emitted together.
func (e *Engine) Transition(t Transition) {
	e.mu.Lock()
	defer e.mu.Unlock()
	state := incident.TargetState{Name: t.Target, State: t.To, Since: t.At}
	c := incident.Change{Targets: []incident.TargetState{state}}
	var msgs []Message
	switch {
	case t.To == stateDown && t.From == stateUp && e.open[t.Target] != nil:
		// Seen UP since its incident opened: the incident's close was lost
		// (a store outage). It is over; this is a new outage.
		stale := e.open[t.Target]
		stale.ClosedAt = t.At
		e.reports.Release(stale.ID)
		delete(e.open, t.Target)
		c.Incidents = append(c.Incidents, *stale)
		e.log.Warn("stale open incident closed", zap.String("target", t.Target), zap.Int64("incident", stale.ID))
		fallthrough
	case t.To == stateDown:
		if inc := e.open[t.Target]; inc != nil {
			// Already announced (restored after a restart): no second DOWN.
			e.log.Info("target still down from an earlier incident", zap.String("target", t.Target), zap.Int64("incident", inc.ID))
			break
		}
		inc := &incident.Incident{ID: e.NewIncidentID(), Kind: incident.KindTarget, Subject: t.Target, OpenedAt: t.At, Cause: t.Reason}
		reports := e.absorbPending(t.Target, inc)
		e.open[t.Target] = inc
		c.Incidents = append(c.Incidents, *inc)
		msgs = append(msgs, downMessage(*inc, t.At, reports))
	case t.From == stateDown && t.To == stateUp:
		inc := e.open[t.Target]
		if inc == nil {
			// The DOWN's incident is unknown (its write was lost): announce
			// the recovery anyway, timed from the state's own since.
			inc = &incident.Incident{ID: e.NewIncidentID(), Kind: incident.KindTarget, Subject: t.Target, OpenedAt: t.Since, Cause: "unknown"}
		}
		inc.ClosedAt = t.At
		e.reports.Release(inc.ID)
		delete(e.open, t.Target)
		delete(e.dirty, inc.ID)
		c.Incidents = append(c.Incidents, *inc)
		msgs = append(msgs, recoveredMessage(*inc, t.At))
	}
	e.narrow(t.Target, msgs)
	if len(c.Incidents) == 0 {
		// No incident changed (UNKNOWN→UP, or a DOWN already announced): the
		// state reaches the store with the monitor's batched probe records;
		// 10,000 targets coming UP at start are not 10,000 transactions.
		return
	}
	e.sink.Emit(c, msgs...)
}

// NewIncidentID gives a new incident id, never given before (ids continue
// from the store's highest). It takes no lock, so a policy stage may call
// it from within Emit, which runs under the engine's lock.
func (e *Engine) NewIncidentID() int64 { return e.ids.Add(1) }

// narrow makes a target's messages carry its notify list.
func (e *Engine) narrow(target string, msgs []Message) {
	if ch := e.opts.TargetChannels[target]; len(ch) > 0 {
		for i := range msgs {
			msgs[i].Channels = slices.Clone(ch)
		}
	}
}

// absorbPending hands reports waiting on confirmation for the target's
// services to its new incident; the DOWN message then carries them.
func (e *Engine) absorbPending(target string, inc *incident.Incident) []reportSummary {
	ws := e.reports.Absorb(e.tgtSvcs[target], inc.ID)
	out := make([]reportSummary, len(ws))
	for i, w := range ws {
		inc.Reports += w.Reports
		out[i] = summarize(w.First, w.Reports)
	}
	return out
}

// flushDirty emits report counts added to open incidents.
func (e *Engine) flushDirty() {
	e.mu.Lock()
	defer e.mu.Unlock() // held across the emit, so a later close cannot be overwritten by this copy
	if len(e.dirty) == 0 {
		return
	}
	c := incident.Change{Incidents: make([]incident.Incident, 0, len(e.dirty))}
	for id, inc := range e.dirty {
		c.Incidents = append(c.Incidents, *inc)
		delete(e.dirty, id)
	}
	e.sink.Emit(c)
}

const (
	stateDown = "DOWN"
	stateUp   = "UP"
)
