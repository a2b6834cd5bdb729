package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/alert/alerttest"
)

// End-to-end tests of what must survive a crash (issue 4): an outage
// across a SIGKILL, a message not yet delivered when the process dies, and
// a state directory pollerd cannot use.

// TestE2E_CrashDuringOutage: DOWN delivered, SIGKILL, restart on the same
// state: no second DOWN while the target stays down, and one RECOVERED
// whose downtime counts from the original DOWN.
func TestE2E_CrashDuringOutage(t *testing.T) {
	wh := alerttest.NewWebhook(t)
	web, webURL := newFlipperServer(t, false)
	cfg := writeConfig(t, t.TempDir(), coreHeader(t.TempDir(), true)+coreTarget("web", webURL))
	env := "SLACK_WEBHOOK_URL=" + wh.URL()

	d := startDaemon(t, cfg, env)
	down := wh.WaitFor(t, 1, coreWait)[0]
	if messageKind(down.Text) != "DOWN" {
		t.Fatalf("first message %q, want a DOWN", down.Text)
	}
	time.Sleep(3 * time.Second) // an outage well under way
	d.kill()
	killed := time.Now()

	d2 := startDaemon(t, cfg, env)
	t.Logf("SIGKILL to listening again: %s", time.Since(killed).Round(time.Millisecond))
	// Stay down for a few intervals: the restored state says DOWN.
	eventually(t, coreWait, "4 failed probes after the restart", func() bool {
		n := 0
		for _, l := range logsMatching(d2.logs(), "probe", map[string]string{"target": "web"}) {
			if ok, _ := l["ok"].(bool); !ok {
				n++
			}
		}
		return n >= 4
	})
	if n := len(wh.Attempts()); n != 1 {
		t.Fatalf("%d posts while the target stayed down across the restart, want the 1 DOWN", n)
	}

	web.set(true)
	msgs := wh.WaitFor(t, 2, coreWait)
	rec := msgs[1]
	if messageKind(rec.Text) != "RECOVERED" || !strings.Contains(rec.Text, "web") {
		t.Fatalf("second message %q, want web RECOVERED", rec.Text)
	}
	downtime := downtimeOf(t, rec.Text)
	sinceDown := rec.At.Sub(down.At)
	sinceRestart := rec.At.Sub(killed)
	t.Logf("announced downtime %s; DOWN to RECOVERED messages %s; kill to RECOVERED %s",
		downtime, sinceDown.Round(time.Millisecond), sinceRestart.Round(time.Millisecond))
	// The DOWN was sent right after its transition, the RECOVERED right
	// after its own: the downtime is their distance, give or take the
	// rounding and the delivery. Counted from the restart it would be ≥ 3s
	// shorter (the sleep above).
	if downtime < sinceDown-1500*time.Millisecond || downtime > sinceDown+2*time.Second {
		t.Errorf("downtime %s, want about %s (from the original DOWN)", downtime, sinceDown)
	}

	time.Sleep(2 * time.Second)
	if got := strings.Join(messageKinds(wh.Attempts()), ","); got != "DOWN,RECOVERED" {
		t.Errorf("posts %s, want DOWN,RECOVERED", got)
	}
	lines := d2.logs()
	recounted := len(logsMatching(lines, "transition", map[string]string{"target": "web", "to": "DOWN"}))
	if recounted > 1 {
		t.Errorf("%d DOWN transitions after the restart", recounted)
	}
	t.Logf("after the restart: %d DOWN transition (0: restored as DOWN), %d `still down` lines",
		recounted, len(logsMatching(lines, "target still down from an earlier incident", nil)))
	if err := d2.stop(coreStopWait); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
}

// slackGate fronts the fake webhook: while closed it answers 500 itself,
// as a Slack outage would (or, with hang, never answers until the client
// gives up); open, it passes posts through.
type slackGate struct {
	open    atomic.Bool
	hang    atomic.Bool
	refused atomic.Int64
	proxy   *httputil.ReverseProxy
	closing chan struct{} // closed on cleanup, to release hung posts
}

func (g *slackGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !g.open.Load() {
		g.refused.Add(1)
		if g.hang.Load() {
			select {
			case <-r.Context().Done():
			case <-g.closing:
			}
			return
		}
		http.Error(w, "internal_error", http.StatusInternalServerError)
		return
	}
	g.proxy.ServeHTTP(w, r)
}

// newSlackGate returns a closed gate in front of wh and the webhook URL
// to configure: the gate's address with the fake's path.
func newSlackGate(t *testing.T, wh *alerttest.Webhook) (*slackGate, string) {
	t.Helper()
	u, err := url.Parse(wh.URL())
	if err != nil {
		t.Fatal(err)
	}
	g := &slackGate{proxy: httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host}),
		closing: make(chan struct{})}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(g.closing) }) // runs first: Close waits for handlers
	return g, srv.URL + u.Path
}

// TestE2E_CrashBeforeDelivery: Slack fails, so the DOWN waits in the
// outbox; SIGKILL; Slack comes back; the restarted pollerd delivers the DOWN
// once, then the RECOVERED once.
//
// The one duplicate window left (DESIGN.md, Delivery) is a crash between
// Slack's "ok" and the outbox's delivered mark: then that one message is
// sent again after the restart. This test kills while Slack refuses every
// post, outside that window, so it asserts exactly one of each.
func TestE2E_CrashBeforeDelivery(t *testing.T) {
	wh := alerttest.NewWebhook(t)
	gate, hookURL := newSlackGate(t, wh)
	web, webURL := newFlipperServer(t, false)
	cfg := writeConfig(t, t.TempDir(), coreHeader(t.TempDir(), true)+coreTarget("web", webURL))
	env := "SLACK_WEBHOOK_URL=" + hookURL

	d := startDaemon(t, cfg, env)
	waitTransitions(t, d, "web", "DOWN", 1)
	eventually(t, coreWait, "a refused post of the DOWN", func() bool { return gate.refused.Load() >= 1 })
	if p, _ := d.deliveries(t); p != 1 {
		t.Errorf("deliveries.pending %d while Slack fails, want 1", p)
	}
	d.kill()
	gate.open.Store(true)
	t.Logf("posts refused before the kill: %d", gate.refused.Load())

	restarted := time.Now()
	d2 := startDaemon(t, cfg, env)
	restored := d2.waitLog(func(l map[string]any) bool { return l["msg"] == "pending alerts restored" }, coreWait)
	if n, _ := restored["count"].(float64); n != 1 {
		t.Errorf("restored %v pending alerts, want 1", restored["count"])
	}
	down := wh.WaitFor(t, 1, coreWait)[0]
	t.Logf("restart to the pending DOWN delivered: %s", down.At.Sub(restarted).Round(time.Millisecond))
	if messageKind(down.Text) != "DOWN" || !strings.Contains(down.Text, "web") || !strings.Contains(down.Text, "status 502") {
		t.Errorf("first message %q, want web DOWN with its reason", down.Text)
	}

	time.Sleep(2 * time.Second) // still down: nothing more
	web.set(true)
	waitTransitions(t, d2, "web", "UP", 1)
	wh.WaitFor(t, 2, coreWait)
	time.Sleep(2 * time.Second) // a duplicate would come now
	if got := strings.Join(messageKinds(wh.Attempts()), ","); got != "DOWN,RECOVERED" {
		t.Errorf("posts that reached Slack: %s, want DOWN,RECOVERED", got)
	}
	if p, f := d2.deliveries(t); p != 0 || f != 0 {
		t.Errorf("deliveries pending %d failed %d, want 0 0", p, f)
	}
	if err := d2.stop(coreStopWait); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
	alerttest.AssertNoSecret(t, alerttest.Secret, d.output(), d2.output())
}

// TestE2E_StopWithSlackHanging: SIGTERM while a post to Slack hangs stops
// pollerd within the flush bound (DESIGN: at most 5 s), exit 0, and keeps
// the message for the next start, which delivers it once.
func TestE2E_StopWithSlackHanging(t *testing.T) {
	wh := alerttest.NewWebhook(t)
	gate, hookURL := newSlackGate(t, wh)
	gate.hang.Store(true)
	_, webURL := newFlipperServer(t, false)
	cfg := writeConfig(t, t.TempDir(), coreHeader(t.TempDir(), true)+coreTarget("web", webURL))
	env := "SLACK_WEBHOOK_URL=" + hookURL

	d := startDaemon(t, cfg, env)
	eventually(t, coreWait, "a post of the DOWN in flight", func() bool { return gate.refused.Load() >= 1 })
	stopped := time.Now()
	if err := d.stop(20 * time.Second); err != nil {
		t.Errorf("exit after SIGTERM: %v, want 0", err)
	}
	took := time.Since(stopped)
	t.Logf("SIGTERM to exit with a post hanging: %s", took.Round(time.Millisecond))
	if took > 15*time.Second {
		t.Errorf("stopped after %s, want ≤ 15s (flush bound 5s)", took)
	}

	gate.open.Store(true)
	d2 := startDaemon(t, cfg, env)
	msgs := wh.WaitFor(t, 1, coreWait)
	time.Sleep(2 * time.Second) // a duplicate would come now
	if got := strings.Join(messageKinds(wh.Attempts()), ","); got != "DOWN" || !strings.Contains(msgs[0].Text, "web") {
		t.Errorf("posts after the restart: %s, want the one DOWN of web", got)
	}
	if err := d2.stop(coreStopWait); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
}

// runToExit runs `pollerd run` on cfg, expecting it to exit by itself, and
// returns its exit code, its output and how long it ran.
func runToExit(t *testing.T, cfg string) (code int, out string, took time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), coreWait)
	defer cancel()
	cmd := exec.CommandContext(ctx, pollerdBin(t), "run", "-c", cfg)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	start := time.Now()
	b, err := cmd.CombinedOutput()
	took = time.Since(start)
	if ctx.Err() != nil {
		t.Fatalf("pollerd still running after %s; output:\n%s", coreWait, b)
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), string(b), took
}

// linesWith returns the lines of out that contain s.
func linesWith(out, s string) []string {
	var hits []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			hits = append(hits, l)
		}
	}
	return hits
}

// TestE2E_StateDirFaults: a state directory pollerd cannot use stops it at
// start with a non-zero exit and one line that says what and where; a
// corrupt database is refused and left as it was.
func TestE2E_StateDirFaults(t *testing.T) {
	_, webURL := newFlipperServer(t, true)

	t.Run("under a regular file", func(t *testing.T) {
		dir := t.TempDir()
		file := filepath.Join(dir, "not-a-dir")
		if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		stateDir := filepath.Join(file, "state")
		code, out, took := runToExit(t, writeConfig(t, dir, coreHeader(stateDir, false)+coreTarget("web", webURL)))
		t.Logf("exit %d after %s: %s", code, took.Round(time.Millisecond), strings.TrimSpace(out))
		if code == 0 {
			t.Errorf("exit 0, want non-zero")
		}
		if took > 10*time.Second {
			t.Errorf("exited after %s, want ≤ 10s", took)
		}
		if hits := linesWith(out, stateDir); len(hits) != 1 {
			t.Errorf("%d lines name %s, want 1:\n%s", len(hits), stateDir, out)
		}
	})

	t.Run("corrupt database", func(t *testing.T) {
		dir := t.TempDir()
		stateDir := filepath.Join(dir, "state")
		if err := os.Mkdir(stateDir, 0o700); err != nil {
			t.Fatal(err)
		}
		// 16 KiB of deterministic garbage: a SHA-256 chain.
		var garbage []byte
		sum := sha256.Sum256([]byte("pollerd"))
		for len(garbage) < 16<<10 {
			garbage = append(garbage, sum[:]...)
			sum = sha256.Sum256(sum[:])
		}
		db := filepath.Join(stateDir, "pollerd.db")
		if err := os.WriteFile(db, garbage, 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, took := runToExit(t, writeConfig(t, dir, coreHeader(stateDir, false)+coreTarget("web", webURL)))
		t.Logf("exit %d after %s: %s", code, took.Round(time.Millisecond), strings.TrimSpace(out))
		if code == 0 {
			t.Errorf("exit 0, want non-zero")
		}
		if took > 10*time.Second {
			t.Errorf("exited after %s, want ≤ 10s", took)
		}
		if hits := linesWith(out, "corrupt"); len(hits) != 1 || !strings.Contains(hits[0], db) {
			t.Errorf("want one line saying %s is corrupt:\n%s", db, out)
		}
		after, err := os.ReadFile(db)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(after, garbage) {
			t.Errorf("the corrupt database was modified (%d bytes, was %d)", len(after), len(garbage))
		}
	})
}
