package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/viper"
)

// keyDelim replaces viper's "." so that dotted keys such as the JSON paths in
// `expect: {json: {data.status: up}}` survive as one key.
const keyDelim = "::"

// envPrefix starts every override variable: POLLERD_ + the key path
// upper-cased with "_" for ".".
const envPrefix = "POLLERD_"

// envKeys are the scalar key paths that POLLERD_* variables can override,
// whether or not the file has them. Lists of targets and services cannot be
// overridden; ingest.trusted_proxies and alerting.email.to take a
// comma-separated list.
var envKeys = []string{
	"listen", "state_dir",
	"log.level", "log.format",
	"defaults.interval", "defaults.timeout",
	"defaults.failure_threshold", "defaults.success_threshold",
	"alerting.slack.webhook_url", "alerting.slack.token", "alerting.slack.channel", "alerting.slack.api_url",
	"alerting.email.smtp", "alerting.email.username", "alerting.email.password",
	"alerting.email.from", "alerting.email.to", "alerting.email.starttls",
	"alerting.alertmanager.urls", "alerting.alertmanager.reporter",
	"ingest.path", "ingest.max_body_bytes", "ingest.dedup_window", "ingest.max_fingerprints",
	"ingest.rate_limit.per_ip", "ingest.rate_limit.per_ip_burst", "ingest.rate_limit.global",
	"ingest.trusted_proxies", "ingest.confirm_cooldown",
	"history.retention_days",
	"heartbeat.url", "heartbeat.interval",
	"api.admin_token",
}

// EnvName returns the variable that overrides a key path such as
// "alerting.slack.webhook_url".
func EnvName(key string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// Load reads the YAML file at path and returns the validated configuration.
// lookup is the environment (os.LookupEnv in production); it serves both
// POLLERD_* overrides and ${VAR} expansion. Relative paths in the file are
// relative to the file's directory. A problem with the content is a
// *ValidationError listing every problem; a file that cannot be read is a
// plain error.
func Load(path string, lookup func(string) (string, bool)) (*Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	f, err := os.Open(abs)
	if err != nil {
		return nil, fmt.Errorf("open config: %w", err)
	}
	defer f.Close()
	return Parse(f, filepath.Dir(abs), lookup)
}

// Parse is Load from a reader: dir is the base of relative paths. A nil
// lookup is an empty environment.
func Parse(r io.Reader, dir string, lookup func(string) (string, bool)) (*Config, error) {
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	v := viper.NewWithOptions(viper.KeyDelimiter(keyDelim))
	v.SetConfigType("yaml")
	if err := v.ReadConfig(r); err != nil {
		return nil, &ValidationError{Problems: []Problem{{Msg: yamlError(err)}}}
	}
	p := &parser{lookup: lookup, literal: map[string]bool{}}
	// Overrides go through viper's override layer, so they win over the
	// file and create sections the file lacks. Empty variables are ignored,
	// as viper does by default.
	for _, key := range envKeys {
		if val, ok := lookup(EnvName(key)); ok && val != "" {
			v.Set(strings.ReplaceAll(key, ".", keyDelim), val)
			p.literal[key] = true
		}
	}
	cfg := p.config(v.AllSettings(), dir)
	if len(p.problems) > 0 {
		return nil, &ValidationError{Problems: p.problems}
	}
	return cfg, nil
}

// yamlError strips viper's "While parsing config" wrapper from a YAML syntax
// error; what is left names the line.
func yamlError(err error) string {
	if u := errors.Unwrap(err); u != nil {
		err = u
	}
	return "invalid YAML: " + err.Error()
}
