package monitor

import (
	"time"

	"github.com/pollerd/pollerd/internal/probe"
)

// Target is one scheduled target: what to probe and when, and the thresholds
// of its state machine.
type Target struct {
	Probe            probe.Target
	Interval         time.Duration // exactly one of Interval and Schedule
	Schedule         string        // cron: 5 fields, 6 with seconds first, or @every/@hourly…
	FailureThreshold int
	SuccessThreshold int
	Group            string // the target's group (its pollerd_target_up label); "" for none
}

// State is a target's health as the state machine sees it.
type State string

const (
	Unknown State = "UNKNOWN"
	Up      State = "UP"
	Down    State = "DOWN"
)

// Status is a target's state and its counters, as kept by the monitor and
// restored from the store at start.
type Status struct {
	Name                 string
	State                State
	Since                time.Time // when State began
	ConsecutiveFailures  int
	ConsecutiveSuccesses int
	Last                 probe.Result // zero until the first probe
}

// Transition is a change of state. Since is when the previous state began, so
// a DOWN→UP transition's downtime is At.Sub(Since).
type Transition struct {
	Target string
	From   State
	To     State
	At     time.Time
	Since  time.Time
	Result probe.Result // the probe that made the transition
}

// Sink receives what the monitor learns. It is called from the probing
// goroutine of one target, so calls for one target are ordered; it must not
// block for long.
type Sink interface {
	// Transition is called on every state change.
	Transition(t Transition)
	// Observe is called after every probe with the target's new status.
	Observe(s Status)
}
