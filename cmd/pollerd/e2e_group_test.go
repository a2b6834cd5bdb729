package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/alert/alerttest"
)

// serveOn starts an HTTP server answering 200 on addr (a port that was
// closed until now), stopped at the end of the test.
func serveOn(t *testing.T, addr string) {
	t.Helper()
	var l net.Listener
	var err error
	for range 50 { // the port was closed on purpose; retry briefly if it lingers
		if l, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("listen on %s again: %v", addr, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
}

// Seven of nine members failing at once (closed ports) make one grouped
// DOWN naming the seven and neither of the two up; once the seven listen
// again, one grouped RECOVERED with each member's downtime.
func TestE2E_Group7of9(t *testing.T) {
	wh := alerttest.NewWebhook(t)
	yml := coreHeader(t.TempDir(), true)
	var downNames, upNames, downAddrs []string
	for i := range 9 {
		name := fmt.Sprintf("m%d", i+1)
		if i < 7 {
			addr := fmt.Sprintf("127.0.0.1:%d", closedPort(t))
			downNames, downAddrs = append(downNames, name), append(downAddrs, addr)
			yml += groupTarget(name, "http://"+addr+"/health", "homeserver")
			continue
		}
		_, url := newFlipperServer(t, true)
		upNames = append(upNames, name)
		yml += groupTarget(name, url, "homeserver")
	}
	d := startDaemon(t, writeConfig(t, t.TempDir(), yml), "SLACK_WEBHOOK_URL="+wh.URL())
	start := time.Now()

	down := wh.WaitFor(t, 1, coreWait)[0]
	t.Logf("grouped DOWN %s after start: %q", time.Since(start).Round(time.Millisecond), down.Text)
	for _, want := range append([]string{"DOWN", "homeserver", "7 of 9"}, downNames...) {
		if !strings.Contains(down.Text, want) {
			t.Errorf("grouped DOWN %q lacks %q", down.Text, want)
		}
	}
	for _, name := range upNames {
		if strings.Contains(down.Text, name) {
			t.Errorf("grouped DOWN %q names %s, which is up", down.Text, name)
		}
	}
	// No follow-up, no member's own DOWN: the seven were in the one message.
	time.Sleep(3 * time.Second)
	if n := len(wh.Attempts()); n != 1 {
		t.Fatalf("%d posts, want the one grouped DOWN:\n%s", n, texts(wh.Attempts()))
	}

	for _, addr := range downAddrs {
		serveOn(t, addr)
	}
	back := time.Now()
	rec := wh.WaitFor(t, 2, coreWait)[1]
	t.Logf("grouped RECOVERED %s after the ports opened: %q", time.Since(back).Round(time.Millisecond), rec.Text)
	for _, want := range []string{"RECOVERED", "homeserver"} {
		if !strings.Contains(rec.Text, want) {
			t.Errorf("grouped RECOVERED %q lacks %q", rec.Text, want)
		}
	}
	for _, name := range downNames {
		if !strings.Contains(rec.Text, name+" after ") {
			t.Errorf("grouped RECOVERED %q lacks %s's downtime", rec.Text, name)
		}
	}
	for _, name := range upNames {
		if strings.Contains(rec.Text, name) {
			t.Errorf("grouped RECOVERED %q names %s, which never went down", rec.Text, name)
		}
	}
	time.Sleep(3 * time.Second)
	if got := strings.Join(messageKinds(wh.Attempts()), ","); got != "DOWN,RECOVERED" {
		t.Errorf("posts %s, want DOWN,RECOVERED:\n%s", got, texts(wh.Attempts()))
	}
	if err := d.stop(coreStopWait); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
}

// adminPost posts body to the daemon's admin API with the bearer token.
func adminPost(t *testing.T, d *daemon, path, token, body string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+d.addr+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A silence that starts after the DOWN went out does not eat the RECOVERED
// (Alertmanager #226): DOWN delivered, silence added through the admin API
// over the target, the target recovers, the RECOVERED is delivered.
func TestE2E_SilenceAfterDownKeepsRecovered(t *testing.T) {
	wh := alerttest.NewWebhook(t)
	api, apiURL := newFlipperServer(t, false)
	yml := coreHeader(t.TempDir(), true) + coreTarget("api", apiURL) +
		"api: {admin_token: \"${POLLERD_ADMIN_TOKEN}\"}\n"
	yml = strings.Replace(yml, `webhook_url: "${SLACK_WEBHOOK_URL}"}`, `webhook_url: "${SLACK_WEBHOOK_URL}"}, repeat_interval: 2s`, 1)
	d := startDaemon(t, writeConfig(t, t.TempDir(), yml),
		"SLACK_WEBHOOK_URL="+wh.URL(), "POLLERD_ADMIN_TOKEN="+e2eAdminToken)

	down := wh.WaitFor(t, 1, coreWait)[0]
	if !strings.Contains(down.Text, "api is DOWN") {
		t.Fatalf("first post %q, want api's DOWN", down.Text)
	}
	code, body := adminPost(t, d, "/api/v1/silences", e2eAdminToken,
		`{"targets": ["api"], "duration": "1h", "comment": "after the DOWN"}`)
	if code != http.StatusCreated {
		t.Fatalf("POST /api/v1/silences: %d %s", code, body)
	}
	// The silence is in force once reminders (every 2 s) stop coming.
	time.Sleep(1500 * time.Millisecond)
	before := len(wh.Attempts())
	time.Sleep(4 * time.Second)
	if got := wh.Attempts(); len(got) != before {
		t.Fatalf("posts under the silence (reminders are held by it):\n%s", texts(got[before:]))
	}
	api.set(true)
	flipped := time.Now()
	rec := wh.WaitFor(t, before+1, coreWait)[before]
	t.Logf("RECOVERED under a silence %s after the flip: %q", time.Since(flipped).Round(time.Millisecond), rec.Text)
	if !strings.Contains(rec.Text, "api") || !strings.Contains(rec.Text, "RECOVERED") {
		t.Errorf("post after the recovery %q, want api's RECOVERED", rec.Text)
	}
	time.Sleep(2 * time.Second)
	all := texts(wh.Attempts())
	if len(wh.Attempts()) != before+1 || strings.Count(all, "api is DOWN") != 1 || strings.Count(all, "RECOVERED") != 1 {
		t.Errorf("posts, want one DOWN, reminders before the silence, one RECOVERED:\n%s", all)
	}
	if err := d.stop(coreStopWait); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
}
