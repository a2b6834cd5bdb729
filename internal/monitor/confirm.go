package monitor

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// confirmation is one series of confirmation probes of one target. The
// monitor owns its goroutine (Stop waits for it), so callers can give up
// waiting, or join it, without affecting it.
type confirmation struct {
	done    chan struct{} // closed when the series settled
	waiters int           // callers waiting on it; guarded by entry.mu
}

// Confirm probes the named targets at once, and re-probes each failing one
// every ConfirmInterval until its state machine reaches DOWN, a probe passes,
// or failure_threshold probes were made. It returns the statuses of the named
// targets (unknown names are skipped, duplicates reported once) when all are
// settled or ctx ends, whichever comes first.
//
// At most one confirmation runs per target: a second caller joins the first
// one's series. A target whose last confirmation settled within
// ConfirmCooldown is not probed again; its current status is reported.
// Confirmation probes go through the same state machine and Sink as
// scheduled ones and never overlap the target's scheduled probe.
func (m *Monitor) Confirm(ctx context.Context, targets []string) []Status {
	return m.confirm(ctx, targets)
}

// ConfirmService confirms the targets of a service whose clients report
// failures (Options.Services); a service with none is not probed.
func (m *Monitor) ConfirmService(ctx context.Context, service string) {
	if targets := m.load().services[service]; len(targets) > 0 {
		m.confirm(ctx, targets)
	}
}

func (m *Monitor) confirm(ctx context.Context, targets []string) []Status {
	set := m.load()
	entries := make([]*entry, 0, len(targets))
	seen := make(map[string]bool, len(targets))
	var waits []*confirmation
	for _, name := range targets {
		e, ok := set.byName[name]
		if !ok || seen[name] {
			continue
		}
		seen[name] = true
		entries = append(entries, e)
		if c := m.startConfirm(e); c != nil {
			waits = append(waits, c)
		}
	}

wait:
	for _, c := range waits {
		select {
		case <-c.done:
		case <-ctx.Done():
			break wait
		}
	}

	out := make([]Status, len(entries))
	for i, e := range entries {
		out[i] = e.snapshot()
	}
	return out
}

// startConfirm returns the confirmation of e to wait for: the one in flight,
// or a new one; nil when e is in its cooldown or the monitor is stopped.
func (m *Monitor) startConfirm(e *entry) *confirmation {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.confirm; c != nil {
		c.waiters++
		m.log.Debug("confirmation joined", zap.String("target", e.name()), zap.Int("waiters", c.waiters))
		return c
	}
	if !e.confirmedAt.IsZero() && m.now().Sub(e.confirmedAt) < m.load().cooldown {
		m.log.Debug("confirmation skipped: cooldown", zap.String("target", e.name()))
		return nil
	}

	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		return nil
	}
	m.confirms.Add(1)
	m.mu.Unlock()

	c := &confirmation{done: make(chan struct{}), waiters: 1}
	e.confirm = c
	go m.runConfirm(e, c)
	return c
}

// runConfirm is the probe series of one confirmation. It ends at DOWN, at a
// passing probe, after failure_threshold probes, or at Stop.
func (m *Monitor) runConfirm(e *entry, c *confirmation) {
	defer m.confirms.Done()
	defer func() {
		e.mu.Lock()
		e.confirm = nil
		e.confirmedAt = m.now()
		e.mu.Unlock()
		close(c.done)
	}()
	defer m.recoverPanic(e)

	m.log.Debug("confirmation started", zap.String("target", e.name()))
	ctx, release := e.work(m.ctx)
	defer release()
	gap := confirmGap(m.confirmInterval, e.target.FailureThreshold)
	for i := range e.target.FailureThreshold {
		if i > 0 && !sleep(ctx, gap) {
			return
		}
		st, ok := m.confirmOnce(ctx, e)
		if !ok || st.Last.OK || st.State == Down {
			return
		}
	}
}

// confirmWithin is how long a whole confirmation series may take: ingest
// waits at most 3 s for it (DESIGN: a report's DOWN within 3 s), and each
// probe takes some time of its own.
const confirmWithin = 2 * time.Second

// confirmGap spaces the re-probes of a confirmation: interval apart, closer
// when failure_threshold probes would not fit in confirmWithin, but never
// under 100 ms.
func confirmGap(interval time.Duration, threshold int) time.Duration {
	if threshold <= 1 {
		return interval
	}
	return max(min(interval, confirmWithin/time.Duration(threshold-1)), 100*time.Millisecond)
}

// confirmOnce waits for the target's scheduled probe, if one runs, then
// probes it.
func (m *Monitor) confirmOnce(ctx context.Context, e *entry) (Status, bool) {
	if !e.lock(ctx) {
		return Status{}, false
	}
	defer e.unlock()
	return m.probeLocked(e, time.Time{})
}

// sleep waits d, or less if ctx (the target's: the monitor stops, or Apply
// removes the target) ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
