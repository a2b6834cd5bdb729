package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/probe"
)

// TestParse_ProbeTarget: every target carries what probe.Run needs, with
// the spec of its kind.
func TestParse_ProbeTarget(t *testing.T) {
	const src = `
targets:
  - name: api
    url: https://example.com/health
    timeout: 3s
  - name: db
    url: tcp://db.example:5432
`
	c := mustParse(t, src, noEnv)
	api, db := c.Targets[0].Probe, c.Targets[1].Probe
	if api.Name != "api" || api.URL == nil || api.URL.String() != "https://example.com/health" || api.Timeout != 3*time.Second {
		t.Errorf("api = %+v", api)
	}
	if _, ok := api.Spec.(probe.HTTPSpec); !ok {
		t.Errorf("api spec is %T, want probe.HTTPSpec", api.Spec)
	}
	if db.Name != "db" || db.URL.Host != "db.example:5432" || db.Timeout != 10*time.Second || db.Spec != nil {
		t.Errorf("db = %+v, want no spec", db)
	}
}

func TestConfig_TargetNamesAndServiceTargets(t *testing.T) {
	const src = `
targets:
  - {name: web, url: "https://example.com/"}
  - {name: api, url: "https://example.com/api"}
  - {name: db, url: "tcp://db.example:5432"}
services:
  - {name: app, targets: [api, db]}
  - {name: site, targets: [web]}
  - {name: quiet}
`
	c := mustParse(t, src, noEnv)
	if got, want := c.TargetNames(), []string{"web", "api", "db"}; !reflect.DeepEqual(got, want) {
		t.Errorf("TargetNames() = %v, want %v (file order)", got, want)
	}
	want := map[string][]string{"app": {"api", "db"}, "site": {"web"}, "quiet": nil}
	if got := c.ServiceTargets(); !reflect.DeepEqual(got, want) {
		t.Errorf("ServiceTargets() = %v, want %v", got, want)
	}
	empty := mustParse(t, "", noEnv)
	if n, s := empty.TargetNames(), empty.ServiceTargets(); len(n) != 0 || len(s) != 0 {
		t.Errorf("empty config: %v %v", n, s)
	}
}

// TestMessages_FromRegistry pins the messages that are derived from the
// probe kinds, so a new kind changes them only by adding its name.
func TestMessages_FromRegistry(t *testing.T) {
	tests := []struct{ got, want string }{
		{orList(nil), ""},
		{orList([]string{"a"}), "a"},
		{orList([]string{"a", "b"}), "a or b"},
		{orList([]string{"a", "b", "c"}), "a, b or c"},
		{schemesLabel([]string{"https", "http"}), "http(s)"},
		{schemesLabel([]string{"tcp"}), "tcp"},
		{schemesLabel([]string{"dns"}), "dns"},
		{orList(kindsTaking("method")), "http(s)"},
		{orList(kindsTaking("interval")), ""},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	_, _, msg := parseTargetURL("gopher://example.com/")
	if msg != "scheme must be dns, http, https, tcp or tls" {
		t.Errorf("scheme message = %q", msg)
	}
}

// TestParse_KindKeysWithBadURL: when the URL names no kind, keys that only
// one kind takes are still checked as that kind's, so one run of validate
// lists every problem.
func TestParse_KindKeysWithBadURL(t *testing.T) {
	tests := map[string][]want{
		`targets: [{name: a, url: "gopher://x", method: "g et"}]`: {
			{"targets[0].url", "scheme must be dns, http, https, tcp or tls"},
			{"targets[0].method", `"G ET" is not an HTTP method`}},
		`targets: [{name: a, headers: {"bad name": x}}]`: {
			{"targets[0].url", "required"},
			{"targets[0].headers.bad name", "not a header name"}},
		// expect is taken by several kinds: with no URL to choose, it
		// waits until the URL is fixed.
		`targets: [{name: a, expect: {bodycontains: x}}]`: {
			{"targets[0].url", "required"}},
		`targets: [{name: a, url: "tcp://x", follow_redirects: maybe}]`: {
			{"targets[0].url", "tcp needs host:port"},
			{"targets[0].follow_redirects", "must be true or false"}},
	}
	for src, wants := range tests {
		t.Run(src, func(t *testing.T) {
			_, err := Parse(strings.NewReader(src), "/", noEnv)
			ps := Problems(err)
			for _, w := range wants {
				if !hasProblem(ps, w) {
					t.Errorf("missing problem %s: …%s…", w.path, w.msg)
				}
			}
			if len(ps) != len(wants) {
				t.Errorf("got %d problems, want %d:\n%v", len(ps), len(wants), err)
			}
		})
	}
}

func TestParse_PolicyKeys(t *testing.T) {
	const yml = `
alerting:
  group_wait: 10s
  repeat_interval: 1h
canaries:
  targets: [canary-a, canary-b]
  quorum: 1
targets:
  - name: canary-a
    url: tcp://192.0.2.1:53
  - name: canary-b
    url: tcp://192.0.2.2:53
  - name: api
    url: https://example.com/health
    group: homeserver
  - name: db
    url: tcp://example.com:5432
    group: homeserver
`
	c, err := Parse(strings.NewReader(yml), t.TempDir(), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Alerting.GroupWait != 10*time.Second || c.Alerting.RepeatInterval != time.Hour {
		t.Errorf("group_wait, repeat_interval = %v, %v", c.Alerting.GroupWait, c.Alerting.RepeatInterval)
	}
	if !reflect.DeepEqual(c.Canaries, Canaries{Targets: []string{"canary-a", "canary-b"}, Quorum: 1}) {
		t.Errorf("canaries = %+v", c.Canaries)
	}
	if got := c.Groups(); !reflect.DeepEqual(got, map[string][]string{"homeserver": {"api", "db"}}) {
		t.Errorf("groups = %v", got)
	}
	if got := c.TargetGroups(); got["api"] != "homeserver" || got["canary-a"] != "" {
		t.Errorf("target groups = %v", got)
	}

	d, err := Parse(strings.NewReader("targets: [{name: api, url: 'https://example.com/'}]\ncanaries: {targets: [api]}\n"), t.TempDir(), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if d.Alerting.GroupWait != 30*time.Second || d.Alerting.RepeatInterval != 0 || d.Canaries.Quorum != 1 {
		t.Errorf("defaults: group_wait %v, repeat_interval %v, quorum %d", d.Alerting.GroupWait, d.Alerting.RepeatInterval, d.Canaries.Quorum)
	}
}
