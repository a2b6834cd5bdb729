package alert

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
)

// persister writes to the Store in order and keeps what it could not write.
// A store that cannot be written (full disk, read-only file) must not stop
// alerting: the engine goes on from memory, the failed writes wait in a
// bounded backlog, and retry replays them in their original order.
type persister struct {
	store Store
	log   *zap.Logger

	mu      sync.Mutex
	backlog []func(context.Context) error
	lastErr error
	dropped int
}

// maxBacklog bounds the writes kept while the store fails.
const maxBacklog = 100_000

// storeTimeout bounds one write, so a wedged disk cannot stall the engine.
const storeTimeout = 5 * time.Second

func (p *persister) commit(c Change) {
	p.do(func(ctx context.Context) error { return p.store.Commit(ctx, c) })
}

func (p *persister) updateDelivery(d Delivery) {
	p.do(func(ctx context.Context) error { return p.store.UpdateDelivery(ctx, d) })
}

func (p *persister) do(write func(context.Context) error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.backlog) > 0 {
		// Keep the order: nothing overtakes a write that is waiting.
		p.push(write)
		p.flushLocked()
		return
	}
	if err := p.run(write); err != nil && !p.dropPermanent(err) {
		p.fail(err)
		p.push(write)
	}
}

// dropPermanent logs and drops a write that can never succeed, so that it
// does not hold up the writes behind it.
func (p *persister) dropPermanent(err error) bool {
	if !IsPermanent(err) {
		return false
	}
	p.log.Error("store write dropped: it cannot succeed", zap.Error(err))
	return true
}

// retry replays the backlog; the engine calls it on a ticker.
func (p *persister) retry() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.flushLocked()
}

func (p *persister) flushLocked() {
	for len(p.backlog) > 0 {
		if err := p.run(p.backlog[0]); err != nil && !p.dropPermanent(err) {
			p.fail(err)
			return
		}
		p.backlog[0] = nil
		p.backlog = p.backlog[1:]
	}
	if p.lastErr != nil {
		p.log.Info("store writable again")
		p.lastErr = nil
	}
}

func (p *persister) run(write func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	return write(ctx)
}

func (p *persister) push(write func(context.Context) error) {
	if len(p.backlog) >= maxBacklog {
		p.backlog[0] = nil
		p.backlog = p.backlog[1:]
		p.dropped++
		if p.dropped == 1 || p.dropped%1000 == 0 {
			p.log.Error("store backlog full: oldest write dropped", zap.Int("dropped", p.dropped))
		}
	}
	p.backlog = append(p.backlog, write)
}

// fail logs a write error when it differs from the last one, so a full disk
// gives one line, not one per probe.
func (p *persister) fail(err error) {
	if p.lastErr == nil || p.lastErr.Error() != err.Error() {
		p.log.Error("store write failed; alerting goes on from memory, writes kept for retry", zap.Error(err), zap.Int("backlog", len(p.backlog)+1))
	}
	p.lastErr = err
}

// err is the last write error while writes are waiting, else nil.
func (p *persister) err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastErr
}
