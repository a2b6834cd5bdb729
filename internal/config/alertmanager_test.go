package config

import (
	"slices"
	"strings"
	"testing"
)

func TestParse_Alertmanager(t *testing.T) {
	tests := []struct {
		name         string
		src          string
		env          map[string]string
		wantURLs     []string // nil: no channel
		wantReporter string
	}{
		{"absent", minimal, nil, nil, ""},
		{"two urls, reporter", minimal + "alerting:\n  alertmanager:\n    urls: [http://10.0.0.5:9093, https://am.example/prefix/]\n    reporter: vantage-fra\n",
			nil, []string{"http://10.0.0.5:9093", "https://am.example/prefix/"}, "vantage-fra"},
		{"reporter defaults to empty (cmd uses the hostname)", minimal + "alerting:\n  alertmanager: {urls: [http://127.0.0.1:9093]}\n",
			nil, []string{"http://127.0.0.1:9093"}, ""},
		{"url from the environment", minimal + "alerting:\n  alertmanager: {urls: [\"${AM_URL}\"]}\n",
			map[string]string{"AM_URL": "http://u:p@am:9093"}, []string{"http://u:p@am:9093"}, ""},
		{"every url expanded to empty: no channel", minimal + "alerting:\n  alertmanager: {urls: [\"${AM_URL:-}\"]}\n",
			nil, nil, ""},
		{"override: comma-separated", minimal, map[string]string{"POLLERD_ALERTING_ALERTMANAGER_URLS": "http://a:9093, http://b:9093"},
			[]string{"http://a:9093", "http://b:9093"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustParse(t, tt.src, env(tt.env)).Alerting
			if tt.wantURLs == nil {
				if a.Alertmanager != nil {
					t.Fatalf("Alertmanager = %+v, want nil", a.Alertmanager)
				}
				return
			}
			if a.Alertmanager == nil {
				t.Fatal("Alertmanager = nil")
			}
			var got []string
			for _, u := range a.Alertmanager.URLs {
				got = append(got, u.Value())
			}
			if !slices.Equal(got, tt.wantURLs) || a.Alertmanager.Reporter != tt.wantReporter {
				t.Errorf("got %v %q, want %v %q", got, a.Alertmanager.Reporter, tt.wantURLs, tt.wantReporter)
			}
			chs := a.Channels()
			if !slices.Contains(chs, Channel{Kind: ChannelAlertmanager, Name: ChannelAlertmanager}) {
				t.Errorf("Channels() = %v, want alertmanager among them", chs)
			}
		})
	}
}

func TestParse_AlertmanagerProblems(t *testing.T) {
	tests := []struct{ name, section, path, msg string }{
		{"no urls", "{reporter: x}", "alerting.alertmanager.urls", "required"},
		{"empty list", "{urls: []}", "alerting.alertmanager.urls", "at least one"},
		{"not a URL", "{urls: [am.example]}", "alerting.alertmanager.urls[0]", "not a valid URL"},
		{"query", "{urls: [\"http://am:9093/?token=s3cr3t\"]}", "alerting.alertmanager.urls[0]", "no query"},
		{"not a list", "{urls: {a: b}}", "alerting.alertmanager.urls", "must be a list"},
		{"not a mapping", "[http://am:9093]", "alerting.alertmanager", "must be a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(minimal+"alerting:\n  alertmanager: "+tt.section+"\n"), "/etc/pollerd", noEnv)
			if err == nil || !strings.Contains(err.Error(), tt.path+": ") || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v, want %s: …%s…", err, tt.path, tt.msg)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("a problem echoes a secret: %v", err)
			}
		})
	}
}
