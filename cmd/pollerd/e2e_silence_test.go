package main

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// End-to-end tests of maintenance windows and silences (issue 12) with the
// real binary and the log channel: what it sends, and what it holds.

const e2eAdminToken = "e2e-admin-token"

// silenceCLI runs `pollerd silence …` in-process against the daemon.
func silenceCLI(t *testing.T, d *daemon, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	args = append([]string{"silence", args[0], "--url", "http://" + d.addr}, args[1:]...)
	code = Main(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// alerts returns the log channel's alert lines of kind for target.
func alerts(d *daemon, kind, target string) []map[string]any {
	return logsMatching(d.logs(), "alert", map[string]string{"kind": kind, "target": target})
}

var silenceIDRE = regexp.MustCompile(`silence ([0-9a-f]{12}) added`)

func TestE2E_SilenceHoldsAndReleases(t *testing.T) {
	t.Setenv(adminTokenEnv, e2eAdminToken)
	dir := t.TempDir()
	api, apiURL := newFlipperServer(t, true)
	cfg := writeConfig(t, dir, coreHeader(dir, false)+coreTarget("api", apiURL)+
		"api: {admin_token: \"${POLLERD_ADMIN_TOKEN}\"}\n")
	env := "POLLERD_ADMIN_TOKEN=" + e2eAdminToken
	d := startDaemon(t, cfg, env)
	waitTransitions(t, d, "api", "UP", 1)

	// Errors first: a wrong name, and a wrong token.
	if code, _, stderr := silenceCLI(t, d, "add", "--target", "nope", "--duration", "1m"); code != 1 || !strings.Contains(stderr, `no target named "nope" (HTTP 400)`) {
		t.Fatalf("add nope: exit %d, %s", code, stderr)
	}
	t.Setenv(adminTokenEnv, "wrong")
	if code, _, stderr := silenceCLI(t, d, "list"); code != 1 || !strings.Contains(stderr, "HTTP 401") {
		t.Fatalf("list with a wrong token: exit %d, %q", code, stderr)
	}
	t.Setenv(adminTokenEnv, e2eAdminToken)

	// 1. Down and back up inside a silence: nothing at all.
	code, stdout, stderr := silenceCLI(t, d, "add", "--target", "api", "--duration", "1h", "--comment", "router swap")
	if code != 0 {
		t.Fatalf("add: exit %d, %s", code, stderr)
	}
	id := silenceIDRE.FindStringSubmatch(stdout)
	if id == nil {
		t.Fatalf("add printed %q", stdout)
	}
	_, list, _ := silenceCLI(t, d, "list")
	if !strings.Contains(list, id[1]) || !strings.Contains(list, "router swap") || !strings.Contains(list, "TARGETS") {
		t.Fatalf("list:\n%s", list)
	}
	t.Logf("silence list:\n%s", list)
	if !silenced(t, d, "api") {
		t.Error("status: api not silenced under its silence")
	}
	api.set(false)
	waitTransitions(t, d, "api", "DOWN", 1)
	d.waitLog(func(l map[string]any) bool { return strings.HasPrefix(fmt.Sprint(l["msg"]), "DOWN held") }, coreWait)
	api.set(true)
	waitTransitions(t, d, "api", "UP", 2)
	d.waitLog(func(l map[string]any) bool { return strings.HasPrefix(fmt.Sprint(l["msg"]), "held DOWN dropped") }, coreWait)
	if n, m := len(alerts(d, "DOWN", "api")), len(alerts(d, "RECOVERED", "api")); n+m != 0 {
		t.Fatalf("healed under a silence, yet %d DOWN and %d RECOVERED went out", n, m)
	}

	// 2. Down under the silence, pollerd restarted while it is held: the
	// DOWN is neither lost nor sent while still covered.
	api.set(false)
	waitTransitions(t, d, "api", "DOWN", 2)
	downAt := logTime(t, logsMatching(d.logs(), "transition", map[string]string{"target": "api", "to": "DOWN"})[1])
	eventually(t, coreWait, "a second DOWN held", func() bool {
		return len(logsMatching(d.logs(), "DOWN held: target under maintenance or silenced", map[string]string{"target": "api"})) == 2
	})
	if n := len(alerts(d, "DOWN", "api")); n != 0 {
		t.Fatalf("%d DOWN went out under the silence", n)
	}
	if err := d.stop(coreStopWait); err != nil {
		t.Fatalf("stop: %v", err)
	}
	d = startDaemon(t, cfg, env)
	d.waitLog(func(l map[string]any) bool { return l["msg"] == "held DOWN restored" && l["target"] == "api" }, coreWait)
	time.Sleep(3 * time.Second) // probes go on; still covered: nothing
	if n := len(alerts(d, "DOWN", "api")); n != 0 {
		t.Fatalf("a held DOWN leaked after the restart: %d", n)
	}

	// 3. The silence ends (removed) while api is still down: its DOWN goes
	// out then, timed from the real start.
	if code, out, stderr := silenceCLI(t, d, "rm", id[1]); code != 0 || !strings.Contains(out, "removed") {
		t.Fatalf("rm: exit %d %q %q", code, out, stderr)
	}
	removed := time.Now()
	if silenced(t, d, "api") {
		t.Error("status: api still silenced after its silence was removed")
	}
	eventually(t, coreWait, "the released DOWN", func() bool { return len(alerts(d, "DOWN", "api")) == 1 })
	text := fmt.Sprint(alerts(d, "DOWN", "api")[0]["text"])
	if !strings.Contains(text, "api is DOWN") || !strings.Contains(text, "held during maintenance or a silence") ||
		!strings.Contains(text, downAt.UTC().Format("2006-01-02 15:04:05")) {
		t.Fatalf("released DOWN %q; want the real start %s", text, downAt.UTC())
	}
	t.Logf("released %s after the silence ended: %q", time.Since(removed).Round(time.Millisecond), text)
	if code, _, stderr := silenceCLI(t, d, "rm", id[1]); code != 1 || !strings.Contains(stderr, "HTTP 404") {
		t.Fatalf("second rm: exit %d %q", code, stderr)
	}

	// 4. Its RECOVERED is never held, even under a new silence.
	if code, _, stderr := silenceCLI(t, d, "add", "--target", "api", "--duration", "1h"); code != 0 {
		t.Fatalf("add: %s", stderr)
	}
	api.set(true)
	eventually(t, coreWait, "the RECOVERED", func() bool { return len(alerts(d, "RECOVERED", "api")) == 1 })
	if n := len(alerts(d, "DOWN", "api")); n != 1 {
		t.Fatalf("%d DOWN, want 1", n)
	}
}

func TestE2E_MaintenanceWindow(t *testing.T) {
	dir := t.TempDir()
	stays, staysURL := newFlipperServer(t, true)
	heals, healsURL := newFlipperServer(t, true)
	// A 7 s window at :00, :20 and :40 of every minute.
	cfg := writeConfig(t, dir, coreHeader(dir, false)+coreTarget("stays", staysURL)+coreTarget("heals", healsURL)+
		"maintenance:\n  - {name: e2e, schedule: \"*/20 * * * * *\", duration: 7s, targets: [stays, heals]}\n")
	d := startDaemon(t, cfg)
	waitTransitions(t, d, "stays", "UP", 1)
	waitTransitions(t, d, "heals", "UP", 1)

	// Wait for the next window to open, then fail both targets inside it.
	now := time.Now()
	start := now.Truncate(20 * time.Second).Add(20 * time.Second)
	time.Sleep(time.Until(start.Add(200 * time.Millisecond)))
	stays.set(false)
	heals.set(false)
	waitTransitions(t, d, "stays", "DOWN", 1)
	waitTransitions(t, d, "heals", "DOWN", 1)
	heals.set(true)
	if time.Since(start) > 6*time.Second {
		t.Skipf("machine too slow for a 7 s window: DOWN %s after it opened", time.Since(start))
	}
	if n := len(alerts(d, "DOWN", "stays")) + len(alerts(d, "DOWN", "heals")); n != 0 {
		t.Fatalf("%d DOWN inside the window", n)
	}

	// The window closes at start+7s: stays' DOWN goes out then.
	eventually(t, coreWait, "the DOWN after the window", func() bool { return len(alerts(d, "DOWN", "stays")) == 1 })
	late := logTime(t, alerts(d, "DOWN", "stays")[0]).Sub(start.Add(7 * time.Second))
	t.Logf("DOWN released %s after the window closed", late.Round(time.Millisecond))
	if late < 0 || late > 10*time.Second {
		t.Fatalf("DOWN released %s after the window's end, want within [0, 10s]", late)
	}
	stays.set(true)
	eventually(t, coreWait, "stays' RECOVERED", func() bool { return len(alerts(d, "RECOVERED", "stays")) == 1 })
	// heals went down and came back inside the window: nothing, ever.
	if n, m := len(alerts(d, "DOWN", "heals")), len(alerts(d, "RECOVERED", "heals")); n+m != 0 {
		t.Fatalf("heals: %d DOWN, %d RECOVERED; want none", n, m)
	}
}
