package outbox

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pollerd/pollerd/internal/alert"
	"github.com/pollerd/pollerd/internal/incident"
	"go.uber.org/zap"
	"golang.org/x/time/rate"
)

// Retry policy for errors that are neither permanent nor a rate limit.
const (
	backoffCap    = 5 * time.Minute
	notifyTimeout = 15 * time.Second
)

// backoff is the wait before retry number attempt (1-based): exponential,
// capped, with jitter in [d/2, d) so retries from many pollerds spread.
func backoff(base time.Duration, attempt int) time.Duration {
	d := backoffCap
	if attempt < 20 {
		d = min(base<<(attempt-1), backoffCap)
	}
	return d/2 + rand.N(d/2+1)
}

// queue delivers one channel's messages in the order they were committed,
// one at a time. Strict FIFO per channel is what keeps a RECOVERED from ever
// overtaking its DOWN: the head waits out its retries and everything waits
// behind it (when Slack fails it fails for all messages alike).
type queue struct {
	ch      Channel // Notifier and All guarded by mu: Apply may replace them
	limiter *rate.Limiter
	persist *persister
	log     *zap.Logger
	now     func() time.Time
	base    time.Duration // first retry's backoff

	mu      sync.Mutex
	items   []*incident.Delivery
	failed  int
	lastErr error // the last permanent failure, until a send succeeds: for /readyz
	wake    chan struct{}
	stop    func() // ends the deliverer and waits for it; nil before Run

	// Attempts since start that delivered or will be retried (failed counts
	// the rest), for metrics; guarded by mu.
	delivered, retried int
}

func newQueue(ch Channel, p *persister, log *zap.Logger, now func() time.Time, base time.Duration) *queue {
	q := &queue{ch: ch, persist: p, now: now, base: base, wake: make(chan struct{}, 1),
		log: log.With(zap.String("channel", ch.Notifier.Name()))}
	if ch.Rate > 0 {
		q.limiter = rate.NewLimiter(ch.Rate, max(ch.Burst, 1))
	}
	return q
}

func (q *queue) push(ds ...*incident.Delivery) {
	q.mu.Lock()
	q.items = append(q.items, ds...)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *queue) head() *incident.Delivery {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return nil
	}
	return q.items[0]
}

func (q *queue) pop() {
	q.mu.Lock()
	q.items[0] = nil
	q.items = q.items[1:]
	q.mu.Unlock()
}

func (q *queue) counts() (pending, failed int, lastErr error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items), q.failed, q.lastErr
}

// run delivers until ctx ends. Once drain is closed it returns as soon as
// the queue is empty or its head is not due before the flush deadline.
func (q *queue) run(ctx context.Context, drain <-chan struct{}, deadline func() time.Time) {
	for ctx.Err() == nil { // a send cut short by ctx leaves its head pending
		d := q.head()
		draining := isClosed(drain)
		drainC := drain
		if draining {
			drainC = nil // closed: selecting on it would spin
		}
		if d == nil {
			if draining {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-drainC:
			case <-q.wake:
			}
			continue
		}
		if wait := d.NextAt.Sub(q.now()); wait > 0 {
			if draining && q.now().Add(wait).After(deadline()) {
				return
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-drainC:
			case <-t.C:
			}
			t.Stop()
			continue
		}
		if l := q.pacer(); l != nil {
			if err := l.Wait(ctx); err != nil {
				return
			}
		}
		q.attempt(ctx, d)
	}
}

func (q *queue) attempt(ctx context.Context, d *incident.Delivery) {
	m, err := decode(d.Payload)
	if err != nil {
		q.finish(d, alert.Permanent(err))
		return
	}
	nctx, cancel := context.WithTimeout(ctx, notifyTimeout)
	err = q.notifier().Notify(nctx, m)
	cancel()
	if err != nil && ctx.Err() != nil {
		return // shutting down: the delivery stays pending for the next start
	}
	q.finish(d, err)
}

// finish records an attempt's outcome: the one place where a channel's
// answer becomes delivered, failed, or a time to try again.
func (q *queue) finish(d *incident.Delivery, err error) {
	now := q.now()
	d.Attempts++
	fields := []zap.Field{zap.String("key", d.Key), zap.Int("attempt", d.Attempts)}
	switch after, limited := alert.RetryAfterOf(err); {
	case err == nil:
		d.Status, d.DeliveredAt, d.LastError = incident.DeliveryDelivered, now, ""
		q.log.Info("alert sent", fields...)
		q.mu.Lock()
		q.delivered++
		q.lastErr = nil // the channel works again: ready
		q.mu.Unlock()
		q.pop()
	case alert.IsPermanent(err):
		d.Status, d.LastError = incident.DeliveryFailed, err.Error()
		q.log.Error("alert failed permanently; not retried", append(fields, zap.Error(err))...)
		q.mu.Lock()
		q.failed++
		q.lastErr = err
		q.mu.Unlock()
		q.pop()
	case limited:
		d.NextAt, d.LastError = now.Add(after), err.Error()
		q.countRetry()
		q.log.Warn("alert rate limited; waiting as asked", append(fields, zap.Duration("retry_after", after))...)
	default:
		wait := backoff(q.base, d.Attempts)
		changed := err.Error() != d.LastError
		d.NextAt, d.LastError = now.Add(wait), err.Error()
		q.countRetry()
		// Attempts 1–5 each, then every 10th, and whenever the error text
		// changes: a long outage does not flood the journal.
		if d.Attempts <= 5 || d.Attempts%10 == 0 || changed {
			q.log.Warn("alert failed; will retry", append(fields, zap.Duration("retry_in", wait), zap.Error(err))...)
		}
	}
	q.persist.updateDelivery(*d)
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// errNoChannel is returned for deliveries whose channel is no longer configured.
var errNoChannel = errors.New("channel not configured")
