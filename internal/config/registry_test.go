package config

import (
	"slices"
	"strings"
	"testing"
)

func TestChannelKinds(t *testing.T) {
	got := ChannelKinds()
	if !slices.IsSorted(got) {
		t.Errorf("ChannelKinds() = %v, not sorted", got)
	}
	for _, k := range []string{ChannelAlertmanager, ChannelEmail, ChannelLog, ChannelSlack, ChannelWebhook} {
		if !slices.Contains(got, k) {
			t.Errorf("ChannelKinds() = %v, lacks %s", got, k)
		}
	}
}

// kindNames are the names every config accepts in types: the kinds, but
// "webhook" (a webhook is named by its own name).
func kindNames() []string {
	return slices.DeleteFunc(ChannelKinds(), func(k string) bool { return k == ChannelWebhook })
}

func TestAlerting_Channels(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		want      []Channel
		wantNames []string
	}{
		{"none: the log stands in and takes everything", minimal,
			[]Channel{{Kind: ChannelLog, Name: ChannelLog, Fallback: true}}, kindNames()},
		{"slack", minimal + "alerting:\n  slack:\n    webhook_url: https://hooks.slack.com/services/T/B/x\n",
			[]Channel{{Kind: ChannelSlack, Name: ChannelSlack}}, kindNames()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustParse(t, tt.src, noEnv).Alerting
			if got := a.Channels(); !slices.Equal(got, tt.want) {
				t.Errorf("Channels() = %+v, want %+v", got, tt.want)
			}
			if got := a.ChannelNames(); !slices.Equal(got, tt.wantNames) {
				t.Errorf("ChannelNames() = %v, want %v", got, tt.wantNames)
			}
		})
	}
}

func TestParse_AlertingUnknownChannel(t *testing.T) {
	_, err := Parse(strings.NewReader(minimal+"alerting:\n  slak: {webhook_url: x}\n"), "/etc/pollerd", noEnv)
	if err == nil || !strings.Contains(err.Error(), "alerting.slak: unknown key") {
		t.Fatalf("err = %v, want alerting.slak: unknown key", err)
	}
}

func TestParse_StatusPage(t *testing.T) {
	tests := []struct {
		name        string
		src         string
		wantEnabled bool
		wantTitle   string
	}{
		{"default on", minimal, true, "pollerd status"},
		{"off", minimal + "status_page: {enabled: false}\n", false, "pollerd status"},
		{"titled", minimal + "status_page: {title: Home server}\n", true, "Home server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, tt.src, noEnv).StatusPage
			if p.Enabled != tt.wantEnabled || p.Title != tt.wantTitle {
				t.Errorf("StatusPage = %+v, want enabled %v, title %q", p, tt.wantEnabled, tt.wantTitle)
			}
		})
	}
	if _, err := Parse(strings.NewReader(minimal+"status_page: {enabled: maybe}\n"), "/etc/pollerd", noEnv); err == nil ||
		!strings.Contains(err.Error(), "status_page.enabled") {
		t.Errorf("err = %v, want a status_page.enabled problem", err)
	}
}
