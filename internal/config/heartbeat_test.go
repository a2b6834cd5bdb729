package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParse_Heartbeat(t *testing.T) {
	tests := []struct {
		name string
		src  string
		env  map[string]string
		want Heartbeat
	}{
		{"absent: none", minimal, nil, Heartbeat{Interval: time.Minute}},
		{"url, default interval", minimal + "heartbeat: {url: https://hc-ping.com/abc}\n", nil,
			Heartbeat{URL: "https://hc-ping.com/abc", Interval: time.Minute}},
		{"http and an interval", minimal + "heartbeat: {url: http://127.0.0.1:8000/ping, interval: 1s}\n", nil,
			Heartbeat{URL: "http://127.0.0.1:8000/ping", Interval: time.Second}},
		{"from the environment", minimal + "heartbeat: {url: \"${HC_URL}\", interval: 5m}\n", map[string]string{"HC_URL": "https://hc-ping.com/x"},
			Heartbeat{URL: "https://hc-ping.com/x", Interval: 5 * time.Minute}},
		{"optional variable unset: none", minimal + "heartbeat: {url: \"${HC_URL:-}\"}\n", nil, Heartbeat{Interval: time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustParse(t, tt.src, env(tt.env)).Heartbeat; got != tt.want {
				t.Errorf("Heartbeat = %#v (URL %q), want %#v", got, got.URL.Value(), tt.want)
			}
		})
	}
}

// TestLoad_BadHeartbeat pins the exact messages, every one with its field
// path, and that none quotes the URL (a bearer secret).
func TestLoad_BadHeartbeat(t *testing.T) {
	tests := map[string][]string{
		"bad-heartbeat.yaml": {
			"heartbeat.grace: unknown key",
			"heartbeat.interval: must be at least 1s",
			"heartbeat.url: must be an http:// or https:// URL",
		},
		"bad-heartbeat-url.yaml": {"heartbeat.url: has no host"},
	}
	for file, want := range tests {
		t.Run(file, func(t *testing.T) {
			_, err := Load(filepath.Join("testdata", file), noEnv)
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("err = %v, want *ValidationError", err)
			}
			var got []string
			for _, p := range verr.Problems {
				got = append(got, fmt.Sprintf("%s: %s", p.Path, p.Msg))
			}
			if !slices.Equal(got, want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "hc-ping") {
				t.Errorf("a problem quotes the URL:\n%v", err)
			}
		})
	}
}

// TestHeartbeat_redacted: the URL never prints.
func TestHeartbeat_redacted(t *testing.T) {
	h := mustParse(t, minimal+"heartbeat: {url: https://hc-ping.com/s3cr3t}\n", noEnv).Heartbeat
	for _, s := range []string{fmt.Sprint(h), fmt.Sprintf("%+v", h), fmt.Sprintf("%#v", h)} {
		if strings.Contains(s, "s3cr3t") {
			t.Errorf("%q shows the URL", s)
		}
	}
}
