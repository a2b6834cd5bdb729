package alert

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/pollerd/pollerd/internal/incident"
	"go.uber.org/zap"
)

// CanaryOptions configure the canary stage.
type CanaryOptions struct {
	Canaries []string // canaries.targets
	Quorum   int      // canaries.quorum
	// Confirmer probes canaries before a DOWN goes out, and re-probes the
	// held targets when connectivity returns.
	Confirmer Confirmer
	Timeout   time.Duration // bounds each confirmation; default 3s
	Logger    *zap.Logger
	Now       func() time.Time
}

// Canaries is the canary stage: "is it us?".
//
//   - A canary's own messages are dropped: it never alerts. Its incidents
//     are kept (history, status), like any target's.
//   - While Quorum canaries are DOWN together, pollerd's network is judged
//     down (offline): target DOWNs (single or grouped, follow-ups too) are
//     held, and so is everything about their incidents; a RECOVERED of a
//     held DOWN drops both. Reminders are dropped while offline.
//   - Online, a target DOWN is held while the canaries are probed at once
//     (Confirmer); if that makes the quorum fail, it stays held as above,
//     else it goes out.
//   - When the canaries pass again, the held targets are re-probed; those
//     still failing get their DOWN (late, but a real outage is not hidden);
//     those that pass send nothing, now or at their RECOVERED. Then one
//     NOTICE: "lost connectivity for 4m12s; held 7 target alerts".
//
// Held messages live in memory: a restart while offline forgets them (the
// targets' incidents stay open; their RECOVERED is then dropped too, as a
// RECOVERED of an unknown held DOWN is not recognised — it goes out).
type Canaries struct {
	o    CanaryOptions
	next Sink

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex // held across next.Emit
	down     map[string]time.Time
	all      map[string]time.Time // every target DOWN, since when: Apply takes new canaries' from it
	offline  bool
	since    time.Time
	held     map[int64][]Message // by incident, while offline or checking
	order    []int64
	dropped  map[int64]bool // held incidents that recovered: drop the rest of them
	count    int            // distinct DOWNs held in this spell
	checking bool
	checked  []int64 // held for a pre-DOWN check
}

// NewCanaries builds the stage; Stage plugs it into a Chain.
func NewCanaries(o CanaryOptions) *Canaries {
	if o.Timeout <= 0 {
		o.Timeout = 3 * time.Second
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Canaries{o: o, down: map[string]time.Time{}, all: map[string]time.Time{}, held: map[int64][]Message{}, dropped: map[int64]bool{}}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c
}

// Stage is the canary stage as a Chain argument.
func (c *Canaries) Stage(next Sink) Sink { c.next = next; return c }

// Close stops the confirmations in flight.
func (c *Canaries) Close(context.Context) error {
	c.cancel()
	c.wg.Wait()
	return nil
}

// Restore takes the canaries' persisted states at start: a quorum DOWN
// then is offline from the latest of their since.
func (c *Canaries) Restore(states []incident.TargetState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range states {
		if s.State == stateDown {
			c.all[s.Name] = s.Since
		}
		if slices.Contains(c.o.Canaries, s.Name) && s.State == stateDown {
			c.down[s.Name] = s.Since
		}
	}
	if c.lost() {
		c.offline, c.since = true, c.latestDown()
	}
}

// State is "offline" while the quorum of canaries is DOWN, else "ok", and
// since when (zero when not known).
func (c *Canaries) State() (string, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.offline {
		return "offline", c.since
	}
	return "ok", c.since
}

func (c *Canaries) latestDown() time.Time {
	var t time.Time
	for _, s := range c.down {
		if s.After(t) {
			t = s
		}
	}
	return t
}

// Emit follows the canaries' states and holds what must wait.
func (c *Canaries) Emit(ch incident.Change, msgs ...Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range ch.Targets {
		if s.State == stateDown {
			c.all[s.Name] = s.Since
		} else {
			delete(c.all, s.Name)
		}
		if !slices.Contains(c.o.Canaries, s.Name) {
			continue
		}
		if s.State == stateDown {
			c.down[s.Name] = s.Since
		} else {
			delete(c.down, s.Name)
		}
	}
	c.judge()
	out := make([]Message, 0, len(msgs))
	for _, m := range msgs {
		switch {
		case m.Target != "" && slices.Contains(c.o.Canaries, m.Target):
			// A canary never alerts.
		case c.dropped[m.IncidentID] && m.IncidentID != 0:
			if m.Kind == KindRecovered {
				delete(c.dropped, m.IncidentID)
			}
		case c.held[m.IncidentID] != nil && m.IncidentID != 0:
			if m.Kind == KindRecovered { // never announced: neither is
				c.forget(m.IncidentID)
				continue
			}
			if m.Kind != KindReminder {
				c.held[m.IncidentID] = append(c.held[m.IncidentID], m)
			}
		case m.Kind == KindReminder && c.offline:
		case m.Kind == KindDown && c.offline:
			c.hold(m)
			c.count++
		case m.Kind == KindDown && len(c.o.Canaries) > 0:
			c.hold(m)
			c.checked = append(c.checked, m.IncidentID)
			if !c.checking {
				c.checking = true
				c.wg.Add(1)
				go c.check()
			}
		default:
			out = append(out, m)
		}
	}
	c.next.Emit(ch, out...)
}

func (c *Canaries) hold(m Message) {
	if _, ok := c.held[m.IncidentID]; !ok {
		c.order = append(c.order, m.IncidentID)
	}
	c.held[m.IncidentID] = append(c.held[m.IncidentID], m)
}

func (c *Canaries) forget(id int64) {
	delete(c.held, id)
	c.order = slices.DeleteFunc(c.order, func(x int64) bool { return x == id })
	c.checked = slices.DeleteFunc(c.checked, func(x int64) bool { return x == id })
}

// check probes the canaries before held DOWNs go out.
func (c *Canaries) check() {
	defer c.wg.Done()
	ctx, cancel := context.WithTimeout(c.ctx, c.o.Timeout)
	c.mu.Lock()
	canaries := c.o.Canaries // Apply replaces, never changes, the slice
	c.mu.Unlock()
	if c.o.Confirmer != nil {
		c.o.Confirmer.Confirm(ctx, canaries)
	}
	cancel()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checking = false
	ids := c.checked
	c.checked = nil
	if c.offline {
		c.count += len(ids) // they wait for connectivity now
		return
	}
	var out []Message
	for _, id := range ids {
		out = append(out, c.held[id]...)
		c.forget(id)
	}
	if len(out) > 0 {
		c.next.Emit(incident.Change{}, out...)
	}
}

// reconnect re-probes the targets held while offline, then sends the DOWN
// of those still failing and the one connectivity notice.
func (c *Canaries) reconnect(since, back time.Time) {
	defer c.wg.Done()
	c.mu.Lock()
	var targets []string
	for _, id := range c.order {
		for _, m := range c.held[id] {
			targets = append(targets, m.Targets...)
			if m.Target != "" {
				targets = append(targets, m.Target)
			}
		}
	}
	c.mu.Unlock()
	failing := map[string]bool{}
	if c.o.Confirmer != nil && len(targets) > 0 {
		ctx, cancel := context.WithTimeout(c.ctx, c.o.Timeout)
		for _, t := range c.o.Confirmer.Confirm(ctx, targets) {
			failing[t] = true
		}
		cancel()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.offline {
		return // lost again meanwhile: all stays held for the next return
	}
	var out []Message
	for _, id := range slices.Clone(c.order) {
		if slices.Contains(c.checked, id) {
			continue // a pre-DOWN check of its own decides
		}
		ms := c.held[id]
		still := false
		for _, m := range ms {
			still = still || failing[m.Target] || slices.ContainsFunc(m.Targets, func(t string) bool { return failing[t] })
		}
		c.forget(id)
		if still {
			out = append(out, ms...)
		} else {
			c.dropped[id] = true
		}
	}
	out = append(out, connectivityMessage(since, back, c.count))
	c.o.Logger.Info("connectivity back", zap.Duration("lost_for", back.Sub(since)), zap.Int("held", c.count),
		zap.Int("still_down", len(out)-1))
	c.count = 0
	c.next.Emit(incident.Change{}, out...)
}
