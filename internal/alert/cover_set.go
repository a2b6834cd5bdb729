package alert

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/pollerd/pollerd/internal/incident"
)

// MaintenanceWindow is a maintenance window: it opens at each activation of Schedule
// and stays open for Duration. It covers Targets and the members of Groups;
// with neither, every target.
type MaintenanceWindow struct {
	Name     string
	Schedule cron.Schedule
	Duration time.Duration
	Targets  []string
	Groups   []string
}

// maxSteps bounds the walk over overlapping activations (a window every
// 20 s lasting 30 s never closes): past it, Open's until is a lower bound.
// The cover is re-checked every second, so until is informational.
const maxSteps = 16

// Open reports whether the window is open at now and until when. It is open
// iff the latest activation a ≤ now has now < a + Duration, so a window whose
// start is past and whose duration is not is open, whenever asked. Windows
// that overlap (activations closer than Duration) extend one another.
func (w MaintenanceWindow) Open(now time.Time) (until time.Time, ok bool) {
	if w.Schedule == nil || w.Duration <= 0 {
		return time.Time{}, false
	}
	// Next returns the first activation strictly after its argument: the
	// first after now - Duration is open at now iff it is not after now.
	// (Open at now is all that matters; searching for the latest activation
	// ≤ now would only make until later, which the extension below does.)
	a := w.Schedule.Next(now.Add(-w.Duration))
	if a.IsZero() || a.After(now) {
		return time.Time{}, false
	}
	until = a.Add(w.Duration)
	for range maxSteps {
		n := w.Schedule.Next(a)
		if n.IsZero() || n.After(until) || !n.After(a) {
			break
		}
		a, until = n, n.Add(w.Duration)
	}
	return until, true
}

// Covers reports whether the window applies to a target of group.
func (w MaintenanceWindow) Covers(target, group string) bool {
	if len(w.Targets) == 0 && len(w.Groups) == 0 {
		return true
	}
	return slices.Contains(w.Targets, target) || group != "" && slices.Contains(w.Groups, group)
}

// SilenceSource reads the silences active at now; *store.DB satisfies it.
type SilenceSource interface {
	ActiveSilences(ctx context.Context, now time.Time) ([]incident.Silence, error)
}

// CoverSet is the Covers pollerd wires: the configured maintenance windows
// and the stored silences, read again on each Refresh (the Cover stage's
// loop, and the admin API after a change). Set the fields before use;
// SetWindows replaces windows and groups later (a reload).
type CoverSet struct {
	Windows  []MaintenanceWindow
	Silences SilenceSource // nil: windows only
	// GroupOf names a target's group ("" for none); nil: no groups.
	GroupOf func(target string) string

	mu     sync.RWMutex
	active []incident.Silence
}

// SetWindows replaces the windows and the group lookup, safely while in use.
func (s *CoverSet) SetWindows(ws []MaintenanceWindow, groupOf func(target string) string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Windows, s.GroupOf = ws, groupOf
}

var (
	_ Covers    = (*CoverSet)(nil)
	_ Refresher = (*CoverSet)(nil)
)

// Refresh reads the active silences.
func (s *CoverSet) Refresh(ctx context.Context, now time.Time) error {
	if s.Silences == nil {
		return nil
	}
	active, err := s.Silences.ActiveSilences(ctx, now)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.active = active
	s.mu.Unlock()
	return nil
}

// Covered reports whether a window or a silence covers target at now, and
// until when the longest of them lasts.
func (s *CoverSet) Covered(target string, now time.Time) (until time.Time, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	group := ""
	if s.GroupOf != nil {
		group = s.GroupOf(target)
	}
	for _, w := range s.Windows {
		if !w.Covers(target, group) {
			continue
		}
		if u, open := w.Open(now); open {
			ok = true
			if u.After(until) {
				until = u
			}
		}
	}
	for _, si := range s.active {
		if si.Active(now) && (slices.Contains(si.Targets, target) || group != "" && slices.Contains(si.Groups, group)) {
			ok = true
			if si.EndsAt.After(until) {
				until = si.EndsAt
			}
		}
	}
	return until, ok
}

// CoverKinds tells, for each of targets in order, what covers it at now:
// "maintenance" (a window), "silenced" (a silence; a window wins when both
// do) or "" (nothing). It is Covered for many targets at once, each
// window's opening computed once: the status document asks it for every
// target. web.CoverSource is this method.
func (s *CoverSet) CoverKinds(targets []string, now time.Time) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var all bool // an open window naming nothing covers every target
	winT, winG := map[string]bool{}, map[string]bool{}
	for _, w := range s.Windows {
		if _, open := w.Open(now); !open {
			continue
		}
		all = all || len(w.Targets) == 0 && len(w.Groups) == 0
		for _, t := range w.Targets {
			winT[t] = true
		}
		for _, g := range w.Groups {
			winG[g] = true
		}
	}
	silT, silG := map[string]bool{}, map[string]bool{}
	for _, si := range s.active {
		if !si.Active(now) {
			continue
		}
		for _, t := range si.Targets {
			silT[t] = true
		}
		for _, g := range si.Groups {
			silG[g] = true
		}
	}
	out := make([]string, len(targets))
	for i, t := range targets {
		group := ""
		if s.GroupOf != nil {
			group = s.GroupOf(t)
		}
		switch {
		case all || winT[t] || group != "" && winG[group]:
			out[i] = "maintenance"
		case silT[t] || group != "" && silG[group]:
			out[i] = "silenced"
		}
	}
	return out
}
