package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestE2E_CertNotice: an https and a tls target whose certificate is under
// a cert_warn threshold (httptest's certificate runs to 2084, so the test
// warns under 100 years) each get one certificate NOTICE in the log
// channel, not one per probe, and none after a restart.
func TestE2E_CertNotice(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "https://")
	state := t.TempDir()
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf("listen: 127.0.0.1:0\nstate_dir: %q\nlog: {format: json, level: debug}\n", state)+
		"targets:\n"+
		fmt.Sprintf("  - {name: web, url: %q, interval: 1s, tls_skip_verify: true, cert_warn: [876000h, 72h]}\n", srv.URL+"/")+
		fmt.Sprintf("  - {name: tls, url: \"tls://%s\", interval: 1s, tls_skip_verify: true, cert_warn: [876000h]}\n", host))

	notices := func(d *daemon) map[string]int {
		n := map[string]int{}
		for _, l := range logsMatching(d.logs(), "alert", map[string]string{"kind": "NOTICE"}) {
			text, _ := l["text"].(string)
			if !strings.Contains(text, "certificate of ") || !strings.Contains(text, "d (20") ||
				strings.Contains(text, "DOWN") || strings.Contains(text, "RECOVERED") {
				t.Errorf("notice text %q", text)
			}
			target, _ := l["target"].(string)
			n[target]++
		}
		return n
	}
	d := startDaemon(t, cfg)
	eventually(t, coreWait, "a certificate notice for web and tls", func() bool {
		n := notices(d)
		return n["web"] > 0 && n["tls"] > 0
	})
	time.Sleep(3 * time.Second) // a few more probes of each
	if n := notices(d); n["web"] != 1 || n["tls"] != 1 {
		t.Errorf("notices %v, want one per target", n)
	}
	if err := d.stop(coreStopWait); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}

	d = startDaemon(t, cfg)
	eventually(t, coreWait, "3 probes of each target after the restart", func() bool {
		return len(logsMatching(d.logs(), "probe", map[string]string{"target": "web"})) >= 3 &&
			len(logsMatching(d.logs(), "probe", map[string]string{"target": "tls"})) >= 3
	})
	if n := notices(d); len(n) != 0 {
		t.Errorf("notices after the restart: %v, want none", n)
	}
}
