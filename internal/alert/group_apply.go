package alert

import (
	"maps"
	"slices"
	"time"

	"github.com/pollerd/pollerd/internal/incident"
)

// Apply puts a reloaded grouping in force: groups (group → members) and
// wait (alerting.group_wait; ≤ 0 is the default 30s). Groups that stay keep
// their open incident, held DOWNs and follow-up pace, with the new members.
// A member that left its group (or whose group is gone) is released: its
// held DOWN goes out alone now, and it is dropped from its group's open
// incident, so its RECOVERED later goes out alone too. A group incident
// left with no member (its group is gone, or all its members left) closes
// without a message, as at Restore; one whose remaining members are all up
// closes with its grouped RECOVERED.
func (g *Grouping) Apply(groups map[string][]string, wait time.Duration) {
	if wait <= 0 {
		wait = 30 * time.Second
	}
	member := map[string]string{}
	for name, ms := range groups {
		for _, m := range ms {
			member[m] = name
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.o.Wait, g.o.Groups, g.group = wait, groups, member
	now := g.o.Now()
	var c incident.Change
	var out []Message
	for _, name := range slices.Sorted(maps.Keys(g.groups)) {
		gs := g.groups[name]
		ms, stays := groups[name]
		gs.members = ms
		for _, t := range slices.Clone(gs.order) {
			if member[t] == name {
				continue
			}
			m := gs.pending[t]
			delete(gs.pending, t)
			gs.order = slices.DeleteFunc(gs.order, func(s string) bool { return s == t })
			m.Group = member[t]
			out = append(out, m)
		}
		if gs.inc != nil {
			left := false
			for t := range gs.in {
				if member[t] != name {
					delete(gs.in, t)
					delete(gs.up, t)
					left = true
				}
			}
			switch {
			case !left:
			case len(gs.in) == 0:
				inc := *gs.inc
				inc.ClosedAt = now
				c.Incidents = append(c.Incidents, inc)
				gs.inc, gs.in, gs.up = nil, nil, nil
			default:
				gs.inc.Cause = groupCause(gs)
				cc, mm := g.maybeRecovered(gs, now)
				if len(cc.Incidents) == 0 {
					cc.Incidents = []incident.Incident{*gs.inc}
				}
				c.Incidents = append(c.Incidents, cc.Incidents...)
				out = append(out, mm...)
			}
		}
		if !stays {
			if gs.timer != nil {
				gs.timer.Stop()
				gs.timer = nil
			}
			delete(g.groups, name)
		}
	}
	for name, ms := range groups {
		if _, ok := g.groups[name]; !ok {
			g.groups[name] = &groupState{name: name, members: ms, pending: map[string]Message{}}
		}
	}
	if !c.Empty() || len(out) > 0 {
		g.next.Emit(c, out...)
	}
}
