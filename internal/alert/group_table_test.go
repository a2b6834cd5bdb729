package alert

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The grouping decisions as a table. Group "home" is a..e; each sweep
// finds the members its entry in sweeps lists down (they arrive as their
// own DOWNs, as through the engine); member x's incident id is its
// position (a=1 … e=5), zz is in no group (id 26), group incidents are
// numbered from 101.

type gstep struct {
	op     string // down, up, count
	target string
	n      int           // count: wait for n messages, then exactly n
	after  time.Duration // up: the member's downtime
}

type gwant struct {
	kind Kind
	key  string
	has  []string
	not  []string // members the message must not name (its Targets)
}

func memberID(name string) int64 { return int64(name[0]-'a') + 1 }

func TestGrouping_DecisionsTable(t *testing.T) {
	down := func(x string) gstep { return gstep{op: "down", target: x} }
	up := func(x string, after time.Duration) gstep { return gstep{op: "up", target: x, after: after} }
	count := func(n int) gstep { return gstep{op: "count", n: n} }
	m := time.Minute
	tests := []struct {
		name   string
		wait   time.Duration // group_wait
		sweeps [][]string
		steps  []gstep
		want   []gwant
		swept  int // sweeps run
	}{
		{name: "lone member: its own DOWN", sweeps: [][]string{nil},
			steps: []gstep{down("a")},
			want:  []gwant{{KindDown, "1:down", []string{"a is DOWN"}, []string{"b", "c", "d", "e"}}}, swept: 1},
		{name: "two of five: one grouped DOWN", sweeps: [][]string{{"c"}},
			steps: []gstep{down("a")},
			want:  []gwant{{KindDown, "101:down", []string{"home: 2 of 5 DOWN — a, c"}, []string{"b", "d", "e"}}}, swept: 1},
		{name: "whole group", sweeps: [][]string{{"e", "b", "d", "a"}},
			steps: []gstep{down("c")},
			want:  []gwant{{KindDown, "101:down", []string{"home: 5 of 5 DOWN — a, b, c, d, e"}, nil}}, swept: 1},
		{name: "not a member: at once, no sweep",
			steps: []gstep{down("zz"), count(1)},
			want:  []gwant{{KindDown, "26:down", []string{"zz is DOWN"}, nil}}},
		{name: "lone member's RECOVERED is its own", sweeps: [][]string{nil},
			steps: []gstep{down("a"), count(1), up("a", m)},
			want:  []gwant{{KindDown, "1:down", nil, nil}, {KindRecovered, "1:recovered", []string{"a RECOVERED"}, nil}}, swept: 1},
		{name: "later members: one follow-up per group_wait", wait: 300 * time.Millisecond, sweeps: [][]string{{"b"}},
			steps: []gstep{down("a"), count(1), down("c"), down("d"), count(1), count(2)},
			want: []gwant{{KindDown, "101:down", []string{"2 of 5 DOWN — a, b"}, nil},
				{KindDown, "101:followup-4", []string{"2 more DOWN — c, d", "4 of 5 DOWN"}, []string{"e"}}}, swept: 1},
		{name: "RECOVERED when the last announced member is up", sweeps: [][]string{{"b", "c"}},
			steps: []gstep{down("a"), count(1), up("a", m), up("c", 3*m), count(1), up("b", 2*m)},
			want: []gwant{{KindDown, "101:down", []string{"3 of 5 DOWN"}, nil},
				{KindRecovered, "101:recovered", []string{"home RECOVERED — a after 1m0s, b after 2m0s, c after 3m0s"}, []string{"d", "e"}}},
			swept: 1},
		// c goes down while the group is open and is held for the next
		// follow-up; the others recover before it: c is announced then
		// (not lost, not left for a group that closed), and the group's
		// RECOVERED waits for c.
		{name: "held member when the others recover", wait: time.Hour, sweeps: [][]string{{"b"}},
			steps: []gstep{down("a"), count(1), down("c"), up("a", m), up("b", 2*m), count(2), up("c", 3*m)},
			want: []gwant{{KindDown, "101:down", []string{"2 of 5 DOWN — a, b"}, nil},
				{KindDown, "101:followup-3", []string{"c"}, nil},
				{KindRecovered, "101:recovered", []string{"a after 1m0s", "b after 2m0s", "c after 3m0s"}, nil}},
			swept: 1},
		{name: "after the group recovered, a new outage sweeps again", sweeps: [][]string{{"b"}, nil},
			steps: []gstep{down("a"), count(1), up("a", m), up("b", m), count(2), down("a")},
			want: []gwant{{KindDown, "101:down", nil, nil}, {KindRecovered, "101:recovered", nil, nil},
				{KindDown, "1:down", []string{"a is DOWN"}, nil}}, swept: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recordSink{}
			var g *Grouping
			var ids atomic.Int64
			ids.Store(100)
			var mu sync.Mutex
			swept := 0
			wait := tt.wait
			if wait == 0 {
				wait = 50 * time.Millisecond
			}
			g = NewGrouping(GroupOptions{
				Groups: map[string][]string{"home": {"a", "b", "c", "d", "e"}},
				Wait:   wait,
				Confirmer: ConfirmFunc(func(_ context.Context, targets []string) []string {
					mu.Lock()
					found := tt.sweeps[swept]
					swept++
					mu.Unlock()
					for _, name := range found {
						if !slices.Contains(targets, name) {
							t.Errorf("sweep of %v finds %s", targets, name)
						}
						c, m := memberDown(memberID(name), name)
						g.Emit(c, m)
					}
					return found
				}),
			})
			g.UseIDs(func() int64 { return ids.Add(1) })
			g.Stage(rec)
			t.Cleanup(func() { _ = g.Close(context.Background()) })

			for _, s := range tt.steps {
				switch s.op {
				case "down":
					c, m := memberDown(memberID(s.target), s.target)
					g.Emit(c, m)
				case "up":
					c, m := memberUp(memberID(s.target), s.target, s.after)
					g.Emit(c, m)
				case "count":
					waitMessages(t, rec, s.n)
				}
			}
			got := waitMessages(t, rec, len(tt.want))
			for i, w := range tt.want {
				m := got[i]
				if m.Kind != w.kind || m.Key != w.key {
					t.Errorf("message %d: %s %s %q; want %s %s", i, m.Kind, m.Key, m.Text, w.kind, w.key)
				}
				for _, s := range w.has {
					if !strings.Contains(m.Text, s) {
						t.Errorf("message %d %q lacks %q", i, m.Text, s)
					}
				}
				for _, s := range w.not {
					if slices.Contains(m.Targets, s) || slices.Contains(strings.FieldsFunc(m.Text, func(r rune) bool {
						return r == ' ' || r == ',' || r == ':' || r == '(' || r == ')'
					}), s) {
						t.Errorf("message %d %q (targets %v) names %s", i, m.Text, m.Targets, s)
					}
				}
				if m.Target != "zz" && m.Group != "home" {
					t.Errorf("message %d has group %q, want home", i, m.Group)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if swept != tt.swept {
				t.Errorf("%d sweeps, want %d", swept, tt.swept)
			}
		})
	}
}

// A follow-up waits for group_wait after the grouped DOWN: not before.
func TestGrouping_FollowupNotBeforeWait(t *testing.T) {
	rec := &recordSink{}
	var ids atomic.Int64
	ids.Store(100)
	var g *Grouping
	g = NewGrouping(GroupOptions{
		Groups: map[string][]string{"home": {"a", "b", "c"}},
		Wait:   400 * time.Millisecond,
		Confirmer: ConfirmFunc(func(context.Context, []string) []string {
			c, m := memberDown(2, "b")
			g.Emit(c, m)
			return []string{"b"}
		}),
	})
	g.UseIDs(func() int64 { return ids.Add(1) })
	g.Stage(rec)
	t.Cleanup(func() { _ = g.Close(context.Background()) })
	c, m := memberDown(1, "a")
	g.Emit(c, m)
	waitMessages(t, rec, 1)
	sent := time.Now()
	c, m = memberDown(3, "c")
	g.Emit(c, m)
	time.Sleep(150 * time.Millisecond)
	if n := len(rec.messages()); n != 1 && time.Since(sent) < 400*time.Millisecond {
		t.Fatalf("follow-up before group_wait: %+v", rec.messages())
	}
	fu := waitMessages(t, rec, 2)[1]
	took := time.Since(sent)
	if fu.Key != "101:followup-3" || took < 350*time.Millisecond {
		t.Errorf("follow-up %s %q %s after the DOWN, want 101:followup-3 after ≥ 400ms", fu.Key, fu.Text, took)
	}
}
