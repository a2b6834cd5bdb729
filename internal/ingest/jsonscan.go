package ingest

import (
	"errors"
	"strings"

	"github.com/segmentio/encoding/json"
)

// A small JSON object walker for descriptions. Real descriptions are 2–5 KB
// of serialised axios error of which pollerd reads a handful of top-level
// fields; encoding/json would scan every byte twice (validate, then decode)
// through its state machine. The walker visits the members of one object and
// skips values it is not asked about with a plain byte loop; the few values
// it hands out are then decoded strictly (segmentio/encoding/json, as the
// body is: decode.go). It is lenient about what it skips (a bad literal
// inside an unread value passes), which is harmless: nothing skipped is
// ever shown.

var errJSON = errors.New("malformed json")

// eachMember calls fn with the key and raw value of each member of the JSON
// object s (leading and trailing white space allowed, nothing else). Keys
// with escapes are passed decoded.
func eachMember(s string, fn func(key, raw string)) error {
	i := skipWS(s, 0)
	if i >= len(s) || s[i] != '{' {
		return errJSON
	}
	i = skipWS(s, i+1)
	if i < len(s) && s[i] == '}' {
		return trailing(s, i+1)
	}
	for {
		if i >= len(s) || s[i] != '"' {
			return errJSON
		}
		kEnd, err := skipString(s, i)
		if err != nil {
			return err
		}
		key := s[i+1 : kEnd-1]
		if strings.IndexByte(key, '\\') >= 0 {
			if json.Unmarshal([]byte(s[i:kEnd]), &key) != nil {
				return errJSON
			}
		}
		i = skipWS(s, kEnd)
		if i >= len(s) || s[i] != ':' {
			return errJSON
		}
		i = skipWS(s, i+1)
		vEnd, err := skipValue(s, i)
		if err != nil {
			return err
		}
		fn(key, s[i:vEnd])
		i = skipWS(s, vEnd)
		if i >= len(s) {
			return errJSON
		}
		switch s[i] {
		case ',':
			i = skipWS(s, i+1)
		case '}':
			return trailing(s, i+1)
		default:
			return errJSON
		}
	}
}

func trailing(s string, i int) error {
	if skipWS(s, i) != len(s) {
		return errJSON
	}
	return nil
}

func skipWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string that starts at s[i].
func skipString(s string, i int) (int, error) {
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			return j + 1, nil
		case c == '\\':
			j++
		case c < 0x20:
			return 0, errJSON
		}
	}
	return 0, errJSON
}

// skipValue returns the index just past the value that starts at s[i].
// Nesting is bounded by the body size, and the loop keeps no stack.
func skipValue(s string, i int) (int, error) {
	if i >= len(s) {
		return 0, errJSON
	}
	switch s[i] {
	case '"':
		return skipString(s, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(s); j++ {
			switch s[j] {
			case '"':
				end, err := skipString(s, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errJSON
	default: // number, true, false, null
		j := i
		for j < len(s) && !strings.ContainsRune(",}] \t\r\n", rune(s[j])) {
			j++
		}
		if j == i {
			return 0, errJSON
		}
		return j, nil
	}
}

// jsonString decodes raw when it is a JSON string.
func jsonString(raw string) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	if strings.IndexByte(inner, '\\') < 0 {
		return inner, true // the walker already refused control characters
	}
	var s string
	if json.Unmarshal([]byte(raw), &s) != nil {
		return "", false
	}
	return s, true
}
