package alert

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/incident"
)

// CoverKinds agrees with Covered target by target and says which kind
// covers: a window wins over a silence.
func TestCoverSet_CoverKinds(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC)
	set := &CoverSet{
		Windows: []MaintenanceWindow{
			{Name: "open", Schedule: mustSchedule(t, "0 12 * * *"), Duration: time.Minute, Targets: []string{"api"}, Groups: []string{"lab"}},
			{Name: "shut", Schedule: mustSchedule(t, "0 3 * * *"), Duration: time.Minute}, // every target, but not now
		},
		Silences: silenceFunc(func(context.Context, time.Time) ([]incident.Silence, error) {
			return []incident.Silence{
				{ID: "a", Targets: []string{"api", "db"}, StartsAt: now.Add(-time.Hour), EndsAt: now.Add(time.Hour)},
				{ID: "b", Groups: []string{"home"}, StartsAt: now.Add(-time.Hour), EndsAt: now.Add(2 * time.Hour)},
				{ID: "c", Targets: []string{"web"}, StartsAt: now.Add(time.Hour), EndsAt: now.Add(2 * time.Hour)}, // future
			}, nil
		}),
		GroupOf: func(target string) string {
			return map[string]string{"nas": "home", "scope": "lab", "web": "office"}[target]
		},
	}
	if err := set.Refresh(context.Background(), now); err != nil {
		t.Fatal(err)
	}
	targets := []string{"api", "db", "nas", "scope", "web", "other"}
	got := set.CoverKinds(targets, now)
	want := []string{"maintenance", "silenced", "silenced", "maintenance", "", ""}
	if !slices.Equal(got, want) {
		t.Fatalf("CoverKinds = %q, want %q", got, want)
	}
	for i, target := range targets {
		if _, ok := set.Covered(target, now); ok != (got[i] != "") {
			t.Errorf("%s: Covered = %v, CoverKinds = %q", target, ok, got[i])
		}
	}
	// A window naming nothing covers every target while open.
	set.SetWindows([]MaintenanceWindow{{Name: "all", Schedule: mustSchedule(t, "0 12 * * *"), Duration: time.Minute}}, set.GroupOf)
	if got := set.CoverKinds([]string{"other"}, now); got[0] != "maintenance" {
		t.Errorf("an all-targets window: %q", got)
	}
	if got := set.CoverKinds([]string{"other"}, now.Add(time.Hour)); got[0] != "" {
		t.Errorf("after the window: %q", got)
	}
}
