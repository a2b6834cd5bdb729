package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
