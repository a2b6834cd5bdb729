package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/pollerd/pollerd/internal/monitor"
)

// sdMsg is one sd_notify datagram and when it arrived.
type sdMsg struct {
	text string
	at   time.Time
}

// notifySocket listens on a unixgram socket standing in for systemd's
// NOTIFY_SOCKET and returns its path and the messages it receives.
func notifySocket(t *testing.T) (string, <-chan sdMsg) {
	t.Helper()
	dir, err := os.MkdirTemp("", "sd") // short: a socket path has at most 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	msgs := make(chan sdMsg, 1024)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(msgs)
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			msgs <- sdMsg{text: string(buf[:n]), at: time.Now()}
		}
	})
	t.Cleanup(func() { conn.Close(); wg.Wait() })
	return path, msgs
}

// nextMsg returns the next message, failing after timeout.
func nextMsg(t *testing.T, msgs <-chan sdMsg, timeout time.Duration) sdMsg {
	t.Helper()
	select {
	case m, ok := <-msgs:
		if !ok {
			t.Fatal("notify socket closed")
		}
		return m
	case <-time.After(timeout):
		t.Fatalf("no sd_notify message within %s", timeout)
		return sdMsg{}
	}
}

func TestSystemd_Notify(t *testing.T) {
	path, msgs := notifySocket(t)
	t.Setenv("NOTIFY_SOCKET", path)
	sd := newSystemd(zap.NewNop())
	for _, tt := range []struct {
		name  string
		call  func()
		check func(string) bool
	}{
		{"ready", sd.ready, func(m string) bool { return m == "READY=1" }},
		{"reloading carries MONOTONIC_USEC", sd.reloading, func(m string) bool {
			lines := strings.Split(strings.TrimSuffix(m, "\n"), "\n")
			return len(lines) == 2 && lines[0] == "RELOADING=1" && strings.HasPrefix(lines[1], "MONOTONIC_USEC=") &&
				len(lines[1]) > len("MONOTONIC_USEC=")
		}},
		{"reloaded", sd.reloaded, func(m string) bool { return m == "READY=1" }},
		{"stopping", sd.stopping, func(m string) bool { return m == "STOPPING=1" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.call()
			if m := nextMsg(t, msgs, 5*time.Second).text; !tt.check(m) {
				t.Errorf("got %q", m)
			}
		})
	}
}

// TestSystemd_NoSocket: outside systemd every call is a silent no-op.
func TestSystemd_NoSocket(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "")
	sd := newSystemd(zap.NewNop())
	sd.ready()
	sd.reloading()
	sd.reloaded()
	sd.stopping()
	if stop := sd.startWatchdog(&fakeScheduler{}); stop != nil {
		t.Error("a watchdog loop started without WATCHDOG_USEC")
	}
}

// fakeScheduler ticks every 10 ms (Liveness says it just ticked) until the
// test stalls it.
type fakeScheduler struct {
	mu      sync.Mutex
	stalled bool
	l       monitor.Liveness
}

func (f *fakeScheduler) stall(on bool) { f.mu.Lock(); f.stalled = on; f.mu.Unlock() }

func (f *fakeScheduler) Liveness() monitor.Liveness {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.stalled {
		f.l.Last = time.Now()
	}
	f.l.Every = 10 * time.Millisecond
	return f.l
}

// TestSystemd_Watchdog: WATCHDOG=1 at half of WATCHDOG_USEC while the
// scheduler ticks; none once its tick goes stale (a stalled scheduler);
// again when it ticks again.
func TestSystemd_Watchdog(t *testing.T) {
	path, msgs := notifySocket(t)
	t.Setenv("NOTIFY_SOCKET", path)
	t.Setenv("WATCHDOG_USEC", "100000") // 100 ms: pets every 50 ms
	sched := &fakeScheduler{}

	stop := newSystemd(zap.NewNop()).startWatchdog(sched)
	if stop == nil {
		t.Fatal("no watchdog loop with WATCHDOG_USEC set")
	}
	defer func() { _ = stop(context.Background()) }()

	start := time.Now()
	for range 3 {
		if m := nextMsg(t, msgs, 5*time.Second).text; m != "WATCHDOG=1" {
			t.Fatalf("got %q, want WATCHDOG=1", m)
		}
	}
	// Three pets at 50 ms take ≥ 150 ms; a loop petting as fast as it can
	// would take far less.
	if d := time.Since(start); d < 120*time.Millisecond {
		t.Errorf("3 pets in %s, want ≥ 150 ms (every 50 ms)", d)
	}

	sched.stall(true)
	time.Sleep(100 * time.Millisecond) // maxAge: max(50 ms, 3 ticks of 10 ms)
	drain(msgs)
	select {
	case m := <-msgs:
		t.Fatalf("got %q from a stalled scheduler, want no pets", m.text)
	case <-time.After(300 * time.Millisecond):
	}

	sched.stall(false)
	if m := nextMsg(t, msgs, 5*time.Second).text; m != "WATCHDOG=1" {
		t.Fatalf("got %q after the scheduler resumed, want WATCHDOG=1", m)
	}
	if err := stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func drain(msgs <-chan sdMsg) {
	for {
		select {
		case <-msgs:
		default:
			return
		}
	}
}
