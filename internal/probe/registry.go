package probe

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"time"
)

// kinds is the registry: every probe kind by name. A new kind is one file
// that declares its Kind, plus one line here: Run dispatches by it, and
// internal/config decodes and checks targets through KindOf, Kinds and
// Schemes, so neither config nor cmd changes.
var kinds = map[string]Kind{
	"dns":  dnsKind,
	"http": httpKind,
	"tcp":  tcpKind,
	"tls":  tlsKind,
}

// Kind is one probe kind: the URL schemes it probes, the settings it takes
// and the probe itself.
type Kind struct {
	// Schemes are the URL schemes of the kind's targets (http and https
	// share a kind).
	Schemes []string
	// CheckURL says what is wrong with a target URL of one of Schemes, or
	// "". It never quotes the URL, which may hold credentials.
	CheckURL func(u *url.URL) string
	// Keys are the target settings the kind takes beside the common ones
	// (name, url, interval, schedule, timeout and the thresholds), in the
	// order problems about them are listed. None: the kind has no Spec.
	Keys []string
	// Decode builds the kind's Spec from the settings in in, which holds
	// only those of Keys that the target sets, and reports what is wrong
	// with them through d. nil when Keys is empty.
	Decode func(d Decoder, in map[string]any) any
	// Probe probes one target of the kind. It applies Target.Timeout.
	Probe Func
}

// Decoder reads a target's kind-specific settings for Kind.Decode. Values
// are as YAML decodes them (map[string]any, []any, string, int, float64,
// bool). Keys are paths relative to the target ("expect.status[1]"), and
// every problem is recorded rather than returned, so that all of them are
// listed at once. internal/config implements it: it expands ${VAR} in
// strings and puts the target's own path ("targets[2].") before each key.
type Decoder interface {
	// String returns the string at key, ${VAR} expanded; other scalars are
	// printed (123 is "123"). set is false when v is absent, empty or wrong
	// (a problem is then recorded), so the caller's default applies.
	String(key string, v any) (s string, set bool)
	// Bool returns the boolean at key, def when v is absent.
	Bool(key string, v any, def bool) bool
	// Duration returns the duration at key, which must be above zero; 0
	// when v is absent.
	Duration(key string, v any) time.Duration
	// Fields returns the mapping at key and reports each of its keys that is
	// not in known. nil when v is absent or not a mapping.
	Fields(key string, v any, known ...string) map[string]any
	// Problem records what is wrong at key.
	Problem(key, format string, args ...any)
}

// byScheme indexes kinds by URL scheme.
var byScheme = func() map[string]Kind {
	m := make(map[string]Kind)
	for name, k := range kinds {
		for _, s := range k.Schemes {
			if _, dup := m[s]; dup {
				panic(fmt.Sprintf("probe: scheme %q registered twice (kind %s)", s, name))
			}
			m[s] = k
		}
	}
	return m
}()

// KindOf returns the kind that probes URLs of scheme.
func KindOf(scheme string) (Kind, bool) {
	k, ok := byScheme[scheme]
	return k, ok
}

// Kinds returns every kind, sorted by name.
func Kinds() []Kind {
	var out []Kind
	for _, name := range slices.Sorted(maps.Keys(kinds)) {
		out = append(out, kinds[name])
	}
	return out
}

// Schemes returns every scheme a kind probes, sorted.
func Schemes() []string { return slices.Sorted(maps.Keys(byScheme)) }

// Takes reports whether the kind takes the setting key.
func (k Kind) Takes(key string) bool { return slices.Contains(k.Keys, key) }
