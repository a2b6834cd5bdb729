// Package config owns pollerd's configuration: it reads the YAML file through
// viper, applies POLLERD_* overrides and ${VAR} expansion from an environment
// it is handed (it never reads the process environment itself), fills in
// defaults and validates everything at once, so `pollerd validate` can list
// every problem with its field path. What it returns is typed and ready to
// use: durations are time.Duration, URLs, cron schedules and regexes are
// parsed, relative paths are absolute.
//
// Targets are decoded straight into probe's types: the registry of probe
// kinds (probe.KindOf) says which URL schemes exist, and each kind decodes
// and checks its own keys, so a new kind needs no change here.
package config

import (
	"net/netip"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/pollerd/pollerd/internal/probe"
)

// Config is a loaded, validated configuration.
type Config struct {
	Listen      string // host:port for ingest, status API and health; default 127.0.0.1:8080
	StateDir    string // absolute; pollerd.db lives here; default ./data next to the file
	Log         Log
	Defaults    Defaults
	Alerting    Alerting
	Targets     []Target
	Services    []Service
	Ingest      Ingest
	History     History
	StatusPage  StatusPage
	Heartbeat   Heartbeat
	Canaries    Canaries
	API         API           // the admin API (maintenance.go)
	Maintenance []Maintenance // recurring maintenance windows (maintenance.go)
}

// StatusPage configures the HTML status page served at /.
type StatusPage struct {
	Enabled bool   // default true
	Title   string // default "pollerd status"
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

// Target is one endpoint to probe: what the probe needs, ready to run, and
// when to run it.
type Target struct {
	Name string // unique, [a-z0-9._-]+
	URL  string // as written; may hold userinfo, so do not show it raw

	// Probe is the target as probe.Run takes it: Name, the parsed URL,
	// Timeout and the spec of its kind (probe.HTTPSpec for http and https,
	// none for tcp). Timeout bounds one probe: when the target does not set
	// it, it is min(defaults.timeout, Interval), so a short interval never
	// needs a timeout of its own; an explicit timeout must not exceed Interval.
	Probe probe.Target `json:"-"`

	// Exactly one of Interval and Schedule drives the probe. Interval is 0
	// when Schedule is set.
	Interval       time.Duration
	Schedule       string        // cron spec; see ScheduleParser
	ParsedSchedule cron.Schedule `json:"-"` // nil unless Schedule is set

	FailureThreshold int
	SuccessThreshold int

	// Notify narrows the channels of this target's DOWN and RECOVERED
	// messages to these names (channel kinds or webhook names); nil: every
	// channel. The log standing in for no channel still takes them all.
	Notify []string

	// Group names the group the target belongs to ([a-z0-9._-]+); "" for
	// none. A group's members that fail together make one grouped alert.
	Group string
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

// TargetNames lists the targets' names in the order of the file.
func (c *Config) TargetNames() []string {
	out := make([]string, len(c.Targets))
	for i, t := range c.Targets {
		out[i] = t.Name
	}
	return out
}

// ServiceTargets maps each service to the names of its targets: what the
// alert engine correlates reports with and what a report confirms.
func (c *Config) ServiceTargets() map[string][]string {
	m := make(map[string][]string, len(c.Services))
	for _, s := range c.Services {
		m[s.Name] = s.Targets
	}
	return m
}
