package outbox

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/pollerd/pollerd/internal/alert"
	"github.com/pollerd/pollerd/internal/incident"
	"go.uber.org/zap"
)

// persister is the pipeline's one store writer. The outbox hands it writes
// in order and never waits on the disk: its lock is never held across I/O, so a
// slow or full disk cannot stall ingest or the monitor. Writes are made in
// the order given, by one goroutine (run). A write's then-func runs once the
// write landed — a transition's messages are queued for delivery only after
// they are in the outbox — or, while the store refuses writes, at once:
// alerting goes on from memory while the writes wait in a bounded backlog
// and are retried every second.
type persister struct {
	store alert.Store
	log   *zap.Logger

	mu       sync.Mutex
	backlog  []write
	seq      uint64 // of the last write pushed
	inflight uint64 // seq of the write being made; 0: none
	lastErr  error
	dropped  int
	max      int // backlog bound; maxBacklog but in tests
	wake     chan struct{}
}

// write is one store write and what to do once it is made (or refused).
type write struct {
	seq  uint64
	do   func(context.Context) error
	then func() // may be nil; runs at most once
}

// maxBacklog bounds the writes kept while the store fails.
const maxBacklog = 100_000

// storeTimeout bounds one write, so a wedged disk cannot stall the writer.
const storeTimeout = 5 * time.Second

func newPersister(s alert.Store, log *zap.Logger) *persister {
	return &persister{store: s, log: log, max: maxBacklog, wake: make(chan struct{}, 1)}
}

// commit queues a change; then runs after it is written (or refused).
func (p *persister) commit(c incident.Change, then func()) {
	p.push(write{do: func(ctx context.Context) error { return p.store.Commit(ctx, c) }, then: then})
}

// updateDelivery queues a delivery's outcome.
func (p *persister) updateDelivery(d incident.Delivery) {
	p.push(write{do: func(ctx context.Context) error { return p.store.UpdateDelivery(ctx, d) }})
}

func (p *persister) push(w write) {
	var run []func()
	p.mu.Lock()
	p.seq++
	w.seq = p.seq
	if p.lastErr != nil && w.then != nil {
		// The store is failing: alert from memory now, not after a retry.
		run = append(run, w.then)
		w.then = nil
	}
	if len(p.backlog) >= p.max {
		// Drop the oldest write that is not being made.
		i := 0
		if p.inflight != 0 && p.backlog[0].seq == p.inflight {
			i = 1
		}
		if old := p.backlog[i]; old.then != nil {
			run = append(run, old.then)
		}
		p.backlog = slices.Delete(p.backlog, i, i+1)
		p.dropped++
		if p.dropped == 1 || p.dropped%1000 == 0 {
			p.log.Error("store backlog full: oldest write dropped", zap.Int("dropped", p.dropped))
		}
	}
	p.backlog = append(p.backlog, w)
	p.mu.Unlock()
	for _, f := range run {
		f()
	}
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// run writes until ctx ends; after a failure it retries every second.
func (p *persister) run(ctx context.Context) {
	retry := time.NewTicker(time.Second)
	defer retry.Stop()
	for ctx.Err() == nil {
		p.flush(ctx)
		select {
		case <-ctx.Done():
		case <-p.wake:
		case <-retry.C:
		}
	}
}

// flush makes the queued writes in order until the backlog is empty, a
// write fails, or ctx ends. One goroutine at a time calls it: run, or Close
// once run has returned.
func (p *persister) flush(ctx context.Context) {
	for ctx.Err() == nil {
		p.mu.Lock()
		if len(p.backlog) == 0 {
			if p.lastErr != nil {
				p.log.Info("store writable again")
				p.lastErr = nil
			}
			p.mu.Unlock()
			return
		}
		w := p.backlog[0]
		p.inflight = w.seq
		p.mu.Unlock()

		wctx, cancel := context.WithTimeout(ctx, storeTimeout)
		err := w.do(wctx)
		cancel()
		if err != nil && (alert.IsPermanent(err) || errors.Is(err, incident.ErrNotFound)) {
			// It can never succeed (its row is gone: its insert was dropped
			// from a full backlog): drop it rather than hold up every write
			// behind it.
			p.log.Error("store write dropped: it cannot succeed", zap.Error(err))
			err = nil
		}

		var run []func()
		p.mu.Lock()
		p.inflight = 0
		switch {
		case err != nil && ctx.Err() != nil:
			// Cut short by a stop, not refused by the store: it stays queued.
		case err != nil:
			p.failLocked(err)
			// Alerting goes on from memory: every waiting write's messages go out.
			for i := range p.backlog {
				if p.backlog[i].then != nil {
					run = append(run, p.backlog[i].then)
					p.backlog[i].then = nil
				}
			}
		case len(p.backlog) > 0 && p.backlog[0].seq == w.seq:
			if p.backlog[0].then != nil {
				run = append(run, p.backlog[0].then)
			}
			p.backlog[0] = write{}
			p.backlog = p.backlog[1:]
		}
		p.mu.Unlock()
		for _, f := range run {
			f()
		}
		if err != nil {
			return
		}
	}
}

// failLocked logs a write error when it differs from the last one, so a full
// disk gives one line, not one per probe.
func (p *persister) failLocked(err error) {
	if p.lastErr == nil || p.lastErr.Error() != err.Error() {
		p.log.Error("store write failed; alerting goes on from memory, writes kept for retry",
			zap.Error(err), zap.Int("backlog", len(p.backlog)))
	}
	p.lastErr = err
}

// err is the last write error while writes are waiting, else nil.
func (p *persister) err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastErr
}

// pending counts the writes not made yet.
func (p *persister) pending() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.backlog)
}
