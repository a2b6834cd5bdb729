package config

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// rawTarget is one targets[i] entry before parsing.
type rawTarget struct {
	Name             any `mapstructure:"name"`
	URL              any `mapstructure:"url"`
	Interval         any `mapstructure:"interval"`
	Schedule         any `mapstructure:"schedule"`
	Timeout          any `mapstructure:"timeout"`
	FailureThreshold any `mapstructure:"failure_threshold"`
	SuccessThreshold any `mapstructure:"success_threshold"`
	Method           any `mapstructure:"method"`
	Headers          any `mapstructure:"headers"`
	Body             any `mapstructure:"body"`
	FollowRedirects  any `mapstructure:"follow_redirects"`
	TLSSkipVerify    any `mapstructure:"tls_skip_verify"`
	Expect           any `mapstructure:"expect"`
}

func (p *parser) targets(v any, d Defaults) []Target {
	items := p.list("targets", v)
	out := make([]Target, 0, len(items))
	seen := map[string]int{}
	for i, item := range items {
		path := fmt.Sprintf("targets[%d]", i)
		var raw rawTarget
		if !p.section(path, item, &raw) {
			continue
		}
		out = append(out, p.target(i, &raw, d, seen))
	}
	return out
}

// target parses targets[i]; seen maps the names so far to their index.
func (p *parser) target(i int, raw *rawTarget, d Defaults, seen map[string]int) Target {
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
	t.URL, _ = p.str(path+".url", raw.URL)
	if t.URL == "" {
		p.add(path+".url", "required")
	} else if u, msg := parseTargetURL(t.URL); msg != "" {
		p.add(path+".url", "%s", msg)
	} else {
		t.ParsedURL = u
	}

	if t.Schedule, _ = p.str(path+".schedule", raw.Schedule); t.Schedule != "" {
		p.schedule(path, raw, d, &t)
	} else {
		t.Interval, t.Timeout = p.cadence(path, raw.Interval, raw.Timeout, d.Interval, d.Timeout)
	}
	t.FailureThreshold = p.intAtLeast(path+".failure_threshold", raw.FailureThreshold, d.FailureThreshold, 1)
	t.SuccessThreshold = p.intAtLeast(path+".success_threshold", raw.SuccessThreshold, d.SuccessThreshold, 1)

	if t.ParsedURL != nil && t.ParsedURL.Scheme == "tcp" {
		httpOnly := []struct {
			key string
			v   any
		}{{"method", raw.Method}, {"headers", raw.Headers}, {"body", raw.Body},
			{"follow_redirects", raw.FollowRedirects}, {"tls_skip_verify", raw.TLSSkipVerify}, {"expect", raw.Expect}}
		for _, h := range httpOnly {
			if h.v != nil {
				p.add(path+"."+h.key, "only for http(s) targets")
			}
		}
		return t
	}
	t.Method = strings.ToUpper(p.strOr(path+".method", raw.Method, "GET"))
	if !checkMethod(t.Method) {
		p.add(path+".method", "%q is not an HTTP method", t.Method)
	}
	t.Headers = p.headers(path+".headers", raw.Headers)
	t.Body, _ = p.str(path+".body", raw.Body)
	t.FollowRedirects = p.boolOr(path+".follow_redirects", raw.FollowRedirects, true)
	t.TLSSkipVerify = p.boolOr(path+".tls_skip_verify", raw.TLSSkipVerify, false)
	t.Expect = p.expect(path+".expect", raw.Expect)
	return t
}

// schedule parses a cron schedule. "@every D" has an interval, D, and
// follows the interval's timeout rule; for other specs, which have no single
// interval to compare with, an unset timeout is defaults.timeout.
func (p *parser) schedule(path string, raw *rawTarget, d Defaults, t *Target) {
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
			return
		}
		_, t.Timeout = p.cadence(path, dur.String(), raw.Timeout, dur, d.Timeout)
		return
	}
	t.Timeout = p.positiveDur(path+".timeout", raw.Timeout, d.Timeout)
}

func (p *parser) headers(path string, v any) map[string]string {
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		p.add(path, "must be a mapping")
		return nil
	}
	out := make(map[string]string, len(m))
	for _, name := range sortedKeys(m) {
		hpath := join(path, name)
		if !checkHeaderName(name) {
			p.add(hpath, "not a header name")
			continue
		}
		val, _ := p.str(hpath, m[name])
		if strings.ContainsAny(val, "\r\n") {
			p.add(hpath, "must be one line") // never quote it: it may be a token
			continue
		}
		out[name] = val
	}
	return out
}

func (p *parser) expect(path string, v any) Expect {
	var raw struct {
		Status       any `mapstructure:"status"`
		BodyContains any `mapstructure:"body_contains"`
		BodyRegex    any `mapstructure:"body_regex"`
		JSON         any `mapstructure:"json"`
		MaxLatency   any `mapstructure:"max_latency"`
		CertMin      any `mapstructure:"cert_min_validity"`
	}
	var e Expect
	if !p.section(path, v, &raw) {
		return e
	}
	statuses, ok := raw.Status.([]any)
	if !ok && raw.Status != nil {
		statuses = []any{raw.Status} // status: 200
	}
	for i, s := range statuses {
		if str, ok := s.(string); ok {
			s, _ = p.str(fmt.Sprintf("%s.status[%d]", path, i), str)
		}
		r, ok := parseStatus(s)
		if !ok {
			p.add(fmt.Sprintf("%s.status[%d]", path, i), "%v is not a status code or class (100-599, or 1xx-5xx)", s)
			continue
		}
		e.Status = append(e.Status, r)
	}
	e.BodyContains, _ = p.str(path+".body_contains", raw.BodyContains)
	if re, _ := p.str(path+".body_regex", raw.BodyRegex); re != "" {
		var err error
		if e.BodyRegex, err = regexp.Compile(re); err != nil {
			p.add(path+".body_regex", "bad regex: %v", err)
		}
	}
	if raw.JSON != nil {
		if m, ok := raw.JSON.(map[string]any); ok {
			p.jsonExpects(path+".json", "", m, &e.JSON)
			sort.Slice(e.JSON, func(i, j int) bool { return e.JSON[i].Path < e.JSON[j].Path })
		} else {
			p.add(path+".json", "must be a mapping of dotted path to value")
		}
	}
	e.MaxLatency = p.positiveDur(path+".max_latency", raw.MaxLatency, 0)
	e.CertMinValidity = p.positiveDur(path+".cert_min_validity", raw.CertMin, 0)
	return e
}

// jsonExpects flattens `json: {data: {status: up}}` and
// `json: {data.status: up}` alike into path → value.
func (p *parser) jsonExpects(path, prefix string, m map[string]any, out *[]JSONExpect) {
	for _, key := range sortedKeys(m) {
		full := key
		if prefix != "" {
			full = prefix + "." + key
		}
		switch v := m[key].(type) {
		case map[string]any:
			p.jsonExpects(path, full, v, out)
		case string:
			if s, ok := p.expand(path+"."+full, v); ok {
				*out = append(*out, JSONExpect{Path: full, Value: s})
			}
		case int, int64, uint64, float64, bool:
			*out = append(*out, JSONExpect{Path: full, Value: fmt.Sprint(v)})
		default:
			p.add(path+"."+full, "must be a string, number or boolean")
		}
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
