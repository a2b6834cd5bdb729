package config

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/pollerd/pollerd/internal/probe"
)

// rawTarget holds the keys every target has, whatever its kind. The other
// keys of a target belong to its probe kind (probe.Kind.Keys), which
// decodes them into its spec.
type rawTarget struct {
	Name             any `mapstructure:"name"`
	URL              any `mapstructure:"url"`
	Interval         any `mapstructure:"interval"`
	Schedule         any `mapstructure:"schedule"`
	Timeout          any `mapstructure:"timeout"`
	FailureThreshold any `mapstructure:"failure_threshold"`
	SuccessThreshold any `mapstructure:"success_threshold"`
	Notify           any `mapstructure:"notify"`
	Group            any `mapstructure:"group"`
}

func (p *parser) targets(v any, d Defaults) []Target {
	items := p.list("targets", v)
	out := make([]Target, 0, len(items))
	seen := map[string]int{}
	for i, item := range items {
		path := fmt.Sprintf("targets[%d]", i)
		common, kindKeys := splitKindKeys(item)
		var raw rawTarget
		if !p.section(path, common, &raw) {
			continue
		}
		out = append(out, p.target(i, &raw, kindKeys, d, seen))
	}
	return out
}

// splitKindKeys takes out of a target's mapping the keys that some probe
// kind takes, so that only the rest is checked against rawTarget.
func splitKindKeys(item any) (common any, kindKeys map[string]any) {
	m, ok := item.(map[string]any)
	if !ok {
		return item, nil
	}
	rest := make(map[string]any, len(m))
	kindKeys = map[string]any{}
	for key, v := range m {
		if len(kindsTaking(key)) > 0 {
			kindKeys[key] = v
		} else {
			rest[key] = v
		}
	}
	return rest, kindKeys
}

// target parses targets[i]; seen maps the names so far to their index.
func (p *parser) target(i int, raw *rawTarget, kindKeys map[string]any, d Defaults, seen map[string]int) Target {
	path := fmt.Sprintf("targets[%d]", i)
	var t Target
	t.Name, _ = p.str(path+".name", raw.Name)
	if j, dup := seen[t.Name]; dup {
		p.add(path+".name", "%q is already targets[%d]", t.Name, j)
	} else if t.Name == "" {
		p.add(path+".name", "required")
	} else if msg := checkName(t.Name); msg != "" {
		p.add(path+".name", "%s", msg)
	} else {
		seen[t.Name] = i
	}
	var kind *probe.Kind
	var parsed *url.URL
	t.URL, _ = p.str(path+".url", raw.URL)
	if t.URL == "" {
		p.add(path+".url", "required")
	} else if u, k, msg := parseTargetURL(t.URL); msg != "" {
		p.add(path+".url", "%s", msg)
	} else {
		parsed, kind = u, &k
	}

	var timeout time.Duration
	if t.Schedule, _ = p.str(path+".schedule", raw.Schedule); t.Schedule != "" {
		timeout = p.schedule(path, raw, d, &t)
	} else {
		t.Interval, timeout = p.cadence(path, raw.Interval, raw.Timeout, d.Interval, d.Timeout)
	}
	t.FailureThreshold = p.intAtLeast(path+".failure_threshold", raw.FailureThreshold, d.FailureThreshold, 1)
	t.SuccessThreshold = p.intAtLeast(path+".success_threshold", raw.SuccessThreshold, d.SuccessThreshold, 1)
	t.Notify = p.notify(path+".notify", raw.Notify)
	if t.Group, _ = p.str(path+".group", raw.Group); t.Group != "" {
		if msg := checkName(t.Group); msg != "" {
			p.add(path+".group", "%s", msg)
		}
	}
	t.Probe = probe.Target{Name: t.Name, URL: parsed, Timeout: timeout, Spec: p.spec(path, kind, kindKeys)}
	return t
}

// parseTargetURL parses a target URL and finds its probe kind. Its messages
// never quote the URL, which may carry credentials.
func parseTargetURL(s string) (*url.URL, probe.Kind, string) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, probe.Kind{}, "not a valid URL"
	}
	k, ok := probe.KindOf(u.Scheme)
	if !ok {
		return nil, probe.Kind{}, "scheme must be " + orList(probe.Schemes())
	}
	if msg := k.CheckURL(u); msg != "" {
		return nil, probe.Kind{}, msg
	}
	return u, k, ""
}

// spec decodes the kind-specific keys of the target at path into its kind's
// spec. A key that only other kinds take is a problem. With no kind (the
// URL is missing or bad) the keys are still checked when exactly one kind
// takes them all, so one run lists every problem; the spec is then dropped.
func (p *parser) spec(path string, kind *probe.Kind, in map[string]any) any {
	if kind == nil {
		kind = onlyKindTakingAll(in)
		if kind == nil {
			return nil
		}
	}
	own := map[string]any{}
	reported := map[string]bool{}
	for _, other := range probe.Kinds() { // in a fixed order: the kinds', then their keys'
		for _, key := range other.Keys {
			v := in[key]
			switch {
			case v == nil || reported[key]:
			case kind.Takes(key):
				own[key] = v
			default:
				reported[key] = true
				p.add(path+"."+key, "only for %s targets", orList(kindsTaking(key)))
			}
		}
	}
	if kind.Decode == nil {
		return nil
	}
	return kind.Decode(targetDecoder{p: p, path: path}, own)
}

// onlyKindTakingAll returns the one kind that takes every key set in in;
// nil when none is set, or when no kind or more than one takes them all.
func onlyKindTakingAll(in map[string]any) *probe.Kind {
	var keys []string
	for key, v := range in {
		if v != nil {
			keys = append(keys, key)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	var found []probe.Kind
	for _, k := range probe.Kinds() {
		if !slices.ContainsFunc(keys, func(key string) bool { return !k.Takes(key) }) {
			found = append(found, k)
		}
	}
	if len(found) != 1 {
		return nil
	}
	return &found[0]
}

// kindsTaking names the kinds that take key, as a user would say them
// ("http(s)", "tcp"), sorted.
func kindsTaking(key string) []string {
	var out []string
	for _, k := range probe.Kinds() {
		if k.Takes(key) {
			out = append(out, schemesLabel(k.Schemes))
		}
	}
	slices.Sort(out)
	return out
}

// schemesLabel names a kind by its schemes: "tcp"; "http(s)" for http and
// https.
func schemesLabel(schemes []string) string {
	var parts []string
	for _, s := range slices.Sorted(slices.Values(schemes)) {
		switch {
		case slices.Contains(schemes, s+"s"):
			parts = append(parts, s+"(s)")
		case strings.HasSuffix(s, "s") && slices.Contains(schemes, strings.TrimSuffix(s, "s")):
			// said with its plain form
		default:
			parts = append(parts, s)
		}
	}
	return orList(parts)
}

// orList joins items as a person says them: "a", "a or b", "a, b or c".
func orList(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// schedule parses a cron schedule and returns the target's timeout. "@every
// D" has an interval, D, and follows the interval's timeout rule; for other
// specs, which have no single interval to compare with, an unset timeout is
// defaults.timeout.
func (p *parser) schedule(path string, raw *rawTarget, d Defaults, t *Target) time.Duration {
	if raw.Interval != nil {
		p.add(path+".schedule", "cannot be combined with interval; set one")
	}
	sched, err := ScheduleParser.Parse(t.Schedule)
	if err != nil {
		p.add(path+".schedule", "bad cron expression: %v", err)
	}
	t.ParsedSchedule = sched
	if every, ok := strings.CutPrefix(t.Schedule, "@every "); ok && err == nil {
		dur, _ := time.ParseDuration(strings.TrimSpace(every))
		if dur < time.Second {
			p.add(path+".schedule", "@every must be at least 1s")
			return 0
		}
		_, timeout := p.cadence(path, dur.String(), raw.Timeout, dur, d.Timeout)
		return timeout
	}
	return p.positiveDur(path+".timeout", raw.Timeout, d.Timeout)
}

// targetDecoder is the probe.Decoder for the target at path: it reads
// values as the rest of the file is read (${VAR} expanded, scalars
// converted) and records problems under the target's path.
type targetDecoder struct {
	p    *parser
	path string
}

var _ probe.Decoder = targetDecoder{}

func (d targetDecoder) String(key string, v any) (string, bool) { return d.p.str(join(d.path, key), v) }

func (d targetDecoder) Bool(key string, v any, def bool) bool {
	return d.p.boolOr(join(d.path, key), v, def)
}

func (d targetDecoder) Duration(key string, v any) time.Duration {
	return d.p.positiveDur(join(d.path, key), v, 0)
}

func (d targetDecoder) Fields(key string, v any, known ...string) map[string]any {
	return d.p.fields(join(d.path, key), v, known)
}

func (d targetDecoder) Problem(key, format string, args ...any) {
	d.p.add(join(d.path, key), format, args...)
}

// fields returns the mapping at path and reports each of its keys not in
// known, as section does for a struct; nil when v is absent or no mapping.
func (p *parser) fields(path string, v any, known []string) map[string]any {
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		p.add(path, "must be a mapping")
		return nil
	}
	for _, key := range slices.Sorted(maps.Keys(m)) {
		switch {
		case slices.Contains(known, key):
		case key == "":
			p.add(path, "empty key")
		default:
			p.add(join(path, key), "unknown key")
		}
	}
	return m
}
