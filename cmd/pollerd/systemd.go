package main

import (
	"context"
	"strings"
	"time"

	sdnotify "github.com/coreos/go-systemd/v22/daemon"
	"go.uber.org/zap"

	"github.com/pollerd/pollerd/internal/monitor"
)

// scheduler is what the watchdog asks of the monitor: the record of its
// liveness tick, a cron entry dispatched like every probe.
type scheduler interface {
	Liveness() monitor.Liveness
}

// systemd speaks the sd_notify protocol (Type=notify) over $NOTIFY_SOCKET:
// READY=1 once pollerd listens and its schedule is armed, WATCHDOG=1 while
// the scheduler ticks, RELOADING=1/READY=1 around a reload, STOPPING=1 on
// stop. Without NOTIFY_SOCKET (not under systemd) every call does nothing.
type systemd struct {
	log  *zap.Logger
	send func(state string) (sent bool, err error) // sdnotify.SdNotify
}

func newSystemd(log *zap.Logger) *systemd {
	return &systemd{log: log, send: func(state string) (bool, error) { return sdnotify.SdNotify(false, state) }}
}

func (s *systemd) notify(state string) bool {
	_, err := s.send(state)
	if err != nil {
		s.log.Warn("sd_notify failed", zap.String("state", strings.SplitN(state, "\n", 2)[0]), zap.Error(err))
	}
	return err == nil
}

func (s *systemd) ready()    { s.notify(sdnotify.SdNotifyReady) }
func (s *systemd) stopping() { s.notify(sdnotify.SdNotifyStopping) }

// reloading and reloaded bracket a reload (systemd's Type=notify-reload
// protocol: RELOADING=1 with the CLOCK_MONOTONIC time in µs, then READY=1
// once the new config is in force or refused). Only reload calls them.
func (s *systemd) reloading() {
	s.notify(sdnotify.SdNotifyReloading + "\n" + sdnotify.SdNotifyMonotonicUsec())
}
func (s *systemd) reloaded() { s.ready() }

// startWatchdog pets systemd's watchdog at half of WATCHDOG_USEC, as
// sd_watchdog_enabled(3) asks, but only while the scheduler's own tick is
// fresh (at most one pet interval, or monitor.StaleTicks ticks, old): a wedged
// scheduler stops the pets and systemd restarts pollerd. It returns the
// loop's stop function, or nil when systemd set no watchdog.
func (s *systemd) startWatchdog(sched scheduler) func(context.Context) error {
	usec, err := sdnotify.SdWatchdogEnabled(false)
	if err != nil {
		s.log.Warn("systemd watchdog ignored", zap.Error(err))
	}
	if usec <= 0 {
		return nil
	}
	every := usec / 2
	s.log.Info("systemd watchdog", zap.Duration("timeout", usec), zap.Duration("every", every))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		wasFresh := true
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				l := sched.Liveness()
				fresh := l.Fresh(now, max(every, monitor.StaleTicks*l.Every))
				if fresh != wasFresh {
					s.log.Warn("systemd watchdog", zap.Bool("scheduler_on_time", fresh), zap.Time("last_tick", l.Last))
					wasFresh = fresh
				}
				if fresh {
					s.notify(sdnotify.SdNotifyWatchdog)
				}
			}
		}
	}()
	return func(ctx context.Context) error {
		cancel()
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
