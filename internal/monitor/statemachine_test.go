package monitor

import (
	"reflect"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/probe"
)

func TestStep(t *testing.T) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	at := t0.Add(time.Hour)
	ok := probe.Result{OK: true, At: at}
	fail := probe.Result{OK: false, At: at, Reason: "connection refused"}
	st := func(state State, failures, successes int) Status {
		return Status{Name: "api", State: state, Since: t0, ConsecutiveFailures: failures, ConsecutiveSuccesses: successes}
	}

	tests := []struct {
		name   string
		in     Status
		r      probe.Result
		fail   int
		succ   int
		want   Status // Last is filled in from r
		wantTo State  // "" when no transition
	}{
		// UNKNOWN → UP needs success_threshold consecutive successes.
		{"unknown first success below threshold", st(Unknown, 0, 0), ok, 3, 2, st(Unknown, 0, 1), ""},
		// UNKNOWN → UP after success_threshold consecutive successes (no message, but a transition).
		{"unknown reaches success threshold", st(Unknown, 0, 1), ok, 3, 2, Status{Name: "api", State: Up, Since: at, ConsecutiveSuccesses: 2}, Up},
		// An empty state is UNKNOWN.
		{"empty state is unknown", Status{Name: "api", Since: t0}, ok, 3, 1, Status{Name: "api", State: Up, Since: at, ConsecutiveSuccesses: 1}, Up},
		// UNKNOWN → DOWN after failure_threshold consecutive failures.
		{"unknown reaches failure threshold", st(Unknown, 2, 0), fail, 3, 2, Status{Name: "api", State: Down, Since: at, ConsecutiveFailures: 3}, Down},
		// UP → DOWN needs failure_threshold consecutive failures.
		{"up failure below threshold", st(Up, 1, 0), fail, 3, 2, st(Up, 2, 0), ""},
		// UP → DOWN after failure_threshold consecutive failures.
		{"up reaches failure threshold", st(Up, 2, 0), fail, 3, 2, Status{Name: "api", State: Down, Since: at, ConsecutiveFailures: 3}, Down},
		// A failure threshold of 1 goes DOWN on the first failure.
		{"failure threshold one", st(Up, 0, 9), fail, 1, 2, Status{Name: "api", State: Down, Since: at, ConsecutiveFailures: 1}, Down},
		// Thresholds below 1 count as 1.
		{"zero threshold counts as one", st(Up, 0, 0), fail, 0, 0, Status{Name: "api", State: Down, Since: at, ConsecutiveFailures: 1}, Down},
		// A success resets the failure run: flapping never reaches the threshold.
		{"success resets failures", st(Up, 2, 0), ok, 3, 2, st(Up, 0, 1), ""},
		// A failure resets the success run: flapping never recovers.
		{"failure resets successes", st(Down, 0, 1), fail, 3, 2, st(Down, 1, 0), ""},
		// DOWN stays DOWN on further failures: one DOWN per outage.
		{"down stays down", st(Down, 7, 0), fail, 3, 2, st(Down, 8, 0), ""},
		// UP stays UP on further successes: one UP per recovery.
		{"up stays up", st(Up, 0, 5), ok, 3, 2, st(Up, 0, 6), ""},
		// DOWN → UP needs success_threshold consecutive successes.
		{"down success below threshold", st(Down, 4, 0), ok, 3, 2, st(Down, 0, 1), ""},
		// DOWN → UP after success_threshold consecutive successes (RECOVERED).
		{"down reaches success threshold", st(Down, 0, 1), ok, 3, 2, Status{Name: "api", State: Up, Since: at, ConsecutiveSuccesses: 2}, Up},
		// Counters restored above the threshold act at once on the next probe.
		{"restored counters over threshold", st(Down, 0, 5), ok, 3, 2, Status{Name: "api", State: Up, Since: at, ConsecutiveSuccesses: 6}, Up},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, tr := Step(tc.in, tc.r, tc.fail, tc.succ)
			want := tc.want
			want.Last = tc.r
			if !reflect.DeepEqual(got, want) {
				t.Errorf("status = %+v, want %+v", got, want)
			}
			if tc.wantTo == "" {
				if tr != nil {
					t.Fatalf("transition = %+v, want none", *tr)
				}
				return
			}
			if tr == nil {
				t.Fatalf("no transition, want → %s", tc.wantTo)
			}
			from := tc.in.State
			if from == "" {
				from = Unknown
			}
			wantTr := Transition{Target: "api", From: from, To: tc.wantTo, At: at, Since: tc.in.Since, Result: tc.r}
			if !reflect.DeepEqual(*tr, wantTr) {
				t.Errorf("transition = %+v, want %+v", *tr, wantTr)
			}
		})
	}
}
