package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestE2E_ReadOnlyStateDir: a state directory that exists but cannot be
// written stops pollerd at start with one line naming it. Root ignores
// directory permissions, so when the tests run as root the binary runs as
// nobody (65534), as systemd's DynamicUser would run it.
func TestE2E_ReadOnlyStateDir(t *testing.T) {
	_, webURL := newFlipperServer(t, true)
	// Everything the child needs is world-readable; the state dir is not
	// writable by it.
	dir, err := os.MkdirTemp("", "pollerd-ro-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(filepath.Join(dir, "state"), 0o700); _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "pollerd")
	data, err := os.ReadFile(pollerdBin(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	stateDir := filepath.Join(dir, "state")
	if err := os.Mkdir(stateDir, 0o500); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(stateDir, 0o555); err != nil { // readable, not writable
		t.Fatal(err)
	}
	cfg := writeConfig(t, dir, coreHeader(stateDir, false)+coreTarget("web", webURL))
	if err := os.Chmod(cfg, 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), coreWait)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "run", "-c", cfg)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=/", "GORACE=atexit_sleep_ms=0"}
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if ctx.Err() != nil {
		t.Fatalf("pollerd still running after %s; output:\n%s", coreWait, out)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("exit %v, want non-zero; output:\n%s", err, out)
	}
	t.Logf("exit %d after %s: %s", ee.ExitCode(), took.Round(time.Millisecond), strings.TrimSpace(string(out)))
	hits := linesWith(string(out), stateDir)
	if len(hits) != 1 || !strings.Contains(hits[0], "not writable") {
		t.Errorf("want one line saying %s is not writable:\n%s", stateDir, out)
	}
	if entries, _ := os.ReadDir(stateDir); len(entries) != 0 {
		t.Errorf("pollerd wrote into the read-only state dir: %v", entries)
	}
}
