package alert

import (
	"context"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/incident"
	"github.com/robfig/cron/v3"
)

// Pure-function tables for the cover stage's decisions: when a window
// built from a cron spec (parsed as the config parses it) is open, across
// DST changes and month ends; and which silences cover which target.

func rfc(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestMaintenanceWindow_OpenTable(t *testing.T) {
	for _, zone := range []string{"Europe/Berlin", "America/New_York"} {
		if _, err := time.LoadLocation(zone); err != nil {
			t.Skip("no tzdata:", err)
		}
	}
	tests := []struct {
		name     string
		spec     string // as written in maintenance[].schedule
		duration time.Duration
		now      string // RFC 3339, with the zone's offset where it helps
		open     bool
		until    string // RFC 3339; "" when closed
	}{
		// A window is open from its start; its end is excluded.
		{"right after the start", "CRON_TZ=UTC 0 3 * * 0", 30 * time.Minute, "2026-03-01T03:00:00.001Z", true, "2026-03-01T03:30:00Z"},
		{"start past, duration not", "CRON_TZ=UTC 0 3 * * 0", 30 * time.Minute, "2026-03-01T03:29:00Z", true, "2026-03-01T03:30:00Z"},
		{"just before the start", "CRON_TZ=UTC 0 3 * * 0", 30 * time.Minute, "2026-03-01T02:59:59.999Z", false, ""},

		// Durations are elapsed time: a window that spans a DST switch
		// lasts its duration, whatever the wall clock does.
		// Berlin springs forward 2026-03-29 02:00 CET → 03:00 CEST.
		{"berlin spring: 2h from 01:00 CET, inside", "CRON_TZ=Europe/Berlin 0 1 * * 0", 2 * time.Hour,
			"2026-03-29T03:30:00+02:00", true, "2026-03-29T04:00:00+02:00"},
		{"berlin spring: 2h from 01:00 CET, ends 04:00 CEST", "CRON_TZ=Europe/Berlin 0 1 * * 0", 2 * time.Hour,
			"2026-03-29T04:00:00+02:00", false, ""},
		// Berlin falls back 2026-10-25 03:00 CEST → 02:00 CET.
		{"berlin fall: 2h from 01:00 CEST, first 02:30", "CRON_TZ=Europe/Berlin 0 1 * * 0", 2 * time.Hour,
			"2026-10-25T02:30:00+02:00", true, "2026-10-25T02:00:00+01:00"},
		{"berlin fall: 2h from 01:00 CEST, second 02:30", "CRON_TZ=Europe/Berlin 0 1 * * 0", 2 * time.Hour,
			"2026-10-25T02:30:00+01:00", false, ""},
		// 02:00 happens twice that night: robfig/cron starts the window at
		// each, so a "0 2 * * 0" window opens in both hours.
		{"berlin fall: 0 2, first 02:15", "CRON_TZ=Europe/Berlin 0 2 * * 0", 30 * time.Minute,
			"2026-10-25T02:15:00+02:00", true, "2026-10-25T02:30:00+02:00"},
		{"berlin fall: 0 2, between", "CRON_TZ=Europe/Berlin 0 2 * * 0", 30 * time.Minute,
			"2026-10-25T02:45:00+02:00", false, ""},
		{"berlin fall: 0 2, second 02:15", "CRON_TZ=Europe/Berlin 0 2 * * 0", 30 * time.Minute,
			"2026-10-25T02:15:00+01:00", true, "2026-10-25T02:30:00+01:00"},
		// New York springs forward 2026-03-08 02:00 EST → 03:00 EDT (TZ=
		// works as CRON_TZ=).
		{"new york spring: 2h from 01:00 EST", "TZ=America/New_York 0 1 * * 0", 2 * time.Hour,
			"2026-03-08T03:30:00-04:00", true, "2026-03-08T04:00:00-04:00"},
		{"new york spring: a week later, wall time", "TZ=America/New_York 0 1 * * 0", 2 * time.Hour,
			"2026-03-15T02:30:00-04:00", true, "2026-03-15T03:00:00-04:00"},
		// New York falls back 2026-11-01 02:00 EDT → 01:00 EST: 01:00 twice,
		// and 2 h windows from each chain into one.
		{"new york fall: 0 1, first hour", "TZ=America/New_York 0 1 * * 0", 2 * time.Hour,
			"2026-11-01T01:30:00-04:00", true, "2026-11-01T03:00:00-05:00"},
		{"new york fall: 0 1 for 30m, between", "TZ=America/New_York 0 1 * * 0", 30 * time.Minute,
			"2026-11-01T01:45:00-04:00", false, ""},
		{"new york fall: 0 1 for 30m, second 01:15", "TZ=America/New_York 0 1 * * 0", 30 * time.Minute,
			"2026-11-01T01:15:00-05:00", true, "2026-11-01T01:30:00-05:00"},

		// Month ends: a window on the 31st runs into the 1st.
		{"31st 23:00 + 2h: 00:59 on the 1st", "CRON_TZ=UTC 0 23 31 * *", 2 * time.Hour,
			"2026-06-01T00:59:59Z", true, "2026-06-01T01:00:00Z"},
		{"31st 23:00 + 2h: ends 01:00 on the 1st", "CRON_TZ=UTC 0 23 31 * *", 2 * time.Hour,
			"2026-06-01T01:00:00Z", false, ""},
		{"31st 23:00 + 3h: 01:00 on the 1st", "CRON_TZ=UTC 0 23 31 * *", 3 * time.Hour,
			"2026-06-01T01:00:00Z", true, "2026-06-01T02:00:00Z"},
		{"no 31st in april", "CRON_TZ=UTC 0 23 31 * *", 2 * time.Hour, "2026-05-01T00:30:00Z", false, ""},
		{"year end", "CRON_TZ=UTC 0 23 31 * *", 2 * time.Hour, "2026-01-01T00:30:00Z", true, "2026-01-01T01:00:00Z"},
		{"31 march in berlin (CEST)", "CRON_TZ=Europe/Berlin 0 23 31 * *", 2 * time.Hour,
			"2026-04-01T00:30:00+02:00", true, "2026-04-01T01:00:00+02:00"},
		{"31 october in berlin (CET, after fall back)", "CRON_TZ=Europe/Berlin 0 23 31 * *", 2 * time.Hour,
			"2026-11-01T00:30:00+01:00", true, "2026-11-01T01:00:00+01:00"},
		{"29 february, leap year", "CRON_TZ=UTC 0 23 29 2 *", 2 * time.Hour, "2028-03-01T00:30:00Z", true, "2028-03-01T01:00:00Z"},
		{"29 february, not a leap year", "CRON_TZ=UTC 0 23 29 2 *", 2 * time.Hour, "2027-03-01T00:30:00Z", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sched, err := coverParser.Parse(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			w := MaintenanceWindow{Name: "w", Schedule: sched, Duration: tt.duration}
			now := rfc(t, tt.now)
			until, ok := w.Open(now)
			var want time.Time
			if tt.until != "" {
				want = rfc(t, tt.until)
			}
			if ok != tt.open || !until.Equal(want) {
				t.Fatalf("Open(%s) = %s, %v; want %s, %v", now.UTC(), until.UTC(), ok, want.UTC(), tt.open)
			}
		})
	}
}

// staticSilences is a SilenceSource that returns its list whatever now is
// (the store filters; Covered must not rely on it).
type staticSilences []incident.Silence

func (s staticSilences) ActiveSilences(context.Context, time.Time) ([]incident.Silence, error) {
	return s, nil
}

func TestCoverSet_SilenceMatching(t *testing.T) {
	now := time.Date(2026, 5, 31, 12, 0, 0, 0, time.UTC)
	h := time.Hour
	groupOf := map[string]string{"nas": "home", "router": "home", "db": "cloud"}
	sil := func(targets, groups []string, from, to time.Duration) incident.Silence {
		return incident.Silence{ID: "s", Targets: targets, Groups: groups, StartsAt: now.Add(from), EndsAt: now.Add(to)}
	}
	tests := []struct {
		name     string
		silences []incident.Silence
		windows  []MaintenanceWindow
		target   string
		at       time.Duration // after now
		covered  bool
		until    time.Duration // after now, when covered
	}{
		{"listed target", []incident.Silence{sil([]string{"api"}, nil, -h, h)}, nil, "api", 0, true, h},
		{"other target", []incident.Silence{sil([]string{"api"}, nil, -h, h)}, nil, "web", 0, false, 0},
		{"listed group", []incident.Silence{sil(nil, []string{"home"}, -h, h)}, nil, "nas", 0, true, h},
		{"other group", []incident.Silence{sil(nil, []string{"home"}, -h, h)}, nil, "db", 0, false, 0},
		{"target in no group", []incident.Silence{sil(nil, []string{"home"}, -h, h)}, nil, "api", 0, false, 0},
		{"a group named like the target", []incident.Silence{sil(nil, []string{"api"}, -h, h)}, nil, "api", 0, false, 0},
		{"targets and groups: by group", []incident.Silence{sil([]string{"api"}, []string{"home"}, -h, h)}, nil, "router", 0, true, h},
		{"targets and groups: by target", []incident.Silence{sil([]string{"api"}, []string{"home"}, -h, h)}, nil, "api", 0, true, h},
		// A silence names what it covers; one naming nothing covers nothing
		// (unlike a window with neither targets nor groups).
		{"names nothing", []incident.Silence{sil(nil, nil, -h, h)}, nil, "api", 0, false, 0},
		{"expired", []incident.Silence{sil([]string{"api"}, nil, -2*h, -h)}, nil, "api", 0, false, 0},
		{"ends now: over", []incident.Silence{sil([]string{"api"}, nil, -h, 0)}, nil, "api", 0, false, 0},
		{"future", []incident.Silence{sil([]string{"api"}, nil, h, 2*h)}, nil, "api", 0, false, 0},
		{"starts now", []incident.Silence{sil([]string{"api"}, nil, 0, h)}, nil, "api", 0, true, h},
		{"ended since the last refresh", []incident.Silence{sil([]string{"api"}, nil, -h, h)}, nil, "api", h + time.Second, false, 0},
		{"overlapping: the later end", []incident.Silence{sil([]string{"api"}, nil, -h, h), sil(nil, []string{"home"}, -h, 3*h),
			sil([]string{"nas"}, nil, -h, 2*h)}, nil, "nas", 0, true, 3 * h},
		{"window and silence: the later end", []incident.Silence{sil([]string{"api"}, nil, -h, 10*time.Minute)},
			[]MaintenanceWindow{{Name: "noon", Schedule: parseSpec(t, "CRON_TZ=UTC 0 12 * * *"), Duration: 30 * time.Minute}},
			"api", 0, true, 30 * time.Minute},
		// A window needs no refresh: open from the first check, also when
		// pollerd starts mid-window.
		{"window alone, started mid-window", nil,
			[]MaintenanceWindow{{Name: "w", Schedule: parseSpec(t, "CRON_TZ=UTC 30 11 * * *"), Duration: time.Hour, Groups: []string{"home"}}},
			"nas", 0, true, 30 * time.Minute},
		{"window of another group", nil,
			[]MaintenanceWindow{{Name: "w", Schedule: parseSpec(t, "CRON_TZ=UTC 30 11 * * *"), Duration: time.Hour, Groups: []string{"home"}}},
			"db", 0, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := &CoverSet{Windows: tt.windows, GroupOf: func(target string) string { return groupOf[target] }}
			if tt.silences != nil {
				set.Silences = staticSilences(tt.silences)
				if err := set.Refresh(context.Background(), now); err != nil {
					t.Fatal(err)
				}
			}
			until, ok := set.Covered(tt.target, now.Add(tt.at))
			var want time.Time
			if tt.covered {
				want = now.Add(tt.until)
			}
			if ok != tt.covered || !until.Equal(want) {
				t.Fatalf("Covered(%s, now+%s) = %s, %v; want %s, %v", tt.target, tt.at, until, ok, want, tt.covered)
			}
		})
	}
}

// parseSpec parses a schedule as the config does.
func parseSpec(t *testing.T, spec string) cron.Schedule {
	t.Helper()
	s, err := coverParser.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
