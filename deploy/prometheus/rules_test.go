// Package prometheus_test checks the shipped Prometheus files: the rules
// file, the example scrape config and the rule unit tests, with promtool.
// The promtool checks skip where promtool is missing (Debian's prometheus
// package provides it; .ci/run installs it).
package prometheus_test

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

const (
	rulesFile  = "pollerd.rules.yml"
	testsFile  = "pollerd.rules.test.yml"
	configFile = "prometheus.yml"
)

// TestPromtool runs `promtool check rules`, `promtool check config` (which
// also checks the rule files the config names, relative to it) and
// `promtool test rules` in this directory.
func TestPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not on PATH (Debian: apt-get install prometheus)")
	}
	if out, err := run(t, promtool, "--version"); err == nil {
		t.Logf("%s", firstLine(out))
	}
	tests := []struct {
		name string
		args []string
	}{
		{"check rules", []string{"check", "rules", rulesFile}},
		{"check config", []string{"check", "config", configFile}},
		{"test rules", []string{"test", "rules", testsFile}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(t, promtool, tt.args...)
			if err != nil {
				t.Fatalf("promtool %s: %v\n%s", strings.Join(tt.args, " "), err, out)
			}
			t.Logf("promtool %s:\n%s", strings.Join(tt.args, " "), out)
		})
	}
}

// TestRules_Contract pins what the README, the scrape config and the unit
// tests rely on, without promtool: the alert names, the job name, and k
// written in exactly one place.
func TestRules_Contract(t *testing.T) {
	rules := read(t, rulesFile)
	config := read(t, configFile)
	tests := read(t, testsFile)

	for _, alert := range []string{"PollerdTargetDownQuorum", "PollerdInstanceDown", "PollerdQuorumAtRisk"} {
		if !strings.Contains(rules, "alert: "+alert+"\n") {
			t.Errorf("%s has no alert %s", rulesFile, alert)
		}
		if !strings.Contains(tests, "alertname: "+alert+"\n") {
			t.Errorf("%s does not test %s", testsFile, alert)
		}
	}
	if n := strings.Count(rules, "record: pollerd:quorum_k\n"); n != 1 {
		t.Errorf("%s records pollerd:quorum_k %d times, want once (k is changed in one place)", rulesFile, n)
	}
	// k itself is the only vector(<number>) in the rules: no second copy of
	// it hides in an alert expression.
	if n := len(regexp.MustCompile(`vector\(\s*[1-9][0-9]*\s*\)`).FindAllString(rules, -1)); n != 1 {
		t.Errorf("%s has %d vector(<k>) constants, want exactly 1 (pollerd:quorum_k)", rulesFile, n)
	}
	if !strings.Contains(rules, `up{job="pollerd"}`) || !strings.Contains(config, "job_name: pollerd\n") {
		t.Errorf("the rules select up{job=\"pollerd\"} and %s must name its job pollerd", configFile)
	}
	if !strings.Contains(config, "- "+rulesFile+"\n") {
		t.Errorf("%s does not load %s", configFile, rulesFile)
	}
	if !strings.Contains(tests, "- "+rulesFile+"\n") {
		t.Errorf("%s does not test %s", testsFile, rulesFile)
	}
}

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func run(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}
