package main

import (
	"bufio"
	"bytes"
	"context"
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
	"syscall"
	"testing"
	"time"
)

// The end-to-end tests run the real pollerd binary, built with -race on
// first use (pollerdBin) and shared by every test, against loopback fakes.
// A run that needs no daemon — unit tests alone, or the benchmarks, which
// build their own binary without -race — builds nothing. The harness below
// starts it on a config, reads its JSON log, and stops or kills it.

var (
	binDir   string // TestMain's temporary directory, removed at exit
	binOnce  sync.Once
	binPath  string
	binError error
)

func TestMain(m *testing.M) {
	bareMain() // the benchmark's bare prober, when re-exec'd as one
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "pollerd-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = dir
	return m.Run()
}

// pollerdBin returns the -race pollerd binary, building it on the first
// call; a failed build fails every test that asks.
func pollerdBin(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		p := filepath.Join(binDir, "pollerd")
		out, err := exec.Command("go", "build", "-race", "-o", p, ".").CombinedOutput()
		if err != nil {
			binError = fmt.Errorf("build pollerd: %w\n%s", err, out)
			return
		}
		binPath = p
	})
	if binError != nil {
		t.Fatal(binError)
	}
	return binPath
}

// daemon is one running pollerd process.
type daemon struct {
	t    testing.TB
	cmd  *exec.Cmd
	addr string // the real listen address, from the `listening` line

	mu    sync.Mutex
	lines []map[string]any
	raw   bytes.Buffer
	cond  *sync.Cond
	done  chan struct{}
	exit  error
}

// writeConfig writes a YAML config into dir and returns its path.
func writeConfig(t testing.TB, dir, yaml string) string {
	t.Helper()
	p := filepath.Join(dir, "pollerd.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// startDaemon runs `pollerd run -c cfgPath` with env added to a minimal
// environment, and waits for it to listen. It is stopped (SIGTERM) at the
// end of the test unless the test stopped it.
func startDaemon(t testing.TB, cfgPath string, env ...string) *daemon {
	t.Helper()
	d := &daemon{t: t, done: make(chan struct{})}
	d.cond = sync.NewCond(&d.mu)
	d.cmd = exec.Command(pollerdBin(t), "run", "-c", cfgPath)
	// atexit_sleep_ms=0: a -race binary otherwise sleeps 1 s at exit.
	d.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "GORACE=atexit_sleep_ms=0"}, env...)
	stderr, err := d.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	d.cmd.Stdout = io.Discard
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go d.read(stderr)
	t.Cleanup(func() { d.stop(10 * time.Second) })
	line := d.waitLog(func(l map[string]any) bool { return l["msg"] == "listening" }, 30*time.Second)
	d.addr, _ = line["addr"].(string)
	if d.addr == "" {
		t.Fatalf("listening line without addr: %v", line)
	}
	return d
}

func (d *daemon) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		d.mu.Lock()
		d.raw.Write(sc.Bytes())
		d.raw.WriteByte('\n')
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			d.lines = append(d.lines, m)
		}
		d.cond.Broadcast()
		d.mu.Unlock()
	}
	d.exit = d.cmd.Wait()
	d.mu.Lock()
	close(d.done)
	d.cond.Broadcast()
	d.mu.Unlock()
}

// logs returns every JSON log line so far.
func (d *daemon) logs() []map[string]any {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]map[string]any(nil), d.lines...)
}

// output returns the raw stderr so far (for leak checks).
func (d *daemon) output() []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return bytes.Clone(d.raw.Bytes())
}

// waitLog waits for a log line that match accepts and returns it.
func (d *daemon) waitLog(match func(map[string]any) bool, timeout time.Duration) map[string]any {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	timer := time.AfterFunc(timeout, func() { d.mu.Lock(); d.cond.Broadcast(); d.mu.Unlock() })
	defer timer.Stop()
	d.mu.Lock()
	defer d.mu.Unlock()
	seen := 0
	for {
		for ; seen < len(d.lines); seen++ {
			if match(d.lines[seen]) {
				return d.lines[seen]
			}
		}
		if time.Now().After(deadline) || isDone(d.done) {
			d.t.Fatalf("no matching log line within %s; output:\n%s", timeout, d.raw.String())
		}
		d.cond.Wait()
	}
}

func isDone(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits for the exit; it returns the exit error.
func (d *daemon) stop(timeout time.Duration) error {
	if isDone(d.done) {
		return d.exit
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(timeout):
		_ = d.cmd.Process.Kill()
		<-d.done
		d.t.Errorf("pollerd did not stop within %s of SIGTERM", timeout)
	}
	return d.exit
}

// kill sends SIGKILL, as a crash or the OOM killer would, and waits.
func (d *daemon) kill() {
	_ = d.cmd.Process.Kill()
	<-d.done
}

// get fetches a path from the daemon's HTTP server.
func (d *daemon) get(path string) (int, []byte) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+d.addr+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// flipper is an httptest-style target whose health the test flips.
type flipper struct {
	mu      sync.Mutex
	healthy bool
}

func (f *flipper) set(healthy bool) { f.mu.Lock(); f.healthy = healthy; f.mu.Unlock() }

func (f *flipper) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	ok := f.healthy
	f.mu.Unlock()
	if !ok {
		http.Error(w, "upstream unavailable", http.StatusBadGateway)
		return
	}
	_, _ = io.WriteString(w, `{"status":"up"}`)
}

// logsMatching counts log lines with msg and the given field values.
func logsMatching(lines []map[string]any, msg string, fields map[string]string) []map[string]any {
	var out []map[string]any
next:
	for _, l := range lines {
		if l["msg"] != msg {
			continue
		}
		for k, v := range fields {
			if s, _ := l[k].(string); s != v {
				continue next
			}
		}
		out = append(out, l)
	}
	return out
}

// closedPort returns a loopback port where nothing listens.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// newFlipperServer serves a flipper with the given health on loopback.
func newFlipperServer(t *testing.T, healthy bool) (*flipper, string) {
	t.Helper()
	f := &flipper{}
	f.set(healthy)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL + "/health"
}
