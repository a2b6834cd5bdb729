package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/probe"
)

// minimal is the smallest useful config: one target, all else default.
const minimal = `
targets:
  - name: api
    url: https://example.com/health
`

// httpSpec returns the HTTP settings of an http(s) target.
func httpSpec(t *testing.T, tg Target) probe.HTTPSpec {
	t.Helper()
	s, ok := tg.Probe.Spec.(probe.HTTPSpec)
	if !ok {
		t.Fatalf("target %s: spec is %T, want probe.HTTPSpec", tg.Name, tg.Probe.Spec)
	}
	return s
}

// mustParse parses src with dir /etc/pollerd and fails the test on any problem.
func mustParse(t *testing.T, src string, lookup func(string) (string, bool)) *Config {
	t.Helper()
	cfg, err := Parse(strings.NewReader(src), "/etc/pollerd", lookup)
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	return cfg
}

func TestParse_Defaults(t *testing.T) {
	c := mustParse(t, minimal, noEnv)
	tg := c.Targets[0]
	spec := httpSpec(t, tg)
	tests := []struct {
		name      string
		got, want any
	}{
		{"listen", c.Listen, "127.0.0.1:8080"},
		{"state_dir", c.StateDir, "/etc/pollerd/data"},
		{"log", c.Log, Log{Level: "info", Format: "json"}},
		{"defaults", c.Defaults, Defaults{Interval: 30 * time.Second, Timeout: 10 * time.Second, FailureThreshold: 3, SuccessThreshold: 2}},
		{"alerting", c.Alerting, Alerting{GroupWait: 30 * time.Second}},
		{"ingest", c.Ingest, Ingest{Path: "/api/v1/reports", MaxBodyBytes: 65536, DedupWindow: 10 * time.Minute,
			MaxFingerprints: 100000, RateLimit: RateLimit{PerIP: 5, PerIPBurst: 20, Global: 500}, ConfirmCooldown: time.Minute}},
		{"history", c.History, History{RetentionDays: 90}},
		{"target interval", tg.Interval, 30 * time.Second},
		{"target timeout", tg.Probe.Timeout, 10 * time.Second},
		{"target thresholds", [2]int{tg.FailureThreshold, tg.SuccessThreshold}, [2]int{3, 2}},
		{"target method", spec.Method, "GET"},
		{"target follow_redirects", spec.FollowRedirects, true},
		{"target tls_skip_verify", spec.TLSSkipVerify, false},
		{"target expect", spec.Expect, probe.Expect{}},
		{"target url", tg.Probe.URL.String(), "https://example.com/health"},
		{"target probe name", tg.Probe.Name, "api"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %+v, want %+v", tt.got, tt.want)
			}
		})
	}
}

func TestParse_EnvOverride(t *testing.T) {
	// The file sets listen and log.level, so the rows for those show that
	// the variable wins; every other key is absent from the file.
	const src = minimal + "listen: 127.0.0.1:9999\nlog: {level: debug}\n"
	tests := map[string]struct {
		env  map[string]string // beyond the key's own variable
		val  string
		got  func(*Config) any
		want any
	}{
		"listen":                         {val: "127.0.0.1:7000", got: func(c *Config) any { return c.Listen }, want: "127.0.0.1:7000"},
		"state_dir":                      {val: "/var/lib/x", got: func(c *Config) any { return c.StateDir }, want: "/var/lib/x"},
		"log.level":                      {val: "warn", got: func(c *Config) any { return c.Log.Level }, want: "warn"},
		"log.format":                     {val: "console", got: func(c *Config) any { return c.Log.Format }, want: "console"},
		"defaults.interval":              {val: "1m", got: func(c *Config) any { return c.Targets[0].Interval }, want: time.Minute},
		"defaults.timeout":               {val: "7s", got: func(c *Config) any { return c.Targets[0].Probe.Timeout }, want: 7 * time.Second},
		"defaults.failure_threshold":     {val: "5", got: func(c *Config) any { return c.Targets[0].FailureThreshold }, want: 5},
		"defaults.success_threshold":     {val: "4", got: func(c *Config) any { return c.Targets[0].SuccessThreshold }, want: 4},
		"alerting.slack.webhook_url":     {val: "https://hooks.slack.com/services/T/B/x", got: func(c *Config) any { return c.Alerting.Slack.WebhookURL.Value() }, want: "https://hooks.slack.com/services/T/B/x"},
		"alerting.slack.token":           {val: "xoxb-1", got: func(c *Config) any { return c.Alerting.Slack.Token.Value() }, want: "xoxb-1"},
		"alerting.slack.channel":         {env: map[string]string{"POLLERD_ALERTING_SLACK_TOKEN": "xoxb-1"}, val: "#ops", got: func(c *Config) any { return c.Alerting.Slack.Channel }, want: "#ops"},
		"alerting.slack.api_url":         {env: map[string]string{"POLLERD_ALERTING_SLACK_TOKEN": "xoxb-1", "POLLERD_ALERTING_SLACK_CHANNEL": "#ops"}, val: "http://127.0.0.1:9/api/", got: func(c *Config) any { return c.Alerting.Slack.APIURL }, want: "http://127.0.0.1:9/api/"},
		"ingest.path":                    {val: "/r", got: func(c *Config) any { return c.Ingest.Path }, want: "/r"},
		"ingest.max_body_bytes":          {val: "1024", got: func(c *Config) any { return c.Ingest.MaxBodyBytes }, want: int64(1024)},
		"ingest.dedup_window":            {val: "1m", got: func(c *Config) any { return c.Ingest.DedupWindow }, want: time.Minute},
		"ingest.max_fingerprints":        {val: "10", got: func(c *Config) any { return c.Ingest.MaxFingerprints }, want: 10},
		"ingest.rate_limit.per_ip":       {val: "0.5", got: func(c *Config) any { return c.Ingest.RateLimit.PerIP }, want: 0.5},
		"ingest.rate_limit.per_ip_burst": {val: "3", got: func(c *Config) any { return c.Ingest.RateLimit.PerIPBurst }, want: 3},
		"ingest.rate_limit.global":       {val: "100", got: func(c *Config) any { return c.Ingest.RateLimit.Global }, want: 100.0},
		"ingest.trusted_proxies": {val: "10.0.0.0/8, 192.168.1.1", got: func(c *Config) any { return c.Ingest.TrustedProxies },
			want: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.1/32")}},
		"ingest.confirm_cooldown":        {val: "30s", got: func(c *Config) any { return c.Ingest.ConfirmCooldown }, want: 30 * time.Second},
		"alerting.alertmanager.urls":     {val: "http://a:9093, http://b:9093", got: func(c *Config) any { return len(c.Alerting.Alertmanager.URLs) }, want: 2},
		"alerting.alertmanager.reporter": {env: map[string]string{"POLLERD_ALERTING_ALERTMANAGER_URLS": "http://a:9093"}, val: "vantage-fra", got: func(c *Config) any { return c.Alerting.Alertmanager.Reporter }, want: "vantage-fra"},
		"history.retention_days":         {val: "7", got: func(c *Config) any { return c.History.RetentionDays }, want: 7},
		"heartbeat.url":                  {val: "https://hc-ping.com/x", got: func(c *Config) any { return c.Heartbeat.URL.Value() }, want: "https://hc-ping.com/x"},
		"api.admin_token":                {val: "s3cret", got: func(c *Config) any { return c.API.AdminToken.Value() }, want: "s3cret"},
		"heartbeat.interval":             {val: "5m", got: func(c *Config) any { return c.Heartbeat.Interval }, want: 5 * time.Minute},
		"alerting.email.smtp":            {env: emailEnv("smtp"), val: "smtp.example.com:587", got: func(c *Config) any { return c.Alerting.Email.SMTP }, want: "smtp.example.com:587"},
		"alerting.email.username":        {env: emailEnv("username", "password"), val: "u", got: func(c *Config) any { return c.Alerting.Email.Username }, want: "u"},
		"alerting.email.password":        {env: emailEnv("password", "username"), val: "pw", got: func(c *Config) any { return c.Alerting.Email.Password.Value() }, want: "pw"},
		"alerting.email.from":            {env: emailEnv("from"), val: "Pollerd <x@example.com>", got: func(c *Config) any { return c.Alerting.Email.From }, want: "Pollerd <x@example.com>"},
		"alerting.email.to":              {env: emailEnv("to"), val: "a@example.com, b@example.com", got: func(c *Config) any { return c.Alerting.Email.To }, want: []string{"a@example.com", "b@example.com"}},
		"alerting.email.starttls":        {env: emailEnv("starttls"), val: "none", got: func(c *Config) any { return c.Alerting.Email.StartTLS }, want: "none"},
	}
	for _, key := range envKeys {
		if _, ok := tests[key]; !ok {
			t.Errorf("no row for %s", key)
		}
	}
	for key, tt := range tests {
		t.Run(EnvName(key), func(t *testing.T) {
			e := map[string]string{EnvName(key): tt.val}
			for k, v := range tt.env {
				e[k] = v
			}
			c := mustParse(t, src, env(e))
			if got := tt.got(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v (%T), want %v (%T)", got, got, tt.want, tt.want)
			}
		})
	}
}

func TestEnvName(t *testing.T) {
	tests := map[string]string{
		"listen":                     "POLLERD_LISTEN",
		"alerting.slack.webhook_url": "POLLERD_ALERTING_SLACK_WEBHOOK_URL",
		"ingest.dedup_window":        "POLLERD_INGEST_DEDUP_WINDOW",
	}
	for key, want := range tests {
		t.Run(key, func(t *testing.T) {
			if got := EnvName(key); got != want {
				t.Errorf("EnvName(%q) = %q, want %q", key, got, want)
			}
		})
	}
}

func TestParse_EnvOverrideProblems(t *testing.T) {
	tests := map[string]struct {
		env  map[string]string
		want want
	}{
		"bad duration":  {map[string]string{"POLLERD_INGEST_DEDUP_WINDOW": "abc"}, want{"ingest.dedup_window", `"abc" is not a duration`}},
		"bad number":    {map[string]string{"POLLERD_HISTORY_RETENTION_DAYS": "lots"}, want{"history.retention_days", `"lots" is not a whole number`}},
		"bad log level": {map[string]string{"POLLERD_LOG_LEVEL": "loud"}, want{"log.level", "must be debug"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(minimal), "/", env(tt.env))
			if ps := Problems(err); len(ps) != 1 || !hasProblem(ps, tt.want) {
				t.Errorf("problems = %v, want only %v", ps, tt.want)
			}
		})
	}
}

// TestParse_EnvOverrideLiteral: a POLLERD_* value is used as it is, so a
// secret holding "${" needs no escaping.
func TestParse_EnvOverrideLiteral(t *testing.T) {
	c := mustParse(t, minimal, env(map[string]string{"POLLERD_ALERTING_SLACK_TOKEN": "xoxb-${NOT_A_VAR}"}))
	if got := c.Alerting.Slack.Token.Value(); got != "xoxb-${NOT_A_VAR}" {
		t.Errorf("token = %q", got)
	}
}

func TestParser_Expand(t *testing.T) {
	lookup := env(map[string]string{"A": "x", "B": "y", "EMPTY": ""})
	tests := []struct {
		name, in, want, problem string
	}{
		{name: "set", in: "${A}", want: "x"},
		{name: "several", in: "pre-${A}-${B}-post", want: "pre-x-y-post"},
		{name: "default when unset", in: "${NOPE:-def}", want: "def"},
		{name: "default when empty", in: "${EMPTY:-def}", want: "def"},
		{name: "set wins over default", in: "${A:-def}", want: "x"},
		{name: "empty default", in: "${NOPE:-}", want: ""},
		{name: "set to empty", in: "${EMPTY}", want: ""},
		{name: "dollar alone stays", in: "$A and $$ and $", want: "$A and $$ and $"},
		{name: "unset", in: "${NOPE}", problem: "${NOPE} is not set"},
		{name: "unterminated", in: "${A", problem: "unterminated ${"},
		{name: "bad name", in: "${1A}", problem: "${1A}: not a variable name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &parser{lookup: lookup}
			got, ok := p.expand("x.y", tt.in)
			if tt.problem != "" {
				if ok || len(p.problems) != 1 || !strings.Contains(p.problems[0].Msg, tt.problem) || p.problems[0].Path != "x.y" {
					t.Errorf("expand(%q) = %q, %v, problems %v; want problem %q", tt.in, got, ok, p.problems, tt.problem)
				}
				return
			}
			if !ok || got != tt.want || len(p.problems) != 0 {
				t.Errorf("expand(%q) = %q, %v, problems %v; want %q", tt.in, got, ok, p.problems, tt.want)
			}
		})
	}
}

func TestParse_ExpandInFile(t *testing.T) {
	const src = `
listen: ${LISTEN:-127.0.0.1:9000}   # ${UNSET} in a comment is untouched
targets:
  - name: api
    url: https://${HOST}/health
    interval: ${INTERVAL:-45s}
    headers: {Authorization: "Bearer ${API_TOKEN}"}
`
	c := mustParse(t, src, env(map[string]string{"HOST": "home.example", "API_TOKEN": "t0k"}))
	if c.Listen != "127.0.0.1:9000" {
		t.Errorf("listen = %q", c.Listen)
	}
	tg := c.Targets[0]
	if h := httpSpec(t, tg).Headers; tg.Probe.URL.Host != "home.example" || tg.Interval != 45*time.Second || h.Get("Authorization") != "Bearer t0k" {
		t.Errorf("target = %s, %v, %v", tg.Probe.URL, tg.Interval, h)
	}
}

func TestLoad_RelativeStateDir(t *testing.T) {
	dir := t.TempDir()
	tests := map[string]string{
		"data":             filepath.Join(dir, "data"),
		"./data":           filepath.Join(dir, "data"),
		"../elsewhere":     filepath.Join(filepath.Dir(dir), "elsewhere"),
		"/var/lib/pollerd": "/var/lib/pollerd",
	}
	for stateDir, want := range tests {
		t.Run(stateDir, func(t *testing.T) {
			path := filepath.Join(dir, "pollerd.yaml")
			if err := os.WriteFile(path, []byte("state_dir: "+stateDir+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Load(path, noEnv)
			if err != nil {
				t.Fatal(err)
			}
			if c.StateDir != want {
				t.Errorf("StateDir = %q, want %q", c.StateDir, want)
			}
		})
	}
}

func TestLoad_MissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), noEnv)
	if !errors.Is(err, fs.ErrNotExist) || Problems(err) != nil {
		t.Errorf("err = %v, want a not-exist error that is no ValidationError", err)
	}
}

// TestParse_Timeout pins how a target's timeout follows its interval.
func TestParse_Timeout(t *testing.T) {
	tests := []struct {
		name, src    string
		interval     time.Duration
		timeout      time.Duration
		wantSchedule bool
	}{
		{"short interval caps the default timeout", "interval: 2s", 2 * time.Second, 2 * time.Second, false},
		{"long interval keeps the default timeout", "interval: 20s", 20 * time.Second, 10 * time.Second, false},
		{"explicit timeout below interval", "interval: 2s\n    timeout: 1500ms", 2 * time.Second, 1500 * time.Millisecond, false},
		{"explicit timeout equal to the interval, as the default would be", "interval: 10s\n    timeout: 10s", 10 * time.Second, 10 * time.Second, false},
		{"@every follows the interval rule", `schedule: "@every 5s"`, 0, 5 * time.Second, true},
		{"six-field schedule", `schedule: "*/10 * * * * *"`, 0, 10 * time.Second, true},
		{"five-field schedule with timeout", "schedule: \"*/5 * * * *\"\n    timeout: 3s", 0, 3 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "targets:\n  - name: a\n    url: http://127.0.0.1:1/\n    " + tt.src + "\n"
			tg := mustParse(t, src, noEnv).Targets[0]
			if tg.Interval != tt.interval || tg.Probe.Timeout != tt.timeout || (tg.ParsedSchedule != nil) != tt.wantSchedule {
				t.Errorf("interval %v timeout %v schedule %v; want %v %v %v",
					tg.Interval, tg.Probe.Timeout, tg.ParsedSchedule != nil, tt.interval, tt.timeout, tt.wantSchedule)
			}
		})
	}
	t.Run("defaults interval caps defaults timeout", func(t *testing.T) {
		c := mustParse(t, minimal+"defaults: {interval: 5s}\n", noEnv)
		if c.Defaults.Timeout != 5*time.Second || c.Targets[0].Probe.Timeout != 5*time.Second {
			t.Errorf("timeouts %v %v, want 5s", c.Defaults.Timeout, c.Targets[0].Probe.Timeout)
		}
	})
	t.Run("explicit defaults timeout above target interval is capped", func(t *testing.T) {
		c := mustParse(t, "defaults: {timeout: 8s}\ntargets: [{name: a, url: 'tcp://127.0.0.1:1', interval: 3s}]\n", noEnv)
		if got := c.Targets[0].Probe.Timeout; got != 3*time.Second {
			t.Errorf("timeout %v, want 3s", got)
		}
	})
}

func TestParse_HTTPTarget(t *testing.T) {
	const src = `
targets:
  - name: api.v2_x-1
    url: https://user:pw@example.com:8443/health?full=1
    method: post
    headers: {X-Probe: pollerd, Content-Type: application/json}
    body: '{"ping": true}'
    follow_redirects: false
    tls_skip_verify: true
    expect:
      status: 204
      body_contains: ok
      body_regex: '"status":\s*"up"'
      json:
        data.status: up
        data: {count: 3, ratio: 1.5, ok: true}
        Items.0.ID: "x"
      max_latency: 250ms
  - name: legacy
    url: http://example.com/
    expect: {status: [200, "3XX", "404"]}
`
	c := mustParse(t, src, noEnv)
	tg, ok := c.Target("api.v2_x-1")
	if !ok {
		t.Fatal("Target(api.v2_x-1) not found")
	}
	a := httpSpec(t, *tg)
	tests := []struct {
		name      string
		got, want any
	}{
		{"method", a.Method, "POST"},
		{"headers", a.Headers, http.Header{"X-Probe": {"pollerd"}, "Content-Type": {"application/json"}}},
		{"body", a.Body, `{"ping": true}`},
		{"follow_redirects", a.FollowRedirects, false},
		{"tls_skip_verify", a.TLSSkipVerify, true},
		{"status", a.Expect.Status, []probe.StatusRange{{Lo: 204, Hi: 204}}},
		{"body_contains", a.Expect.BodyContains, "ok"},
		{"body_regex", a.Expect.BodyRegex.MatchString(`{"status": "up"}`), true},
		{"json", a.Expect.JSON, []probe.JSONExpect{
			{Path: "data.count", Value: "3"}, {Path: "data.ok", Value: "true"}, {Path: "data.ratio", Value: "1.5"},
			{Path: "data.status", Value: "up"}, {Path: "items.0.id", Value: "x"}}},
		{"max_latency", a.Expect.MaxLatency, 250 * time.Millisecond},
		{"url port", tg.Probe.URL.Port(), "8443"},
		{"status list", httpSpec(t, c.Targets[1]).Expect.Status, []probe.StatusRange{{Lo: 200, Hi: 200}, {Lo: 300, Hi: 399}, {Lo: 404, Hi: 404}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
	if _, ok := c.Target("nope"); ok {
		t.Error("Target(nope) found")
	}
}

func TestParse_Slack(t *testing.T) {
	tests := []struct {
		name, src string
		env       map[string]string
		want      *Slack
	}{
		{"absent", "", nil, nil},
		{"all expanded empty", "alerting: {slack: {webhook_url: '${SLACK_WEBHOOK_URL:-}'}}", nil, nil},
		{"empty section", "alerting: {slack: {}}", nil, nil},
		{"webhook from env", "alerting: {slack: {webhook_url: '${SLACK_WEBHOOK_URL:-}'}}",
			map[string]string{"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/x"},
			&Slack{WebhookURL: "https://hooks.slack.com/services/T/B/x"}},
		{"http loopback v4", "alerting: {slack: {webhook_url: 'http://127.0.0.1:9/hook'}}", nil, &Slack{WebhookURL: "http://127.0.0.1:9/hook"}},
		{"http loopback v6", "alerting: {slack: {webhook_url: 'http://[::1]:9/hook'}}", nil, &Slack{WebhookURL: "http://[::1]:9/hook"}},
		{"http localhost", "alerting: {slack: {webhook_url: 'http://localhost:9/hook'}}", nil, &Slack{WebhookURL: "http://localhost:9/hook"}},
		{"bot", "alerting: {slack: {token: xoxb-1, channel: '#ops'}}", nil, &Slack{Token: "xoxb-1", Channel: "#ops"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustParse(t, tt.src, env(tt.env)).Alerting.Slack
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Slack = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestParse_Services(t *testing.T) {
	const src = minimal + `
services:
  - name: map
    targets: [api]
    allowed_origins: ["HTTPS://Map.Example", "http://localhost:3000"]
    token: ${REPORT_TOKEN:-}
  - name: Other App
`
	c := mustParse(t, src, env(map[string]string{"REPORT_TOKEN": "rt"}))
	want := []Service{
		{Name: "map", Targets: []string{"api"}, AllowedOrigins: []string{"https://map.example", "http://localhost:3000"}, Token: "rt"},
		{Name: "Other App"},
	}
	if !reflect.DeepEqual(c.Services, want) {
		t.Errorf("services = %#v, want %#v", c.Services, want)
	}
}

func TestParse_BadOrigins(t *testing.T) {
	for _, o := range []string{"*", "https://a.example/", "https://a.example?x", "ftp://a.example", "https://", "a.example", "https://u@a.example", "https://a.example:99999"} {
		t.Run(o, func(t *testing.T) {
			src := fmt.Sprintf("services: [{name: s, allowed_origins: [%q]}]\n", o)
			_, err := Parse(strings.NewReader(src), "/", noEnv)
			if ps := Problems(err); len(ps) != 1 || ps[0].Path != "services[0].allowed_origins[0]" {
				t.Errorf("problems = %v, want one at services[0].allowed_origins[0]", ps)
			}
		})
	}
}

func TestParse_Empty(t *testing.T) {
	c := mustParse(t, "", noEnv)
	if c.Listen != "127.0.0.1:8080" || len(c.Targets) != 0 || c.Alerting.Slack != nil {
		t.Errorf("empty config = %+v", c)
	}
}

func BenchmarkLoad_Production(b *testing.B) {
	lookup := env(map[string]string{"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/x"})
	for b.Loop() {
		if _, err := Load("../../configs/pollerd.production.yaml", lookup); err != nil {
			b.Fatal(err)
		}
	}
}
