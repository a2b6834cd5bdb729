package alert

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/incident"
)

// heldGroupRig is the group stage in front of the cover stage, restored
// after a restart in which group incident 101 (a, b, c down) had its
// grouped DOWN held by a cover: no "101:down" outbox row.
type heldGroupRig struct {
	g      *Grouping
	cover  *Cover
	covers *fakeCovers
	clock  *clock
	sink   *recordSink
}

func newHeldGroupRig(t *testing.T, at time.Time, coverUntil time.Time, open []incident.Incident) *heldGroupRig {
	t.Helper()
	r := &heldGroupRig{covers: &fakeCovers{}, clock: &clock{t: at}, sink: &recordSink{}}
	for _, m := range []string{"a", "b", "c"} {
		r.covers.set(m, coverUntil)
	}
	var err error
	r.cover, err = NewCover(CoverOptions{Covers: r.covers, Now: r.clock.now,
		Grouped: func(string) bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	r.g, _ = newTestGrouping(t)
	r.g.o.Now = r.clock.now
	r.g.Stage(r.cover.Stage()(r.sink))
	group := incident.Incident{ID: 101, Kind: incident.KindGroup, Subject: "home", OpenedAt: gt0, Cause: "a, b, c"}
	r.g.Unannounced([]incident.Incident{group})
	r.g.Restore(incident.Snapshot{OpenIncidents: append([]incident.Incident{group}, open...)})
	return r
}

func openMembers(names ...string) []incident.Incident {
	var out []incident.Incident
	for i, n := range names {
		out = append(out, incident.Incident{ID: int64(i + 1), Kind: incident.KindTarget, Subject: n, OpenedAt: gt0.Add(time.Duration(i) * time.Second), Cause: "connection refused"})
	}
	return out
}

// A grouped DOWN held by a cover when pollerd stopped is composed again at
// Restore, held again while the cover lasts, and goes out when it ends.
func TestGrouping_HeldDownSurvivesRestart(t *testing.T) {
	end := gt0.Add(30 * time.Minute)
	r := newHeldGroupRig(t, gt0.Add(10*time.Minute), end, openMembers("a", "b", "c"))
	r.sink.want(t, 0)
	if got := r.cover.Held(); !slices.Equal(got, []int64{101}) {
		t.Fatalf("held after restore = %v, want [101]", got)
	}
	r.cover.Check(context.Background())
	r.sink.want(t, 0)
	r.clock.set(end)
	r.cover.Check(context.Background())
	d := r.sink.want(t, 1)[0]
	if d.Key != "101:down" || d.Kind != KindDown || d.Group != "home" || strings.Join(d.Targets, ",") != "a,b,c" ||
		!strings.HasPrefix(d.Text, "home: 3 of 5 DOWN — a, b, c") || !strings.Contains(d.Text, "down for 30m0s") ||
		!d.Since.Equal(gt0) || !strings.Contains(d.Fields[0].Value, "a: connection refused") {
		t.Errorf("released grouped DOWN = %+v", d)
	}
	// Then one grouped RECOVERED, as for any announced group outage.
	for i, n := range []string{"a", "b", "c"} {
		c, m := memberUp(int64(i+1), n, 40*time.Minute)
		r.g.Emit(c, m)
	}
	if rcv := r.sink.want(t, 2)[1]; rcv.Key != "101:recovered" {
		t.Errorf("after the release: %+v", rcv)
	}
}

// Members that came back inside the cover after the restart: nothing at all.
func TestGrouping_HeldDownHealedInsideCover(t *testing.T) {
	end := gt0.Add(30 * time.Minute)
	r := newHeldGroupRig(t, gt0.Add(10*time.Minute), end, openMembers("a", "b", "c"))
	for i, n := range []string{"a", "b", "c"} {
		c, m := memberUp(int64(i+1), n, 20*time.Minute)
		r.g.Emit(c, m)
	}
	r.clock.set(end.Add(time.Minute))
	r.cover.Check(context.Background())
	r.sink.want(t, 0)
	if len(r.cover.Held()) != 0 {
		t.Errorf("still held: %v", r.cover.Held())
	}
	last := r.sink.changes[len(r.sink.changes)-1]
	if len(last.Incidents) == 0 || last.Incidents[len(last.Incidents)-1].ID != 101 || last.Incidents[len(last.Incidents)-1].Open() {
		t.Errorf("the group incident did not close: %+v", last.Incidents)
	}
}

// The cover ended while pollerd was stopped: the grouped DOWN goes out at
// Restore, naming only the members still down.
func TestGrouping_HeldDownCoverEndedWhileStopped(t *testing.T) {
	r := newHeldGroupRig(t, gt0.Add(time.Hour), gt0.Add(30*time.Minute), openMembers("b", "c"))
	d := r.sink.want(t, 1)[0]
	if d.Key != "101:down" || !strings.HasPrefix(d.Text, "home: 2 of 5 DOWN — b, c") {
		t.Errorf("grouped DOWN at restore = %+v", d)
	}
}

// Every member came back while pollerd was stopped: the group incident
// closes, and neither its DOWN nor a RECOVERED goes out.
func TestGrouping_HeldDownAllBackWhileStopped(t *testing.T) {
	r := newHeldGroupRig(t, gt0.Add(time.Hour), gt0.Add(30*time.Minute), nil)
	r.sink.want(t, 0)
	if len(r.sink.changes) != 1 || len(r.sink.changes[0].Incidents) != 1 || r.sink.changes[0].Incidents[0].Open() {
		t.Errorf("changes = %+v, want the group incident closed", r.sink.changes)
	}
}

// A follow-up of a held grouped DOWN never goes ahead of it: held behind it
// while covered, released with it; uncovered, it takes the DOWN along.
func TestCover_FollowupBehindHeldGroupDown(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)
	down := Message{Kind: KindDown, Group: "home", Targets: []string{"a", "b"}, IncidentID: 101, Key: "101:down", Since: t0}
	fu := Message{Kind: KindDown, Group: "home", Targets: []string{"c"}, IncidentID: 101, Key: "101:followup-3", Since: t0}
	fu2 := Message{Kind: KindDown, Group: "home", Targets: []string{"d"}, IncidentID: 101, Key: "101:followup-4", Since: t0}

	clk := &clock{t: t0}
	covers := &fakeCovers{}
	for _, m := range []string{"a", "b", "c"} {
		covers.set(m, t0.Add(time.Hour))
	}
	sink := &recordSink{}
	c, _ := NewCover(CoverOptions{Covers: covers, Now: clk.now})
	s := c.Stage()(sink)
	s.Emit(incident.Change{}, down)
	s.Emit(incident.Change{}, fu)
	sink.want(t, 0)
	clk.set(t0.Add(time.Hour))
	c.Check(context.Background())
	if got := sink.want(t, 2); got[0].Key != "101:down" || got[1].Key != "101:followup-3" {
		t.Fatalf("released %s, %s", got[0].Key, got[1].Key)
	}

	clk.set(t0)
	sink = &recordSink{}
	c, _ = NewCover(CoverOptions{Covers: covers, Now: clk.now})
	s = c.Stage()(sink)
	s.Emit(incident.Change{}, down)
	s.Emit(incident.Change{}, fu)
	s.Emit(incident.Change{}, fu2) // d is not covered
	got := sink.want(t, 3)
	if got[0].Key != "101:down" || got[1].Key != "101:followup-3" || got[2].Key != "101:followup-4" {
		t.Fatalf("sent %s, %s, %s", got[0].Key, got[1].Key, got[2].Key)
	}
	if len(c.Held()) != 0 {
		t.Errorf("still held: %v", c.Held())
	}
}

// A member back before its group's held DOWN went out is not named in it
// (a grouped DOWN names none that is up); when every member it named is
// back, nothing goes out, nor the group's RECOVERED.
func TestCover_HeldGroupDownLosesHealedMembers(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)
	inc := incident.Incident{ID: 101, Kind: incident.KindGroup, Subject: "home", OpenedAt: t0}
	down := groupDownMessage(inc, []groupMember{{Name: "a", Reason: "refused", Since: t0}, {Name: "b", Reason: "timeout", Since: t0},
		{Name: "c", Reason: "refused", Since: t0}}, 5, t0)
	closed := func(id int64, name string, at time.Time) incident.Change {
		return incident.Change{Incidents: []incident.Incident{{ID: id, Kind: incident.KindTarget, Subject: name, OpenedAt: t0, ClosedAt: at}}}
	}

	// heldFor is a cover over a, b and c for an hour, holding m.
	heldFor := func(m Message) (*clock, *Cover, Sink, *recordSink) {
		clk := &clock{t: t0}
		covers := &fakeCovers{}
		for _, name := range []string{"a", "b", "c"} {
			covers.set(name, t0.Add(time.Hour))
		}
		sink := &recordSink{}
		c, _ := NewCover(CoverOptions{Covers: covers, Now: clk.now})
		s := c.Stage()(sink)
		s.Emit(incident.Change{}, m)
		return clk, c, s, sink
	}

	t.Run("some back", func(t *testing.T) {
		clk, c, s, sink := heldFor(down)
		s.Emit(closed(2, "b", t0.Add(10*time.Minute)))
		clk.set(t0.Add(time.Hour))
		c.Check(context.Background())
		got := sink.want(t, 1)[0]
		if !slices.Equal(got.Targets, []string{"a", "c"}) || !strings.HasPrefix(got.Text, "home: 2 of 5 DOWN — a, c") {
			t.Errorf("released %v %q, want a and c, 2 of 5", got.Targets, got.Text)
		}
		for _, f := range got.Fields {
			if strings.Contains(f.Value, "b: timeout") {
				t.Errorf("field %s still names b: %q", f.Label, f.Value)
			}
		}
	})

	t.Run("all back", func(t *testing.T) {
		clk, c, s, sink := heldFor(down)
		for i, n := range []string{"a", "b", "c"} {
			s.Emit(closed(int64(i+1), n, t0.Add(10*time.Minute)))
		}
		clk.set(t0.Add(time.Hour))
		c.Check(context.Background())
		sink.want(t, 0)
		inc := inc
		inc.ClosedAt = t0.Add(10 * time.Minute)
		s.Emit(incident.Change{Incidents: []incident.Incident{inc}}, Message{Kind: KindRecovered, Group: "home", IncidentID: 101, Key: "101:recovered"})
		sink.want(t, 0)
	})
}
