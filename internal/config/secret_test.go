package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

const secretValue = "s3cr3t"

func TestSecret_Format(t *testing.T) {
	s := Secret(secretValue)
	for _, verb := range []string{"%v", "%s", "%q", "%x", "%X", "%d", "%+v", "%#v", "%10s", "%T"} {
		t.Run(verb, func(t *testing.T) {
			got := fmt.Sprintf(verb, s)
			if strings.Contains(got, secretValue) || strings.Contains(strings.ToLower(got), "733363723374") {
				t.Errorf("Sprintf(%s) = %q leaks the secret", verb, got)
			}
		})
	}
	if got := fmt.Sprint(s); got != "[redacted]" {
		t.Errorf("Sprint = %q, want [redacted]", got)
	}
	if got := fmt.Sprintf("%q", s); got != `"[redacted]"` {
		t.Errorf("%%q = %s", got)
	}
	if got := s.Value(); got != secretValue {
		t.Errorf("Value() = %q", got)
	}
	if got := fmt.Sprint(Secret("")); got != "" {
		t.Errorf("empty secret prints %q, want empty", got)
	}
}

// secretConfig has a secret in every Secret field and in a header.
func secretConfig(t *testing.T) *Config {
	t.Helper()
	const src = `
alerting: {slack: {token: "xoxb-${SECRET}", channel: "#ops"}}
targets: [{name: api, url: "https://example.com/"}]
services: [{name: app, targets: [api], token: "${SECRET}"}]
`
	return mustParse(t, src, env(map[string]string{"SECRET": secretValue}))
}

func TestSecret_InConfig(t *testing.T) {
	c := secretConfig(t)
	if c.Services[0].Token.Value() != secretValue || c.Alerting.Slack.Token.Value() != "xoxb-"+secretValue {
		t.Fatal("secrets not loaded")
	}
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v config":  fmt.Sprintf("%v", c),
		"%+v config": fmt.Sprintf("%+v", *c),
		"%#v config": fmt.Sprintf("%#v", *c),
		"%+v slack":  fmt.Sprintf("%+v", *c.Alerting.Slack),
		"%#v slack":  fmt.Sprintf("%#v", *c.Alerting.Slack),
		"%+v svc":    fmt.Sprintf("%+v", c.Services),
		"json":       string(js),
	}
	for name, out := range outputs {
		t.Run(name, func(t *testing.T) {
			if strings.Contains(out, secretValue) {
				t.Errorf("leaks the secret: %s", out)
			}
		})
	}
	if !strings.Contains(string(js), `"Token":"[redacted]"`) {
		t.Errorf("json shows no redacted token: %s", js)
	}
}

func TestSecret_Zap(t *testing.T) {
	c := secretConfig(t)
	var buf bytes.Buffer
	core := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&buf), zap.DebugLevel)
	log := zap.New(core)
	log.Info("config",
		zap.Any("token", c.Services[0].Token),
		zap.Stringer("stringer", c.Services[0].Token),
		zap.Any("slack", c.Alerting.Slack),
		zap.Reflect("config", c),
		zap.Any("services", c.Services))
	if err := log.Sync(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), secretValue) {
		t.Errorf("zap output leaks the secret: %s", buf.String())
	}
	if !strings.Contains(buf.String(), `"token":"[redacted]"`) {
		t.Errorf("zap output lacks the redacted token: %s", buf.String())
	}
}

// TestParse_ProblemsHideSecrets: a bad value in a secret-bearing field is
// described, never quoted.
func TestParse_ProblemsHideSecrets(t *testing.T) {
	tests := map[string]string{
		"webhook not https":     `alerting: {slack: {webhook_url: "ftp://hooks.example/s3cr3t"}}`,
		"webhook not a URL":     `alerting: {slack: {webhook_url: "://s3cr3t"}}`,
		"webhook as a list":     `alerting: {slack: {webhook_url: [s3cr3t]}}`,
		"target URL userinfo":   `targets: [{name: a, url: "gopher://u:s3cr3t@example.com/"}]`,
		"tcp URL with userinfo": `targets: [{name: a, url: "tcp://u:s3cr3t@example.com:1"}]`,
		"header with newline":   "targets: [{name: a, url: 'http://example.com/', headers: {Authorization: \"Bearer s3cr3t\\nX: y\"}}]",
		"token with channel":    `alerting: {slack: {webhook_url: "https://hooks.example/s3cr3t", token: "s3cr3t"}}`,
	}
	for name, src := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(src), "/", noEnv)
			if len(Problems(err)) == 0 {
				t.Fatalf("no problem reported")
			}
			if strings.Contains(err.Error(), secretValue) {
				t.Errorf("problem quotes the secret: %v", err)
			}
		})
	}
}
