// Package config owns pollerd's configuration: it reads the YAML file through
// viper, applies POLLERD_* overrides and ${VAR} expansion from an environment
// it is handed (it never reads the process environment itself), fills in
// defaults and validates everything at once, so `pollerd validate` can list
// every problem with its field path. What it returns is typed and ready to
// use: durations are time.Duration, URLs, cron schedules and regexes are
// parsed, relative paths are absolute.
//
// It imports nothing internal: cmd/pollerd converts targets to probe.Target.
package config

import (
	"net/netip"
	"net/url"
	"regexp"
	"time"

	"github.com/robfig/cron/v3"
)

// Config is a loaded, validated configuration.
type Config struct {
	Listen   string // host:port for ingest, status API and health; default 127.0.0.1:8080
	StateDir string // absolute; pollerd.db lives here; default ./data next to the file
	Log      Log
	Defaults Defaults
	Alerting Alerting
	Targets  []Target
	Services []Service
	Ingest   Ingest
	History  History
}

// Log configures the logger.
type Log struct {
	Level  string // debug, info (default), warn or error
	Format string // json (default) or console
}

// Defaults apply to every target that does not set the value itself.
type Defaults struct {
	Interval         time.Duration // 30s
	Timeout          time.Duration // 10s
	FailureThreshold int           // 3
	SuccessThreshold int           // 2
}

// Alerting lists the configured channels. With none, alerts go to the log.
type Alerting struct {
	Slack *Slack // nil when not configured
}

// Slack is one Slack destination: exactly one of WebhookURL (incoming-webhook
// mode) or Token (bot mode, with Channel) is set.
type Slack struct {
	WebhookURL Secret
	Token      Secret
	Channel    string // bot mode only
}

// Target is one endpoint to probe.
type Target struct {
	Name      string   // unique, [a-z0-9._-]+
	URL       string   // as written; may hold userinfo, so do not show it raw
	ParsedURL *url.URL `json:"-"` // scheme http, https or tcp

	// Exactly one of Interval and Schedule drives the probe. Interval is 0
	// when Schedule is set.
	Interval       time.Duration
	Schedule       string        // cron spec; see ScheduleParser
	ParsedSchedule cron.Schedule `json:"-"` // nil unless Schedule is set

	// Timeout bounds one probe. When the target does not set it, it is
	// min(defaults.timeout, Interval), so a short interval never needs a
	// timeout of its own; an explicit timeout must be below Interval.
	Timeout          time.Duration
	FailureThreshold int
	SuccessThreshold int

	// HTTP only; setting any of these on a tcp target is an error.
	Method          string            // upper-case; default GET
	Headers         map[string]string // names lower-cased by viper; http.Header.Set canonicalises them
	Body            string
	FollowRedirects bool // default true
	TLSSkipVerify   bool
	Expect          Expect
}

// Expect holds the assertions over an HTTP response. The zero value means
// "status 2xx", which is what the probe checks when Status is empty.
type Expect struct {
	Status       []StatusRange // any of them
	BodyContains string
	BodyRegex    *regexp.Regexp
	JSON         []JSONExpect  // sorted by Path
	MaxLatency   time.Duration // 0: no bound
	// CertMinValidity fails an https probe whose certificate expires sooner
	// (e.g. 336h for 14 days); 0: no check.
	CertMinValidity time.Duration
}

// StatusRange is an inclusive range of HTTP status codes: 200 is {200, 200},
// "2xx" is {200, 299}. It mirrors probe.StatusRange, which config may not import.
type StatusRange struct{ Lo, Hi int }

// JSONExpect asserts that the value at a dotted path of a JSON body, printed
// as a string, equals Value. Viper lower-cases map keys, so Path is lower
// case: the probe matches JSON object keys case-insensitively.
type JSONExpect struct {
	Path  string // data.status, items.0.id
	Value string
}

// Service is a client application whose failure reports are accepted.
type Service struct {
	Name           string
	Targets        []string // names of targets to probe when a report arrives
	AllowedOrigins []string // exact browser origins, scheme://host[:port], lower case
	Token          Secret   // when set, reports need Authorization: Bearer <token>
}

// Ingest configures the public report endpoint.
type Ingest struct {
	Path            string        // default /api/v1/reports
	MaxBodyBytes    int64         // default 65536
	DedupWindow     time.Duration // default 10m
	MaxFingerprints int           // default 100000
	RateLimit       RateLimit
	TrustedProxies  []netip.Prefix // whose X-Forwarded-For is believed
	ConfirmCooldown time.Duration  // per target, between confirmations; default 1m
}

// RateLimit is in reports per second.
type RateLimit struct {
	PerIP      float64 // default 5
	PerIPBurst int     // default 20
	Global     float64 // default 500
}

// History configures how long probe history is kept.
type History struct {
	RetentionDays int // default 90
}

// ScheduleParser parses a target's schedule: 5 cron fields, or 6 with
// seconds first, or a descriptor (@every 1m, @hourly, …). Whoever schedules
// targets should use it so that what validated is what runs.
var ScheduleParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour |
	cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Target returns the target with the given name.
func (c *Config) Target(name string) (*Target, bool) {
	for i := range c.Targets {
		if c.Targets[i].Name == name {
			return &c.Targets[i], true
		}
	}
	return nil, false
}
