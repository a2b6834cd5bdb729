package store

import "time"

// ProbeRecord is one probe's outcome plus the target's state and
// consecutive counters after it, as the monitor hands it to Record.
type ProbeRecord struct {
	Target    string
	At        time.Time
	OK        bool
	Latency   time.Duration
	State     string
	Since     time.Time
	Failures  int // consecutive failures after this probe
	Successes int // consecutive successes after this probe
}

// TargetRecord is a target's persisted state and counters: what the monitor
// restores at start.
type TargetRecord struct {
	Name      string
	State     string
	Since     time.Time
	Failures  int
	Successes int
	UpdatedAt time.Time // when the counters were last written
}

// msOf stores a time as unix milliseconds; the zero time is 0.
func msOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// nullMsOf is msOf for nullable columns: the zero time is NULL.
func nullMsOf(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// timeOf reverses msOf and nullMsOf: 0 and NULL are the zero time.
func timeOf(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
