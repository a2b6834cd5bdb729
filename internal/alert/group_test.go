package alert

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/incident"
)

var gt0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// memberDown is what the engine emits for a member's DOWN.
func memberDown(id int64, target string) (incident.Change, Message) {
	inc := incident.Incident{ID: id, Kind: incident.KindTarget, Subject: target, OpenedAt: gt0, Cause: "connection refused"}
	return incident.Change{Incidents: []incident.Incident{inc}}, downMessage(inc, gt0, nil)
}

func memberUp(id int64, target string, after time.Duration) (incident.Change, Message) {
	inc := incident.Incident{ID: id, Kind: incident.KindTarget, Subject: target, OpenedAt: gt0, ClosedAt: gt0.Add(after), Cause: "connection refused"}
	return incident.Change{Incidents: []incident.Incident{inc}}, recoveredMessage(inc, gt0.Add(after))
}

// newTestGrouping is a group "home" of a..e whose sweep finds sweepDown
// down (they arrive as their own DOWNs, as through the engine).
func newTestGrouping(t *testing.T, sweepDown ...string) (*Grouping, *recordSink) {
	t.Helper()
	rec := &recordSink{}
	var g *Grouping
	var ids atomic.Int64
	ids.Store(100)
	g = NewGrouping(GroupOptions{
		Groups: map[string][]string{"home": {"a", "b", "c", "d", "e"}},
		Wait:   50 * time.Millisecond,
		Confirmer: ConfirmFunc(func(_ context.Context, targets []string) []string {
			for i, name := range sweepDown {
				c, m := memberDown(int64(10+i), name)
				g.Emit(c, m)
			}
			return sweepDown
		}),
	})
	g.UseIDs(func() int64 { return ids.Add(1) })
	g.Stage(rec)
	t.Cleanup(func() { _ = g.Close(context.Background()) })
	return g, rec
}

func waitMessages(t *testing.T, rec *recordSink, n int) []Message {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(rec.messages()) < n && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // nothing more
	return rec.want(t, n)
}

func TestGrouping_FoldsASweep(t *testing.T) {
	g, rec := newTestGrouping(t, "c", "b")
	c, m := memberDown(1, "a")
	g.Emit(c, m)
	if len(rec.changes) != 1 || len(rec.changes[0].Incidents) != 1 {
		t.Fatalf("the member's incident was not passed on at once: %+v", rec.changes)
	}
	down := waitMessages(t, rec, 1)[0]
	if down.Text != "home: 3 of 5 DOWN — a, b, c" || down.Key != "101:down" || down.Kind != KindDown ||
		strings.Join(down.Targets, ",") != "a,b,c" {
		t.Errorf("grouped DOWN = %+v", down)
	}

	// Later members: one follow-up per Wait.
	c, m = memberDown(20, "d")
	g.Emit(c, m)
	c, m = memberDown(21, "e")
	g.Emit(c, m)
	fu := waitMessages(t, rec, 2)[1]
	if fu.Key != "101:followup-5" || !strings.Contains(fu.Text, "2 more DOWN — d, e") || !strings.Contains(fu.Text, "5 of 5 DOWN") {
		t.Errorf("follow-up = %+v", fu)
	}

	for i, name := range []string{"a", "b", "c", "d"} {
		c, m := memberUp(int64(i), name, time.Duration(i+1)*time.Minute)
		g.Emit(c, m)
	}
	rec.want(t, 2) // no member RECOVERED alone
	c, m = memberUp(21, "e", 10*time.Minute)
	g.Emit(c, m)
	rcv := rec.want(t, 3)[2]
	if rcv.Key != "101:recovered" || rcv.Kind != KindRecovered ||
		rcv.Text != "home RECOVERED — a after 1m0s, b after 2m0s, c after 3m0s, d after 4m0s, e after 10m0s" {
		t.Errorf("grouped RECOVERED = %+v", rcv)
	}
	last := rec.changes[len(rec.changes)-1]
	if len(last.Incidents) != 2 || last.Incidents[1].Kind != incident.KindGroup || last.Incidents[1].Open() {
		t.Errorf("the last member's close and the group's close are not one write: %+v", last.Incidents)
	}
}

func TestGrouping_Alone(t *testing.T) {
	g, rec := newTestGrouping(t)
	c, m := memberDown(1, "a")
	g.Emit(c, m)
	got := waitMessages(t, rec, 1)[0]
	if got.Key != "1:down" || got.Text != "a is DOWN: connection refused" || got.Group != "home" {
		t.Errorf("lone member's DOWN = %+v", got)
	}
	c, m = memberUp(1, "a", time.Minute)
	g.Emit(c, m)
	if got := rec.want(t, 2)[1]; got.Key != "1:recovered" {
		t.Errorf("lone member's RECOVERED = %+v", got)
	}
	// Not in a group: untouched.
	c, m = memberDown(2, "zz")
	g.Emit(c, m)
	rec.want(t, 3)
}

// A restart in the middle of a group outage: no second DOWN, one RECOVERED
// with every member's downtime; a member held at the stop is re-sent.
func TestGrouping_Restore(t *testing.T) {
	g, rec := newTestGrouping(t)
	g.Restore(incident.Snapshot{OpenIncidents: []incident.Incident{
		{ID: 101, Kind: incident.KindGroup, Subject: "home", OpenedAt: gt0, Cause: "a (up after 1m0s), b, c"},
		{ID: 2, Kind: incident.KindTarget, Subject: "b", OpenedAt: gt0},
		{ID: 3, Kind: incident.KindTarget, Subject: "c", OpenedAt: gt0},
		{ID: 4, Kind: incident.KindTarget, Subject: "d", OpenedAt: gt0, Cause: "timeout"}, // held at the stop
		{ID: 102, Kind: incident.KindGroup, Subject: "gone", OpenedAt: gt0},
	}})
	got := rec.want(t, 1)[0]
	if got.Key != "4:down" || got.Target != "d" {
		t.Errorf("re-sent held DOWN = %+v", got)
	}
	if inc := rec.changes[0].Incidents; len(inc) != 1 || inc[0].ID != 102 || inc[0].Open() {
		t.Errorf("the gone group's incident is not closed: %+v", inc)
	}
	c, m := memberUp(2, "b", 2*time.Minute)
	g.Emit(c, m)
	c, m = memberUp(3, "c", 3*time.Minute)
	g.Emit(c, m)
	rcv := rec.want(t, 2)[1]
	if rcv.Key != "101:recovered" || rcv.Text != "home RECOVERED — a after 1m0s, b after 2m0s, c after 3m0s" {
		t.Errorf("RECOVERED after restart = %+v", rcv)
	}
}

// A member whose DOWN is held and who recovers in the sweep sends nothing.
func TestGrouping_RecoveredWhileHeld(t *testing.T) {
	g, rec := newTestGrouping(t)
	g.o.Confirmer = ConfirmFunc(func(context.Context, []string) []string {
		c, m := memberUp(1, "a", time.Second)
		g.Emit(c, m)
		return nil
	})
	c, m := memberDown(1, "a")
	g.Emit(c, m)
	waitMessages(t, rec, 0)
}

func TestGroupCause_RoundTrip(t *testing.T) {
	gs := &groupState{members: []string{"a", "b", "c", "d"},
		in: map[string]*groupMember{"a": {Name: "a", Downtime: time.Minute}, "b": {Name: "b"}, "d": {Name: "d", Downtime: -1}},
		up: map[string]bool{"a": true, "d": true}}
	s := groupCause(gs)
	if s != "a (up after 1m0s), b, d (up after ?)" {
		t.Fatalf("cause = %q", s)
	}
	got := fmt.Sprint(parseGroupCause(s))
	if want := fmt.Sprint([]groupMember{{Name: "a", Downtime: time.Minute}, {Name: "b"}, {Name: "d", Downtime: -1}}); got != want {
		t.Errorf("parsed %s, want %s", got, want)
	}
}
