package alert

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A reload that moves a member out of a group with an open incident: the
// incident goes on with the rest (one grouped RECOVERED naming them), the
// member recovers alone; a new group is grouped at once.
func TestGrouping_ApplyMemberLeaves(t *testing.T) {
	g, rec := newTestGrouping(t, "c", "b")
	c, m := memberDown(1, "a")
	g.Emit(c, m)
	if down := waitMessages(t, rec, 1)[0]; down.Text != "home: 3 of 5 DOWN — a, b, c" {
		t.Fatalf("grouped DOWN = %q", down.Text)
	}
	g.Apply(map[string][]string{"home": {"a", "b", "d", "e"}, "db": {"x", "y"}}, time.Second)
	rec.mu.Lock()
	last := rec.changes[len(rec.changes)-1]
	rec.mu.Unlock()
	if len(last.Incidents) != 1 || strings.Contains(last.Incidents[0].Cause, "c") {
		t.Errorf("group incident after c left: %+v", last.Incidents)
	}

	for i, name := range []string{"a", "b"} {
		c, m := memberUp(int64(1+9*i+i), name, time.Minute) // ids 1 and 11, as the sweep gave b
		g.Emit(c, m)
	}
	msgs := waitMessages(t, rec, 2)
	if r := msgs[1]; r.Kind != KindRecovered || r.Group != "home" || strings.Join(r.Targets, ",") != "a,b" {
		t.Errorf("grouped RECOVERED = %+v", r)
	}
	c, m = memberUp(10, "c", time.Minute)
	g.Emit(c, m)
	if r := waitMessages(t, rec, 3)[2]; r.Kind != KindRecovered || r.Target != "c" || r.Group != "" {
		t.Errorf("c's RECOVERED = %+v, want its own", r)
	}
	if g.o.Wait != time.Second {
		t.Errorf("group_wait = %s after Apply, want 1s", g.o.Wait)
	}
}

// A group removed by a reload: its open incident closes without a word,
// its members recover alone; with no groups, a DOWN is not held.
func TestGrouping_ApplyGroupGone(t *testing.T) {
	g, rec := newTestGrouping(t, "b")
	c, m := memberDown(1, "a")
	g.Emit(c, m)
	waitMessages(t, rec, 1)
	g.Apply(nil, 0)
	rec.mu.Lock()
	last := rec.changes[len(rec.changes)-1]
	rec.mu.Unlock()
	if len(last.Incidents) != 1 || last.Incidents[0].Open() {
		t.Errorf("the gone group's incident: %+v, want it closed", last.Incidents)
	}
	if n := len(rec.messages()); n != 1 {
		t.Errorf("%d messages after Apply, want none more", n-1)
	}
	c, m = memberUp(1, "a", time.Minute)
	g.Emit(c, m)
	c, m = memberDown(2, "z")
	g.Emit(c, m)
	msgs := waitMessages(t, rec, 3)
	if msgs[1].Target != "a" || msgs[1].Kind != KindRecovered || msgs[2].Target != "z" || msgs[2].Kind != KindDown {
		t.Errorf("after the group is gone: %+v", msgs[1:])
	}
}

// A member whose DOWN is held for a sweep when its group goes: it goes out
// at once, alone.
func TestGrouping_ApplyReleasesHeld(t *testing.T) {
	rec := &recordSink{}
	block := make(chan struct{})
	g := NewGrouping(GroupOptions{Groups: map[string][]string{"home": {"a", "b"}},
		Confirmer: ConfirmFunc(func(ctx context.Context, _ []string) []string { <-block; return nil })})
	g.Stage(rec)
	defer func() { close(block); _ = g.Close(context.Background()) }()
	c, m := memberDown(1, "a")
	g.Emit(c, m)
	if n := len(rec.messages()); n != 0 {
		t.Fatalf("%d messages while sweeping", n)
	}
	g.Apply(map[string][]string{}, 0)
	msgs := rec.want(t, 1)
	if msgs[0].Target != "a" || msgs[0].Kind != KindDown || msgs[0].Group != "" {
		t.Errorf("released DOWN = %+v", msgs[0])
	}
}
