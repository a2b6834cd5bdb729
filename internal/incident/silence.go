package incident

import "time"

// Silence mutes the DOWN (and reminders) of some targets for a while: the
// admin API creates it, the store keeps it, the alert pipeline's cover stage
// holds what it covers. Targets and Groups name what it covers; at least one
// of them is set.
type Silence struct {
	ID       string // random, hex; what `pollerd silence rm` takes
	Targets  []string
	Groups   []string
	Comment  string
	StartsAt time.Time
	EndsAt   time.Time
}

// Active reports whether the silence covers the moment t.
func (s Silence) Active(t time.Time) bool { return !t.Before(s.StartsAt) && t.Before(s.EndsAt) }
