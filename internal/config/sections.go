package config

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// config builds the whole Config from viper's settings; dir is the base of
// relative paths. Problems accumulate in p.
func (p *parser) config(all map[string]any, dir string) *Config {
	var raw struct {
		Listen      any `mapstructure:"listen"`
		StateDir    any `mapstructure:"state_dir"`
		Log         any `mapstructure:"log"`
		Defaults    any `mapstructure:"defaults"`
		Alerting    any `mapstructure:"alerting"`
		Targets     any `mapstructure:"targets"`
		Services    any `mapstructure:"services"`
		Ingest      any `mapstructure:"ingest"`
		History     any `mapstructure:"history"`
		StatusPage  any `mapstructure:"status_page"`
		Heartbeat   any `mapstructure:"heartbeat"`
		Canaries    any `mapstructure:"canaries"`
		API         any `mapstructure:"api"`
		Maintenance any `mapstructure:"maintenance"`
	}
	p.section("", all, &raw)
	c := &Config{Listen: p.strOr("listen", raw.Listen, "127.0.0.1:8080")}
	if msg := checkListen(c.Listen); msg != "" {
		p.add("listen", "%s", msg)
	}
	c.StateDir = p.strOr("state_dir", raw.StateDir, "./data")
	if !filepath.IsAbs(c.StateDir) {
		abs, err := filepath.Abs(filepath.Join(dir, c.StateDir))
		if err != nil {
			p.add("state_dir", "cannot make it absolute: %v", err)
		}
		c.StateDir = abs
	}
	c.Log = p.log(raw.Log)
	c.Defaults = p.defaults(raw.Defaults)
	c.Alerting = p.alerting(raw.Alerting)
	c.Targets = p.targets(raw.Targets, c.Defaults)
	c.Services = p.services(raw.Services, c.Targets)
	c.Ingest = p.ingest(raw.Ingest)
	var hist struct {
		RetentionDays any `mapstructure:"retention_days"`
	}
	p.section("history", raw.History, &hist)
	c.History.RetentionDays = p.intAtLeast("history.retention_days", hist.RetentionDays, 90, 1)
	var page struct {
		Enabled any `mapstructure:"enabled"`
		Title   any `mapstructure:"title"`
	}
	p.section("status_page", raw.StatusPage, &page)
	c.StatusPage.Enabled = p.boolOr("status_page.enabled", page.Enabled, true)
	c.StatusPage.Title = p.strOr("status_page.title", page.Title, "pollerd status")
	c.Heartbeat = p.heartbeat(raw.Heartbeat)
	c.Canaries = p.canaries(raw.Canaries, c.Targets)
	c.API = p.api(raw.API)
	c.Maintenance = p.maintenance(raw.Maintenance, c.Targets)
	return c
}

func (p *parser) log(v any) Log {
	var raw struct {
		Level  any `mapstructure:"level"`
		Format any `mapstructure:"format"`
	}
	p.section("log", v, &raw)
	l := Log{
		Level:  p.strOr("log.level", raw.Level, "info"),
		Format: p.strOr("log.format", raw.Format, "json"),
	}
	switch l.Level {
	case "debug", "info", "warn", "error":
	default:
		p.add("log.level", "%q: must be debug, info, warn or error", l.Level)
	}
	if l.Format != "json" && l.Format != "console" {
		p.add("log.format", "%q: must be json or console", l.Format)
	}
	return l
}

func (p *parser) defaults(v any) Defaults {
	var raw struct {
		Interval         any `mapstructure:"interval"`
		Timeout          any `mapstructure:"timeout"`
		FailureThreshold any `mapstructure:"failure_threshold"`
		SuccessThreshold any `mapstructure:"success_threshold"`
	}
	p.section("defaults", v, &raw)
	var d Defaults
	d.Interval, d.Timeout = p.cadence("defaults", raw.Interval, raw.Timeout, 30*time.Second, 10*time.Second)
	d.FailureThreshold = p.intAtLeast("defaults.failure_threshold", raw.FailureThreshold, 3, 1)
	d.SuccessThreshold = p.intAtLeast("defaults.success_threshold", raw.SuccessThreshold, 2, 1)
	return d
}

// cadence reads interval and timeout under path. An interval must be at
// least 1s. A timeout, set or not, is at most the interval (Prometheus's
// rule for scrape_timeout): one that is not set is min(defTimeout,
// interval), so `interval: 10s` alone and `interval: 10s, timeout: 10s` mean
// the same. A probe never overlaps itself; the monitor waits a moment for
// one that used its whole timeout rather than skip the next turn.
func (p *parser) cadence(path string, iv, to any, defInterval, defTimeout time.Duration) (interval, timeout time.Duration) {
	interval, ok := p.duration(join(path, "interval"), iv)
	switch {
	case !ok:
		interval = defInterval
	case interval < time.Second:
		p.add(join(path, "interval"), "must be at least 1s")
	}
	timeout, ok = p.duration(join(path, "timeout"), to)
	switch {
	case !ok:
		timeout = min(defTimeout, interval)
	case timeout <= 0:
		p.add(join(path, "timeout"), "must be positive")
	case timeout > interval:
		p.add(join(path, "timeout"), "must not exceed the interval (%v)", interval)
	}
	return interval, timeout
}

func (p *parser) services(v any, targets []Target) []Service {
	known := make(map[string]bool, len(targets))
	for _, t := range targets {
		known[t.Name] = true
	}
	items := p.list("services", v)
	out := make([]Service, 0, len(items))
	seen := map[string]int{}
	for i, item := range items {
		path := fmt.Sprintf("services[%d]", i)
		var raw struct {
			Name           any `mapstructure:"name"`
			Targets        any `mapstructure:"targets"`
			AllowedOrigins any `mapstructure:"allowed_origins"`
			Token          any `mapstructure:"token"`
		}
		if !p.section(path, item, &raw) {
			continue
		}
		var s Service
		s.Name, _ = p.str(path+".name", raw.Name)
		if j, dup := seen[s.Name]; dup && s.Name != "" {
			p.add(path+".name", "%q is already services[%d]", s.Name, j)
		} else if s.Name == "" {
			p.add(path+".name", "required")
		} else {
			seen[s.Name] = i
		}
		s.Targets = p.strList(path+".targets", raw.Targets)
		for j, name := range s.Targets {
			if !known[name] {
				p.add(fmt.Sprintf("%s.targets[%d]", path, j), "no target named %q", name)
			}
		}
		for j, o := range p.strList(path+".allowed_origins", raw.AllowedOrigins) {
			origin, msg := parseOrigin(o)
			if msg != "" {
				p.add(fmt.Sprintf("%s.allowed_origins[%d]", path, j), "%s", msg)
			}
			s.AllowedOrigins = append(s.AllowedOrigins, origin)
		}
		token, _ := p.str(path+".token", raw.Token)
		s.Token = Secret(token)
		out = append(out, s)
	}
	return out
}

func (p *parser) ingest(v any) Ingest {
	var raw struct {
		Path            any `mapstructure:"path"`
		MaxBodyBytes    any `mapstructure:"max_body_bytes"`
		DedupWindow     any `mapstructure:"dedup_window"`
		MaxFingerprints any `mapstructure:"max_fingerprints"`
		RateLimit       any `mapstructure:"rate_limit"`
		TrustedProxies  any `mapstructure:"trusted_proxies"`
		ConfirmCooldown any `mapstructure:"confirm_cooldown"`
	}
	p.section("ingest", v, &raw)
	var rl struct {
		PerIP      any `mapstructure:"per_ip"`
		PerIPBurst any `mapstructure:"per_ip_burst"`
		Global     any `mapstructure:"global"`
	}
	in := Ingest{Path: p.strOr("ingest.path", raw.Path, "/api/v1/reports")}
	if !strings.HasPrefix(in.Path, "/") || strings.ContainsAny(in.Path, "?# \t") {
		p.add("ingest.path", "%q must be a URL path starting with /", in.Path)
	}
	p.section("ingest.rate_limit", raw.RateLimit, &rl)
	in.MaxBodyBytes = int64(p.intAtLeast("ingest.max_body_bytes", raw.MaxBodyBytes, 65536, 1))
	in.DedupWindow = p.positiveDur("ingest.dedup_window", raw.DedupWindow, 10*time.Minute)
	in.MaxFingerprints = p.intAtLeast("ingest.max_fingerprints", raw.MaxFingerprints, 100000, 1)
	in.RateLimit = RateLimit{
		PerIP:      p.positiveFloat("ingest.rate_limit.per_ip", rl.PerIP, 5),
		PerIPBurst: p.intAtLeast("ingest.rate_limit.per_ip_burst", rl.PerIPBurst, 20, 1),
		Global:     p.positiveFloat("ingest.rate_limit.global", rl.Global, 500),
	}
	for i, s := range p.strList("ingest.trusted_proxies", raw.TrustedProxies) {
		pfx, ok := parsePrefix(s)
		if !ok {
			p.add(fmt.Sprintf("ingest.trusted_proxies[%d]", i), "%q is not a CIDR (like 10.0.0.0/8)", s)
			continue
		}
		in.TrustedProxies = append(in.TrustedProxies, pfx)
	}
	in.ConfirmCooldown = p.positiveDur("ingest.confirm_cooldown", raw.ConfirmCooldown, time.Minute)
	return in
}
