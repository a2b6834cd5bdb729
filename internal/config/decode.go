package config

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
)

// parser turns viper's settings into a Config, one field at a time, so that
// a bad value becomes a Problem with its path and decoding goes on: every
// problem in the file is reported at once. Each section is first decoded by
// mapstructure into a struct whose fields are all `any`, which cannot fail
// on a value and reports every key it does not know.
type parser struct {
	lookup   func(string) (string, bool)
	literal  map[string]bool // key paths set from POLLERD_* variables: not expanded
	problems []Problem
	// channels is the decoded alerting section, which targets' notify
	// lists are checked against; it is decoded before the targets.
	channels Alerting
}

func (p *parser) add(path, format string, args ...any) {
	p.problems = append(p.problems, Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// join appends a key to a path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// section decodes the mapping in into raw, a pointer to a struct of `any`
// fields tagged with their keys, and reports each key raw lacks. It returns
// false when in is set but is not a mapping; an absent section is fine.
func (p *parser) section(path string, in, raw any) bool {
	if in == nil {
		return true
	}
	m, ok := in.(map[string]any)
	if !ok {
		p.add(path, "must be a mapping")
		return false
	}
	var md mapstructure.Metadata
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{Result: raw, Metadata: &md})
	if err != nil {
		panic(fmt.Sprintf("config: decoder for %s: %v", path, err)) // raw is not a struct pointer: a bug here
	}
	if err := dec.Decode(m); err != nil {
		p.add(path, "%v", err) // unreachable while raw's fields are all `any`
		return false
	}
	sort.Strings(md.Unused)
	for _, key := range md.Unused {
		if key == "" {
			p.add(path, "empty key")
			continue
		}
		p.add(join(path, key), "unknown key")
	}
	return true
}

// list returns the items of a YAML sequence; absent is empty.
func (p *parser) list(path string, v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	default:
		p.add(path, "must be a list")
		return nil
	}
}

// str returns the string at path with ${VAR} expanded. Scalars of other
// types are printed (name: 123 is "123"). set is false when the value is
// absent, empty or wrong (a problem is then recorded), so the caller's
// default applies: `${VAR:-}` with VAR unset means "not configured".
func (p *parser) str(path string, v any) (s string, set bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		s, ok := p.expand(path, x)
		return s, ok && s != ""
	case int, int64, uint64, float64, bool:
		return fmt.Sprint(x), true
	default:
		p.add(path, "must be a string")
		return "", false
	}
}

func (p *parser) strOr(path string, v any, def string) string {
	if s, ok := p.str(path, v); ok {
		return s
	}
	return def
}

// strList accepts a sequence of strings, or one string of comma-separated
// items (what a POLLERD_* variable holds).
func (p *parser) strList(path string, v any) []string {
	if s, ok := v.(string); ok {
		s, _ = p.str(path, s)
		var out []string
		for item := range strings.SplitSeq(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
		return out
	}
	var out []string
	for i, item := range p.list(path, v) {
		ipath := fmt.Sprintf("%s[%d]", path, i)
		if s, ok := p.str(ipath, item); ok {
			out = append(out, s)
		} else if item == nil {
			p.add(ipath, "must not be empty")
		}
	}
	return out
}

// duration parses a Go duration (30s, 1m30s). A bare number is refused
// rather than guessed at.
func (p *parser) duration(path string, v any) (d time.Duration, set bool) {
	switch x := v.(type) {
	case nil:
		return 0, false
	case string:
		s, ok := p.expand(path, x)
		if !ok || s == "" {
			return 0, false
		}
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			p.add(path, "%q is not a duration (like 30s or 5m)", s)
			return 0, false
		}
		return d, true
	case int, int64, float64:
		p.add(path, "%v needs a unit (like 30s)", x)
	default:
		p.add(path, "must be a duration (like 30s)")
	}
	return 0, false
}

// positiveDur returns the duration at path, def when unset, and reports a
// value that is not above zero.
func (p *parser) positiveDur(path string, v any, def time.Duration) time.Duration {
	d, ok := p.duration(path, v)
	if !ok {
		return def
	}
	if d <= 0 {
		p.add(path, "must be positive")
	}
	return d
}

func (p *parser) integer(path string, v any) (n int, set bool) {
	switch x := v.(type) {
	case nil:
		return 0, false
	case int:
		return x, true
	case int64:
		return int(x), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int(x), true
		}
	case string:
		s, ok := p.expand(path, x)
		if !ok || s == "" {
			return 0, false
		}
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err == nil {
			return n, true
		}
		p.add(path, "%q is not a whole number", s)
		return 0, false
	}
	p.add(path, "must be a whole number")
	return 0, false
}

// intAtLeast returns the integer at path, def when unset, and reports a
// value below lo.
func (p *parser) intAtLeast(path string, v any, def, lo int) int {
	n, ok := p.integer(path, v)
	if !ok {
		return def
	}
	if n < lo {
		p.add(path, "must be at least %d", lo)
	}
	return n
}

// positiveFloat returns the number at path, def when unset, and reports a
// value that is not above zero.
func (p *parser) positiveFloat(path string, v any, def float64) float64 {
	var f float64
	switch x := v.(type) {
	case nil:
		return def
	case int:
		f = float64(x)
	case float64:
		f = x
	case string:
		s, ok := p.expand(path, x)
		if !ok || s == "" {
			return def
		}
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(s), 64); err != nil {
			p.add(path, "%q is not a number", s)
			return def
		}
	default:
		p.add(path, "must be a number")
		return def
	}
	if !(f > 0) || math.IsInf(f, 0) {
		p.add(path, "must be positive")
	}
	return f
}

func (p *parser) boolOr(path string, v any, def bool) bool {
	switch x := v.(type) {
	case nil:
		return def
	case bool:
		return x
	case string:
		s, ok := p.expand(path, x)
		if !ok || s == "" {
			return def
		}
		if b, err := strconv.ParseBool(strings.TrimSpace(s)); err == nil {
			return b
		}
	}
	p.add(path, "must be true or false")
	return def
}
