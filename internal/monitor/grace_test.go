package monitor

import (
	"testing"
	"time"
)

// A timeout may equal the interval, so a due probe waits a moment for the
// previous one; cron specs skip at once.
func TestGraceOf(t *testing.T) {
	spec, err := specParser.Parse("*/5 * * * *")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		in   any
		want time.Duration
	}{
		{"10s interval", NewIntervalSchedule("a", 10*time.Second), skipGrace},
		{"500ms interval", NewIntervalSchedule("a", 500*time.Millisecond), 50 * time.Millisecond},
		{"cron spec", spec, 0},
	} {
		var got time.Duration
		switch s := tt.in.(type) {
		case IntervalSchedule:
			got = graceOf(s)
		default:
			got = graceOf(spec)
		}
		if got != tt.want {
			t.Errorf("%s: grace %v, want %v", tt.name, got, tt.want)
		}
	}
}
