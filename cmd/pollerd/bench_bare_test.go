package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/monitor"
)

// The bare prober is the floor pollerd's CPU is compared with
// (cpu_ratio_vs_bare in BenchmarkDaemon10k): net.Dial, write a GET,
// http.ReadResponse, drain, close — a fresh connection per probe like
// pollerd's — started in batches on the same 25 ms phase grid, against the
// same loopback target farm. It runs as a separate process (this test
// binary, re-exec'd with bareEnv set; TestMain hands over to runBare), so
// its CPU is read from /proc exactly as the daemon's is.

const bareEnv = "POLLERD_BENCH_BARE" // "addr,count,interval,grid"

// bareMain runs the bare prober when bareEnv is set; it never returns then.
func bareMain() {
	spec := os.Getenv(bareEnv)
	if spec == "" {
		return
	}
	f := strings.Split(spec, ",")
	n, _ := strconv.Atoi(f[1])
	iv, _ := time.ParseDuration(f[2])
	grid, _ := time.ParseDuration(f[3])
	runBare(f[0], n, iv, grid)
	os.Exit(0)
}

// runBare starts each target's probes on its phase truncated to grid:
// monitor.PhaseGrid (the floor: a slot's probes start together, the
// cheapest timing there is), or PhaseGrid/SubSlots (each on its own
// instant, as pollerd does: POLLERD_BENCH_BARE_SPREAD=1).
func runBare(addr string, n int, interval, grid time.Duration) {
	slots := map[time.Duration][]int{}
	for i := range n {
		p := monitor.NewIntervalSchedule(healthyName(i), interval).Phase
		p -= p % grid
		slots[p] = append(slots[p], i)
	}
	probe := func(i int) {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := fmt.Fprintf(c, "GET /t/%d HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", i, addr); err != nil {
			return
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	next := time.Now().Truncate(grid).Add(grid)
	for {
		time.Sleep(time.Until(next))
		phase := time.Duration(next.UnixNano() % int64(interval))
		for _, i := range slots[phase] {
			go probe(i)
		}
		next = next.Add(grid)
	}
}

// runBareOnce runs the bare prober for bareRun against a fresh target farm
// and returns its CPU in cores over [5 s, bareRun] ("cpu"), the p50 and p99
// lateness of its arrivals in that window (arrival minus the 25 ms slot it
// started on: "late_p50_ms", "late_p99_ms") and the p50 and p99 of
// |inter-arrival − interval| ("jitter_p50_ms", "jitter_p99_ms"): the
// schedule's floor when a slot's probes start together.
func runBareOnce(b *testing.B, n int, grid time.Duration) benchResult {
	const bareRun = 25 * time.Second
	ts := &targetServer{arrivals: make([][]time.Time, n)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: ts, ReadHeaderTimeout: 10 * time.Second}
	var served sync.WaitGroup
	served.Go(func() { _ = srv.Serve(ln) })
	defer func() { _ = srv.Close(); served.Wait() }()

	cmd := exec.Command(os.Args[0])
	cmd.Env = []string{fmt.Sprintf("%s=%s,%d,%s,%s", bareEnv, ln.Addr(), n, benchInterval, grid)}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Signal(syscall.SIGKILL); _ = cmd.Wait() }()
	time.Sleep(5 * time.Second)
	cpu0, _, err := readProc(cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	time.Sleep(bareRun - 5*time.Second)
	cpu1, _, err := readProc(cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	cpu := float64(cpu1-cpu0) / float64(time.Since(t0))
	ts.mu.Lock()
	defer ts.mu.Unlock()
	got := 0
	var late, jitter []float64
	for i, as := range ts.arrivals {
		got += len(as)
		s := monitor.NewIntervalSchedule(healthyName(i), benchInterval)
		s.Phase -= s.Phase % grid
		for j, a := range as {
			if a.After(t0) {
				late = append(late, msOf(a.Sub(s.Prev(a))))
				if j > 0 {
					jitter = append(jitter, msOf((a.Sub(as[j-1]) - benchInterval).Abs()))
				}
			}
		}
	}
	b.Logf("bare prober: %d requests in %s", got, bareRun)
	return benchResult{
		"cpu":           cpu,
		"late_p50_ms":   percentile(late, 50),
		"late_p99_ms":   percentile(late, 99),
		"jitter_p50_ms": percentile(jitter, 50),
		"jitter_p99_ms": percentile(jitter, 99),
	}
}
