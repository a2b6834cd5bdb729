package probe

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseStatus reads one status expectation as written in the config: a code
// ("200") or a class ("2xx", case-insensitive). Codes run from 100 to 599.
func ParseStatus(s string) (StatusRange, error) {
	s = strings.TrimSpace(s)
	if len(s) == 3 && (s[1:] == "xx" || s[1:] == "XX") {
		if s[0] < '1' || s[0] > '5' {
			return StatusRange{}, fmt.Errorf("status %q: class must be 1xx to 5xx", s)
		}
		lo := int(s[0]-'0') * 100
		return StatusRange{Lo: lo, Hi: lo + 99}, nil
	}
	code, err := strconv.Atoi(s)
	if err != nil || len(s) != 3 {
		return StatusRange{}, fmt.Errorf("status %q: want a code like 200 or a class like 2xx", s)
	}
	if code < 100 || code > 599 {
		return StatusRange{}, fmt.Errorf("status %q: code must be 100 to 599", s)
	}
	return StatusRange{Lo: code, Hi: code}, nil
}

// Contains reports whether code lies in the range.
func (r StatusRange) Contains(code int) bool { return code >= r.Lo && code <= r.Hi }

// String prints the range the way the config writes it: "200", "2xx", or
// "200-204" for a range that is neither.
func (r StatusRange) String() string {
	switch {
	case r.Lo == r.Hi:
		return strconv.Itoa(r.Lo)
	case r.Lo%100 == 0 && r.Hi == r.Lo+99:
		return strconv.Itoa(r.Lo/100) + "xx"
	default:
		return strconv.Itoa(r.Lo) + "-" + strconv.Itoa(r.Hi)
	}
}

// defaultStatus is what an empty Expect.Status means.
var defaultStatus = []StatusRange{{Lo: 200, Hi: 299}}

// wantStatus joins ranges as a person would say them: "200", "200 or 3xx",
// "200, 204 or 3xx".
func wantStatus(rs []StatusRange) string {
	var b strings.Builder
	for i, r := range rs {
		switch {
		case i == 0:
		case i == len(rs)-1:
			b.WriteString(" or ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(r.String())
	}
	return b.String()
}
