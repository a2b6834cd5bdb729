package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/alert/alerttest"
)

// groupTarget is coreTarget in a group.
func groupTarget(name, url, group string) string {
	return coreTarget(name, url) + fmt.Sprintf("    group: %s\n", group)
}

func texts(msgs []alerttest.Received) string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Text
	}
	return strings.Join(out, "\n")
}

// Three members of a group failing together make one grouped DOWN naming
// all three; a kill -9 in the middle sends no second DOWN; their recovery
// makes one grouped RECOVERED.
func TestE2E_GroupOutage(t *testing.T) {
	wh := alerttest.NewWebhook(t)
	state := t.TempDir()
	yml := coreHeader(state, true)
	var members []*flipper
	for _, name := range []string{"api", "db", "web"} {
		f, url := newFlipperServer(t, false)
		members = append(members, f)
		yml += groupTarget(name, url, "homeserver")
	}
	cfg := writeConfig(t, t.TempDir(), yml)
	env := "SLACK_WEBHOOK_URL=" + wh.URL()

	d := startDaemon(t, cfg, env)
	start := time.Now()
	down := wh.WaitFor(t, 1, coreWait)[0]
	t.Logf("grouped DOWN %s after start: %q", time.Since(start).Round(time.Millisecond), down.Text)
	for _, want := range []string{"DOWN", "homeserver", "3 of 3", "api", "db", "web"} {
		if !strings.Contains(down.Text, want) {
			t.Errorf("grouped DOWN %q lacks %q", down.Text, want)
		}
	}
	time.Sleep(3 * time.Second)
	if n := len(wh.Attempts()); n != 1 {
		t.Fatalf("%d posts, want the one grouped DOWN:\n%s", n, texts(wh.Attempts()))
	}

	d.kill()
	d2 := startDaemon(t, cfg, env)
	time.Sleep(4 * time.Second) // still down after the restart
	if n := len(wh.Attempts()); n != 1 {
		t.Fatalf("%d posts after the restart, want still the 1 DOWN:\n%s", n, texts(wh.Attempts()))
	}
	for _, f := range members {
		f.set(true)
	}
	rec := wh.WaitFor(t, 2, coreWait)[1]
	t.Logf("grouped RECOVERED: %q", rec.Text)
	for _, want := range []string{"RECOVERED", "homeserver", "api after", "db after", "web after"} {
		if !strings.Contains(rec.Text, want) {
			t.Errorf("grouped RECOVERED %q lacks %q", rec.Text, want)
		}
	}
	time.Sleep(3 * time.Second)
	if got := strings.Join(messageKinds(wh.Attempts()), ","); got != "DOWN,RECOVERED" {
		t.Errorf("posts %s, want DOWN,RECOVERED:\n%s", got, texts(wh.Attempts()))
	}
	if err := d2.stop(coreStopWait); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
}

// A lone failing member is announced as a single target.
func TestE2E_GroupLoneMember(t *testing.T) {
	wh := alerttest.NewWebhook(t)
	yml := coreHeader(t.TempDir(), true)
	_, bad := newFlipperServer(t, false)
	_, good := newFlipperServer(t, true)
	yml += groupTarget("api", bad, "homeserver") + groupTarget("db", good, "homeserver")
	d := startDaemon(t, writeConfig(t, t.TempDir(), yml), "SLACK_WEBHOOK_URL="+wh.URL())
	down := wh.WaitFor(t, 1, coreWait)[0]
	if !strings.Contains(down.Text, "api is DOWN") || strings.Contains(down.Text, "of 2") {
		t.Errorf("lone DOWN = %q, want api's own", down.Text)
	}
	_ = d.stop(coreStopWait)
}

// Canaries and a target failing together: no target DOWN; once the
// canaries pass, the target is re-probed, and one `lost connectivity`
// notice goes out.
func TestE2E_CanariesHoldDowns(t *testing.T) {
	wh := alerttest.NewWebhook(t)
	yml := coreHeader(t.TempDir(), true)
	ca, caURL := newFlipperServer(t, false)
	cb, cbURL := newFlipperServer(t, false)
	api, apiURL := newFlipperServer(t, false)
	yml += coreTarget("canary-a", caURL) + coreTarget("canary-b", cbURL) + coreTarget("api", apiURL)
	yml = strings.Replace(yml, "targets:\n", "canaries: {targets: [canary-a, canary-b], quorum: 2}\ntargets:\n", 1)
	d := startDaemon(t, writeConfig(t, t.TempDir(), yml), "SLACK_WEBHOOK_URL="+wh.URL())
	waitTransitions(t, d, "api", "DOWN", 1)
	waitTransitions(t, d, "canary-a", "DOWN", 1)
	waitTransitions(t, d, "canary-b", "DOWN", 1)
	time.Sleep(3 * time.Second)
	if n := len(wh.Attempts()); n != 0 {
		t.Fatalf("%d posts while offline, want none:\n%s", n, texts(wh.Attempts()))
	}
	_, body := d.get("/api/v1/status")
	if !strings.Contains(string(body), `"canaries":{"state":"offline"`) {
		t.Errorf("status while offline: %s", body)
	}
	// The network comes back, for the target too.
	api.set(true)
	ca.set(true)
	cb.set(true)
	notice := wh.WaitFor(t, 1, coreWait)[0]
	t.Logf("notice: %q", notice.Text)
	if !strings.Contains(notice.Text, "lost connectivity") || strings.Contains(notice.Text, "DOWN") ||
		strings.Contains(notice.Text, "RECOVERED") {
		t.Errorf("notice = %q", notice.Text)
	}
	time.Sleep(4 * time.Second)
	if got := texts(wh.Attempts()); strings.Contains(got, "DOWN") || strings.Contains(got, "RECOVERED") ||
		strings.Count(got, "lost connectivity") != 1 {
		t.Errorf("posts after connectivity came back:\n%s", got)
	}
	_ = d.stop(coreStopWait)
}

// Reminders every repeat_interval while a target stays DOWN.
func TestE2E_Reminders(t *testing.T) {
	wh := alerttest.NewWebhook(t)
	yml := coreHeader(t.TempDir(), true)
	yml = strings.Replace(yml, `webhook_url: "${SLACK_WEBHOOK_URL}"}`, `webhook_url: "${SLACK_WEBHOOK_URL}"}, repeat_interval: 2s`, 1)
	_, url := newFlipperServer(t, false)
	yml += coreTarget("api", url)
	d := startDaemon(t, writeConfig(t, t.TempDir(), yml), "SLACK_WEBHOOK_URL="+wh.URL())
	msgs := wh.WaitFor(t, 3, coreWait)
	if !strings.Contains(msgs[0].Text, "api is DOWN") {
		t.Errorf("first = %q", msgs[0].Text)
	}
	for _, m := range msgs[1:] {
		if !strings.Contains(m.Text, "api still DOWN for ") {
			t.Errorf("reminder = %q", m.Text)
		}
	}
	gap := msgs[2].At.Sub(msgs[1].At)
	t.Logf("reminders %s apart: %q, %q", gap.Round(time.Millisecond), msgs[1].Text, msgs[2].Text)
	if gap < time.Second || gap > 4*time.Second {
		t.Errorf("reminders %s apart, want about 2s", gap)
	}
	_ = d.stop(coreStopWait)
}

// A target removed from the config while DOWN: one `no longer monitored`.
func TestE2E_RemovedWhileDown(t *testing.T) {
	wh := alerttest.NewWebhook(t)
	state := t.TempDir()
	dir := t.TempDir()
	_, bad := newFlipperServer(t, false)
	_, good := newFlipperServer(t, true)
	env := "SLACK_WEBHOOK_URL=" + wh.URL()
	cfg := writeConfig(t, dir, coreHeader(state, true)+coreTarget("api", bad)+coreTarget("web", good))
	d := startDaemon(t, cfg, env)
	wh.WaitFor(t, 1, coreWait)
	if err := d.stop(coreStopWait); err != nil {
		t.Fatal(err)
	}
	cfg = writeConfig(t, dir, coreHeader(state, true)+coreTarget("web", good))
	d2 := startDaemon(t, cfg, env)
	msgs := wh.WaitFor(t, 2, coreWait)
	if n := msgs[1]; !strings.Contains(n.Text, "api is no longer monitored") || strings.Contains(n.Text, "DOWN") ||
		strings.Contains(n.Text, "RECOVERED") {
		t.Errorf("notice = %q", n.Text)
	}
	if err := d2.stop(coreStopWait); err != nil {
		t.Fatal(err)
	}
	d3 := startDaemon(t, cfg, env) // once
	time.Sleep(2 * time.Second)
	if n := len(wh.Attempts()); n != 2 {
		t.Errorf("%d posts, want DOWN and one notice:\n%s", n, texts(wh.Attempts()))
	}
	_ = d3.stop(coreStopWait)
}
