package alert

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/pollerd/pollerd/internal/incident"
	"go.uber.org/zap"
)

// ReminderOptions configure the reminder stage.
type ReminderOptions struct {
	// Interval is alerting.repeat_interval: a reminder every Interval while
	// a target stays DOWN. 0 is off: the stage passes everything on and
	// only keeps track, so that Apply can turn it on.
	Interval time.Duration
	// Groups maps a target to its group (the reminder's Group).
	Groups map[string]string
	// Tick is how often reminders are looked for; default min(Interval/4, 1s)
	// (1s when off), following Apply.
	Tick   time.Duration
	Logger *zap.Logger
	Now    func() time.Time
}

// Reminders is the reminder stage: while a target stays DOWN after its DOWN
// went by (single or grouped), every Interval it emits a REMINDER
// ("api still DOWN for 1h0m0s"). The n-th reminder of incident 42 has the
// key "42:reminder-n", n counted from the outage's start (elapsed /
// Interval), so a restart sends none twice: the outbox keeps one row per
// key. Open incidents restored at start count as announced. Stages after
// it (canaries, cover) hold or drop reminders as they do DOWNs.
//
// Run starts its ticker; Close stops it.
type Reminders struct {
	o    ReminderOptions
	next Sink

	mu   sync.Mutex // held across next.Emit: emits keep their order
	open map[string]*reminded

	cancel   context.CancelFunc
	done     sync.WaitGroup
	autoTick bool               // Tick is the default: Apply recomputes it
	retick   chan time.Duration // a new Tick for Run's ticker
}

type reminded struct {
	inc       incident.Incident
	announced bool // its DOWN went by
	sent      int  // the last reminder's n
}

// NewReminders builds the stage; Stage plugs it into a Chain.
func NewReminders(o ReminderOptions) *Reminders {
	auto := o.Tick <= 0
	if auto {
		o.Tick = defaultTick(o.Interval)
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Reminders{o: o, open: make(map[string]*reminded), autoTick: auto, retick: make(chan time.Duration, 1)}
}

func defaultTick(interval time.Duration) time.Duration {
	if interval <= 0 {
		return time.Second
	}
	return min(interval/4, time.Second)
}

// Stage is the reminder stage as a Chain argument.
func (r *Reminders) Stage(next Sink) Sink { r.next = next; return r }

// Restore takes the open target incidents at start: their DOWN was sent
// before the stop, so they are reminded of.
func (r *Reminders) Restore(open []incident.Incident) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, inc := range open {
		if inc.Kind == incident.KindTarget && inc.Open() {
			r.open[inc.Subject] = &reminded{inc: inc, announced: true}
		}
	}
}

// Forget drops targets that are no longer configured (a reload).
func (r *Reminders) Forget(targets []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range targets {
		delete(r.open, t)
	}
}

// Emit tracks target incidents opening and closing and DOWNs going by, and
// passes everything on.
func (r *Reminders) Emit(c incident.Change, msgs ...Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, inc := range c.Incidents {
		if inc.Kind != incident.KindTarget {
			continue
		}
		if !inc.Open() {
			if o := r.open[inc.Subject]; o != nil && o.inc.ID == inc.ID {
				delete(r.open, inc.Subject)
			}
			continue
		}
		if o := r.open[inc.Subject]; o != nil && o.inc.ID == inc.ID {
			o.inc = inc
		} else {
			r.open[inc.Subject] = &reminded{inc: inc}
		}
	}
	for _, m := range msgs {
		if m.Kind != KindDown {
			continue
		}
		for _, t := range append(slices.Clone(m.Targets), m.Target) {
			if o := r.open[t]; o != nil {
				o.announced = true
			}
		}
	}
	r.next.Emit(c, msgs...)
}

// Run starts the ticker; it returns at once.
func (r *Reminders) Run(ctx context.Context) {
	ctx, r.cancel = context.WithCancel(ctx)
	r.mu.Lock()
	tick := r.o.Tick // Apply may change it: retick
	r.mu.Unlock()
	r.done.Add(1)
	go func() {
		defer r.done.Done()
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case d := <-r.retick:
				t.Reset(d)
			case <-t.C:
				r.remind(r.o.Now())
			}
		}
	}()
}

// Close stops the ticker. Close it before the sink after it.
func (r *Reminders) Close(context.Context) error {
	if r.cancel != nil {
		r.cancel()
	}
	r.done.Wait()
	return nil
}

// remind emits the reminders due at now, oldest outage first.
func (r *Reminders) remind(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.o.Interval <= 0 {
		return
	}
	var msgs []Message
	for _, o := range r.open {
		if !o.announced {
			continue
		}
		n := int(now.Sub(o.inc.OpenedAt) / r.o.Interval)
		if n < 1 || n <= o.sent {
			continue
		}
		o.sent = n
		msgs = append(msgs, reminderMessage(o.inc, r.o.Groups[o.inc.Subject], n, now))
	}
	if len(msgs) == 0 {
		return
	}
	slices.SortFunc(msgs, func(a, b Message) int { return a.Since.Compare(b.Since) })
	r.o.Logger.Info("reminders", zap.Int("count", len(msgs)))
	r.next.Emit(incident.Change{}, msgs...)
}
