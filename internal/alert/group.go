package alert

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/pollerd/pollerd/internal/incident"
	"go.uber.org/zap"
)

// Confirmer re-probes targets at once and reports those still failing; it
// returns when they settled or ctx ended. Probes go through the monitor's
// state machine, so a target found down arrives as its own transition
// through the engine. *monitor.Monitor satisfies it through a small adapter
// in cmd/pollerd.
type Confirmer interface {
	Confirm(ctx context.Context, targets []string) (failing []string)
}

// ConfirmFunc is a Confirmer from a function.
type ConfirmFunc func(ctx context.Context, targets []string) []string

// Confirm calls f.
func (f ConfirmFunc) Confirm(ctx context.Context, targets []string) []string { return f(ctx, targets) }

// GroupOptions configure the group stage.
type GroupOptions struct {
	Groups    map[string][]string // group → members, in the file's order
	Wait      time.Duration       // alerting.group_wait: one follow-up per Wait; default 30s
	Confirmer Confirmer           // sweeps the rest of a group when a member goes down
	// SweepTimeout bounds a sweep; default 3s (DESIGN: ≤ 3 s).
	SweepTimeout time.Duration
	Logger       *zap.Logger
	Now          func() time.Time
}

// Grouping is the group stage. A member's DOWN is held while the rest of
// its group is confirmed at once (a sweep); members found down arrive as
// their own DOWNs meanwhile and are folded in. Then:
//
//   - one member down: its own DOWN goes out, as if it had no group;
//   - several: a group incident (incident.KindGroup, subject the group)
//     opens with them, and one grouped DOWN ("homeserver: 3 of 9 DOWN —
//     a, b, c", key "<gid>:down") goes out in the same write;
//   - a member going down while the group's incident is open is held and
//     folded into one follow-up per Wait ("<gid>:followup-N", N the
//     number of members announced so far);
//   - members' RECOVERED are folded too: the grouped RECOVERED
//     ("<gid>:recovered", each member with its downtime) goes out, and the
//     group incident closes, when every member it announced is up again.
//
// Members' own incidents are unchanged underneath (history, status). The
// group incident's Cause lists the members it announced ("a, b (up after
// 4m12s), c"), written with each grouped message, so Restore rebuilds it
// after a restart: no second DOWN, still one RECOVERED. A member whose DOWN
// was held when pollerd stopped is re-sent at Restore under its own key
// ("<id>:down"), which the outbox keeps once; so is a grouped DOWN that a
// cover held (Unannounced), under "<gid>:down".
type Grouping struct {
	o     GroupOptions
	next  Sink
	ids   func() int64
	group map[string]string // member → group

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex // held across next.Emit: emits keep their order
	groups map[string]*groupState
	held   map[int64]bool // group incidents whose DOWN was held at the last stop (Unannounced)
}

type groupState struct {
	name     string
	members  []string
	inc      *incident.Incident      // the open group incident; nil when none
	in       map[string]*groupMember // announced in inc, by name; Downtime > 0 or up marks recovery
	up       map[string]bool
	pending  map[string]Message // held DOWNs by target, with their incident
	order    []string           // pending, in arrival order
	sweeping bool
	lastSent time.Time
	timer    *time.Timer
}

// NewGrouping builds the stage; Stage plugs it into a Chain, UseIDs gives it
// the engine's incident ids.
func NewGrouping(o GroupOptions) *Grouping {
	if o.Wait <= 0 {
		o.Wait = 30 * time.Second
	}
	if o.SweepTimeout <= 0 {
		o.SweepTimeout = 3 * time.Second
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	g := &Grouping{o: o, group: map[string]string{}, groups: map[string]*groupState{}}
	g.ctx, g.cancel = context.WithCancel(context.Background())
	for name, ms := range o.Groups {
		g.groups[name] = &groupState{name: name, members: ms, pending: map[string]Message{}}
		for _, m := range ms {
			g.group[m] = name
		}
	}
	return g
}

// Stage is the group stage as a Chain argument.
func (g *Grouping) Stage(next Sink) Sink { g.next = next; return g }

// UseIDs sets where group incident ids come from (Engine.NewIncidentID).
func (g *Grouping) UseIDs(f func() int64) { g.ids = f }

// Close stops sweeps and follow-up timers. Held DOWNs are not lost: their
// incidents are open, and Restore re-sends them at the next start.
func (g *Grouping) Close(context.Context) error {
	g.cancel()
	g.mu.Lock()
	for _, gs := range g.groups {
		if gs.timer != nil {
			gs.timer.Stop()
		}
	}
	g.mu.Unlock()
	g.wg.Wait()
	return nil
}

// UnannouncedGroups reads the grouped DOWNs held when pollerd last stopped:
// the open group incidents whose "<gid>:down" has no outbox row. *store.DB
// satisfies it.
type UnannouncedGroups interface {
	UnannouncedGroupIncidents(ctx context.Context) ([]incident.Incident, error)
}

// Unannounced notes the open group incidents whose grouped DOWN never went
// out (a maintenance window or a silence held it when pollerd stopped).
// Restore composes that DOWN again from the members still down and emits
// it under its key ("<gid>:down"): the cover stage holds it again while
// the cover lasts and lets it go when it ends. One whose members all came
// back meanwhile closes without a word. Call it before Restore.
func (g *Grouping) Unannounced(incs []incident.Incident) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held == nil {
		g.held = map[int64]bool{}
	}
	for _, inc := range incs {
		if inc.Kind == incident.KindGroup {
			g.held[inc.ID] = true
		}
	}
}

// Restore rebuilds the open group incidents from the store's snapshot and
// re-sends the DOWN of members whose incident is open but in no group
// incident (held when pollerd stopped; if it went out alone, the outbox
// already holds its key). Call it after the engine's Load, before Run.
func (g *Grouping) Restore(snap incident.Snapshot) {
	g.mu.Lock()
	defer g.mu.Unlock()
	openTarget := map[string]incident.Incident{}
	for _, inc := range snap.OpenIncidents {
		if inc.Kind == incident.KindTarget {
			openTarget[inc.Subject] = inc
		}
	}
	var c incident.Change
	var msgs []Message
	now := g.o.Now()
	for _, inc := range snap.OpenIncidents {
		if inc.Kind != incident.KindGroup {
			continue
		}
		gs := g.groups[inc.Subject]
		if gs == nil || gs.inc != nil {
			inc.ClosedAt = now // the group is gone from the config
			c.Incidents = append(c.Incidents, inc)
			continue
		}
		inc := inc
		gs.inc, gs.in, gs.up, gs.lastSent = &inc, map[string]*groupMember{}, map[string]bool{}, now
		for _, m := range parseGroupCause(inc.Cause) {
			m := m
			gs.in[m.Name] = &m
			if _, down := openTarget[m.Name]; !down {
				gs.up[m.Name] = true // recovered before the stop, or removed
			}
		}
		cc, mm := g.maybeRecovered(gs, now)
		held := g.held[inc.ID]
		delete(g.held, inc.ID)
		switch {
		case len(cc.Incidents) > 0 && held:
			c.Incidents = append(c.Incidents, cc.Incidents...) // its DOWN never went out: nor does this
		case len(cc.Incidents) > 0:
			c.Incidents = append(c.Incidents, cc.Incidents...)
			msgs = append(msgs, mm...)
		case held:
			msgs = append(msgs, g.heldDown(gs, openTarget, now))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(openTarget)) {
		gname, ok := g.group[name]
		if !ok {
			continue
		}
		if gs := g.groups[gname]; gs.inc != nil && gs.in[name] != nil {
			continue
		}
		inc := openTarget[name]
		m := downMessage(inc, inc.OpenedAt, nil)
		m.Group = gname
		msgs = append(msgs, m)
	}
	if !c.Empty() || len(msgs) > 0 {
		g.next.Emit(c, msgs...)
	}
}

// heldDown composes again the grouped DOWN of gs's open incident, which a
// cover held when pollerd stopped: every announced member still down, each
// with its own incident's cause and start.
func (g *Grouping) heldDown(gs *groupState, openTarget map[string]incident.Incident, now time.Time) Message {
	var down []groupMember
	for _, name := range gs.members {
		if gs.in[name] == nil || gs.up[name] {
			continue
		}
		m := groupMember{Name: name, Since: gs.inc.OpenedAt}
		if inc, ok := openTarget[name]; ok {
			m.Reason, m.Since = oneLine(inc.Cause), inc.OpenedAt
		}
		down = append(down, m)
	}
	g.o.Logger.Info("held grouped DOWN restored", zap.String("group", gs.name), zap.Int64("incident", gs.inc.ID),
		zap.Int("down", len(down)))
	return groupDownMessage(*gs.inc, down, len(gs.members), now)
}

// Emit holds and folds group members' DOWN and RECOVERED, and passes every
// change and every other message on.
func (g *Grouping) Emit(c incident.Change, msgs ...Message) {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]Message, 0, len(msgs))
	for _, m := range msgs {
		gname, ok := g.group[m.Target]
		if !ok || (m.Kind != KindDown && m.Kind != KindRecovered) {
			out = append(out, m)
			continue
		}
		m.Group = gname
		gs := g.groups[gname]
		if m.Kind == KindDown {
			g.hold(gs, m)
			continue
		}
		// RECOVERED
		if _, held := gs.pending[m.Target]; held {
			delete(gs.pending, m.Target) // never announced: nothing to say
			gs.order = slices.DeleteFunc(gs.order, func(s string) bool { return s == m.Target })
			continue
		}
		if gs.inc == nil || gs.in[m.Target] == nil || gs.up[m.Target] {
			out = append(out, m) // announced alone
			continue
		}
		gs.up[m.Target] = true
		gs.in[m.Target].Downtime = m.Downtime
		gs.inc.Cause = groupCause(gs)
		cc, mm := g.maybeRecovered(gs, m.At)
		if len(cc.Incidents) == 0 {
			cc.Incidents = []incident.Incident{*gs.inc} // the member's downtime, for a restart
		}
		c.Incidents = append(c.Incidents, cc.Incidents...)
		out = append(out, mm...)
	}
	g.next.Emit(c, out...)
}

// hold keeps a member's DOWN: into the open group incident's next
// follow-up, or for a sweep of its group.
func (g *Grouping) hold(gs *groupState, m Message) {
	if _, dup := gs.pending[m.Target]; !dup {
		gs.order = append(gs.order, m.Target)
	}
	gs.pending[m.Target] = m
	if gs.inc != nil {
		if gs.timer == nil {
			wait := max(gs.lastSent.Add(g.o.Wait).Sub(g.o.Now()), 0)
			gs.timer = time.AfterFunc(wait, func() { g.followup(gs) })
		}
		return
	}
	if gs.sweeping {
		return
	}
	gs.sweeping = true
	others := slices.DeleteFunc(slices.Clone(gs.members), func(s string) bool { return s == m.Target })
	g.wg.Add(1)
	go g.sweep(gs, others)
}

// sweep confirms the rest of the group, then decides what to announce. It
// runs without the lock: members found down come back through the engine
// into Emit meanwhile.
func (g *Grouping) sweep(gs *groupState, others []string) {
	defer g.wg.Done()
	start := time.Now()
	if g.o.Confirmer != nil && len(others) > 0 {
		ctx, cancel := context.WithTimeout(g.ctx, g.o.SweepTimeout)
		g.o.Confirmer.Confirm(ctx, others)
		cancel()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	gs.sweeping = false
	held := g.takePending(gs)
	g.o.Logger.Info("group swept", zap.String("group", gs.name), zap.Int("down", len(held)),
		zap.Int("members", len(gs.members)), zap.Duration("took", time.Since(start)))
	switch {
	case len(held) == 0:
	case gs.inc != nil:
		g.announceFollowup(gs, held)
	case len(held) == 1:
		g.next.Emit(incident.Change{}, held[0]) // alone: its own DOWN
	default:
		g.open(gs, held)
	}
}

// takePending returns the held DOWNs in arrival order and empties them.
func (g *Grouping) takePending(gs *groupState) []Message {
	out := make([]Message, 0, len(gs.order))
	for _, t := range gs.order {
		if m, ok := gs.pending[t]; ok {
			out = append(out, m)
		}
	}
	gs.pending, gs.order = map[string]Message{}, nil
	return out
}

// open starts the group incident with held and announces it.
func (g *Grouping) open(gs *groupState, held []Message) {
	now := g.o.Now()
	inc := incident.Incident{ID: g.ids(), Kind: incident.KindGroup, Subject: gs.name, OpenedAt: held[0].Since}
	gs.inc, gs.in, gs.up, gs.lastSent = &inc, map[string]*groupMember{}, map[string]bool{}, now
	down := g.admit(gs, held)
	gs.inc.OpenedAt = down[0].Since
	for _, m := range down {
		if m.Since.Before(gs.inc.OpenedAt) {
			gs.inc.OpenedAt = m.Since
		}
	}
	gs.inc.Cause = groupCause(gs)
	g.next.Emit(incident.Change{Incidents: []incident.Incident{*gs.inc}},
		groupDownMessage(*gs.inc, down, len(gs.members), now))
}

// admit adds held members to the group incident, in the group's order.
// Held DOWNs are indexed by target first: a 1,000-member group down at
// once is 1,000 lookups, not 1,000,000 comparisons under the lock.
func (g *Grouping) admit(gs *groupState, held []Message) []groupMember {
	byTarget := make(map[string]*Message, len(held))
	for i := range held {
		byTarget[held[i].Target] = &held[i]
	}
	out := make([]groupMember, 0, len(held))
	for _, name := range gs.members {
		if m := byTarget[name]; m != nil {
			gm := groupMember{Name: name, Reason: m.Reason, Since: m.Since}
			gs.in[name] = &gm
			delete(gs.up, name)
			out = append(out, gm)
		}
	}
	return out
}

// followup is the follow-up timer: the held members of an open group.
func (g *Grouping) followup(gs *groupState) {
	g.mu.Lock()
	defer g.mu.Unlock()
	gs.timer = nil
	if g.ctx.Err() != nil {
		return
	}
	if held := g.takePending(gs); len(held) > 0 {
		if gs.inc == nil {
			// The group recovered meanwhile: these start afresh.
			for _, m := range held {
				g.hold(gs, m)
			}
			return
		}
		g.announceFollowup(gs, held)
	}
}

func (g *Grouping) announceFollowup(gs *groupState, held []Message) {
	now := g.o.Now()
	added := g.admit(gs, held)
	gs.inc.Cause = groupCause(gs)
	gs.lastSent = now
	var down []groupMember
	for _, name := range gs.members {
		if m := gs.in[name]; m != nil && !gs.up[name] {
			down = append(down, *m)
		}
	}
	g.next.Emit(incident.Change{Incidents: []incident.Incident{*gs.inc}},
		groupFollowupMessage(*gs.inc, len(gs.in), added, down, len(gs.members), now))
}

// maybeRecovered closes the group incident when every member it announced
// is up and none is held, returning the change and the grouped RECOVERED.
func (g *Grouping) maybeRecovered(gs *groupState, at time.Time) (incident.Change, []Message) {
	for name := range gs.in {
		if !gs.up[name] {
			return incident.Change{}, nil
		}
	}
	if len(gs.pending) > 0 {
		// Members went down after the others came back: announce them now,
		// in this incident, rather than let it close without them.
		held := g.takePending(gs)
		added := g.admit(gs, held)
		gs.inc.Cause = groupCause(gs)
		gs.lastSent = at
		m := groupFollowupMessage(*gs.inc, len(gs.in), added, added, len(gs.members), at)
		return incident.Change{Incidents: []incident.Incident{*gs.inc}}, []Message{m}
	}
	inc := *gs.inc
	inc.ClosedAt = at
	var members []groupMember
	for _, name := range gs.members {
		if m := gs.in[name]; m != nil {
			members = append(members, *m)
		}
	}
	gs.inc, gs.in, gs.up = nil, nil, nil
	if gs.timer != nil {
		gs.timer.Stop()
		gs.timer = nil
	}
	return incident.Change{Incidents: []incident.Incident{inc}}, []Message{groupRecoveredMessage(inc, members, at)}
}
