package outbox

import (
	"errors"
	"reflect"
	"sort"

	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/pollerd/pollerd/internal/alert"
	"github.com/pollerd/pollerd/internal/incident"
)

// Applied is what Apply changed, by channel name, each sorted.
type Applied struct {
	Added, Removed, Changed []string
	Unchanged               int
}

// Apply puts a reloaded set of channels in force, by name:
//
//   - a channel whose Notifier is the one in force (the caller built no new
//     one: its config did not change) keeps its queue, pacing and pending
//     deliveries; its Rate, Burst and All are updated;
//   - a new name gets a queue, delivering at once once Run has begun;
//   - a name no longer given stops: its deliverer ends (a send in flight is
//     cut short) and its pending deliveries are marked failed, "channel not
//     configured", as Load does for rows of an unknown channel;
//   - a name with another Notifier (its settings changed: a new URL, secret
//     or token) keeps its queue, pending deliveries and pacing, and sends
//     them with the new Notifier from the next attempt on.
//
// Messages emitted after Apply returns are rowed for the new set. It
// refuses an empty set, a name twice, and an outbox that is closing.
func (ob *Outbox) Apply(channels []Channel) (Applied, error) {
	if len(channels) == 0 {
		return Applied{}, errors.New("outbox: no channel")
	}
	next := make(map[string]Channel, len(channels))
	for _, ch := range channels {
		name := ch.Notifier.Name()
		if _, dup := next[name]; dup {
			return Applied{}, errors.New("outbox: channel " + name + " twice")
		}
		next[name] = ch
	}
	ob.closeMu.Lock()
	defer ob.closeMu.Unlock()
	if ob.closed {
		return Applied{}, errors.New("outbox: closed")
	}

	var a Applied
	var removed []*queue
	ob.qmu.Lock()
	for _, name := range ob.names {
		q := ob.queues[name]
		ch, ok := next[name]
		switch {
		case !ok:
			removed = append(removed, q)
			delete(ob.queues, name)
			a.Removed = append(a.Removed, name)
		case q.replace(ch):
			a.Changed = append(a.Changed, name)
		default:
			a.Unchanged++
		}
	}
	var added []*queue
	for name, ch := range next {
		if _, ok := ob.queues[name]; ok {
			continue
		}
		q := newQueue(ch, ob.persist, ob.log, ob.now, ob.base)
		ob.queues[name] = q
		added = append(added, q)
		a.Added = append(a.Added, name)
	}
	ob.names = ob.names[:0:0]
	for name := range ob.queues {
		ob.names = append(ob.names, name)
	}
	sort.Strings(ob.names)
	ob.qmu.Unlock()
	sort.Strings(a.Added)

	if ob.started {
		for _, q := range added {
			ob.startQueue(q)
		}
	}
	// Out of the map, a removed queue gets no new delivery (Emit looks it
	// up under qmu); once its deliverer ended, what it held has failed.
	for _, q := range removed {
		if q.stop != nil {
			q.stop()
		}
		q.mu.Lock()
		items := q.items
		q.items = nil
		q.mu.Unlock()
		for _, d := range items {
			ob.failNoChannel(*d)
		}
		if len(items) > 0 {
			ob.log.Warn("channel removed by a reload: its pending alerts marked failed",
				zap.String("channel", q.name()), zap.Int("count", len(items)))
		}
	}
	if len(removed) > 0 {
		ob.mu.Lock()
		for _, q := range removed { // their failures stay counted
			q.mu.Lock()
			ob.baseFailed += q.failed
			q.mu.Unlock()
		}
		ob.mu.Unlock()
	}
	return a, nil
}

// failNoChannel marks d failed: its channel is not configured.
func (ob *Outbox) failNoChannel(d incident.Delivery) {
	d.Status, d.LastError = incident.DeliveryFailed, errNoChannel.Error()
	ob.persist.updateDelivery(d)
	ob.mu.Lock()
	ob.baseFailed++
	ob.mu.Unlock()
}

// replace takes ch's settings; it reports whether ch has another Notifier.
func (q *queue) replace(ch Channel) (changed bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	changed = !sameNotifier(q.ch.Notifier, ch.Notifier)
	q.ch = ch
	switch {
	case ch.Rate <= 0:
		q.limiter = nil
	case q.limiter == nil:
		q.limiter = rate.NewLimiter(ch.Rate, max(ch.Burst, 1))
	default: // kept, with the tokens it has
		q.limiter.SetLimit(ch.Rate)
		q.limiter.SetBurst(max(ch.Burst, 1))
	}
	return changed
}

// sameNotifier reports whether a and b are one Notifier (pointers, as all
// channels are; a value of an uncomparable type is never the same).
func sameNotifier(a, b alert.Notifier) bool {
	ta, tb := reflect.TypeOf(a), reflect.TypeOf(b)
	return ta == tb && ta != nil && ta.Comparable() && a == b
}

func (q *queue) notifier() alert.Notifier {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.ch.Notifier
}

func (q *queue) pacer() *rate.Limiter {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.limiter
}

func (q *queue) all() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.ch.All
}

func (q *queue) name() string { return q.notifier().Name() }
