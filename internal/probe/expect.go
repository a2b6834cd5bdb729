package probe

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Expect holds the assertions evaluated over an HTTP result. The zero value
// means "status 2xx".
type Expect struct {
	Status       []StatusRange // any of them; empty means 200–299
	BodyContains string
	BodyRegex    *regexp.Regexp
	JSON         []JSONExpect  // sorted by Path when decoded from a config
	MaxLatency   time.Duration // 0: no bound
	// CertMinValidity fails an https probe whose leaf certificate expires
	// sooner than this after the probe started; 0: no bound.
	CertMinValidity time.Duration
}

// StatusRange is an inclusive range of HTTP status codes: 200 is {200, 200},
// "2xx" is {200, 299}.
type StatusRange struct{ Lo, Hi int }

// JSONExpect asserts that the value at a dotted path of a JSON body, printed
// as a string, equals Value. Config keys arrive lower-cased, so the probe
// matches JSON object keys case-insensitively.
type JSONExpect struct {
	Path  string // data.status, items.0.id
	Value string
}

// maxQuote is how many characters of an expected or seen value a reason
// quotes; the rest is cut with "…" so the reason stays one short line.
const maxQuote = 40

// Evaluate checks a response against e and sets r.OK and r.Reason. It does no
// I/O: r must already hold StatusCode, Duration, At, CertNotAfter and
// BodyTruncated, and body is what was read of the response (at most
// MaxBodyBytes). Checks run in a fixed order — status, body, regex, JSON,
// latency, certificate — and the first failure is the reason, because a 502
// that is also slow is a 502 first.
func Evaluate(e Expect, r *Result, body []byte) {
	r.Reason = check(e, r, body)
	r.OK = r.Reason == ""
}

func check(e Expect, r *Result, body []byte) string {
	if reason := checkStatus(e.Status, r.StatusCode); reason != "" {
		return reason
	}
	if e.BodyContains != "" && !strings.Contains(string(body), e.BodyContains) {
		return cutNote(fmt.Sprintf("body lacks %q", truncate(e.BodyContains)), r.BodyTruncated)
	}
	if e.BodyRegex != nil && !e.BodyRegex.Match(body) {
		return cutNote("body does not match /"+truncate(e.BodyRegex.String())+"/", r.BodyTruncated)
	}
	if len(e.JSON) > 0 {
		if reason := checkJSON(e.JSON, body); reason != "" {
			return cutNote(reason, r.BodyTruncated)
		}
	}
	if e.MaxLatency > 0 && r.Duration > e.MaxLatency {
		return fmt.Sprintf("latency %s over %s", roundUp(r.Duration), e.MaxLatency)
	}
	if e.CertMinValidity > 0 && !r.CertNotAfter.IsZero() {
		if left := r.CertNotAfter.Sub(r.At); left < e.CertMinValidity {
			return certReason(left, e.CertMinValidity)
		}
	}
	return ""
}

func checkStatus(want []StatusRange, code int) string {
	if len(want) == 0 {
		want = defaultStatus
	}
	for _, sr := range want {
		if sr.Contains(code) {
			return ""
		}
	}
	return fmt.Sprintf("status %d, want %s", code, wantStatus(want))
}

// cutNote adds why a body check may have failed when the body was longer
// than what the probe read; it says nothing when the cut is irrelevant.
func cutNote(reason string, cut bool) string {
	if !cut {
		return reason
	}
	return reason + " (body cut at 1 MiB)"
}

// truncate shortens s to maxQuote runes for quoting in a reason.
func truncate(s string) string {
	n := 0
	for i := range s {
		if n == maxQuote {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// roundUp prints a latency so that a value over a bound never reads as equal
// to it ("2.01s over 2s", not "2s over 2s"): milliseconds below a second,
// hundredths of a second above.
func roundUp(d time.Duration) time.Duration {
	unit := time.Millisecond
	if d >= time.Second {
		unit = 10 * time.Millisecond
	}
	return (d + unit - 1) / unit * unit
}

func certReason(left, want time.Duration) string {
	if left < 0 {
		return fmt.Sprintf("certificate expired %s ago, want ≥ %s", floorDays(-left), exactDays(want))
	}
	return fmt.Sprintf("certificate expires in %s, want ≥ %s", floorDays(left), exactDays(want))
}

const day = 24 * time.Hour

// floorDays prints how long a certificate has left, rounded down: whole days
// ("3d") when there is at least one, hours ("5h") below that.
func floorDays(d time.Duration) string {
	switch {
	case d >= day:
		return fmt.Sprintf("%dd", d/day)
	case d >= time.Hour:
		return fmt.Sprintf("%dh", d/time.Hour)
	default:
		return d.Round(time.Second).String()
	}
}

// exactDays prints a configured bound without rounding it: "14d" for whole
// days, Go's duration form ("36h0m0s") otherwise.
func exactDays(d time.Duration) string {
	if d > 0 && d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	return d.String()
}
