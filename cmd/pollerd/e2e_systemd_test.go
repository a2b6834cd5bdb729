package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestSystemd_E2E runs the real binary under a fake NOTIFY_SOCKET: READY=1
// once it listens, WATCHDOG=1 at half of WATCHDOG_USEC while the scheduler
// ticks, STOPPING=1 at SIGTERM; and no WATCHDOG=1 when systemd set none.
func TestSystemd_E2E(t *testing.T) {
	_, target := newFlipperServer(t, true)
	for _, tt := range []struct {
		name     string
		watchdog string // WATCHDOG_USEC; "" = none
		pets     int    // at least this many in petFor
		petFor   time.Duration
	}{
		{"watchdog 2s pets every 1s", "2000000", 2, 3500 * time.Millisecond},
		{"no watchdog", "", 0, 2500 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := writeConfig(t, dir, coreHeader(dir, false)+coreTarget("api", target))
			sock, msgs := notifySocket(t)
			env := []string{"NOTIFY_SOCKET=" + sock}
			if tt.watchdog != "" {
				env = append(env, "WATCHDOG_USEC="+tt.watchdog)
			}
			d := startDaemon(t, cfg, env...)

			ready := nextMsg(t, msgs, coreWait)
			if ready.text != "READY=1" {
				t.Fatalf("first message %q, want READY=1", ready.text)
			}
			listening := logsMatching(d.logs(), "listening", nil)
			if len(listening) != 1 {
				t.Fatalf("%d listening lines, want 1", len(listening))
			}
			if at := logTime(t, listening[0]); ready.at.Before(at) {
				t.Errorf("READY=1 at %s, before listening at %s", ready.at.Format(time.RFC3339Nano), at.Format(time.RFC3339Nano))
			}

			var pets []time.Time
			deadline := time.After(tt.petFor)
		collect:
			for {
				select {
				case m := <-msgs:
					if m.text != "WATCHDOG=1" {
						t.Fatalf("got %q while running, want only WATCHDOG=1", m.text)
					}
					pets = append(pets, m.at)
				case <-deadline:
					break collect
				}
			}
			var gaps []string
			for i := 1; i < len(pets); i++ {
				gap := pets[i].Sub(pets[i-1])
				gaps = append(gaps, gap.Round(time.Millisecond).String())
				if gap < 500*time.Millisecond || gap > 2*time.Second {
					t.Errorf("pet %d came %s after the one before, want about 1s", i, gap)
				}
			}
			t.Logf("WATCHDOG_USEC=%q: %d pets in %s, gaps %v", tt.watchdog, len(pets), tt.petFor, gaps)
			if tt.pets == 0 && len(pets) > 0 {
				t.Errorf("%d pets without WATCHDOG_USEC, want none", len(pets))
			}
			if len(pets) < tt.pets {
				t.Errorf("%d pets in %s, want ≥ %d", len(pets), tt.petFor, tt.pets)
			}

			sigterm := time.Now()
			if err := d.stop(coreStopWait); err != nil {
				t.Errorf("exit: %v", err)
			}
			for {
				m := nextMsg(t, msgs, coreWait)
				if m.text == "WATCHDOG=1" {
					continue // one may have left before the signal
				}
				if m.text != "STOPPING=1" {
					t.Fatalf("got %q after SIGTERM, want STOPPING=1", m.text)
				}
				if m.at.Before(sigterm) {
					t.Errorf("STOPPING=1 before SIGTERM")
				}
				break
			}
		})
	}
}

// TestHeartbeat_E2E: the real binary pings heartbeat.url every interval
// while it runs, and never shows the URL in its log.
func TestHeartbeat_E2E(t *testing.T) {
	const path = "/ping/s3cr3t-uuid"
	var gets atomic.Int64
	hc := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == path {
			gets.Add(1)
		}
	}))
	defer hc.Close()
	_, target := newFlipperServer(t, true)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, fmt.Sprintf("heartbeat: {url: %q, interval: 1s}\n", hc.URL+path)+
		coreHeader(dir, false)+coreTarget("api", target))
	d := startDaemon(t, cfg)
	start := time.Now()
	eventually(t, coreWait, "3 heartbeat GETs", func() bool { return gets.Load() >= 3 })
	t.Logf("3 heartbeats in %s at interval 1s", time.Since(start).Round(time.Millisecond))
	if err := d.stop(coreStopWait); err != nil {
		t.Errorf("exit: %v", err)
	}
	if out := d.output(); bytes.Contains(out, []byte("s3cr3t")) {
		t.Errorf("the log shows the heartbeat URL:\n%s", out)
	}
}
