package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// noEnv is an environment with nothing set.
func noEnv(string) (string, bool) { return "", false }

// env returns a lookup over a fixed map.
func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// want is one expected problem: the exact path and a substring of the message.
type want struct{ path, msg string }

func TestLoad_BadFiles(t *testing.T) {
	tests := map[string][]want{
		"bad-duplicate-target.yaml":      {{"targets[1].name", `"api" is already targets[0]`}},
		"bad-target-name.yaml":           {{"targets[0].name", "may only hold a-z, 0-9"}},
		"bad-url-scheme.yaml":            {{"targets[0].url", "scheme must be dns, http, https, tcp or tls"}},
		"bad-url.yaml":                   {{"targets[0].url", "not a valid URL"}},
		"bad-tcp-no-port.yaml":           {{"targets[0].url", "tcp needs host:port"}},
		"bad-interval.yaml":              {{"targets[0].interval", "must be at least 1s"}},
		"bad-timeout.yaml":               {{"targets[0].timeout", "must not exceed the interval (5s)"}},
		"bad-threshold.yaml":             {{"targets[0].failure_threshold", "must be at least 1"}, {"targets[0].success_threshold", "must be at least 1"}},
		"bad-interval-and-schedule.yaml": {{"targets[0].schedule", "cannot be combined with interval"}},
		"bad-cron.yaml":                  {{"targets[0].schedule", "bad cron expression"}},
		"bad-status.yaml":                {{"targets[0].expect.status[1]", "6xx is not a status code or class"}, {"targets[0].expect.status[2]", "99 is not a status code"}},
		"bad-regex.yaml":                 {{"targets[0].expect.body_regex", "bad regex"}},
		"bad-service-target.yaml":        {{"services[0].targets[1]", `no target named "nope"`}},
		"bad-duplicate-service.yaml":     {{"services[1].name", `"app" is already services[0]`}},
		"bad-origin.yaml":                {{"services[0].allowed_origins[1]", "must be an origin"}},
		"bad-slack-both.yaml":            {{"alerting.slack", "set webhook_url or token, not both"}},
		"bad-slack-channel.yaml":         {{"alerting.slack.channel", "only with token"}},
		"bad-slack-http.yaml":            {{"alerting.slack.webhook_url", "must be an https:// URL"}},
		"bad-alertmanager.yaml": {
			{"alerting.alertmanager.urls[1]", "must be an http:// or https:// URL"},
			{"alerting.alertmanager.urls[2]", "without /api/v2/alerts"},
			{"alerting.alertmanager.urls[3]", "same URL as alerting.alertmanager.urls[0]"},
			{"alerting.alertmanager.reporter", "must be one line"},
			{"alerting.alertmanager.repost", "unknown key"},
		},
		"bad-unknown-top.yaml":        {{"lisen", "unknown key"}},
		"bad-unknown-target.yaml":     {{"targets[0].failure_treshold", "unknown key"}},
		"bad-unknown-expect.yaml":     {{"targets[0].expect.bodycontains", "unknown key"}},
		"bad-unknown-rate-limit.yaml": {{"ingest.rate_limit.per_ipp", "unknown key"}},
		"bad-unset-env.yaml":          {{"alerting.slack.webhook_url", "${SLACK_WEBHOOK_URL} is not set"}},
		"bad-duration.yaml":           {{"defaults.interval", `"abc" is not a duration`}, {"defaults.timeout", "30 needs a unit"}},
		"bad-log-format.yaml":         {{"log.format", "must be json or console"}},
		"bad-log-level.yaml":          {{"log.level", "must be debug, info, warn or error"}},
		"bad-listen.yaml":             {{"listen", "is not host:port"}},
		"bad-cidr.yaml":               {{"ingest.trusted_proxies[1]", "is not a CIDR"}, {"ingest.trusted_proxies[2]", "is not a CIDR"}},
		"bad-tcp-http-keys.yaml":      {{"targets[0].method", "only for http(s) targets"}, {"targets[0].expect", "only for dns, http(s) or tls targets"}},
		"bad-yaml.yaml":               {{"", "invalid YAML"}},
		"bad-shape.yaml":              {{"log", "must be a mapping"}, {"targets[0]", "must be a mapping"}},
		"bad-heartbeat.yaml":          {{"heartbeat.grace", "unknown key"}, {"heartbeat.interval", "must be at least 1s"}, {"heartbeat.url", "must be an http:// or https:// URL"}},
		"bad-heartbeat-url.yaml":      {{"heartbeat.url", "has no host"}},
		"bad-webhooks.yaml": {
			{"alerting.webhooks[0].url", "must be an http:// or https:// URL"},
			{"alerting.webhooks[1].name", `"ops" is already alerting.webhooks[0]`},
			{"alerting.webhooks[2].name", `"slack" is a channel kind; choose another name`},
			{"alerting.webhooks[3].name", `"Ops Team" may only hold a-z, 0-9, '.', '_' and '-'`},
			{"alerting.webhooks[4].name", "required"},
			{"alerting.webhooks[4].secre", "unknown key"},
			{"alerting.webhooks[5].url", "required"},
		},
		"bad-email.yaml": {
			{"alerting.email.smtp", `"smtp.example.com" is not host:port (like smtp.example.com:587)`},
			{"alerting.email.from", `"not an address" is not an e-mail address`},
			{"alerting.email.to[1]", `"not an address" is not an e-mail address`},
			{"alerting.email.password", "required with username"},
			{"alerting.email.starttls", `"always": must be required, opportunistic or none`},
			{"alerting.email.tls", "unknown key"},
		},
		"bad-email-starttls-none.yaml": {
			{"alerting.email.to", "needs at least one address"},
			{"alerting.email.password", "only with username"},
			{"alerting.email.starttls", "none is only allowed for a loopback smtp host (127.0.0.1, ::1, localhost)"},
		},
		"bad-notify.yaml": {
			{"targets[2].notify[1]", `no channel "opz" (have ops, slack)`},
			{"targets[3].notify[0]", `channel "email" is not configured (have ops, slack)`},
			{"targets[3].notify[1]", `channel "log" is not configured (have ops, slack)`},
			{"targets[3].notify[2]", `no channel "webhook" (have ops, slack)`},
			{"targets[4].notify", "must name at least one channel (leave it out for every channel)"},
		},
		"bad-policy.yaml": {
			{"alerting.group_wait", "must be positive"},
			{"alerting.repeat_interval", "must be 0 (off) or at least 1s"},
			{"canaries.targets[1]", `no target named "nope"`},
			{"canaries.targets[2]", `"canary-a" is already canaries.targets[0]`},
			{"canaries.quorum", "must be between 1 and 2 (the number of canaries)"},
			{"targets[1].group", `"Home Server" may only hold a-z, 0-9, '.', '_' and '-'`},
		},
		"bad-canaries-empty.yaml": {
			{"canaries.targets", "must name at least one target (leave canaries out for none)"},
		},
		"bad-ingest-values.yaml": {
			{"ingest.path", "must be a URL path starting with /"},
			{"ingest.max_body_bytes", "must be at least 1"},
			{"ingest.dedup_window", "must be positive"},
			{"ingest.max_fingerprints", "must be at least 1"},
			{"ingest.rate_limit.per_ip", "must be positive"},
			{"ingest.rate_limit.per_ip_burst", "must be at least 1"},
			{"ingest.rate_limit.global", "must be positive"},
			{"ingest.confirm_cooldown", "must be positive"},
			{"history.retention_days", "must be at least 1"},
		},
		"bad-dns.yaml": { // exact messages: probe_kinds_test.go
			{"targets[0].dns.resolver", "is not an IP address"},
			{"targets[0].expect.addresses[1]", "is not an IPv4 address"},
			{"targets[0].expect.addresses[2]", "is not an IPv4 address"},
			{"targets[1].dns.server", "unknown key"},
			{"targets[1].dns.type", "is not a record type"},
			{"targets[2].url", "dns takes only a name"},
		},
		"bad-tls.yaml": { // exact messages: probe_kinds_test.go
			{"targets[0].url", "tls needs host:port"},
			{"targets[1].method", "only for http(s) targets"},
			{"targets[1].cert_warn[1]", "must be positive"},
			{"targets[1].cert_warn[2]", "listed twice"},
			{"targets[1].expect.status", "unknown key"},
			{"targets[1].expect.cert_min_validity", "is not a duration"},
			{"targets[2].cert_warn[0]", "must be positive"},
		},
		"bad-maintenance.yaml": { // exact messages: maintenance_test.go
			{"maintenance[0].targets[1]", `no target named "nope"`},
			{"maintenance[0].groups[1]", `no target is in group "cloud"`},
			{"maintenance[1].name", `"sunday-reboot" is already maintenance[0]`},
			{"maintenance[1].schedule", "bad cron expression"},
			{"maintenance[1].duration", "must be positive"},
			{"maintenance[2].target", "unknown key"},
			{"maintenance[2].schedule", "@every has no fixed start"},
			{"maintenance[3].duration", "is not a duration"},
		},
		"bad-maintenance-required.yaml": { // exact messages: maintenance_test.go
			{"maintenance[0].name", "required"},
			{"maintenance[0].schedule", "required"},
			{"maintenance[0].duration", "required"},
			{"maintenance[1]", "must be a mapping"},
		},
		"bad-api.yaml": {{"api.admin_tokn", "unknown key"}},
		"bad-many.yaml": {
			{"listen", "is not host:port"},
			{"log.level", "must be debug"},
			{"targets[0].failure_treshold", "unknown key"},
			{"targets[1].name", "already targets[0]"},
			{"targets[1].url", "scheme must be"},
		},
	}

	// Every bad file must have a row, so none goes untested.
	files, err := filepath.Glob("testdata/bad-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, ok := tests[filepath.Base(f)]; !ok {
			t.Errorf("%s has no row in the table", f)
		}
	}

	for file, wants := range tests {
		t.Run(file, func(t *testing.T) {
			cfg, err := Load(filepath.Join("testdata", file), noEnv)
			if cfg != nil {
				t.Errorf("got a config, want none")
			}
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("err = %v, want *ValidationError", err)
			}
			for _, w := range wants {
				if !hasProblem(verr.Problems, w) {
					t.Errorf("missing problem %s: …%s…", w.path, w.msg)
				}
			}
			if len(verr.Problems) != len(wants) {
				t.Errorf("got %d problems, want %d:\n%v", len(verr.Problems), len(wants), verr)
			}
			if strings.Contains(verr.Error(), "s3cr3t") {
				t.Errorf("a problem echoes a secret:\n%v", verr)
			}
		})
	}
}

func hasProblem(ps []Problem, w want) bool {
	for _, p := range ps {
		if p.Path == w.path && strings.Contains(p.Msg, w.msg) {
			return true
		}
	}
	return false
}

func TestValidationError_Error(t *testing.T) {
	err := &ValidationError{Problems: []Problem{
		{Path: "targets[2].url", Msg: "scheme must be http, https or tcp"},
		{Msg: "invalid YAML: line 3"},
	}}
	want := "targets[2].url: scheme must be http, https or tcp\ninvalid YAML: line 3"
	if got := err.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got := Problems(err); len(got) != 2 {
		t.Errorf("Problems() = %v, want 2", got)
	}
	if got := Problems(errors.New("other")); got != nil {
		t.Errorf("Problems(other) = %v, want nil", got)
	}
}

// TestLoad_Configs checks that every shipped example loads, with and
// without SLACK_WEBHOOK_URL: every variable in configs/ is optional.
func TestLoad_Configs(t *testing.T) {
	files, err := filepath.Glob("../../configs/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("found %d files in configs/, want at least 2", len(files))
	}
	required := map[string]map[string]string{
		"pollerd.production.yaml": {"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/x"},
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, err := Load(f, env(required[filepath.Base(f)]))
			if err != nil {
				t.Fatalf("Load:\n%v", err)
			}
			if len(cfg.Targets) == 0 {
				t.Errorf("no targets")
			}
		})
	}
	t.Run("production without SLACK_WEBHOOK_URL", func(t *testing.T) {
		// `pollerd validate` must accept every file in configs/ as it is;
		// without the webhook, alerts go to the log (and pollerd warns).
		cfg, err := Load("../../configs/pollerd.production.yaml", noEnv)
		if err != nil || cfg.Alerting.Slack != nil {
			t.Errorf("Load = %v, slack %+v; want valid with no Slack", err, cfg)
		}
	})
}

// TestLoad_Example pins what the README's run command relies on.
func TestLoad_Example(t *testing.T) {
	cfg, err := Load("../../configs/pollerd.example.yaml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Alerting.Slack != nil {
		t.Errorf("Slack = %+v, want none without SLACK_WEBHOOK_URL", cfg.Alerting.Slack)
	}
	closed, ok := cfg.Target("closed-port")
	if !ok {
		t.Fatal("no closed-port target")
	}
	if closed.Probe.URL.Scheme != "tcp" || closed.Interval*2 > 30e9 || closed.FailureThreshold != 2 {
		t.Errorf("closed-port = %s every %v ×%d, want tcp, DOWN within 30s", closed.Probe.URL, closed.Interval, closed.FailureThreshold)
	}
	if cfg.Log.Format != "console" || cfg.Listen != "127.0.0.1:8080" {
		t.Errorf("log format %q listen %q", cfg.Log.Format, cfg.Listen)
	}
	abs, _ := filepath.Abs("../../configs/data")
	if cfg.StateDir != abs {
		t.Errorf("StateDir = %q, want %q", cfg.StateDir, abs)
	}
}
