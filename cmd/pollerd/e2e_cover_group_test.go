package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/alert/alerttest"
)

// silenced reads target's "silenced" from GET /api/v1/status; it fails the
// test when the field is missing.
func silenced(t *testing.T, d *daemon, target string) bool {
	t.Helper()
	code, body := d.get("/api/v1/status")
	if code != http.StatusOK {
		t.Fatalf("GET /api/v1/status: %d %s", code, body)
	}
	var doc struct {
		Targets []struct {
			Name     string `json:"name"`
			Silenced *bool  `json:"silenced"`
		} `json:"targets"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("status: %v\n%s", err, body)
	}
	for _, ts := range doc.Targets {
		if ts.Name == target {
			if ts.Silenced == nil {
				t.Fatalf("status of %s without \"silenced\": %s", target, body)
			}
			return *ts.Silenced
		}
	}
	t.Fatalf("status without %s: %s", target, body)
	return false
}

// A grouped DOWN held by a maintenance window survives a kill -9: after the
// restart it is held again while the window lasts, then goes out once, and
// the group's RECOVERED follows.
func TestE2E_GroupDownHeldAcrossRestart(t *testing.T) {
	wh := alerttest.NewWebhook(t)
	state := t.TempDir()
	yml := coreHeader(state, true)
	var members []*flipper
	for _, name := range []string{"api", "db", "web"} {
		f, url := newFlipperServer(t, true)
		members = append(members, f)
		yml += groupTarget(name, url, "homeserver")
	}
	// A 20 s window at :00 and :30 of every minute, over the group.
	yml += "maintenance:\n  - {name: e2e, schedule: \"*/30 * * * * *\", duration: 20s, groups: [homeserver]}\n"
	cfg := writeConfig(t, t.TempDir(), yml)
	env := "SLACK_WEBHOOK_URL=" + wh.URL()

	d := startDaemon(t, cfg, env)
	for _, name := range []string{"api", "db", "web"} {
		waitTransitions(t, d, name, "UP", 1)
	}
	start := time.Now().Truncate(30 * time.Second).Add(30 * time.Second)
	time.Sleep(time.Until(start.Add(200 * time.Millisecond)))
	if !silenced(t, d, "api") {
		t.Error("status: api not silenced inside the window")
	}
	for _, f := range members {
		f.set(false)
	}
	held := func(d *daemon) func() bool {
		return func() bool {
			return len(logsMatching(d.logs(), "DOWN held: target under maintenance or silenced", map[string]string{"target": ""})) > 0
		}
	}
	eventually(t, coreWait, "the grouped DOWN held", held(d))
	if time.Since(start) > 12*time.Second {
		t.Skipf("machine too slow for a 20 s window: grouped DOWN held %s after it opened", time.Since(start))
	}
	// The group incident is in the store (the held DOWN is not): kill -9.
	eventually(t, coreWait, "the group incident stored", func() bool {
		_, body := d.get("/api/v1/status")
		return strings.Contains(string(body), `"kind":"group","subject":"homeserver"`)
	})
	d.kill()
	d2 := startDaemon(t, cfg, env)
	d2.waitLog(func(l map[string]any) bool { return l["msg"] == "held grouped DOWN restored" }, coreWait)
	eventually(t, coreWait, "the grouped DOWN held again", held(d2))
	if n := len(wh.Attempts()); n != 0 {
		t.Fatalf("%d posts inside the window:\n%s", n, texts(wh.Attempts()))
	}

	// The window closes at start+20s: one grouped DOWN then.
	down := wh.WaitFor(t, 1, coreWait)[0]
	late := time.Since(start.Add(20 * time.Second))
	t.Logf("grouped DOWN %s after the window closed: %q", late.Round(time.Millisecond), down.Text)
	for _, want := range []string{"DOWN", "homeserver", "3 of 3", "api", "db", "web", "held during maintenance"} {
		if !strings.Contains(down.Text, want) {
			t.Errorf("grouped DOWN %q lacks %q", down.Text, want)
		}
	}
	if late < 0 {
		t.Errorf("grouped DOWN went out %s before the window's end", -late)
	}
	if silenced(t, d2, "api") {
		t.Error("status: api still silenced after the window")
	}
	for _, f := range members {
		f.set(true)
	}
	rec := wh.WaitFor(t, 2, coreWait)[1]
	if !strings.Contains(rec.Text, "homeserver RECOVERED") {
		t.Errorf("RECOVERED = %q", rec.Text)
	}
	time.Sleep(2 * time.Second)
	if got := strings.Join(messageKinds(wh.Attempts()), ","); got != "DOWN,RECOVERED" {
		t.Errorf("posts %s, want DOWN,RECOVERED:\n%s", got, texts(wh.Attempts()))
	}
	if err := d2.stop(coreStopWait); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
}
