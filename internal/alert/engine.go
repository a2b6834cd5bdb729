package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
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
	Store    Store
	Channels []Channel
	// Services maps a service name to its targets: reports for a service
	// join the incident of its DOWN target instead of alerting on their own.
	Services map[string][]string
	// Targets are the configured targets' names. An open incident of a
	// target no longer configured is closed at Load (logged, no message):
	// nothing would ever recover it. Nil: keep every incident.
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
	// BackoffBase is the first retry's wait after a failed send; it doubles
	// per attempt up to 5m, with jitter. Default 1s.
	BackoffBase time.Duration
	Logger      *zap.Logger
	Now         func() time.Time
}

// Engine is the alert pipeline: it opens and closes incidents, folds client
// reports, and owns the outbox. Start it with Run; stop it with Close.
type Engine struct {
	opts    Options
	log     *zap.Logger
	now     func() time.Time
	persist *persister
	queues  map[string]*queue
	names   []string // channel names, sorted

	mu         sync.Mutex
	nextID     int64
	open       map[string]*incident.Incident // open target incidents by target name
	svcTargets map[string][]string
	tgtSvcs    map[string][]string
	dirty      map[int64]*incident.Incident
	reports    *dedup
	baseFailed int // failed deliveries found at start

	drain      chan struct{}
	cancel     context.CancelFunc
	stopWriter func() // stops the store writer and waits for it
	done       sync.WaitGroup
	started    bool
	closeMu    sync.Mutex
	closed     bool
	flushBy    time.Time
}

// New builds an engine; Load restores its durable state.
func New(o Options) (*Engine, error) {
	if o.Store == nil {
		return nil, errors.New("alert: no store")
	}
	if len(o.Channels) == 0 {
		return nil, errors.New("alert: no channel")
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
	if o.BackoffBase <= 0 {
		o.BackoffBase = time.Second
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
		persist:    newPersister(o.Store, o.Logger),
		queues:     make(map[string]*queue),
		open:       make(map[string]*incident.Incident),
		svcTargets: o.Services,
		tgtSvcs:    make(map[string][]string),
		dirty:      make(map[int64]*incident.Incident),
		drain:      make(chan struct{}),
	}
	for _, ch := range o.Channels {
		name := ch.Notifier.Name()
		if _, dup := e.queues[name]; dup {
			return nil, fmt.Errorf("alert: channel %q twice", name)
		}
		e.queues[name] = newQueue(ch, e.persist, o.Logger, o.Now, o.BackoffBase)
		e.names = append(e.names, name)
	}
	sort.Strings(e.names)
	for svc, targets := range o.Services {
		for _, t := range targets {
			e.tgtSvcs[t] = append(e.tgtSvcs[t], svc)
		}
	}
	e.reports = newDedup(o.DedupWindow, o.MaxFingerprints, o.MaxReportAlerts, o.Now())
	return e, nil
}

// Load restores open incidents and pending deliveries. Call it once, before Run.
func (e *Engine) Load(ctx context.Context) error {
	snap, err := e.opts.Store.Load(ctx)
	if err != nil {
		return fmt.Errorf("load alert state: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.nextID = snap.MaxIncidentID
	e.baseFailed = snap.Failed
	var stale []incident.Incident
	for _, inc := range snap.OpenIncidents {
		switch {
		case inc.Kind == incident.KindTarget && e.opts.Targets != nil && !slices.Contains(e.opts.Targets, inc.Subject):
			inc.ClosedAt = e.now()
			stale = append(stale, inc)
			e.log.Warn("open incident closed: its target is no longer configured",
				zap.String("target", inc.Subject), zap.Int64("incident", inc.ID), zap.Time("down_since", inc.OpenedAt))
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
		e.persist.commit(incident.Change{Incidents: stale}, nil)
	}
	for i := range snap.Pending {
		d := snap.Pending[i]
		q, ok := e.queues[d.Channel]
		if !ok {
			d.Status, d.LastError = incident.DeliveryFailed, errNoChannel.Error()
			e.persist.updateDelivery(d)
			e.log.Warn("pending alert for a channel no longer configured; marked failed", zap.String("key", d.Key), zap.String("channel", d.Channel))
			continue
		}
		q.push(&d)
	}
	if n := len(snap.Pending); n > 0 {
		e.log.Info("pending alerts restored", zap.Int("count", n))
	}
	return nil
}

// Run starts the deliverers and the housekeeping loop; it returns at once.
// Close stops them.
func (e *Engine) Run(ctx context.Context) {
	ctx, e.cancel = context.WithCancel(ctx)
	e.started = true
	wctx, stopWriter := context.WithCancel(context.WithoutCancel(ctx))
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		e.persist.run(wctx)
	}()
	e.stopWriter = func() { stopWriter(); <-writerDone }
	for _, name := range e.names {
		q := e.queues[name]
		e.done.Add(1)
		go func() {
			defer e.done.Done()
			q.run(ctx, e.drain, e.flushDeadline)
		}()
	}
	e.done.Add(1)
	go func() {
		defer e.done.Done()
		e.housekeep(ctx)
	}()
}

// Close flushes the outbox until ctx ends (DESIGN: at most 5 s), then stops
// the deliverers; what is left stays pending in the store for the next start.
func (e *Engine) Close(ctx context.Context) error {
	e.closeMu.Lock()
	defer e.closeMu.Unlock()
	if e.closed || !e.started {
		e.closed = true
		return nil
	}
	e.closed = true
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
	}
	deadline, _ := ctx.Deadline()
	// The deliverers stop a little early: the last fifth (at most 1 s) is
	// kept for writing their outcomes, so a delivered message is not sent
	// again at the next start.
	flushBy := deadline.Add(-min(time.Second, time.Until(deadline)/5))
	e.mu.Lock()
	e.flushBy = flushBy
	e.mu.Unlock()
	// Land what is queued for the store, so its messages are in the queues
	// for the flush below; from here on this goroutine is the writer.
	e.flushDirty()
	e.stopWriter()
	drainCtx, cancelDrain := context.WithDeadline(ctx, flushBy)
	defer cancelDrain()
	e.persist.flush(drainCtx)
	close(e.drain)
	finished := make(chan struct{})
	go func() { e.done.Wait(); close(finished) }()
	var err error
	select {
	case <-finished:
	case <-drainCtx.Done():
		err = fmt.Errorf("alert flush: %w", context.DeadlineExceeded)
	}
	e.cancel()
	<-finished
	e.flushDirty()
	e.persist.flush(ctx) // the deliveries' outcomes
	if n := e.persist.pending(); n > 0 {
		e.log.Warn("store writes not made before exit: their messages stay pending, or are sent again, at the next start",
			zap.Int("writes", n))
	}
	return err
}

func (e *Engine) flushDeadline() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.flushBy
}

// housekeep closes report windows and persists report counts, once a second.
func (e *Engine) housekeep(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.drain:
			return
		case <-t.C:
			e.expireReports()
			e.flushDirty()
		}
	}
}

// Transition turns a target's state change into an incident and its
// messages, written together in one store transaction.
func (e *Engine) Transition(t Transition) {
	e.mu.Lock()
	defer e.mu.Unlock()
	state := incident.TargetState{Name: t.Target, State: t.To, Since: t.At}
	c := incident.Change{Targets: []incident.TargetState{state}}
	switch {
	case t.To == stateDown && t.From == stateUp && e.open[t.Target] != nil:
		// Seen UP since its incident opened: the incident's close was lost
		// (a store outage). It is over; this is a new outage.
		stale := e.open[t.Target]
		stale.ClosedAt = t.At
		e.releaseAbsorbed(stale)
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
		e.nextID++
		inc := &incident.Incident{ID: e.nextID, Kind: incident.KindTarget, Subject: t.Target, OpenedAt: t.At, Cause: t.Reason}
		reports := e.absorbPending(t.Target, inc)
		e.open[t.Target] = inc
		c.Incidents = append(c.Incidents, *inc)
		c.Deliveries = e.deliveries(downMessage(*inc, t.At, reports), nil)
	case t.From == stateDown && t.To == stateUp:
		inc := e.open[t.Target]
		if inc == nil {
			// The DOWN's incident is unknown (its write was lost): announce
			// the recovery anyway, timed from the state's own since.
			e.nextID++
			inc = &incident.Incident{ID: e.nextID, Kind: incident.KindTarget, Subject: t.Target, OpenedAt: t.Since, Cause: "unknown"}
		}
		inc.ClosedAt = t.At
		e.releaseAbsorbed(inc)
		delete(e.open, t.Target)
		delete(e.dirty, inc.ID)
		c.Incidents = append(c.Incidents, *inc)
		c.Deliveries = e.deliveries(recoveredMessage(*inc, t.At), nil)
	}
	if len(c.Incidents) == 0 {
		// No incident changed (UNKNOWN→UP, or a DOWN already announced): the
		// state reaches the store with the monitor's batched probe records;
		// 10,000 targets coming UP at start are not 10,000 transactions.
		return
	}
	e.commit(c)
}

// commit queues a change for the store; its deliveries reach the channels'
// queues once it is written — or at once if the store refuses it: alerting
// goes on from memory. The persister keeps the order of changes.
func (e *Engine) commit(c incident.Change) {
	if len(c.Deliveries) == 0 {
		e.persist.commit(c, nil)
		return
	}
	e.persist.commit(c, func() {
		for i := range c.Deliveries {
			d := c.Deliveries[i]
			e.queues[d.Channel].push(&d)
		}
	})
}

// deliveries makes one outbox row per channel for m. only (a report's
// types) narrows the channels and never adds one; a channel marked All (the
// log standing in for a missing Slack) takes every message.
func (e *Engine) deliveries(m Message, only []string) []incident.Delivery {
	payload, err := json.Marshal(m)
	if err != nil {
		e.log.Error("encode alert", zap.Error(err))
		return nil
	}
	names := e.names
	if len(only) > 0 {
		names = nil
		for _, n := range e.names {
			if e.queues[n].ch.All || slices.Contains(only, n) {
				names = append(names, n)
			}
		}
	}
	now := e.now()
	out := make([]incident.Delivery, 0, len(names))
	for _, n := range names {
		out = append(out, incident.Delivery{Key: m.Key, Channel: n, IncidentID: m.IncidentID, Payload: payload,
			Status: incident.DeliveryPending, NextAt: now, CreatedAt: now})
	}
	return out
}

// Deliveries counts messages waiting and messages that failed for good.
func (e *Engine) Deliveries() (pending, failed int) {
	failed = e.baseFailed
	for _, q := range e.queues {
		p, f, _ := q.counts()
		pending += p
		failed += f
	}
	return pending, failed
}

// Healthy returns why alerting is impaired: the store cannot be written, or
// a channel failed permanently (invalid webhook, revoked token).
func (e *Engine) Healthy() error {
	var errs []error
	if err := e.persist.err(); err != nil {
		errs = append(errs, fmt.Errorf("store: %w", err))
	}
	for _, name := range e.names {
		if _, _, err := e.queues[name].counts(); err != nil {
			errs = append(errs, fmt.Errorf("channel %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// flushDirty persists report counts added to open incidents.
func (e *Engine) flushDirty() {
	e.mu.Lock()
	defer e.mu.Unlock() // held across the write, so a later close cannot be overwritten by this copy
	if len(e.dirty) == 0 {
		return
	}
	c := incident.Change{Incidents: make([]incident.Incident, 0, len(e.dirty))}
	for id, inc := range e.dirty {
		c.Incidents = append(c.Incidents, *inc)
		delete(e.dirty, id)
	}
	e.persist.commit(c, nil)
}

const (
	stateDown = "DOWN"
	stateUp   = "UP"
)
