package config

import (
	"fmt"
	"strconv"
)

// redacted is what a non-empty Secret shows instead of its value.
const redacted = "[redacted]"

// Secret is a string that never shows its value: printing it with any fmt
// verb, marshalling it to JSON or text, or logging it with zap.Any (which
// uses String) yields "[redacted]". An empty Secret shows as empty, so "not
// set" stays visible. Only Value returns the real string.
type Secret string

// Value returns the secret itself, for the one place that needs it.
func (s Secret) Value() string { return string(s) }

// String returns "[redacted]", or "" when the secret is empty.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString makes %#v redacted too.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// Format handles every verb, so that %x or %d cannot print the bytes.
func (s Secret) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'q', verb == 'v' && f.Flag('#'):
		fmt.Fprint(f, strconv.Quote(s.String()))
	default:
		fmt.Fprint(f, s.String())
	}
}

// MarshalText implements encoding.TextMarshaler.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(s.String())), nil }
