package web

import "time"

// CanaryStatus is the canaries' judgement of pollerd's own network:
// "offline" while their quorum fails (target DOWNs are held), else "ok".
type CanaryStatus struct {
	State string     `json:"state"` // ok, offline
	Since *time.Time `json:"since"` // RFC 3339; null when not known
}

// CanarySource gives the canaries' state and since when (zero: not known).
// alert's canary stage satisfies it.
type CanarySource interface {
	State() (state string, since time.Time)
}

func canaryStatus(src CanarySource) *CanaryStatus {
	state, since := src.State()
	cs := &CanaryStatus{State: state}
	if !since.IsZero() {
		cs.Since = &since
	}
	return cs
}
