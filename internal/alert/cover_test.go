package alert

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
	"go.uber.org/zap/zaptest"

	"github.com/pollerd/pollerd/internal/alert/alerttest"
	"github.com/pollerd/pollerd/internal/incident"
)

var coverParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

func mustSchedule(t *testing.T, spec string) cron.Schedule {
	t.Helper()
	s, err := coverParser.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMaintenanceWindow_Open(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	utc := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		name      string
		spec      string
		duration  time.Duration
		now       time.Time
		wantOpen  bool
		wantUntil time.Time
	}{
		// Sunday 2026-03-01 03:00 UTC is an activation of "0 3 * * 0".
		{"before the start", "0 3 * * 0", 30 * time.Minute, utc("2026-03-01T02:59:59Z"), false, time.Time{}},
		{"at the start", "0 3 * * 0", 30 * time.Minute, utc("2026-03-01T03:00:00Z"), true, utc("2026-03-01T03:30:00Z")},
		// pollerd started mid-window: the start is past, the duration is not.
		{"started mid-window", "0 3 * * 0", 30 * time.Minute, utc("2026-03-01T03:17:42Z"), true, utc("2026-03-01T03:30:00Z")},
		{"last instant", "0 3 * * 0", 30 * time.Minute, utc("2026-03-01T03:29:59.999Z"), true, utc("2026-03-01T03:30:00Z")},
		{"at the end", "0 3 * * 0", 30 * time.Minute, utc("2026-03-01T03:30:00Z"), false, time.Time{}},
		{"a week later, before", "0 3 * * 0", 30 * time.Minute, utc("2026-03-08T02:00:00Z"), false, time.Time{}},
		// Month end: the 31st exists in January, not in February.
		{"31st of january", "0 22 31 * *", 4 * time.Hour, utc("2026-02-01T01:00:00Z"), true, utc("2026-02-01T02:00:00Z")},
		{"no 31st of february", "0 22 31 * *", 4 * time.Hour, utc("2026-03-01T01:00:00Z"), false, time.Time{}},
		// Windows that overlap extend one another: :00 lasts to :30, :20 to :50.
		{"overlapping activations", "0,20 * * * * *", 30 * time.Second, utc("2026-03-01T00:00:25Z"), true, utc("2026-03-01T00:00:50Z")},
		// Activations closer than the duration: open for good (until capped).
		{"always open", "*/20 * * * * *", 30 * time.Second, utc("2026-03-01T00:00:45Z"), true, utc("2026-03-01T00:06:10Z")},
		{"6 fields, between windows", "*/20 * * * * *", 5 * time.Second, utc("2026-03-01T00:00:07Z"), false, time.Time{}},
		{"6 fields, inside", "*/20 * * * * *", 5 * time.Second, utc("2026-03-01T00:00:43Z"), true, utc("2026-03-01T00:00:45Z")},
		// Across DST in Paris, robfig/cron's way (as for target schedules):
		// 2026-03-29 02:30 local does not exist, so no window that night;
		{"dst spring forward: skipped", "CRON_TZ=Europe/Paris 30 2 * * *", time.Hour, time.Date(2026, 3, 29, 3, 10, 0, 0, paris), false, time.Time{}},
		{"dst spring forward: next night", "CRON_TZ=Europe/Paris 30 2 * * *", time.Hour, time.Date(2026, 3, 30, 3, 10, 0, 0, paris), true,
			time.Date(2026, 3, 30, 3, 30, 0, 0, paris)},
		// 2026-10-25 02:30 local happens twice (CEST, then CET): two
		// activations an hour apart, and 2 h windows that chain.
		{"dst fall back", "CRON_TZ=Europe/Paris 30 2 * * *", 2 * time.Hour, time.Date(2026, 10, 25, 3, 15, 0, 0, paris), true,
			time.Date(2026, 10, 25, 4, 30, 0, 0, paris)},
		{"descriptor", "@daily", time.Hour, utc("2026-03-01T00:59:00Z"), true, utc("2026-03-01T01:00:00Z")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := MaintenanceWindow{Name: "w", Schedule: mustSchedule(t, tt.spec), Duration: tt.duration}
			until, ok := w.Open(tt.now)
			if ok != tt.wantOpen || !until.Equal(tt.wantUntil) {
				t.Fatalf("Open(%v) = %v, %v; want %v, %v", tt.now, until, ok, tt.wantUntil, tt.wantOpen)
			}
		})
	}
}

func TestMaintenanceWindow_Covers(t *testing.T) {
	tests := []struct {
		name           string
		targets, group []string
		target, tgroup string
		want           bool
	}{
		{"neither: every target", nil, nil, "api", "", true},
		{"listed target", []string{"api"}, nil, "api", "", true},
		{"other target", []string{"api"}, nil, "db", "", false},
		{"listed group", nil, []string{"home"}, "db", "home", true},
		{"other group", nil, []string{"home"}, "db", "cloud", false},
		{"no group", nil, []string{"home"}, "db", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := MaintenanceWindow{Targets: tt.targets, Groups: tt.group}
			if got := w.Covers(tt.target, tt.tgroup); got != tt.want {
				t.Fatalf("Covers = %v, want %v", got, tt.want)
			}
		})
	}
}

type silenceFunc func(ctx context.Context, now time.Time) ([]incident.Silence, error)

func (f silenceFunc) ActiveSilences(ctx context.Context, now time.Time) ([]incident.Silence, error) {
	return f(ctx, now)
}

func TestCoverSet_Covered(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	set := &CoverSet{
		Windows: []MaintenanceWindow{{Name: "w", Schedule: mustSchedule(t, "0 12 * * *"), Duration: time.Minute, Targets: []string{"api"}}},
		Silences: silenceFunc(func(context.Context, time.Time) ([]incident.Silence, error) {
			return []incident.Silence{
				{ID: "a", Targets: []string{"api"}, StartsAt: now.Add(-time.Hour), EndsAt: now.Add(time.Hour)},
				{ID: "b", Groups: []string{"home"}, StartsAt: now.Add(-time.Hour), EndsAt: now.Add(2 * time.Hour)},
			}, nil
		}),
		GroupOf: func(target string) string {
			if target == "nas" {
				return "home"
			}
			return ""
		},
	}
	if _, ok := set.Covered("nas", now); ok {
		t.Fatal("covered before the first Refresh")
	}
	if err := set.Refresh(context.Background(), now); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		target string
		at     time.Time
		until  time.Time
		ok     bool
	}{
		{"api", now, now.Add(time.Hour), true},          // window and silence a: the longer
		{"nas", now, now.Add(2 * time.Hour), true},      // silence b, by group
		{"db", now, time.Time{}, false},                 // nothing
		{"api", now.Add(time.Hour), time.Time{}, false}, // silence a ended, the window too
		{"api", now.Add(30 * time.Second), now.Add(time.Hour), true},
	} {
		until, ok := set.Covered(tt.target, tt.at)
		if ok != tt.ok || !until.Equal(tt.until) {
			t.Errorf("Covered(%s, %v) = %v, %v; want %v, %v", tt.target, tt.at, until, ok, tt.until, tt.ok)
		}
	}
}

// fakeCovers covers the targets in its map until the time given.
type fakeCovers struct {
	mu    sync.Mutex
	until map[string]time.Time
}

func (f *fakeCovers) set(target string, until time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.until == nil {
		f.until = map[string]time.Time{}
	}
	f.until[target] = until
}

func (f *fakeCovers) Covered(target string, now time.Time) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.until[target]
	return u, ok && now.Before(u)
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// coverRig is an engine emitting through a Cover into a recording sink that
// writes to an alerttest store, like run.go wires them.
type coverRig struct {
	engine *Engine
	cover  *Cover
	sink   *recordSink
	covers *fakeCovers
	clock  *clock
	store  *alerttest.Store
}

func newCoverRig(t *testing.T, store *alerttest.Store, covers *fakeCovers, clk *clock, unannounced Unannounced) *coverRig {
	t.Helper()
	if store == nil {
		store = alerttest.NewStore()
	}
	sink := &recordSink{store: store}
	c, err := NewCover(CoverOptions{Covers: covers, Store: unannounced, Logger: zaptest.NewLogger(t), Now: clk.now,
		TargetChannels: map[string][]string{"api": {"slack"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	e, _ := startEngine(t, store, func(o *Options) { o.Sink = Chain(sink, c.Stage()); o.Now = clk.now })
	return &coverRig{engine: e, cover: c, sink: sink, covers: covers, clock: clk, store: store}
}

func TestCover_HoldAndRelease(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		steps func(r *coverRig)
		kinds []Kind
		check func(t *testing.T, got []Message)
	}{
		{
			name: "down and back inside the cover: nothing",
			steps: func(r *coverRig) {
				r.covers.set("api", t0.Add(30*time.Minute))
				r.engine.Transition(down("api", t0.Add(time.Minute), "connection refused"))
				r.engine.Transition(up("api", t0.Add(time.Minute), t0.Add(5*time.Minute)))
				r.clock.set(t0.Add(31 * time.Minute))
				r.cover.Check(context.Background())
			},
		},
		{
			name: "still down when the cover ends: the DOWN then, from the real start",
			steps: func(r *coverRig) {
				r.covers.set("api", t0.Add(30*time.Minute))
				r.engine.Transition(down("api", t0.Add(time.Minute), "connection refused"))
				r.clock.set(t0.Add(29 * time.Minute))
				r.cover.Check(context.Background())
				r.clock.set(t0.Add(30 * time.Minute))
				r.cover.Check(context.Background())
				r.cover.Check(context.Background())
				r.engine.Transition(up("api", t0.Add(time.Minute), t0.Add(40*time.Minute)))
			},
			kinds: []Kind{KindDown, KindRecovered},
			check: func(t *testing.T, got []Message) {
				d := got[0]
				if !d.Since.Equal(t0.Add(time.Minute)) || !strings.Contains(d.Text, "api is DOWN: connection refused") ||
					!strings.Contains(d.Text, "down for 29m0s") {
					t.Errorf("released DOWN: since %v, text %q", d.Since, d.Text)
				}
				if !strings.Contains(got[1].Text, "RECOVERED after 39m0s") {
					t.Errorf("RECOVERED text %q", got[1].Text)
				}
			},
		},
		{
			name: "a RECOVERED whose DOWN went out is never held",
			steps: func(r *coverRig) {
				r.engine.Transition(down("api", t0.Add(time.Minute), "connection refused"))
				r.covers.set("api", t0.Add(30*time.Minute))
				r.engine.Transition(up("api", t0.Add(time.Minute), t0.Add(5*time.Minute)))
			},
			kinds: []Kind{KindDown, KindRecovered},
		},
		{
			name: "other targets pass",
			steps: func(r *coverRig) {
				r.covers.set("api", t0.Add(30*time.Minute))
				r.engine.Transition(down("db", t0.Add(time.Minute), "timeout"))
			},
			kinds: []Kind{KindDown},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t: t0}
			r := newCoverRig(t, nil, &fakeCovers{}, clk, nil)
			tt.steps(r)
			got := r.sink.messages()
			if len(got) != len(tt.kinds) {
				t.Fatalf("got %d messages, want %v: %+v", len(got), tt.kinds, got)
			}
			for i, k := range tt.kinds {
				if got[i].Kind != k {
					t.Errorf("message %d is %s, want %s", i, got[i].Kind, k)
				}
			}
			if tt.check != nil {
				tt.check(t, got)
			}
			// Every change passed on: the store saw each incident.
			snap, _ := r.store.Load(context.Background())
			if snap.MaxIncidentID == 0 {
				t.Error("no incident reached the store")
			}
		})
	}
}

func TestCover_GroupedMessages(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)}
	covers := &fakeCovers{}
	covers.set("a", clk.now().Add(time.Hour))
	covers.set("b", clk.now().Add(time.Minute))
	sink := &recordSink{}
	c, _ := NewCover(CoverOptions{Covers: covers, Now: clk.now})
	s := c.Stage()(sink)
	s.Emit(incident.Change{}, Message{Kind: KindDown, Group: "home", Targets: []string{"a", "c"}, IncidentID: 101, Key: "101:down"})
	s.Emit(incident.Change{}, Message{Kind: KindDown, Group: "home", Targets: []string{"a", "b"}, IncidentID: 102, Key: "102:down"})
	if got := sink.want(t, 1); got[0].Key != "101:down" {
		t.Fatalf("passed %s; a grouped DOWN with an uncovered member passes", got[0].Key)
	}
	clk.set(clk.now().Add(time.Minute)) // b's cover ends first: the grouped DOWN goes
	c.Check(context.Background())
	if got := sink.want(t, 2); got[1].Key != "102:down" {
		t.Fatalf("released %s", got[1].Key)
	}
}

func TestCover_RemindersDroppedWhileCovered(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)}
	covers := &fakeCovers{}
	covers.set("api", clk.now().Add(time.Hour))
	sink := &recordSink{}
	c, _ := NewCover(CoverOptions{Covers: covers, Now: clk.now})
	s := c.Stage()(sink)
	s.Emit(incident.Change{}, Message{Kind: KindReminder, Target: "api", IncidentID: 3, Text: "api still DOWN"},
		Message{Kind: KindReport, Service: "shop", IncidentID: 4, Text: "shop: report"})
	got := sink.want(t, 1)
	if got[0].Kind != KindReport {
		t.Fatalf("passed %s, want the report", got[0].Kind)
	}
}

// unannouncedFunc is an Unannounced from a function.
type unannouncedFunc func(ctx context.Context) ([]incident.Incident, error)

func (f unannouncedFunc) UnannouncedIncidents(ctx context.Context) ([]incident.Incident, error) {
	return f(ctx)
}

func TestCover_RestartWhileHeld(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)
	inc := incident.Incident{ID: 7, Kind: incident.KindTarget, Subject: "api", OpenedAt: t0, Cause: "connection refused"}
	store := alerttest.NewStore()
	_ = store.Commit(context.Background(), incident.Change{Incidents: []incident.Incident{inc}})
	unannounced := unannouncedFunc(func(context.Context) ([]incident.Incident, error) { return []incident.Incident{inc}, nil })

	t.Run("still covered: held, then released at the end", func(t *testing.T) {
		clk := &clock{t: t0.Add(10 * time.Minute)}
		covers := &fakeCovers{}
		covers.set("api", t0.Add(30*time.Minute))
		r := newCoverRig(t, store, covers, clk, unannounced)
		r.cover.Check(context.Background())
		r.sink.want(t, 0)
		clk.set(t0.Add(30 * time.Minute))
		r.cover.Check(context.Background())
		got := r.sink.want(t, 1)
		if got[0].Key != "7:down" || !got[0].Since.Equal(t0) || len(got[0].Channels) != 1 || !strings.Contains(got[0].Text, "down for 30m0s") {
			t.Fatalf("released %+v", got[0])
		}
	})
	t.Run("recovers under the cover after the restart: nothing", func(t *testing.T) {
		clk := &clock{t: t0.Add(10 * time.Minute)}
		covers := &fakeCovers{}
		covers.set("api", t0.Add(30*time.Minute))
		r := newCoverRig(t, store, covers, clk, unannounced)
		r.engine.Transition(up("api", t0, t0.Add(20*time.Minute)))
		clk.set(t0.Add(31 * time.Minute))
		r.cover.Check(context.Background())
		r.sink.want(t, 0)
	})
	t.Run("cover ended while stopped: sent at the first check", func(t *testing.T) {
		clk := &clock{t: t0.Add(time.Hour)}
		r := newCoverRig(t, store, &fakeCovers{}, clk, unannounced)
		r.cover.Check(context.Background())
		r.sink.want(t, 1)
	})
	t.Run("load error", func(t *testing.T) {
		c, _ := NewCover(CoverOptions{Covers: &fakeCovers{}, Store: unannouncedFunc(func(context.Context) ([]incident.Incident, error) {
			return nil, errors.New("disk")
		})})
		if err := c.Load(context.Background()); err == nil {
			t.Fatal("Load hid the store's error")
		}
	})
}

func TestCover_RunReleasesAndCloses(t *testing.T) {
	covers := &fakeCovers{}
	covers.set("api", time.Now().Add(150*time.Millisecond))
	sink := &recordSink{}
	c, _ := NewCover(CoverOptions{Covers: covers, Interval: 20 * time.Millisecond})
	s := c.Stage()(sink)
	s.Emit(incident.Change{}, Message{Kind: KindDown, Target: "api", IncidentID: 1, Key: "1:down", Since: time.Now(), Text: "api is DOWN: x"})
	c.Run(context.Background())
	defer c.Close(context.Background())
	deadline := time.Now().Add(5 * time.Second)
	for len(sink.messages()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	sink.want(t, 1)
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}
