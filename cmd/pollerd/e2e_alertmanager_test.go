package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// End-to-end tests of the Alertmanager channel (issue 15) against a real
// Alertmanager (Debian's prometheus-alertmanager) on loopback, routing to a
// webhook receiver in the test: several pollerd instances reporting one
// target make one alert, resolved once; one instance dying while the
// target is down does not resolve it, and a restarted one re-posts it.

const (
	amGroupWait     = time.Second
	amGroupInterval = 3 * time.Second
	amWait          = 45 * time.Second // for a notification
	// amRepostWait covers one re-post interval (1 min, pinned) and slack.
	amRepostWait = 90 * time.Second
)

// amNotification is what Alertmanager's webhook receiver gets.
type amNotification struct {
	at     time.Time
	Status string `json:"status"`
	Alerts []struct {
		Status      string            `json:"status"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
		StartsAt    time.Time         `json:"startsAt"`
		EndsAt      time.Time         `json:"endsAt"`
	} `json:"alerts"`
}

// amReceiver records Alertmanager's notifications.
type amReceiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	notes []amNotification
}

func newAMReceiver(t *testing.T) *amReceiver {
	r := &amReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var n amNotification
		if err := json.NewDecoder(req.Body).Decode(&n); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		n.at = time.Now()
		r.mu.Lock()
		r.notes = append(r.notes, n)
		r.mu.Unlock()
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *amReceiver) all() []amNotification {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]amNotification(nil), r.notes...)
}

// byStatus returns the notifications with status ("firing", "resolved").
func (r *amReceiver) byStatus(status string) []amNotification {
	var out []amNotification
	for _, n := range r.all() {
		if n.Status == status {
			out = append(out, n)
		}
	}
	return out
}

// alertmanagerBin finds Alertmanager, or skips the test.
func alertmanagerBin(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"prometheus-alertmanager", "alertmanager"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("alertmanager binary missing (apt-get install prometheus-alertmanager; .ci/run installs it): skipping the Alertmanager end-to-end tests")
	return ""
}

// freePort returns a loopback port nothing listens on right now.
func freePort(t *testing.T) int { return closedPort(t) }

// startAlertmanager runs Alertmanager on loopback, clustering off, routing
// every alert (grouped by target) to the receiver with send_resolved. It
// returns its base URL.
func startAlertmanager(t *testing.T, recv *amReceiver) string {
	t.Helper()
	bin := alertmanagerBin(t)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`route:
  receiver: test
  group_by: [target]
  group_wait: %s
  group_interval: %s
  repeat_interval: 4h
receivers:
  - name: test
    webhook_configs:
      - url: %s/hook
        send_resolved: true
`, amGroupWait, amGroupInterval, recv.srv.URL)
	cfgPath := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(bin, "--config.file="+cfgPath, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=", "--log.level=warn")
	out, err := os.Create(filepath.Join(dir, "alertmanager.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		out.Close()
		if t.Failed() {
			b, _ := os.ReadFile(out.Name())
			t.Logf("alertmanager log:\n%s", b)
		}
	})
	base := "http://" + addr
	eventually(t, 30*time.Second, "alertmanager ready", func() bool {
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return base
}

// amAlert is one alert as Alertmanager's API shows it.
type amAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	EndsAt      time.Time         `json:"endsAt"`
	UpdatedAt   time.Time         `json:"updatedAt"`
	Status      struct {
		State string `json:"state"`
	} `json:"status"`
}

// amAlerts lists Alertmanager's alerts (active and otherwise).
func amAlerts(t *testing.T, base string) []amAlert {
	t.Helper()
	resp, err := http.Get(base + "/api/v2/alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out []amAlert
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("alerts: %v: %s", err, b)
	}
	return out
}

// amPollerd writes a config for one pollerd instance feeding base and
// starts it. The target is probed every second, DOWN after two failures,
// UP after one success.
func amPollerd(t *testing.T, dir, base, reporter, targetAddr string) *daemon {
	t.Helper()
	cfg := fmt.Sprintf(`listen: 127.0.0.1:0
state_dir: %q
log: {format: json, level: debug}
alerting:
  alertmanager:
    urls: [%q]
    reporter: %s
targets:
  - name: api
    url: tcp://%s
    interval: 1s
    failure_threshold: 2
    success_threshold: 1
`, filepath.Join(dir, "state"), base, reporter, targetAddr)
	return startDaemon(t, writeConfig(t, dir, cfg))
}

// transitionAt is when d logged target's first transition to state.
func transitionAt(t *testing.T, d *daemon, target, to string) time.Time {
	t.Helper()
	l := d.waitLog(isTransition(target, to), amWait)
	ts, _ := l["ts"].(string)
	at, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		t.Fatalf("transition line without a time: %v", l)
	}
	return at
}

// checkOneAlert checks a notification holds the one alert for target api.
func checkOneAlert(t *testing.T, n amNotification, status string) {
	t.Helper()
	if n.Status != status || len(n.Alerts) != 1 {
		t.Fatalf("notification %s with %d alerts, want %s with 1: %+v", n.Status, len(n.Alerts), status, n)
	}
	a := n.Alerts[0]
	if a.Labels["alertname"] != "PollerdTargetDown" || a.Labels["target"] != "api" || len(a.Labels) != 2 {
		t.Errorf("labels = %v, want alertname=PollerdTargetDown, target=api", a.Labels)
	}
	if r := a.Annotations["reporter"]; r != "vantage-a" && r != "vantage-b" {
		t.Errorf("reporter annotation = %q", r)
	}
	if a.Annotations["summary"] == "" {
		t.Errorf("no summary annotation: %v", a.Annotations)
	}
}

// Two instances see the same target fail: Alertmanager notifies once,
// with one alert; it recovers: one resolved notification.
func TestAlertmanager_TwoInstancesOneAlert(t *testing.T) {
	t.Parallel()
	recv := newAMReceiver(t)
	base := startAlertmanager(t, recv)
	targetAddr := fmt.Sprintf("127.0.0.1:%d", closedPort(t))

	started := time.Now()
	a := amPollerd(t, t.TempDir(), base, "vantage-a", targetAddr)
	b := amPollerd(t, t.TempDir(), base, "vantage-b", targetAddr)
	downA, downB := transitionAt(t, a, "api", "DOWN"), transitionAt(t, b, "api", "DOWN")
	firstDown := downA
	if downB.Before(firstDown) {
		firstDown = downB
	}
	eventually(t, amWait, "a firing notification", func() bool { return len(recv.byStatus("firing")) > 0 })
	firing := recv.byStatus("firing")[0]
	checkOneAlert(t, firing, "firing")
	t.Logf("figure: first failing probe → Alertmanager's notification %s; DOWN (earliest instance) → notification %s (group_wait %s, failure_threshold 2 × 1s)",
		firing.at.Sub(started).Round(time.Millisecond), firing.at.Sub(firstDown).Round(time.Millisecond), amGroupWait)

	// Both instances have posted; a further group_interval changes nothing.
	eventually(t, amWait, "both instances delivered", func() bool {
		return len(logsMatching(b.logs(), "alertmanager post", map[string]string{"kind": "DOWN"})) > 0 &&
			len(logsMatching(a.logs(), "alertmanager post", map[string]string{"kind": "DOWN"})) > 0
	})
	time.Sleep(amGroupInterval + amGroupWait)
	if n := recv.all(); len(n) != 1 {
		t.Fatalf("%d notifications while firing, want 1: %+v", len(n), n)
	}
	if al := amAlerts(t, base); len(al) != 1 || al[0].Status.State != "active" {
		t.Fatalf("alertmanager holds %+v, want one active alert", al)
	}

	// The target recovers.
	l, err := net.Listen("tcp", targetAddr)
	if err != nil {
		t.Fatalf("open the target: %v", err)
	}
	defer l.Close()
	recovered := time.Now()
	eventually(t, amWait, "a resolved notification", func() bool { return len(recv.byStatus("resolved")) > 0 })
	resolved := recv.byStatus("resolved")[0]
	checkOneAlert(t, resolved, "resolved")
	t.Logf("figure: target back → resolved notification %s (success_threshold 1 × 1s, group_interval %s)",
		resolved.at.Sub(recovered).Round(time.Millisecond), amGroupInterval)
	time.Sleep(amGroupInterval + amGroupWait)
	if n := recv.all(); len(n) != 2 {
		t.Fatalf("%d notifications in all, want 2 (one firing, one resolved): %+v", len(n), n)
	}
}

// One instance is killed while the target is down: the other keeps the
// alert firing with its re-posts; the killed one, restarted on its state,
// re-posts at once; the recovery resolves it once.
func TestAlertmanager_KillWhileFiring(t *testing.T) {
	t.Parallel()
	recv := newAMReceiver(t)
	base := startAlertmanager(t, recv)
	targetAddr := fmt.Sprintf("127.0.0.1:%d", closedPort(t))

	dirA := t.TempDir()
	a := amPollerd(t, dirA, base, "vantage-a", targetAddr)
	b := amPollerd(t, t.TempDir(), base, "vantage-b", targetAddr)
	eventually(t, amWait, "a firing notification", func() bool { return len(recv.byStatus("firing")) > 0 })
	checkOneAlert(t, recv.byStatus("firing")[0], "firing")
	eventually(t, amWait, "both instances delivered", func() bool {
		return len(logsMatching(b.logs(), "alertmanager post", map[string]string{"kind": "DOWN"})) > 0 &&
			len(logsMatching(a.logs(), "alertmanager post", map[string]string{"kind": "DOWN"})) > 0
	})
	before := amAlerts(t, base)
	if len(before) != 1 {
		t.Fatalf("alertmanager holds %d alerts, want 1", len(before))
	}

	a.kill()
	killed := time.Now()
	// B's next re-post (within a minute) pushes endsAt past every earlier post.
	var after amAlert
	eventually(t, amRepostWait, "a re-post from vantage-b after the kill", func() bool {
		al := amAlerts(t, base)
		if len(al) != 1 {
			return false
		}
		after = al[0]
		return after.UpdatedAt.After(killed) && after.EndsAt.After(before[0].EndsAt) && after.Annotations["reporter"] == "vantage-b"
	})
	if after.Status.State != "active" || len(recv.byStatus("resolved")) != 0 {
		t.Fatalf("after the kill: state %q, %d resolved notifications; want active, none", after.Status.State, len(recv.byStatus("resolved")))
	}
	t.Logf("after SIGKILL of vantage-a: vantage-b re-posted after %s, endsAt now %s ahead; no resolved notification",
		after.UpdatedAt.Sub(killed).Round(time.Millisecond), time.Until(after.EndsAt).Round(time.Second))

	// A restarted on its state restores the firing alert and re-posts it at once.
	restarted := time.Now()
	a2 := startDaemon(t, filepath.Join(dirA, "pollerd.yaml"))
	eventually(t, amWait, "a re-post from the restarted vantage-a", func() bool {
		al := amAlerts(t, base)
		return len(al) == 1 && al[0].Annotations["reporter"] == "vantage-a" && al[0].UpdatedAt.After(restarted)
	})
	if n := logsMatching(a2.logs(), "alertmanager post", map[string]string{"kind": "DOWN"}); len(n) != 0 {
		t.Errorf("the restarted instance posted a second DOWN: %v", n)
	}

	l, err := net.Listen("tcp", targetAddr)
	if err != nil {
		t.Fatalf("open the target: %v", err)
	}
	defer l.Close()
	eventually(t, amWait, "a resolved notification", func() bool { return len(recv.byStatus("resolved")) > 0 })
	checkOneAlert(t, recv.byStatus("resolved")[0], "resolved")
	time.Sleep(amGroupInterval + amGroupWait)
	if n := recv.all(); len(n) != 2 {
		t.Fatalf("%d notifications in all, want 2 (one firing, one resolved): %+v", len(n), n)
	}
}
