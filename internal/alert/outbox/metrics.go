package outbox

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// collector reads the outbox's metrics from its queues at scrape time:
// nothing is counted twice and a delivery costs no more than the counter
// its queue keeps anyway.
//
//   - pollerd_notifications_total{channel, result}: attempts since start
//     that delivered, will be retried (an error, a 429) or failed for good;
//     every configured channel has all three, from zero.
//   - pollerd_outbox_pending: deliveries queued, the one being tried included.
//   - pollerd_outbox_oldest_pending_age_seconds: how long the oldest of them
//     has waited since it was written; 0 when none is pending.
type collector struct{ ob *Outbox }

var (
	notificationsDesc = prometheus.NewDesc("pollerd_notifications_total",
		"Delivery attempts per channel since start, by result: delivered, retried (will be tried again) or failed (for good).",
		[]string{"channel", "result"}, nil)
	pendingDesc = prometheus.NewDesc("pollerd_outbox_pending",
		"Deliveries waiting to be sent, over all channels.", nil, nil)
	oldestDesc = prometheus.NewDesc("pollerd_outbox_oldest_pending_age_seconds",
		"Age of the oldest pending delivery (since it was written); 0 when none is pending.", nil, nil)
)

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- notificationsDesc
	ch <- pendingDesc
	ch <- oldestDesc
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	var pending int
	var oldest time.Time
	c.ob.qmu.RLock()
	defer c.ob.qmu.RUnlock()
	for _, name := range c.ob.names {
		s := c.ob.queues[name].stats()
		ch <- prometheus.MustNewConstMetric(notificationsDesc, prometheus.CounterValue, float64(s.delivered), name, "delivered")
		ch <- prometheus.MustNewConstMetric(notificationsDesc, prometheus.CounterValue, float64(s.retried), name, "retried")
		ch <- prometheus.MustNewConstMetric(notificationsDesc, prometheus.CounterValue, float64(s.failed), name, "failed")
		pending += s.pending
		if !s.oldest.IsZero() && (oldest.IsZero() || s.oldest.Before(oldest)) {
			oldest = s.oldest
		}
	}
	var age float64
	if !oldest.IsZero() {
		age = max(c.ob.now().Sub(oldest).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(pending))
	ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, age)
}

// queueStats is a queue's counters and backlog at one instant.
type queueStats struct {
	delivered, retried, failed int
	pending                    int
	oldest                     time.Time // CreatedAt of the oldest pending; zero when none
}

func (q *queue) stats() queueStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := queueStats{delivered: q.delivered, retried: q.retried, failed: q.failed, pending: len(q.items)}
	// Queues are in commit order, but rows restored at start may predate
	// the ones found first; the backlog is short, so look at all of them.
	for _, d := range q.items {
		if !d.CreatedAt.IsZero() && (s.oldest.IsZero() || d.CreatedAt.Before(s.oldest)) {
			s.oldest = d.CreatedAt
		}
	}
	return s
}

// countRetry counts an attempt that will be tried again.
func (q *queue) countRetry() {
	q.mu.Lock()
	q.retried++
	q.mu.Unlock()
}
