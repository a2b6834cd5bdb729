package main

import (
	"net/http"

	"github.com/pollerd/pollerd/internal/config"
	"github.com/pollerd/pollerd/internal/monitor"
	"github.com/pollerd/pollerd/internal/probe"
)

// probeTarget converts a configured target to what the probe needs.
func probeTarget(t *config.Target) probe.Target {
	pt := probe.Target{
		Name:            t.Name,
		URL:             t.ParsedURL,
		Timeout:         t.Timeout,
		Method:          t.Method,
		Body:            t.Body,
		FollowRedirects: t.FollowRedirects,
		TLSSkipVerify:   t.TLSSkipVerify,
		Expect: probe.Expect{
			BodyContains:    t.Expect.BodyContains,
			BodyRegex:       t.Expect.BodyRegex,
			MaxLatency:      t.Expect.MaxLatency,
			CertMinValidity: t.Expect.CertMinValidity,
		},
	}
	if len(t.Headers) > 0 {
		pt.Headers = make(http.Header, len(t.Headers))
		for k, v := range t.Headers {
			pt.Headers.Set(k, v)
		}
	}
	for _, s := range t.Expect.Status {
		pt.Expect.Status = append(pt.Expect.Status, probe.StatusRange(s))
	}
	for _, j := range t.Expect.JSON {
		pt.Expect.JSON = append(pt.Expect.JSON, probe.JSONExpect(j))
	}
	return pt
}

// monitorTargets converts every configured target for the monitor.
func monitorTargets(cfg *config.Config) []monitor.Target {
	out := make([]monitor.Target, 0, len(cfg.Targets))
	for i := range cfg.Targets {
		t := &cfg.Targets[i]
		out = append(out, monitor.Target{
			Probe:            probeTarget(t),
			Interval:         t.Interval,
			Schedule:         t.Schedule,
			FailureThreshold: t.FailureThreshold,
			SuccessThreshold: t.SuccessThreshold,
		})
	}
	return out
}

// serviceTargets maps each service to its targets, for the alert engine's
// correlation and for confirmations.
func serviceTargets(cfg *config.Config) map[string][]string {
	m := make(map[string][]string, len(cfg.Services))
	for _, s := range cfg.Services {
		m[s.Name] = s.Targets
	}
	return m
}

// targetNames lists the configured targets' names.
func targetNames(cfg *config.Config) []string {
	out := make([]string, len(cfg.Targets))
	for i, t := range cfg.Targets {
		out[i] = t.Name
	}
	return out
}
