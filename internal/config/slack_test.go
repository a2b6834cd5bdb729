package config

import (
	"strings"
	"testing"
)

func TestParse_SlackAPIURL(t *testing.T) {
	tests := []struct {
		name, section string
		env           map[string]string
		want          string
	}{
		{"default", "{token: xoxb-1, channel: '#ops'}", nil, ""},
		{"https", "{token: xoxb-1, channel: '#ops', api_url: 'https://slack.example/api/'}", nil, "https://slack.example/api/"},
		{"slash added", "{token: xoxb-1, channel: '#ops', api_url: 'http://127.0.0.1:9/api'}", nil, "http://127.0.0.1:9/api/"},
		{"from env", "{token: xoxb-1, channel: '#ops'}",
			map[string]string{"POLLERD_ALERTING_SLACK_API_URL": "http://127.0.0.1:9/"}, "http://127.0.0.1:9/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, minimal+"alerting:\n  slack: "+tt.section+"\n", env(tt.env))
			if c.Alerting.Slack == nil || c.Alerting.Slack.APIURL != tt.want {
				t.Fatalf("Slack = %#v, want api url %q", c.Alerting.Slack, tt.want)
			}
		})
	}
}

func TestParse_SlackAPIURLProblems(t *testing.T) {
	tests := []struct{ name, section, msg string }{
		{"with a webhook", "{webhook_url: 'https://hooks.slack.com/services/T/B/x', api_url: 'https://slack.com/api/'}", "only with token"},
		{"plain http off loopback", "{token: xoxb-1, channel: '#ops', api_url: 'http://slack.example/api/'}", "must be an https:// URL"},
		{"not a URL", "{token: xoxb-1, channel: '#ops', api_url: 'slack.com/api'}", "not a valid URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(minimal+"alerting:\n  slack: "+tt.section+"\n"), "/etc/pollerd", noEnv)
			if err == nil || !strings.Contains(err.Error(), "alerting.slack.api_url: ") || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v, want alerting.slack.api_url: …%s…", err, tt.msg)
			}
		})
	}
}
