package monitor

import "github.com/pollerd/pollerd/internal/probe"

// Step advances a target's state machine by one probe result and returns the
// new status and, when the state changed, the transition. It is pure (no
// clock, no I/O) so that the monitor can call it under the target's lock and
// the rules can be pinned by a table test:
//
//   - UNKNOWN → UP after successThreshold consecutive successes;
//   - UNKNOWN|UP → DOWN after failureThreshold consecutive failures;
//   - DOWN → UP after successThreshold consecutive successes.
//
// Each result resets the opposite counter, so flapping that never reaches a
// threshold changes nothing. The counters keep counting after a transition:
// they are what the status API shows. The new state's Since is the time of
// the probe that made the transition (r.At); the transition's Since is when
// the previous state began, so a recovery's downtime is At.Sub(Since).
// Thresholds below 1 count as 1; an empty State counts as UNKNOWN.
func Step(s Status, r probe.Result, failureThreshold, successThreshold int) (Status, *Transition) {
	failureThreshold = max(failureThreshold, 1)
	successThreshold = max(successThreshold, 1)
	if s.State == "" {
		s.State = Unknown
	}

	next := s
	next.Last = r
	var to State
	if r.OK {
		next.ConsecutiveSuccesses++
		next.ConsecutiveFailures = 0
		if s.State != Up && next.ConsecutiveSuccesses >= successThreshold {
			to = Up
		}
	} else {
		next.ConsecutiveFailures++
		next.ConsecutiveSuccesses = 0
		if s.State != Down && next.ConsecutiveFailures >= failureThreshold {
			to = Down
		}
	}
	if to == "" {
		return next, nil
	}

	next.State = to
	next.Since = r.At
	return next, &Transition{
		Target: s.Name,
		From:   s.State,
		To:     to,
		At:     r.At,
		Since:  s.Since,
		Result: r,
	}
}
