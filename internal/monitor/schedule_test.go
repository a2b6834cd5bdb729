package monitor

import (
	"fmt"
	"math"
	"testing"
	"time"
)

func TestNewIntervalSchedule(t *testing.T) {
	t.Run("phase is stable", func(t *testing.T) {
		// Pinned (FNV-1a 64 of "api", fmix64: mod 400 slots of 25ms, slot
		// 387; with 25 sub-slots, the quotient mod 25, 15 ms more; computed
		// apart in Python): a changed hash would move every target's phase
		// on upgrade.
		s := NewIntervalSchedule("api", 10*time.Second)
		want := 9675 * time.Millisecond
		if SubSlots == 25 {
			want += 15 * time.Millisecond
		}
		if s.Phase != want {
			t.Errorf("phase = %d, want %d", s.Phase, want)
		}
		if again := NewIntervalSchedule("api", 10*time.Second); again != s {
			t.Errorf("second schedule = %+v, want %+v", again, s)
		}
	})

	t.Run("phases spread over the interval", func(t *testing.T) {
		const n, buckets = 1000, 10
		interval := 10 * time.Second
		seen := make(map[time.Duration]int, n)
		var count [buckets]int
		for i := range n {
			name := fmt.Sprintf("target-%d", i)
			s := NewIntervalSchedule(name, interval)
			if s.Phase < 0 || s.Phase >= interval {
				t.Fatalf("%s: phase %s outside [0, %s)", name, s.Phase, interval)
			}
			if s.Phase%(PhaseGrid/SubSlots) != 0 {
				t.Fatalf("%s: phase %s off the %s grid", name, s.Phase, PhaseGrid/SubSlots)
			}
			seen[s.Phase]++
			count[s.Phase*buckets/interval]++
		}
		// 1,000 names in 400 slots: a good hash uses about 400·(1-e^-2.5) = 367
		// of them and piles no more than a handful into one; and with
		// sub-slots, N = 400·SubSlots instants, about N·(1-e^(-1000/N)).
		slots := map[time.Duration]bool{}
		for p := range seen {
			slots[p-p%PhaseGrid] = true
		}
		instants := 400.0 * SubSlots
		wantInstants := int(0.9 * instants * (1 - math.Exp(-n/instants)))
		if len(slots) < 330 || len(seen) < wantInstants {
			t.Errorf("%d names use %d of 400 slots and %d of %.0f instants, want at least 330 and %d",
				n, len(slots), len(seen), instants, wantInstants)
		}
		for phase, c := range seen {
			if c > 10 {
				t.Errorf("%d names share phase %s", c, phase)
			}
		}
		// Expect n/buckets = 100 per bucket; a herd would fill one.
		for b, c := range count {
			if c < 50 || c > 150 {
				t.Errorf("bucket %d holds %d of %d phases, want about %d", b, c, n, n/buckets)
			}
		}
	})
}

func TestIntervalSchedule_Next(t *testing.T) {
	s := IntervalSchedule{Interval: 10 * time.Second, Phase: 2500 * time.Millisecond}
	base := time.Unix(1_700_000_000, 0).UTC() // a multiple of 10 s
	tests := []struct {
		name string
		now  time.Time
		want time.Time
	}{
		{"before the phase", base, base.Add(2500 * time.Millisecond)},
		{"exactly on a slot is strictly after", base.Add(2500 * time.Millisecond), base.Add(12500 * time.Millisecond)},
		{"just after a slot", base.Add(2500*time.Millisecond + time.Nanosecond), base.Add(12500 * time.Millisecond)},
		{"just before a slot", base.Add(12500*time.Millisecond - time.Nanosecond), base.Add(12500 * time.Millisecond)},
		{"before the epoch", time.Unix(-8, 0).UTC(), time.Unix(-8, 500_000_000).UTC()}, // -7.5 s,
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := s.Next(tc.now); !got.Equal(tc.want) {
				t.Errorf("Next(%s) = %s, want %s", tc.now, got, tc.want)
			}
		})
	}

	t.Run("keeps the location", func(t *testing.T) {
		loc := time.FixedZone("X", 3600)
		if got := s.Next(base.In(loc)); got.Location() != loc {
			t.Errorf("location = %s, want %s", got.Location(), loc)
		}
	})
	t.Run("zero interval never fires", func(t *testing.T) {
		if got := (IntervalSchedule{}).Next(base); !got.IsZero() {
			t.Errorf("Next = %s, want the zero time", got)
		}
	})
}

func TestScheduleFor(t *testing.T) {
	base := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	target := func(interval time.Duration, schedule string) Target {
		tg := Target{Interval: interval, Schedule: schedule, FailureThreshold: 1, SuccessThreshold: 1}
		tg.Probe.Name = "api"
		return tg
	}
	tests := []struct {
		name    string
		t       Target
		want    time.Time // Next(base); zero when an error is expected
		wantErr string
	}{
		{"interval gets a phase", target(10*time.Second, ""), NewIntervalSchedule("api", 10*time.Second).Next(base), ""},
		{"@every gets a phase", target(0, "@every 1500ms"), NewIntervalSchedule("api", 1500*time.Millisecond).Next(base), ""},
		{"five fields", target(0, "*/5 * * * *"), time.Date(2025, 3, 4, 5, 10, 0, 0, time.UTC), ""},
		{"six fields with seconds first", target(0, "*/20 * * * * *"), time.Date(2025, 3, 4, 5, 6, 20, 0, time.UTC), ""},
		{"descriptor", target(0, "@hourly"), time.Date(2025, 3, 4, 6, 0, 0, 0, time.UTC), ""},
		{"both", target(time.Second, "@hourly"), time.Time{}, "target api: both interval and schedule set"},
		{"neither", target(0, ""), time.Time{}, "target api: neither interval nor schedule set"},
		{"negative interval", target(-time.Second, ""), time.Time{}, "target api: negative interval -1s"},
		{"bad cron", target(0, "* * *"), time.Time{}, `target api: schedule "* * *": expected 5 to 6 fields, found 3: [* * *]`},
		{"bad @every", target(0, "@every soon"), time.Time{}, `target api: schedule "@every soon": time: invalid duration "soon"`},
		{"zero @every", target(0, "@every 0s"), time.Time{}, `target api: schedule "@every 0s": duration must be positive`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := scheduleFor(tc.t)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Next(base); !got.Equal(tc.want) {
				t.Errorf("Next(%s) = %s, want %s", base, got, tc.want)
			}
		})
	}
}
