package config

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// emailEnv is an environment that configures e-mail through POLLERD_*
// variables, all but key's (the one a test sets), plus the keys in also.
func emailEnv(key string, also ...string) map[string]string {
	vals := map[string]string{"smtp": "127.0.0.1:25", "from": "p@example.com", "to": "o@example.com",
		"username": "u", "password": "pw"}
	e := map[string]string{}
	for _, k := range append([]string{"smtp", "from", "to"}, also...) {
		if k != key {
			e[EnvName("alerting.email."+k)] = vals[k]
		}
	}
	return e
}

const reachSrc = minimal + reachAlerting

const reachAlerting = `
alerting:
  slack:
    webhook_url: https://hooks.slack.com/services/T/B/x
  webhooks:
    - name: ops
      url: https://ops.example/hook?token=${HOOK_TOKEN}
      secret: ${OPS_HOOK_SECRET:-}
    - name: a.b-c_d
      url: http://10.0.0.5:8080/in
  email:
    smtp: smtp.example.com:587
    username: ${SMTP_USER:-}
    password: ${SMTP_PASSWORD:-}
    from: Pollerd <pollerd@example.com>
    to: [owner@example.com, ops@example.com]
`

func TestParse_WebhooksAndEmail(t *testing.T) {
	c := mustParse(t, reachSrc, env(map[string]string{"HOOK_TOKEN": "tok3n", "OPS_HOOK_SECRET": "hmac-s3cr3t",
		"SMTP_USER": "pollerd", "SMTP_PASSWORD": "pw-s3cr3t"}))
	a := c.Alerting
	wantHooks := []Webhook{
		{Name: "ops", URL: "https://ops.example/hook?token=tok3n", Secret: "hmac-s3cr3t"},
		{Name: "a.b-c_d", URL: "http://10.0.0.5:8080/in"},
	}
	if !slices.Equal(a.Webhooks, wantHooks) {
		t.Errorf("Webhooks = %#v, want %#v", a.Webhooks, wantHooks)
	}
	wantEmail := Email{SMTP: "smtp.example.com:587", Username: "pollerd", Password: "pw-s3cr3t",
		From: "Pollerd <pollerd@example.com>", To: []string{"owner@example.com", "ops@example.com"}, StartTLS: StartTLSRequired}
	if a.Email == nil || fmt.Sprint(a.Email.To) != fmt.Sprint(wantEmail.To) || a.Email.SMTP != wantEmail.SMTP ||
		a.Email.Username != wantEmail.Username || a.Email.Password != wantEmail.Password ||
		a.Email.From != wantEmail.From || a.Email.StartTLS != wantEmail.StartTLS {
		t.Errorf("Email = %#v, want %#v", a.Email, wantEmail)
	}
	wantChannels := []Channel{{Kind: ChannelWebhook, Name: "a.b-c_d"}, {Kind: ChannelEmail, Name: ChannelEmail},
		{Kind: ChannelWebhook, Name: "ops"}, {Kind: ChannelSlack, Name: ChannelSlack}}
	if got := a.Channels(); !slices.Equal(got, wantChannels) {
		t.Errorf("Channels() = %+v, want %+v", got, wantChannels)
	}
	names := a.ChannelNames()
	for _, n := range []string{"a.b-c_d", "email", "log", "ops", "slack"} {
		if !slices.Contains(names, n) {
			t.Errorf("ChannelNames() = %v, lacks %s", names, n)
		}
	}
	if slices.Contains(names, ChannelWebhook) || !slices.IsSorted(names) {
		t.Errorf("ChannelNames() = %v: want sorted, without %q", names, ChannelWebhook)
	}

	// Secrets never print, whatever the verb or encoding.
	out, _ := json.Marshal(a)
	for _, s := range []string{fmt.Sprintf("%v", a), fmt.Sprintf("%+v", a), fmt.Sprintf("%#v", a),
		fmt.Sprintf("%v %+v", *a.Email, a.Webhooks), string(out)} {
		for _, secret := range []string{"tok3n", "hmac-s3cr3t", "pw-s3cr3t"} {
			if strings.Contains(s, secret) {
				t.Errorf("a secret shows in %s", s)
			}
		}
	}
}

func TestParse_EmailDefaultsAndAbsence(t *testing.T) {
	tests := []struct {
		name     string
		email    string
		wantNil  bool
		starttls string
	}{
		{"every value expanded empty: no e-mail", "{smtp: '${SMTP:-}', from: '${FROM:-}', to: '${TO:-}'}", true, ""},
		{"starttls none on loopback", "{smtp: '127.0.0.1:25', from: a@example.com, to: [b@example.com], starttls: none}", false, StartTLSNone},
		{"starttls none on localhost", "{smtp: 'localhost:25', from: a@example.com, to: b@example.com, starttls: none}", false, StartTLSNone},
		{"starttls none on ::1", "{smtp: '[::1]:25', from: a@example.com, to: [b@example.com], starttls: none}", false, StartTLSNone},
		{"opportunistic", "{smtp: 'mail:25', from: a@example.com, to: [b@example.com], starttls: opportunistic}", false, StartTLSOpportunistic},
		{"default required", "{smtp: 'mail:587', from: a@example.com, to: [b@example.com]}", false, StartTLSRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustParse(t, minimal+"alerting:\n  email: "+tt.email+"\n", noEnv).Alerting
			if (a.Email == nil) != tt.wantNil {
				t.Fatalf("Email = %+v, want nil %v", a.Email, tt.wantNil)
			}
			if a.Email != nil && a.Email.StartTLS != tt.starttls {
				t.Errorf("StartTLS = %q, want %q", a.Email.StartTLS, tt.starttls)
			}
		})
	}
}

func TestParse_TargetNotify(t *testing.T) {
	src := reachAlerting + minimal + `
  - name: web
    url: https://example.com/
    notify: [ops, email]
  - name: db
    url: tcp://example.com:5432
    notify: "slack, a.b-c_d"
`
	c := mustParse(t, src, env(map[string]string{"HOOK_TOKEN": "x"}))
	if got := c.Targets[0].Notify; got != nil {
		t.Errorf("api: Notify = %v, want nil (every channel)", got)
	}
	if got, _ := c.Target("web"); !slices.Equal(got.Notify, []string{"ops", "email"}) {
		t.Errorf("web: Notify = %v", got.Notify)
	}
	if got, _ := c.Target("db"); !slices.Equal(got.Notify, []string{"slack", "a.b-c_d"}) {
		t.Errorf("db: Notify = %v", got.Notify)
	}

	// With no channel configured the log takes everything: any known name
	// is accepted, so a config naming slack runs before Slack is set up.
	c = mustParse(t, minimal+"    notify: [slack, email]\n", noEnv)
	if !slices.Equal(c.Targets[0].Notify, []string{"slack", "email"}) {
		t.Errorf("Notify = %v", c.Targets[0].Notify)
	}
	_, err := Parse(strings.NewReader(minimal+"    notify: [opz]\n"), "/etc/pollerd", noEnv)
	if err == nil || !strings.Contains(err.Error(), `targets[0].notify[0]: no channel "opz" (have log)`) {
		t.Errorf("err = %v, want no channel \"opz\"", err)
	}
}
