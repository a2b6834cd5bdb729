package alert

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/pollerd/pollerd/internal/incident"
)

// Covers says whether a maintenance window or a silence covers a target at
// now, and until when (as far as is known then: a silence added later may
// extend it). CoverSet is the implementation pollerd wires.
type Covers interface {
	Covered(target string, now time.Time) (until time.Time, ok bool)
}

// Refresher is a Covers whose view of the world is refreshed from outside
// (the stored silences); the Cover stage calls Refresh before each check.
type Refresher interface {
	Refresh(ctx context.Context, now time.Time) error
}

// Unannounced reads the DOWNs held when pollerd last stopped: the open target
// incidents whose DOWN has no outbox row. *store.DB satisfies it.
type Unannounced interface {
	UnannouncedIncidents(ctx context.Context) ([]incident.Incident, error)
}

// CoverOptions configure a Cover.
type CoverOptions struct {
	Covers Covers // required
	// Store restores the held DOWNs at Load; nil: nothing to restore.
	Store Unannounced
	// TargetChannels is the engine's: a DOWN composed again at Load carries
	// its target's notify list, like the one the engine composed.
	TargetChannels map[string][]string
	// Grouped reports whether a target is in a group; nil: none is. Load
	// leaves group members to the group stage's Restore, which knows which
	// of them a grouped DOWN announced and re-emits the others through
	// this stage.
	Grouped func(target string) bool
	// Interval is how often held DOWNs are checked against their cover;
	// default 1s.
	Interval time.Duration
	Logger   *zap.Logger
	Now      func() time.Time
}

// Cover is the maintenance-and-silence stage (DESIGN, Alert policy). While
// its Covers covers a target, the target's DOWN is held (by incident id, in
// memory) and its reminders are dropped; every change still passes on, so
// the store sees each incident. When the cover ends and the incident is
// still open, the held DOWN goes out, its "since" the real start of the
// outage. When the incident closes while its DOWN is held, the DOWN and the
// RECOVERED are both dropped: nothing was announced, nothing is. A RECOVERED
// whose DOWN went out is never held.
//
// A held DOWN has no outbox row, and that is what makes it durable: Load
// rebuilds the held set from the open incidents without one, so a restart
// neither loses it nor sends it while still covered.
//
// Build it with NewCover, wire Stage into alert.Chain, Load before the
// engine loads (so the engine's closing of removed targets reaches it),
// Run it, and Close it (its owner stops the loop).
type Cover struct {
	opts CoverOptions
	log  *zap.Logger
	now  func() time.Time

	mu   sync.Mutex
	next Sink
	held map[int64]*heldDown

	refreshErr string // the last Refresh error, "" when it worked; Check's only

	cancel context.CancelFunc
	done   sync.WaitGroup
	stop   sync.Once
}

type heldDown struct {
	msg   Message
	since time.Time // when it was held
	// more are later DOWNs of the same incident held behind msg: a group's
	// follow-ups while its grouped DOWN is held. They go out after it.
	more []Message
}

// NewCover builds the stage; Stage wires it in front of the next sink.
func NewCover(o CoverOptions) (*Cover, error) {
	if o.Covers == nil {
		return nil, errors.New("alert: cover: no covers")
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Cover{opts: o, log: o.Logger, now: o.Now, held: make(map[int64]*heldDown)}, nil
}

// Stage is the Cover as an alert.Stage. Wire it once.
func (c *Cover) Stage() Stage {
	return func(next Sink) Sink {
		c.mu.Lock()
		c.next = next
		c.mu.Unlock()
		return c
	}
}

// Load restores the DOWNs held when pollerd stopped: each open target
// incident without a DOWN row is composed again and held; the first check
// sends it if its cover has ended meanwhile.
func (c *Cover) Load(ctx context.Context) error {
	if c.opts.Store == nil {
		return nil
	}
	incs, err := c.opts.Store.UnannouncedIncidents(ctx)
	if err != nil {
		return fmt.Errorf("load held alerts: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for _, inc := range incs {
		if c.opts.Grouped != nil && c.opts.Grouped(inc.Subject) {
			continue
		}
		m := downMessage(inc, inc.OpenedAt, nil)
		if ch := c.opts.TargetChannels[inc.Subject]; len(ch) > 0 {
			m.Channels = slices.Clone(ch)
		}
		c.held[inc.ID] = &heldDown{msg: m, since: now}
		c.log.Info("held DOWN restored", zap.String("target", inc.Subject), zap.Int64("incident", inc.ID),
			zap.Time("down_since", inc.OpenedAt))
	}
	return nil
}

// Emit passes c on with msgs minus what a cover holds or drops.
func (c *Cover) Emit(ch incident.Change, msgs ...Message) {
	c.mu.Lock()
	defer c.mu.Unlock() // held across the emit: a release never overtakes it
	now := c.now()
	var unheld map[int64]bool // incidents closed while their DOWN was held
	for _, inc := range ch.Incidents {
		if inc.Kind == incident.KindTarget && !inc.Open() {
			// A member back before its group's held DOWN went out: the
			// DOWN no longer names it.
			for _, h := range c.held {
				if h.msg.Group != "" && slices.Contains(h.msg.Targets, inc.Subject) {
					h.msg = withoutMember(h.msg, inc.Subject)
				}
			}
		}
		if h := c.held[inc.ID]; h != nil && !inc.Open() {
			delete(c.held, inc.ID)
			if unheld == nil {
				unheld = make(map[int64]bool)
			}
			unheld[inc.ID] = true
			c.log.Info("held DOWN dropped: the outage ended under cover", zap.String("target", h.msg.Target),
				zap.Int64("incident", inc.ID), zap.Duration("downtime", inc.ClosedAt.Sub(inc.OpenedAt).Round(time.Second)))
		}
	}
	out := make([]Message, 0, len(msgs))
	for _, m := range msgs {
		switch m.Kind {
		case KindDown:
			if h := c.held[m.IncidentID]; h != nil && m.IncidentID != 0 && h.msg.Key != m.Key {
				// A follow-up of a grouped DOWN still held never goes ahead
				// of it: held behind it while covered too, else both go now.
				if _, ok := c.covered(m, now); ok {
					h.more = append(h.more, m)
					continue
				}
				delete(c.held, m.IncidentID)
				out = append(out, releasedMessage(h.msg, now))
				out = append(out, h.more...)
			}
			if until, ok := c.covered(m, now); ok && m.IncidentID != 0 {
				c.held[m.IncidentID] = &heldDown{msg: m, since: now}
				c.log.Info("DOWN held: target under maintenance or silenced", zap.String("target", m.Target),
					zap.Int64("incident", m.IncidentID), zap.Time("until", until))
				continue
			}
		case KindRecovered:
			if unheld[m.IncidentID] {
				continue // its DOWN was never sent
			}
		case KindReminder:
			if _, ok := c.covered(m, now); ok || c.held[m.IncidentID] != nil {
				continue
			}
		}
		out = append(out, m)
	}
	if c.next != nil {
		c.next.Emit(ch, out...)
	}
}

// covered reports whether a target's message is under a cover; a grouped
// message is when every member it names is, until the first cover ends.
func (c *Cover) covered(m Message, now time.Time) (time.Time, bool) {
	if m.Target != "" {
		return c.opts.Covers.Covered(m.Target, now)
	}
	if len(m.Targets) == 0 {
		return time.Time{}, false
	}
	var until time.Time
	for _, t := range m.Targets {
		u, ok := c.opts.Covers.Covered(t, now)
		if !ok {
			return time.Time{}, false
		}
		if until.IsZero() || u.Before(until) {
			until = u
		}
	}
	return until, true
}

// Run starts the loop that releases held DOWNs whose cover ended; it
// returns at once. Close stops it.
func (c *Cover) Run(ctx context.Context) {
	ctx, c.cancel = context.WithCancel(ctx)
	c.done.Add(1)
	go func() {
		defer c.done.Done()
		t := time.NewTicker(c.opts.Interval)
		defer t.Stop()
		c.Check(ctx)
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				c.Check(ctx)
			}
		}
	}()
}

// Close stops the loop. Held DOWNs stay held: they have no outbox row, so
// the next start restores them.
func (c *Cover) Close(context.Context) error {
	c.stop.Do(func() {
		if c.cancel != nil {
			c.cancel()
		}
		c.done.Wait()
	})
	return nil
}

// Check refreshes the covers and sends each held DOWN whose cover has
// ended, oldest incident first. Run calls it every Interval.
func (c *Cover) Check(ctx context.Context) {
	now := c.now()
	if r, ok := c.opts.Covers.(Refresher); ok {
		err := r.Refresh(ctx, now)
		// Keep the last view on an error: a store hiccup must not end a
		// silence. Logged when it starts and when it ends, not every second.
		switch {
		case err != nil && c.refreshErr == "":
			c.log.Warn("silences unavailable; keeping the last known", zap.Error(err))
		case err == nil && c.refreshErr != "":
			c.log.Info("silences readable again")
		}
		c.refreshErr = ""
		if err != nil {
			c.refreshErr = err.Error()
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids []int64
	for id, h := range c.held {
		if _, ok := c.covered(h.msg, now); !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		h := c.held[id]
		if h.msg.Group != "" && len(h.msg.Targets) == 0 {
			// Every member it named is back: nothing to announce. It stays
			// held, so the group's RECOVERED is dropped with it.
			continue
		}
		delete(c.held, id)
		m := releasedMessage(h.msg, now)
		c.log.Info("held DOWN released: cover ended, target still down", zap.String("target", m.Target),
			zap.Int64("incident", id), zap.Time("down_since", m.Since))
		if c.next != nil {
			c.next.Emit(incident.Change{}, append([]Message{m}, h.more...)...)
		}
	}
}

// Held returns the incident ids whose DOWN is held, in order.
func (c *Cover) Held() []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := make([]int64, 0, len(c.held))
	for id := range c.held {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// releasedMessage is a held DOWN as it goes out once its cover ended: the
// same key and start, with how long the target has been down.
func releasedMessage(m Message, now time.Time) Message {
	down := now.Sub(m.Since).Round(time.Second)
	if down < 0 {
		down = 0
	}
	m.Fields = append(slices.Clip(m.Fields), Field{Label: "Held", Value: "during maintenance or a silence; down for " + down.String()})
	m.Text += fmt.Sprintf(" (down for %s, since %s; held during maintenance or a silence)", down, formatTime(m.Since))
	return finish(m)
}
