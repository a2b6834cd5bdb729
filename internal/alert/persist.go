package alert

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
)

// persister is the engine's one store writer. The engine hands it writes in
// order and never waits on the disk: its lock is never held across I/O, so a
// slow or full disk cannot stall ingest or the monitor. Writes are made in
// the order given, by one goroutine (run). A write's then-func runs once the
// write landed — a transition's messages are queued for delivery only after
// they are in the outbox — or, if the store refuses it, at once anyway:
// alerting goes on from memory while the write waits in a bounded backlog
// and is retried every second.
type persister struct {
	store Store
	log   *zap.Logger

	mu      sync.Mutex
	backlog []write
	lastErr error
	dropped int
	wake    chan struct{}
}

// write is one store write and what to do once it is made (or refused).
type write struct {
	do   func(context.Context) error
	then func() // may be nil; runs at most once
}

// maxBacklog bounds the writes kept while the store fails.
const maxBacklog = 100_000

// storeTimeout bounds one write, so a wedged disk cannot stall the writer.
const storeTimeout = 5 * time.Second

func newPersister(s Store, log *zap.Logger) *persister {
	return &persister{store: s, log: log, wake: make(chan struct{}, 1)}
}

// commit queues a change; then runs after it is written (or refused).
func (p *persister) commit(c Change, then func()) {
	p.push(write{do: func(ctx context.Context) error { return p.store.Commit(ctx, c) }, then: then})
}

// updateDelivery queues a delivery's outcome.
func (p *persister) updateDelivery(d Delivery) {
	p.push(write{do: func(ctx context.Context) error { return p.store.UpdateDelivery(ctx, d) }})
}

func (p *persister) push(w write) {
	p.mu.Lock()
	if len(p.backlog) >= maxBacklog {
		old := p.backlog[0]
		p.backlog[0] = write{}
		p.backlog = p.backlog[1:]
		p.dropped++
		if p.dropped == 1 || p.dropped%1000 == 0 {
			p.log.Error("store backlog full: oldest write dropped", zap.Int("dropped", p.dropped))
		}
		if old.then != nil {
			defer old.then()
		}
	}
	p.backlog = append(p.backlog, w)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// run writes until ctx ends; a failed write is retried every second.
func (p *persister) run(ctx context.Context) {
	retry := time.NewTicker(time.Second)
	defer retry.Stop()
	for {
		p.flush()
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		case <-retry.C:
		}
	}
}

// flush makes the queued writes in order, and stops at the first that fails.
// Only run (or Close, once run has returned) calls it.
func (p *persister) flush() {
	for {
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
		p.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		err := w.do(ctx)
		cancel()
		if err != nil && IsPermanent(err) {
			// It can never succeed (its row is gone): drop it rather than hold
			// up every write behind it.
			p.log.Error("store write dropped: it cannot succeed", zap.Error(err))
			err = nil
		}
		p.mu.Lock()
		if err != nil {
			p.failLocked(err)
			// Alerting goes on from memory: deliver what this write carried.
			then := p.backlog[0].then
			p.backlog[0].then = nil
			p.mu.Unlock()
			if then != nil {
				then()
			}
			return
		}
		p.backlog[0] = write{}
		p.backlog = p.backlog[1:]
		p.mu.Unlock()
		if w.then != nil {
			w.then()
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
