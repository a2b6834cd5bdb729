package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/monitor"
)

// BenchmarkDaemon10k runs the real pollerd binary, built without -race, on
// the design's case: 10,000 healthy HTTP targets at a 10 s interval, plus 10
// targets that hang until their 5 s timeout, against a loopback server in
// this process. Each iteration runs the daemon for 100 s (10 intervals),
// sampling its CPU time and RSS from /proc every second, then stops it.
// 100 s, because the store writes a minute of history after the minute
// (see internal/store/record.go): a shorter run never pays for it.
//
//	go test -run '^$' -bench Daemon10k -benchtime 1x -timeout 20m ./cmd/pollerd
//
// Metrics (times are measured from just before the daemon is exec'd, so
// config loading and store opening count):
//   - first_round_s: until every healthy target had its first request;
//     missed_first_round: healthy targets never requested in the whole run.
//   - cpu_cores: daemon CPU seconds (utime+stime) over wall seconds, from
//     10 s to the end, after the first round. Split: cpu_cores_0_10s (start
//     and first round), cpu_cores_10_20s (second round: with the default
//     success_threshold of 2, every target goes UNKNOWN → UP here, one
//     transition and one store commit each), cpu_cores_steady (from 70 s
//     to the end: every target's history minute is being written, ~170
//     rows a second at 10,000 targets). cpu_ratio_vs_bare is
//     cpu_cores_steady over the bare prober's.
//   - rss_MB_at_10s, rss_MB_at_30s, rss_MB_at_90s, rss_MB_max: VmRSS; flat
//     means the samples agree. rss_anon_MB_at_90s and rss_file_MB_at_90s
//     are its parts: anonymous memory (Go heap, stacks, SQLite's allocations) and
//     mapped file pages (mostly the binary's own code).
//   - probes_pct_of_schedule: healthy requests whose scheduled instant (the
//     target's phase, as the monitor computes it) lies in [10 s, 90 s),
//     over the instants there (eight per target).
//   - late_p50_ms, late_p99_ms: arrival at the server minus the scheduled
//     instant, in the same window: scheduling delay plus connect;
//     late_p99_ms_from_70s: the same for the instants while history is
//     written.
//   - jitter_p50_ms, jitter_p99_ms: |gap between a target's consecutive
//     arrivals − 10 s|, for arrivals after the first interval.
//   - hang_targets: hanging targets that were requested at least once (10
//     when they are probed at all); hang_requests: their requests.
//   - up_targets, down_targets: the daemon's status API after the run (the
//     hanging targets turn DOWN after three failures, about 30 s in).
//   - tcp_tw_max: most TIME_WAIT sockets on the machine during the run
//     (/proc/net/sockstat; TIME_WAIT lasts 60 s, so a run started within a
//     minute of another also counts the other's). pollerd opens a fresh
//     connection per probe, 1,000 a second here; Go's server answers its
//     `Connection: close` by closing first, so about 99 % of the TIME_WAIT
//     sockets are the server's (measured with ss) and hold none of the
//     daemon's ephemeral ports (32768–60999 by default).
//
// Environment (both optional):
//   - POLLERD_BENCH_RUN=10m runs the daemon that long instead of 100 s (RSS
//     over minutes: rss_MB_last is the last sample, the log has one a
//     minute; cpu_cores_steady runs to the end).
//   - POLLERD_BENCH_PROFILE=DIR starts the daemon with POLLERD_PPROF_ADDR
//     (pprof.go) and saves, per iteration, a 20 s CPU profile of the steady
//     state (from 70 s) and a heap profile at the end of the run into DIR
//     (cpu-N.pprof, heap-N.pprof, heap-N.txt with runtime.MemStats,
//     goroutine-N.txt): `go tool pprof -top -cum DIR/cpu-0.pprof`. The
//     profiler's own cost shows in the CPU figures of that run.
//   - POLLERD_BENCH_DAEMON_ENV="GOGC=50 …" adds these variables to the
//     daemon's environment (which is otherwise PATH and HOME only).
//   - POLLERD_BENCH_BARE_SPREAD=1 also runs the bare prober with each
//     target on its own instant (phase on the PhaseGrid/SubSlots grid, as
//     pollerd starts them): cpu_bare_spread_cores, bare_spread_late_*,
//     cpu_ratio_vs_bare_spread. The default bare prober starts a 25 ms
//     slot's probes together (bare_late_* is that timing's own lateness).
func BenchmarkDaemon10k(b *testing.B) { benchDaemon(b, 10_000, 10) }

// BenchmarkDaemon1k is BenchmarkDaemon10k at 1,000 healthy targets (and
// the same 10 hanging ones): the schedule-precision goal at that size.
//
//	go test -run '^$' -bench 'Daemon1k$' -benchtime 1x -timeout 20m ./cmd/pollerd
func BenchmarkDaemon1k(b *testing.B) { benchDaemon(b, 1_000, 10) }

const (
	benchInterval = 10 * time.Second
	benchTimeout  = 5 * time.Second
	// The steady window, as scheduled instants: after the first interval,
	// whole intervals, ending early enough that every probe due in it has
	// arrived before the run ends.
	steadyFrom = benchInterval
	steadyTo   = 9 * benchInterval
	// cpuSteadyFrom starts the steady CPU window: history is written from
	// the first minute boundary after the start on, spread over the minute.
	cpuSteadyFrom = 70 * time.Second
	defaultRun    = 100 * time.Second
)

// benchRun is how long the daemon runs in each iteration: defaultRun, or
// POLLERD_BENCH_RUN when longer.
var benchRun = func() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("POLLERD_BENCH_RUN")); err == nil && d > defaultRun {
		return d
	}
	return defaultRun
}()

// benchResult is one iteration's figures, by metric name.
type benchResult map[string]float64

func benchDaemon(b *testing.B, healthy, hanging int) {
	raiseNoFile(b)
	bin := buildBenchBinary(b)
	var runs []benchResult
	for b.Loop() {
		// The floor first, then the daemon, in the same run: their ratio
		// travels across machines, absolute figures do not.
		bare := runBareOnce(b, healthy, monitor.PhaseGrid)
		r := runDaemonOnce(b, bin, healthy, hanging, len(runs))
		r["cpu_bare_cores"] = bare["cpu"]
		for _, k := range []string{"late_p50_ms", "late_p99_ms", "jitter_p50_ms", "jitter_p99_ms"} {
			r["bare_"+k] = bare[k]
		}
		r["cpu_ratio_vs_bare"] = r["cpu_cores_steady"] / bare["cpu"]   // steady state, history written
		r["cpu_ratio_vs_bare_from_10s"] = r["cpu_cores"] / bare["cpu"] // with the UNKNOWN → UP round
		if os.Getenv("POLLERD_BENCH_BARE_SPREAD") != "" {
			spread := runBareOnce(b, healthy, monitor.PhaseGrid/monitor.SubSlots)
			r["cpu_bare_spread_cores"] = spread["cpu"]
			r["bare_spread_late_p50_ms"], r["bare_spread_late_p99_ms"] = spread["late_p50_ms"], spread["late_p99_ms"]
			r["bare_spread_jitter_p99_ms"] = spread["jitter_p99_ms"]
			r["cpu_ratio_vs_bare_spread"] = r["cpu_cores_steady"] / spread["cpu"]
		}
		runs = append(runs, r)
	}
	for _, name := range slices.Sorted(maps.Keys(runs[0])) {
		xs := make([]float64, 0, len(runs))
		for _, r := range runs {
			xs = append(xs, r[name])
		}
		b.ReportMetric(medianOf(xs), name)
	}
}

// buildBenchBinary builds pollerd without -race (the race detector costs
// several times the CPU and memory the benchmark measures) into a temporary
// directory. With b.Loop the benchmark function runs once, so does this.
func buildBenchBinary(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "pollerd-bench")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build pollerd: %v\n%s", err, out)
	}
	return bin
}

// raiseNoFile lifts this process's soft open-file limit to its hard limit;
// the daemon, exec'd from here, inherits it.
func raiseNoFile(b *testing.B) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("RLIMIT_NOFILE: soft %d, hard %d (the daemon inherits it)", lim.Cur, lim.Max)
}

// targetServer answers the probes: /t/<i> at once with 200 "ok", recording
// the arrival; /hang/<i> only when the request's context ends (the probe's
// timeout closes the connection, or the server closes).
type targetServer struct {
	mu       sync.Mutex
	arrivals [][]time.Time // per healthy target
	hangs    []int         // requests per hanging target
}

func (s *targetServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	if rest, ok := strings.CutPrefix(r.URL.Path, "/t/"); ok {
		i, err := strconv.Atoi(rest)
		if err != nil || i < 0 || i >= len(s.arrivals) {
			http.NotFound(w, r)
			return
		}
		s.mu.Lock()
		s.arrivals[i] = append(s.arrivals[i], now)
		s.mu.Unlock()
		_, _ = w.Write([]byte("ok"))
		return
	}
	if rest, ok := strings.CutPrefix(r.URL.Path, "/hang/"); ok {
		i, err := strconv.Atoi(rest)
		if err != nil || i < 0 || i >= len(s.hangs) {
			http.NotFound(w, r)
			return
		}
		s.mu.Lock()
		s.hangs[i]++
		s.mu.Unlock()
		<-r.Context().Done()
		return
	}
	http.NotFound(w, r)
}

// sample is one reading of the daemon's /proc files.
type sample struct {
	at  time.Duration // since the daemon was exec'd
	cpu time.Duration // utime + stime
	rss procMem
}

// procMem is a process's resident memory in KiB: VmRSS, and its parts
// RssAnon (heap, stacks, the runtime's and SQLite's allocations) and
// RssFile (pages of the binary and mapped files).
type procMem struct{ total, anon, file int64 }

func runDaemonOnce(b *testing.B, bin string, healthy, hanging, iter int) benchResult {
	ts := &targetServer{arrivals: make([][]time.Time, healthy), hangs: make([]int, hanging)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: ts, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 10 * time.Second}
	var served sync.WaitGroup
	served.Go(func() { _ = srv.Serve(ln) })
	defer func() { _ = srv.Close(); served.Wait() }()

	dir := b.TempDir()
	apiAddr := freeLoopbackAddr(b)
	cfgPath := writeConfig(b, dir, benchConfig(filepath.Join(dir, "state"), apiAddr, ln.Addr().String(), healthy, hanging))
	logPath := filepath.Join(dir, "pollerd.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		b.Fatal(err)
	}
	defer logFile.Close()

	cmd := exec.Command(bin, "run", "-c", cfgPath)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	cmd.Env = append(cmd.Env, strings.Fields(os.Getenv("POLLERD_BENCH_DAEMON_ENV"))...)
	profDir := os.Getenv("POLLERD_BENCH_PROFILE")
	var pprofAddr string
	if profDir != "" {
		pprofAddr = freeLoopbackAddr(b)
		cmd.Env = append(cmd.Env, pprofEnv+"="+pprofAddr)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	selfCPU0, tw0 := selfCPU(b), timeWait()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	defer func() { // on any early return: never leave the daemon running
		_ = cmd.Process.Kill()
		<-exited
	}()

	var profiled sync.WaitGroup
	if profDir != "" {
		profiled.Go(func() { fetchProfiles(b, pprofAddr, profDir, iter, start) })
	}
	samples, twMax := sampleDaemon(b, cmd.Process.Pid, start, exited, logPath)
	profiled.Wait()
	selfCores := float64(selfCPU(b)-selfCPU0) / float64(time.Since(start))

	up, down, statusDur := daemonStates(b, apiAddr)
	stopStart := time.Now()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		b.Errorf("pollerd did not stop within 15s of SIGTERM")
	}
	stopDur := time.Since(stopStart)

	ts.mu.Lock()
	arrivals := make([][]time.Time, len(ts.arrivals))
	for i, a := range ts.arrivals {
		arrivals[i] = slices.Clone(a)
	}
	hangs := slices.Clone(ts.hangs)
	ts.mu.Unlock()

	r := analyzeArrivals(b, arrivals, start)
	cpuCores, memAt, rssMax := procFigures(samples)
	r["cpu_cores"] = cpuCores(steadyFrom, benchRun)
	r["cpu_cores_0_10s"] = cpuCores(0, steadyFrom)
	r["cpu_cores_10_20s"] = cpuCores(steadyFrom, 2*benchInterval)
	r["cpu_cores_steady"] = cpuCores(cpuSteadyFrom, benchRun)
	mb := func(kb int64) float64 { return float64(kb) / 1024 }
	m10, m30, m90 := memAt(10*time.Second), memAt(30*time.Second), memAt(90*time.Second)
	r["rss_MB_at_10s"], r["rss_MB_at_30s"], r["rss_MB_max"] = mb(m10.total), mb(m30.total), rssMax
	r["rss_MB_at_90s"] = mb(m90.total)
	r["rss_anon_MB_at_90s"], r["rss_file_MB_at_90s"] = mb(m90.anon), mb(m90.file)
	r["rss_MB_last"] = mb(samples[len(samples)-1].rss.total)
	var byMinute []string
	for _, s := range samples {
		if s.at >= time.Minute && s.at%time.Minute < time.Second {
			byMinute = append(byMinute, fmt.Sprintf("%dm %.1f (anon %.1f)", int(s.at/time.Minute), mb(s.rss.total), mb(s.rss.anon)))
		}
	}
	if len(byMinute) > 0 {
		b.Logf("RSS MB by minute: %s", strings.Join(byMinute, ", "))
	}
	hangTargets, hangReqs := 0, 0
	for _, n := range hangs {
		hangReqs += n
		if n > 0 {
			hangTargets++
		}
	}
	r["hang_targets"], r["hang_requests"] = float64(hangTargets), float64(hangReqs)
	r["up_targets"], r["down_targets"] = float64(up), float64(down)
	r["tcp_tw_max"] = float64(twMax)

	warns, errs := logLevels(b, logPath)
	b.Logf("TIME_WAIT sockets at start %d, at most %d", tw0, twMax)
	b.Logf("load average at end: %s; test process (target server) CPU: %.3f cores; GET /api/v1/status took %s; SIGTERM to exit %s (exit: %v)",
		loadAvg(), selfCores, statusDur.Round(time.Millisecond), stopDur.Round(time.Millisecond), waitErr)
	b.Logf("daemon log: %d warn lines, %d error lines", len(warns), len(errs))
	for _, l := range append(errs, warns...)[:min(10, len(errs)+len(warns))] {
		b.Logf("  %s", l)
	}
	return r
}

// fetchProfiles saves the daemon's CPU profile over [21 s, 31 s] and its
// heap and goroutines near the end of the run into dir (see
// BenchmarkDaemon10k).
func fetchProfiles(b *testing.B, addr, dir string, iter int, start time.Time) {
	get := func(path, file string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			b.Errorf("pprof %s: %v", path, err)
			return
		}
		defer resp.Body.Close()
		out, err := os.Create(filepath.Join(dir, fmt.Sprintf(file, iter)))
		if err != nil {
			b.Errorf("pprof: %v", err)
			return
		}
		defer out.Close()
		if _, err := io.Copy(out, resp.Body); err != nil {
			b.Errorf("pprof %s: %v", path, err)
		}
	}
	time.Sleep(time.Until(start.Add(cpuSteadyFrom)))
	get("/debug/pprof/profile?seconds=20", "cpu-%d.pprof")
	time.Sleep(time.Until(start.Add(benchRun - 3*time.Second)))
	get("/debug/pprof/heap?gc=1", "heap-%d.pprof")
	get("/debug/pprof/heap?debug=1", "heap-%d.txt") // ends with runtime.MemStats
	get("/debug/pprof/goroutine?debug=1", "goroutine-%d.txt")
}

// benchConfig is the daemon's YAML: log at warn (no line per probe), no
// Slack (alerts go to the log), every target at the design's cadence.
func benchConfig(stateDir, listen, targetAddr string, healthy, hanging int) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "listen: %s\nstate_dir: %q\nlog: {format: json, level: warn}\n", listen, stateDir)
	fmt.Fprintf(&sb, "defaults: {interval: %s, timeout: %s}\ntargets:\n", benchInterval, benchTimeout)
	for i := range healthy {
		fmt.Fprintf(&sb, "  - {name: %s, url: \"http://%s/t/%d\"}\n", healthyName(i), targetAddr, i)
	}
	for i := range hanging {
		fmt.Fprintf(&sb, "  - {name: hang-%02d, url: \"http://%s/hang/%d\"}\n", i, targetAddr, i)
	}
	return sb.String()
}

func healthyName(i int) string { return fmt.Sprintf("t-%05d", i) }

// freeLoopbackAddr returns a loopback address that was free a moment ago:
// the daemon logs its real address only at info, and the benchmark runs it
// at warn, so it is given a port instead of 127.0.0.1:0.
func freeLoopbackAddr(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// sampleDaemon reads the daemon's CPU time and RSS, and the machine's
// TIME_WAIT count, every second until benchRun has passed since start.
func sampleDaemon(b *testing.B, pid int, start time.Time, exited <-chan struct{}, logPath string) (samples []sample, twMax int) {
	b.Helper()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	samples = append(samples, sample{}) // at exec: no CPU time yet
	for time.Since(start) < benchRun {
		select {
		case <-exited:
			out, _ := os.ReadFile(logPath)
			b.Fatalf("pollerd exited after %s:\n%s", time.Since(start).Round(time.Millisecond), out)
		case <-tick.C:
		}
		at := time.Since(start)
		cpu, rss, err := readProc(pid)
		if err != nil {
			b.Fatalf("read /proc/%d: %v", pid, err)
		}
		samples = append(samples, sample{at: at, cpu: cpu, rss: rss})
		twMax = max(twMax, timeWait())
	}
	return samples, twMax
}

// clockTick is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every
// Linux architecture Go supports (getconf CLK_TCK needs cgo to ask).
const clockTick = 10 * time.Millisecond

// readProc returns the process's utime+stime (all threads) and resident
// memory.
func readProc(pid int) (time.Duration, procMem, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, procMem{}, err
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3, utime 14 and stime 15.
	i := strings.LastIndexByte(string(stat), ')')
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return 0, procMem{}, fmt.Errorf("short stat line %q", stat)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, procMem{}, fmt.Errorf("stat times %q %q", f[11], f[12])
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, procMem{}, err
	}
	var m procMem
	fields := map[string]*int64{"VmRSS:": &m.total, "RssAnon:": &m.anon, "RssFile:": &m.file}
	for line := range strings.Lines(string(status)) {
		for name, dst := range fields {
			if rest, ok := strings.CutPrefix(line, name); ok {
				kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				if err != nil {
					return 0, procMem{}, fmt.Errorf("%s %q: %w", name, rest, err)
				}
				*dst = kb
			}
		}
	}
	if m.total == 0 {
		return 0, procMem{}, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
	}
	return time.Duration(utime+stime) * clockTick, m, nil
}

// timeWait is the machine's TIME_WAIT socket count, or -1 if unreadable.
func timeWait() int {
	b, err := os.ReadFile("/proc/net/sockstat")
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "TCP:" {
			continue
		}
		for i := 1; i+1 < len(f); i += 2 {
			if f[i] == "tw" {
				n, _ := strconv.Atoi(f[i+1])
				return n
			}
		}
	}
	return -1
}

// procFigures reduces the samples: CPU cores over [from, to] and resident
// memory at d (the samples nearest), and the most VmRSS in MB.
func procFigures(samples []sample) (cpuCores func(from, to time.Duration) float64, memAt func(d time.Duration) procMem, rssMax float64) {
	nearest := func(d time.Duration) sample {
		best := samples[0]
		for _, s := range samples {
			if (s.at - d).Abs() < (best.at - d).Abs() {
				best = s
			}
		}
		return best
	}
	cpuCores = func(from, to time.Duration) float64 {
		f, t := nearest(from), nearest(to)
		if t.at <= f.at {
			return 0
		}
		return float64(t.cpu-f.cpu) / float64(t.at-f.at)
	}
	for _, s := range samples {
		rssMax = max(rssMax, float64(s.rss.total)/1024)
	}
	return cpuCores, func(d time.Duration) procMem { return nearest(d).rss }, rssMax
}

// analyzeArrivals computes the schedule figures from the healthy targets'
// arrivals, using the phase the monitor gives each target's name.
func analyzeArrivals(b *testing.B, arrivals [][]time.Time, start time.Time) benchResult {
	r := benchResult{}
	var firstLast time.Time
	missed, due, got := 0, 0, 0
	var late, lateSteady, jitter []float64
	lateBy5s := make([][]float64, int(benchRun/(5*time.Second))+1) // by scheduled instant
	from, to := start.Add(steadyFrom), start.Add(steadyTo)
	for i, as := range arrivals {
		sched := monitor.NewIntervalSchedule(healthyName(i), benchInterval)
		if len(as) == 0 {
			missed++
		} else if as[0].After(firstLast) {
			firstLast = as[0]
		}
		// Instants due in [from, to): whole intervals, one per target each.
		for at := sched.Next(from.Add(-1)); at.Before(to); at = at.Add(benchInterval) {
			due++
		}
		for j, a := range as {
			p := sched.Prev(a)
			ms := msOf(a.Sub(p))
			if p.After(start) {
				if w := int(p.Sub(start) / (5 * time.Second)); w < len(lateBy5s) {
					lateBy5s[w] = append(lateBy5s[w], ms)
				}
			}
			if !p.Before(from) && p.Before(to) {
				got++
				late = append(late, ms)
				if !p.Before(start.Add(cpuSteadyFrom)) {
					lateSteady = append(lateSteady, ms)
				}
			}
			if j > 0 && !as[j-1].Before(from) {
				jitter = append(jitter, msOf((a.Sub(as[j-1]) - benchInterval).Abs()))
			}
		}
	}
	r["missed_first_round"] = float64(missed)
	if missed > 0 {
		r["first_round_s"] = benchRun.Seconds()
	} else {
		r["first_round_s"] = firstLast.Sub(start).Seconds()
	}
	r["probes_pct_of_schedule"] = 100 * float64(got) / float64(max(due, 1))
	r["late_p50_ms"], r["late_p99_ms"] = percentile(late, 50), percentile(late, 99)
	r["late_p99_ms_from_70s"] = percentile(lateSteady, 99)
	r["jitter_p50_ms"], r["jitter_p99_ms"] = percentile(jitter, 50), percentile(jitter, 99)
	var windows []string
	for w, xs := range lateBy5s {
		if len(xs) > 0 {
			windows = append(windows, fmt.Sprintf("%d-%ds %.1f/%.1f", 5*w, 5*w+5, percentile(xs, 50), percentile(xs, 99)))
		}
	}
	b.Logf("lateness p50/p99 ms by scheduled instant: %s", strings.Join(windows, ", "))
	return r
}

// daemonStates counts targets by state in the daemon's status document.
func daemonStates(b *testing.B, addr string) (up, down int, took time.Duration) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/v1/status", nil)
	t0 := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Errorf("GET /api/v1/status: %v", err)
		return -1, -1, time.Since(t0)
	}
	defer resp.Body.Close()
	var doc struct {
		Targets []struct {
			State string `json:"state"`
		} `json:"targets"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		b.Errorf("GET /api/v1/status: %d: %v", resp.StatusCode, err)
		return -1, -1, time.Since(t0)
	}
	took = time.Since(t0)
	for _, t := range doc.Targets {
		switch t.State {
		case "UP":
			up++
		case "DOWN":
			down++
		}
	}
	return up, down, took
}

// logLevels returns the daemon's warn and error lines.
func logLevels(b *testing.B, path string) (warns, errs []string) {
	out, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(out)) {
		var l struct {
			Level string `json:"level"`
		}
		if json.Unmarshal([]byte(line), &l) != nil {
			errs = append(errs, strings.TrimSpace(line)) // not JSON: a panic or a crash
			continue
		}
		switch l.Level {
		case "warn":
			warns = append(warns, strings.TrimSpace(line))
		case "error", "dpanic", "panic", "fatal":
			errs = append(errs, strings.TrimSpace(line))
		}
	}
	return warns, errs
}

func selfCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// percentile is the p-th percentile (nearest rank) of xs; 0 when empty.
func percentile(xs []float64, p int) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	return s[min(len(s)-1, len(s)*p/100)]
}

func medianOf(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	return s[len(s)/2]
}
