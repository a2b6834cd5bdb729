package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// countingServer answers ok and counts its requests.
func countingServer(t *testing.T) (*atomic.Int64, string) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.Add(1)
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return &n, srv.URL
}

type reloadStatus struct {
	Targets []struct {
		Name  string `json:"name"`
		State string `json:"state"`
	} `json:"targets"`
	Config struct {
		Hash     string    `json:"hash"`
		LoadedAt time.Time `json:"loaded_at"`
	} `json:"config"`
}

func statusOf(t *testing.T, d *daemon) reloadStatus {
	t.Helper()
	code, body := d.get("/api/v1/status")
	if code != 200 {
		t.Fatalf("status: %d %s", code, body)
	}
	var st reloadStatus
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func (s reloadStatus) names() []string {
	var out []string
	for _, t := range s.Targets {
		out = append(out, t.Name)
	}
	return out
}

func (s reloadStatus) state(name string) string {
	for _, t := range s.Targets {
		if t.Name == name {
			return t.State
		}
	}
	return ""
}

func sha(b string) string {
	sum := sha256.Sum256([]byte(b))
	return hex.EncodeToString(sum[:])
}

// TestE2E_Reload: good → bad → good by SIGHUP, then a file change (saved by
// rename, as editors do) without a signal.
func TestE2E_Reload(t *testing.T) {
	dir := t.TempDir()
	bHits, bURL := countingServer(t)
	cHits, cURL := countingServer(t)
	dHits, dURL := countingServer(t)
	a := fmt.Sprintf("tcp://127.0.0.1:%d", closedPort(t))
	header := coreHeader(filepath.Join(dir, "state"), false)
	cfg1 := header + coreTarget("a", a) + coreTarget("b", bURL)
	path := writeConfig(t, dir, cfg1)
	d := startDaemon(t, path)

	d.waitLog(isAlert("DOWN", "a"), coreWait)
	if st := statusOf(t, d); st.Config.Hash != sha(cfg1) || st.Config.LoadedAt.IsZero() {
		t.Fatalf("config at start = %+v, want hash %s", st.Config, sha(cfg1))
	}
	eventually(t, coreWait, "b probed", func() bool { return bHits.Load() > 0 })

	// Good: b removed, c added, a untouched.
	cfg2 := header + coreTarget("a", a) + coreTarget("c", cURL)
	writeConfig(t, dir, cfg2)
	_ = d.cmd.Process.Signal(syscall.SIGHUP)
	line := d.waitLog(func(l map[string]any) bool { return l["msg"] == "config reloaded" && l["cause"] == "SIGHUP" }, coreWait)
	if fmt.Sprint(line["added"]) != "[c]" || fmt.Sprint(line["removed"]) != "[b]" || line["unchanged"] != 1.0 {
		t.Errorf("reloaded line = %v", line)
	}
	bAt := bHits.Load()
	st := statusOf(t, d)
	if st.Config.Hash != sha(cfg2) || !slices.Equal(st.names(), []string{"a", "c"}) || st.state("a") != "DOWN" {
		t.Errorf("after reload: %+v", st)
	}
	eventually(t, coreWait, "c probed", func() bool { return cHits.Load() > 0 })
	eventually(t, coreWait, "c UP", func() bool { return statusOf(t, d).state("c") == "UP" })
	time.Sleep(2 * time.Second) // a keeps failing, b would have been probed twice
	if n := bHits.Load() - bAt; n > 1 {
		t.Errorf("b probed %d times after its removal", n)
	}
	if downs := logsMatching(d.logs(), "alert", map[string]string{"kind": "DOWN", "target": "a"}); len(downs) != 1 {
		t.Errorf("%d DOWN alerts for a, want 1", len(downs))
	}

	// Bad: every problem logged at error with its field path; cfg2 stays.
	bad := header + coreTarget("a", a) + coreTarget("c", cURL) + "  - name: Bad!\n    url: ftp://x\n    interval: soon\n"
	writeConfig(t, dir, bad)
	_ = d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitLog(func(l map[string]any) bool { return l["msg"] == "config in force unchanged" }, coreWait)
	var problems []string
	for _, l := range logsMatching(d.logs(), "config reload refused", nil) {
		if l["level"] != "error" {
			t.Errorf("refusal at level %v", l["level"])
		}
		p, _ := l["problem"].(string)
		problems = append(problems, p)
	}
	for _, want := range []string{"targets[2].name: ", "targets[2].url: ", "targets[2].interval: "} {
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.HasPrefix(p, want) }) {
			t.Errorf("no problem %q… logged; got %q", want, problems)
		}
	}
	if st := statusOf(t, d); st.Config.Hash != sha(cfg2) || !slices.Equal(st.names(), []string{"a", "c"}) {
		t.Errorf("after a bad reload: %+v, want cfg2 in force", st)
	}

	// A file change without a signal, saved by rename: d added.
	cfg3 := cfg2 + coreTarget("d", dURL)
	tmp := filepath.Join(dir, ".pollerd.yaml.swp")
	if err := os.WriteFile(tmp, []byte(cfg3), 0o600); err != nil {
		t.Fatal(err)
	}
	changedAt := time.Now()
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	d.waitLog(func(l map[string]any) bool {
		return l["msg"] == "config reloaded" && l["cause"] == "file changed" && fmt.Sprint(l["added"]) == "[d]"
	}, 10*time.Second)
	t.Logf("file change applied after %s", time.Since(changedAt).Round(time.Millisecond))
	eventually(t, coreWait, "d probed", func() bool { return dHits.Load() > 0 })
	if st := statusOf(t, d); st.Config.Hash != sha(cfg3) || st.state("a") != "DOWN" {
		t.Errorf("after the file change: %+v", st)
	}
	if downs := logsMatching(d.logs(), "alert", map[string]string{"kind": "DOWN", "target": "a"}); len(downs) != 1 {
		t.Errorf("%d DOWN alerts for a, want 1", len(downs))
	}
	if err := d.stop(coreStopWait); err != nil {
		t.Errorf("exit: %v", err)
	}
}

// isAlert matches the log channel's line of a message of kind for target.
func isAlert(kind, target string) func(map[string]any) bool {
	return func(l map[string]any) bool { return l["msg"] == "alert" && l["kind"] == kind && l["target"] == target }
}

// hookRecorder is a webhook receiver that keeps each body it was posted.
func hookRecorder(t *testing.T) (func() []string, string) {
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(bodies) }, srv.URL + "/hook"
}

// TestE2E_ReloadChannelsAndPolicy: a reload that adds a webhook channel (the
// log, standing in, goes), a status page title and an admin token: the next
// alert reaches the webhook, the page shows the title, the token opens
// the admin API; a DOWN target stays DOWN without a second DOWN.
func TestE2E_ReloadChannelsAndPolicy(t *testing.T) {
	dir := t.TempDir()
	bodies, hook := hookRecorder(t)
	a := fmt.Sprintf("tcp://127.0.0.1:%d", closedPort(t))
	b := fmt.Sprintf("tcp://127.0.0.1:%d", closedPort(t))
	header := coreHeader(filepath.Join(dir, "state"), false)
	path := writeConfig(t, dir, header+coreTarget("a", a))
	d := startDaemon(t, path)
	d.waitLog(isAlert("DOWN", "a"), coreWait)
	if code, _ := d.get("/api/v1/silences"); code != http.StatusForbidden {
		t.Errorf("admin API before the token: %d, want 403", code)
	}

	cfg2 := fmt.Sprintf("alerting: {webhooks: [{name: ops, url: %q}]}\nstatus_page: {title: Cabin}\napi: {admin_token: tok-123}\n", hook) +
		header + coreTarget("a", a) + coreTarget("b", b)
	writeConfig(t, dir, cfg2)
	_ = d.cmd.Process.Signal(syscall.SIGHUP)
	line := d.waitLog(func(l map[string]any) bool { return l["msg"] == "channels reloaded" }, coreWait)
	if fmt.Sprint(line["added"]) != "[ops]" || fmt.Sprint(line["removed"]) != "[log]" {
		t.Errorf("channels reloaded = %v", line)
	}
	d.waitLog(func(l map[string]any) bool { return l["msg"] == "config reloaded" }, coreWait)
	for _, l := range logsMatching(d.logs(), "config change needs a restart; not applied", nil) {
		t.Errorf("restart asked for %v", l["field"])
	}
	eventually(t, coreWait, "b's DOWN at the webhook", func() bool {
		return slices.ContainsFunc(bodies(), func(s string) bool { return strings.Contains(s, `"b"`) && strings.Contains(s, "DOWN") })
	})
	for _, s := range bodies() {
		if strings.Contains(s, `"a"`) {
			t.Errorf("a's DOWN sent again, to the new channel: %s", s)
		}
	}
	if downs := logsMatching(d.logs(), "alert", map[string]string{"kind": "DOWN", "target": "b"}); len(downs) != 0 {
		t.Errorf("b's DOWN went to the log channel, which the reload removed")
	}
	if _, page := d.get("/"); !strings.Contains(string(page), "<title>Cabin</title>") {
		t.Errorf("status page title not reloaded")
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+d.addr+"/api/v1/silences", nil)
	req.Header.Set("Authorization", "Bearer tok-123")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("admin API with the reloaded token: %d, want 200", resp.StatusCode)
	}
	if err := d.stop(coreStopWait); err != nil {
		t.Errorf("exit: %v", err)
	}
}

// TestSystemd_E2E_Reload: around a SIGHUP reload the real binary tells
// systemd RELOADING=1 with MONOTONIC_USEC (CLOCK_MONOTONIC: from one reload
// to the next it moves as the wall clock does), then READY=1 once the new
// config is in force; and so it does around a refused one.
func TestSystemd_E2E_Reload(t *testing.T) {
	_, target := newFlipperServer(t, true)
	dir := t.TempDir()
	header := coreHeader(filepath.Join(dir, "state"), false)
	path := writeConfig(t, dir, header+coreTarget("api", target))
	sock, msgs := notifySocket(t)
	d := startDaemon(t, path, "NOTIFY_SOCKET="+sock)
	if m := nextMsg(t, msgs, coreWait); m.text != "READY=1" {
		t.Fatalf("first message %q, want READY=1", m.text)
	}
	var lastUsec int64
	var lastSent time.Time
	for _, step := range []struct {
		name, cfg, logMsg string
	}{
		{"good", header + coreTarget("api", target) + coreTarget("web", target), "config reloaded"},
		{"bad", header + coreTarget("api", target) + "  - name: Bad!\n", "config in force unchanged"},
	} {
		writeConfig(t, dir, step.cfg)
		time.Sleep(300 * time.Millisecond)
		sent := time.Now()
		_ = d.cmd.Process.Signal(syscall.SIGHUP)
		m := nextMsg(t, msgs, coreWait)
		fields := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(m.text), "\n") {
			k, v, _ := strings.Cut(l, "=")
			fields[k] = v
		}
		if fields["RELOADING"] != "1" {
			t.Fatalf("%s: first message after SIGHUP %q, want RELOADING=1", step.name, m.text)
		}
		usec, err := strconv.ParseInt(fields["MONOTONIC_USEC"], 10, 64)
		if err != nil || usec <= 0 {
			t.Errorf("%s: MONOTONIC_USEC=%q", step.name, fields["MONOTONIC_USEC"])
		}
		if lastUsec != 0 {
			moved, wall := time.Duration(usec-lastUsec)*time.Microsecond, sent.Sub(lastSent)
			if moved < wall-500*time.Millisecond || moved > wall+500*time.Millisecond {
				t.Errorf("MONOTONIC_USEC moved %s between reloads %s apart", moved, wall)
			}
		}
		lastUsec, lastSent = usec, sent
		if r := nextMsg(t, msgs, coreWait); r.text != "READY=1" {
			t.Fatalf("%s: after RELOADING=1 came %q, want READY=1", step.name, r.text)
		} else if l := d.waitLog(func(l map[string]any) bool { return l["msg"] == step.logMsg }, coreWait); r.at.Before(logTime(t, l)) {
			t.Errorf("%s: READY=1 at %s, before %q", step.name, r.at.Format(time.RFC3339Nano), step.logMsg)
		}
	}
	if err := d.stop(coreStopWait); err != nil {
		t.Errorf("exit: %v", err)
	}
	if m := nextMsg(t, msgs, coreWait); m.text != "STOPPING=1" {
		t.Errorf("at SIGTERM %q, want STOPPING=1", m.text)
	}
}
