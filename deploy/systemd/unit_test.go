// Package systemd_test checks the hardened unit file: it builds the real
// binary, points a copy of the unit at it, and runs systemd-analyze on the
// copy. It skips where systemd-analyze is missing.
package systemd_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	unitName    = "pollerd.service"
	maxExposure = 2.0
	// binEnv names a prebuilt binary to use instead of building
	// ./cmd/pollerd (a CI artefact, or any executable while cmd/pollerd
	// does not build).
	binEnv = "POLLERD_UNIT_TEST_BIN"
)

// TestUnit_Contract pins the directives other parts of pollerd and its
// README rely on, so hardening edits cannot drop them by accident.
func TestUnit_Contract(t *testing.T) {
	unit := readUnit(t)
	tests := []struct {
		name, line string
	}{
		{"runs the daemon with the default config", "ExecStart=/usr/local/bin/pollerd run --config /etc/pollerd/pollerd.yaml"},
		{"leaves room for the 5 s outbox flush", "TimeoutStopSec=15"},
		{"reload is SIGHUP", "ExecReload=/bin/kill -HUP $MAINPID"},
		{"tells systemd when it is ready (cmd/pollerd/systemd.go)", "Type=notify"},
		{"only pollerd itself may notify", "NotifyAccess=main"},
		{"restarted when the scheduler stops petting", "WatchdogSec=30s"},
		{"secrets file is optional", "EnvironmentFile=-/etc/pollerd/pollerd.env"},
		{"state_dir is /var/lib/pollerd", "StateDirectory=pollerd"},
		{"config under /etc/pollerd", "ConfigurationDirectory=pollerd"},
		{"no fixed user", "DynamicUser=yes"},
		{"restarts on failure", "Restart=on-failure"},
		{"no capabilities", "CapabilityBoundingSet="},
		{"internet, journal and notify sockets only", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !hasLine(unit, tt.line) {
				t.Errorf("%s lacks the line %q", unitName, tt.line)
			}
		})
	}
}

// TestUnit_SystemdAnalyze runs `systemd-analyze verify` and
// `systemd-analyze security --offline=yes` on a copy of the unit whose
// ExecStart points at a freshly built binary.
func TestUnit_SystemdAnalyze(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not on PATH")
	}
	dir := t.TempDir()
	bin := pollerdBinary(t, dir)
	unitPath := filepath.Join(dir, unitName)
	if err := os.WriteFile(unitPath, []byte(pointExecStart(t, readUnit(t), bin)), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("verify", func(t *testing.T) {
		out, err := run(t, analyze, "verify", unitPath)
		t.Logf("systemd-analyze verify %s (err %v):\n%s", unitPath, err, out)
		// verify also loads the units ours names (targets); their problems
		// are the host's, not ours. Any line about our unit is a failure.
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, unitName) || strings.Contains(line, unitPath) || strings.Contains(line, bin) {
				t.Errorf("verify: %s", line)
			}
		}
	})

	t.Run("security", func(t *testing.T) {
		// security exits 0 whatever the score: the score is the verdict.
		out, err := run(t, analyze, "security", "--offline=yes", unitPath)
		if err != nil {
			t.Fatalf("systemd-analyze security: %v\n%s", err, out)
		}
		score, ok := exposure(out)
		if !ok {
			t.Fatalf("no exposure line in:\n%s", out)
		}
		t.Logf("systemd-analyze security --offline=yes %s: overall exposure %.1f (max %.1f)", unitName, score, maxExposure)
		if score > maxExposure {
			t.Errorf("exposure %.1f > %.1f:\n%s", score, maxExposure, out)
		}
	})
}

// exposureLine is the verdict line of `systemd-analyze security`, e.g.
// "→ Overall exposure level for pollerd.service: 1.1 OK 🙂".
var exposureLine = regexp.MustCompile(`Overall exposure level for ` + regexp.QuoteMeta(unitName) + `: ([0-9]+(?:\.[0-9]+)?)`)

func exposure(out string) (float64, bool) {
	m := exposureLine.FindStringSubmatch(out)
	if m == nil {
		return 0, false
	}
	f, err := strconv.ParseFloat(m[1], 64)
	return f, err == nil
}

func TestExposure(t *testing.T) {
	tests := []struct {
		name, in string
		want     float64
		ok       bool
	}{
		{"ok", "x\n→ Overall exposure level for pollerd.service: 1.1 OK 🙂\n", 1.1, true},
		{"unsafe", "→ Overall exposure level for pollerd.service: 9.6 UNSAFE 😨", 9.6, true},
		{"other unit", "→ Overall exposure level for other.service: 1.0 OK", 0, false},
		{"missing", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := exposure(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("exposure = %v, %v, want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// pollerdBinary returns the binary named by POLLERD_UNIT_TEST_BIN, or builds
// cmd/pollerd into dir.
func pollerdBinary(t *testing.T, dir string) string {
	t.Helper()
	if bin := os.Getenv(binEnv); bin != "" {
		abs, err := filepath.Abs(bin)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("using %s=%s", binEnv, abs)
		return abs
	}
	gocmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go not on PATH to build the binary; set %s to a prebuilt one", binEnv)
	}
	bin := filepath.Join(dir, "pollerd")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gocmd, "build", "-o", bin, "github.com/pollerd/pollerd/cmd/pollerd")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/pollerd: %v\n%s(set %s to test the unit with a prebuilt binary)", err, out, binEnv)
	}
	return bin
}

// pointExecStart replaces the program of ExecStart= with bin, keeping its
// arguments, so verify checks a binary that exists.
func pointExecStart(t *testing.T, unit, bin string) string {
	t.Helper()
	if strings.ContainsAny(bin, " \t\"'\\") {
		t.Fatalf("binary path %q needs quoting in a unit file", bin)
	}
	var b strings.Builder
	found := 0
	for _, line := range strings.SplitAfter(unit, "\n") {
		if rest, ok := strings.CutPrefix(line, "ExecStart="); ok {
			prog, args, _ := strings.Cut(rest, " ")
			if !strings.HasSuffix(prog, "/pollerd") {
				t.Fatalf("ExecStart runs %q, want .../pollerd", prog)
			}
			line = "ExecStart=" + bin + " " + args
			found++
		}
		b.WriteString(line)
	}
	if found != 1 {
		t.Fatalf("%d ExecStart= lines, want 1", found)
	}
	return b.String()
}

func readUnit(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(unitName)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func hasLine(text, want string) bool {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == want {
			return true
		}
	}
	return false
}

func run(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}
