package ingest

import (
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/pollerd/pollerd/internal/alert"
)

// fingerprint is the dedup key of a report: the same failure seen by many
// clients yields one key. The host is left out on purpose: node clients send
// absolute URLs and browsers relative ones, and both mean the same failure.
// The message is normalised (digits folded, case and spacing ignored) so
// ports, ids and counters in it do not split one failure into many.
func fingerprint(r *alert.Report) string {
	h := fnv.New64a()
	for _, part := range []string{
		r.Service, r.Method, r.Path, strconv.Itoa(r.Status), r.Code,
		normalizeMessage(r.Message), normalizeMessage(r.Opaque),
	} {
		_, _ = h.Write([]byte(part))
		_, _ = h.Write([]byte{0}) // separator: ("ab","c") ≠ ("a","bc")
	}
	return strconv.FormatUint(h.Sum64(), 16)
}

// normalizeMessage lower-cases s, folds every run of digits into one '#'
// and every run of white space into one space, and trims it.
func normalizeMessage(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	digits, space := false, false
	for _, r := range strings.TrimSpace(s) {
		switch {
		case '0' <= r && r <= '9':
			if !digits {
				b.WriteByte('#')
			}
			digits, space = true, false
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			if !space {
				b.WriteByte(' ')
			}
			digits, space = false, true
		default:
			b.WriteRune(toLower(r))
			digits, space = false, false
		}
	}
	return b.String()
}

func toLower(r rune) rune {
	if 'A' <= r && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}

// normalizePath replaces the path segments that are ids (numbers, UUIDs,
// hex ids, long opaque tokens) with ":id", so /stores/123 and /stores/456
// are one route: /stores/:id. A trailing slash is dropped.
func normalizePath(p string) string {
	if p == "" {
		return ""
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if isID(s) {
			segs[i] = ":id"
		}
	}
	out := strings.Join(segs, "/")
	if len(out) > 1 {
		out = strings.TrimRight(out, "/")
		if out == "" {
			out = "/"
		}
	}
	return out
}

// isID reports whether a path segment names one record rather than a route.
func isID(s string) bool {
	if s == "" {
		return false
	}
	var digits, hex, alnum int // counts of each class
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			digits++
			hex++
			alnum++
		case 'a' <= c|0x20 && c|0x20 <= 'f':
			hex++
			alnum++
		case 'a' <= c|0x20 && c|0x20 <= 'z':
			alnum++
		case c == '-' || c == '_' || c == '=' || c == '.' || c == '~' || c == '+':
		default:
			return false // other characters: not an id shape we know
		}
	}
	n := len(s)
	switch {
	case digits == n: // 123
		return true
	case isUUID(s):
		return true
	case hex == n && n >= 8 && digits > 0: // 5f3a9c0e…
		return true
	case n >= 20 && digits > 0 && alnum >= n*3/4: // base64-ish tokens, JWTs
		return true
	}
	return false
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
			continue
		}
		if !('0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'f') {
			return false
		}
	}
	return true
}
