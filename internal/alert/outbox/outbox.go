// Package outbox is the last stage of the alert pipeline: it turns messages
// into outbox rows, one per channel, writes them with the change that caused
// them in one store transaction, and delivers them. Each channel has its
// own queue, delivered in commit order (a RECOVERED never overtakes its
// DOWN), paced by a token bucket, retried with capped exponential backoff
// and jitter (a 429 waits exactly its Retry-After), and marked failed on a
// permanent error (logged once, counted, shown by Healthy). The store is
// written by one goroutine that never stalls the pipeline: while the store
// refuses writes, messages go out from memory and the writes are retried.
// Close flushes for at most 5 s; what is left stays pending for the next
// start.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/pollerd/pollerd/internal/alert"
	"github.com/pollerd/pollerd/internal/incident"
)

// Channel is a Notifier and how fast it may be sent to. Slack accepts about
// one message a second per webhook with short bursts, so its channel is paced
// (Rate 1, Burst 3) and queues rather than provoking 429s.
type Channel struct {
	Notifier alert.Notifier
	Rate     rate.Limit // 0: unpaced
	Burst    int
	// All makes the channel take every message, whatever a report's types
	// name: the log channel that stands in when no channel is configured.
	All bool
}

// Options configure an Outbox.
type Options struct {
	Store    alert.Store
	Channels []Channel
	// BackoffBase is the first retry's wait after a failed send; it doubles
	// per attempt up to 5m, with jitter. Default 1s.
	BackoffBase time.Duration
	Logger      *zap.Logger
	Now         func() time.Time
	// Registerer gets the outbox's metrics (metrics.go); nil: none.
	Registerer prometheus.Registerer
}

// Outbox queues, paces, retries and persists deliveries. It is an
// alert.Sink. Restore it with Load, start it with Run, stop it with Close.
type Outbox struct {
	store   alert.Store
	log     *zap.Logger
	now     func() time.Time
	persist *persister
	base    time.Duration // first retry's backoff, for queues added by Apply

	qmu    sync.RWMutex // guards queues and names: Apply changes them
	queues map[string]*queue
	names  []string // channel names, sorted

	mu         sync.Mutex
	baseFailed int // failed deliveries found at start
	flushBy    time.Time

	drain      chan struct{}
	runCtx     context.Context // the deliverers' context, for queues added by Apply
	cancel     context.CancelFunc
	stopWriter func() // stops the store writer and waits for it
	done       sync.WaitGroup
	started    bool
	closeMu    sync.Mutex
	closed     bool
}

var _ alert.Sink = (*Outbox)(nil)

// New builds an outbox over its channels.
func New(o Options) (*Outbox, error) {
	if o.Store == nil {
		return nil, errors.New("outbox: no store")
	}
	if len(o.Channels) == 0 {
		return nil, errors.New("outbox: no channel")
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
	ob := &Outbox{
		store:   o.Store,
		log:     o.Logger,
		now:     o.Now,
		persist: newPersister(o.Store, o.Logger),
		base:    o.BackoffBase,
		queues:  make(map[string]*queue),
		drain:   make(chan struct{}),
	}
	for _, ch := range o.Channels {
		name := ch.Notifier.Name()
		if _, dup := ob.queues[name]; dup {
			return nil, fmt.Errorf("outbox: channel %q twice", name)
		}
		ob.queues[name] = newQueue(ch, ob.persist, o.Logger, o.Now, o.BackoffBase)
		ob.names = append(ob.names, name)
	}
	sort.Strings(ob.names)
	if o.Registerer != nil {
		if err := o.Registerer.Register(collector{ob}); err != nil {
			return nil, fmt.Errorf("outbox: register metrics: %w", err)
		}
	}
	return ob, nil
}

// Load restores the deliveries still pending, in their order, and the
// count of failed ones. Call it once, before Run.
func (ob *Outbox) Load(ctx context.Context) error {
	snap, err := ob.store.Load(ctx)
	if err != nil {
		return fmt.Errorf("load outbox: %w", err)
	}
	ob.mu.Lock()
	ob.baseFailed = snap.Failed
	ob.mu.Unlock()
	ob.qmu.RLock()
	defer ob.qmu.RUnlock()
	for i := range snap.Pending {
		d := snap.Pending[i]
		q, ok := ob.queues[d.Channel]
		if !ok {
			d.Status, d.LastError = incident.DeliveryFailed, errNoChannel.Error()
			ob.persist.updateDelivery(d)
			ob.log.Warn("pending alert for a channel no longer configured; marked failed", zap.String("key", d.Key), zap.String("channel", d.Channel))
			continue
		}
		q.push(&d)
	}
	if n := len(snap.Pending); n > 0 {
		ob.log.Info("pending alerts restored", zap.Int("count", n))
	}
	return nil
}

// Emit writes c with one outbox row per channel for each message, in one
// store write, and queues the rows once it landed — or at once if the store
// refuses it: alerting goes on from memory. It never waits on the disk, and
// keeps the order of emits.
func (ob *Outbox) Emit(c incident.Change, msgs ...alert.Message) {
	c.Deliveries = slices.Clip(c.Deliveries)
	for _, m := range msgs {
		c.Deliveries = append(c.Deliveries, ob.rows(m)...)
	}
	if len(c.Deliveries) == 0 {
		ob.persist.commit(c, nil)
		return
	}
	ob.persist.commit(c, func() {
		// Held across the pushes: a queue that Apply removes takes these
		// with it (marked failed), or is gone before the lookup.
		ob.qmu.RLock()
		defer ob.qmu.RUnlock()
		for i := range c.Deliveries {
			d := c.Deliveries[i]
			if q := ob.queues[d.Channel]; q != nil {
				q.push(&d)
			} else { // removed by a reload since the row was made
				ob.failNoChannel(d)
			}
		}
	})
}

// rows makes one outbox row per channel for m. m.Channels (a report's
// types) narrows the channels and never adds one; a channel marked All (the
// log standing in for a missing Slack) takes every message.
func (ob *Outbox) rows(m alert.Message) []incident.Delivery {
	payload, err := encode(m)
	if err != nil {
		ob.log.Error("encode alert", zap.Error(err))
		return nil
	}
	ob.qmu.RLock()
	defer ob.qmu.RUnlock()
	names := ob.names
	if len(m.Channels) > 0 {
		names = nil
		for _, n := range ob.names {
			if ob.queues[n].all() || slices.Contains(m.Channels, n) {
				names = append(names, n)
			}
		}
	}
	now := ob.now()
	out := make([]incident.Delivery, 0, len(names))
	for _, n := range names {
		out = append(out, incident.Delivery{Key: m.Key, Channel: n, IncidentID: m.IncidentID, Payload: payload,
			Status: incident.DeliveryPending, NextAt: now, CreatedAt: now})
	}
	return out
}

// Run starts the store writer and one deliverer per channel; it returns at
// once. Close stops them.
func (ob *Outbox) Run(ctx context.Context) {
	ob.closeMu.Lock() // against Apply
	defer ob.closeMu.Unlock()
	ctx, ob.cancel = context.WithCancel(ctx)
	ob.runCtx = ctx
	ob.started = true
	wctx, stopWriter := context.WithCancel(context.WithoutCancel(ctx))
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		ob.persist.run(wctx)
	}()
	ob.stopWriter = func() { stopWriter(); <-writerDone }
	ob.qmu.RLock()
	defer ob.qmu.RUnlock()
	for _, name := range ob.names {
		ob.startQueue(ob.queues[name])
	}
}

// startQueue starts q's deliverer, which q.stop ends; call it with closeMu
// held, once Run has begun.
func (ob *Outbox) startQueue(q *queue) {
	ctx, cancel := context.WithCancel(ob.runCtx)
	done := make(chan struct{})
	q.stop = func() { cancel(); <-done }
	ob.done.Add(1)
	go func() {
		defer ob.done.Done()
		defer close(done)
		q.run(ctx, ob.drain, ob.flushDeadline)
	}()
}

// Close flushes the outbox until ctx ends (DESIGN: at most 5 s; without a
// deadline, 5 s), then stops the deliverers; what is left stays pending in
// the store for the next start. Close the stages that emit into it first.
func (ob *Outbox) Close(ctx context.Context) error {
	ob.closeMu.Lock()
	defer ob.closeMu.Unlock()
	if ob.closed || !ob.started {
		ob.closed = true
		return nil
	}
	ob.closed = true
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
	ob.mu.Lock()
	ob.flushBy = flushBy
	ob.mu.Unlock()
	// Land what is queued for the store, so its messages are in the queues
	// for the flush below; from here on this goroutine is the writer.
	ob.stopWriter()
	drainCtx, cancelDrain := context.WithDeadline(ctx, flushBy)
	defer cancelDrain()
	ob.persist.flush(drainCtx)
	close(ob.drain)
	finished := make(chan struct{})
	go func() { ob.done.Wait(); close(finished) }()
	var err error
	select {
	case <-finished:
	case <-drainCtx.Done():
		err = fmt.Errorf("alert flush: %w", context.DeadlineExceeded)
	}
	ob.cancel()
	<-finished
	ob.persist.flush(ctx) // the deliveries' outcomes
	if n := ob.persist.pending(); n > 0 {
		ob.log.Warn("store writes not made before exit: their messages stay pending, or are sent again, at the next start",
			zap.Int("writes", n))
	}
	return err
}

func (ob *Outbox) flushDeadline() time.Time {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	return ob.flushBy
}

// Deliveries counts messages waiting and messages that failed for good
// (since the store was created: those found at start included).
func (ob *Outbox) Deliveries() (pending, failed int) {
	ob.mu.Lock()
	failed = ob.baseFailed
	ob.mu.Unlock()
	ob.qmu.RLock()
	defer ob.qmu.RUnlock()
	for _, q := range ob.queues {
		p, f, _ := q.counts()
		pending += p
		failed += f
	}
	return pending, failed
}

// Healthy returns why alerting is impaired, for /readyz: the store cannot
// be written, or a channel failed permanently (invalid webhook, revoked
// token) and has not delivered since.
func (ob *Outbox) Healthy() error {
	var errs []error
	if err := ob.persist.err(); err != nil {
		errs = append(errs, fmt.Errorf("store: %w", err))
	}
	ob.qmu.RLock()
	defer ob.qmu.RUnlock()
	for _, name := range ob.names {
		if _, _, err := ob.queues[name].counts(); err != nil {
			errs = append(errs, fmt.Errorf("channel %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}
