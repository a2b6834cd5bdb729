package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidate_Configs runs the real binary's validate on every file in
// configs/: what the README tells people to run must be accepted.
func TestValidate_Configs(t *testing.T) {
	files, _ := filepath.Glob("../../configs/*.yaml")
	if len(files) == 0 {
		t.Fatal("no configs")
	}
	for _, f := range files {
		out, err := exec.Command(pollerdBin(t), "validate", "-c", f).CombinedOutput()
		if err != nil {
			t.Errorf("validate %s: %v\n%s", f, err, out)
		}
	}
}

// TestValidate_ListsEveryProblem: a bad config exits 1 and prints each
// problem with its field path, one a line.
func TestValidate_ListsEveryProblem(t *testing.T) {
	p := writeConfig(t, t.TempDir(), `
listen: 127.0.0.1:0
targets:
  - name: a
    url: http://127.0.0.1:9/
    failure_treshold: 3
  - name: a
    url: ftp://x
    interval: 500ms
`)
	cmd := exec.Command(pollerdBin(t), "validate", "-c", p)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1\n%s", err, out)
	}
	for _, want := range []string{"targets[0].failure_treshold", "targets[1].name", "targets[1].url", "targets[1].interval"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestVersion(t *testing.T) {
	out, err := exec.Command(pollerdBin(t), "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "pollerd ") {
		t.Fatalf("version: %v %q", err, out)
	}
}

// TestProbe_Command: exit 0 on a passing target, 1 on a failing one, with
// the reason printed.
func TestProbe_Command(t *testing.T) {
	dir := t.TempDir()
	p := writeConfig(t, dir, `
targets:
  - name: closed
    url: tcp://127.0.0.1:1
`)
	out, err := exec.Command(pollerdBin(t), "probe", "-c", p, "closed").CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1\n%s", err, out)
	}
	if !strings.Contains(string(out), "connection refused") {
		t.Errorf("output lacks the reason:\n%s", out)
	}
	_ = os.Remove(p)
}
