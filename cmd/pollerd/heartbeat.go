package main

import (
	"context"
	"sync"

	"go.uber.org/zap"

	"github.com/pollerd/pollerd/internal/config"
	"github.com/pollerd/pollerd/internal/monitor"
)

// heartbeat is the dead man's switch in force: it pings while the
// monitor's liveness tick (the watchdog's signal) is on time and the store
// can be written. A reload that changes heartbeat.url or interval restarts
// it (apply); Stop stops the one running.
type heartbeat struct {
	mon          *monitor.Monitor
	storeHealthy func() error
	log          *zap.Logger

	mu  sync.Mutex
	cfg config.Heartbeat
	hb  *monitor.Heartbeat // nil: none configured
}

// startHeartbeat starts the heartbeat when the config has one, and
// registers its stop either way (a reload may start one).
func startHeartbeat(cfg config.Heartbeat, mon *monitor.Monitor, storeHealthy func() error, lc *lifecycle, log *zap.Logger) (*heartbeat, error) {
	h := &heartbeat{mon: mon, storeHealthy: storeHealthy, log: log}
	if err := h.apply(context.Background(), cfg); err != nil {
		return nil, err
	}
	lc.onStop("heartbeat", httpDrainTimeout, h.stop)
	return h, nil
}

// apply starts, restarts or stops the heartbeat for cfg; the same cfg
// leaves the running one alone.
func (h *heartbeat) apply(ctx context.Context, cfg config.Heartbeat) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if cfg == h.cfg && (h.hb != nil) == (cfg.URL != "") {
		return nil
	}
	var next *monitor.Heartbeat
	if cfg.URL != "" {
		var err error
		next, err = monitor.NewHeartbeat(monitor.HeartbeatOptions{URL: cfg.URL.Value(), Interval: cfg.Interval,
			Liveness: h.mon.Liveness, Healthy: h.storeHealthy, Logger: h.log})
		if err != nil {
			return err
		}
	}
	if h.hb != nil {
		if err := h.hb.Stop(ctx); err != nil {
			h.log.Warn("heartbeat not stopped", zap.Error(err))
		}
		if next == nil {
			h.log.Info("heartbeat off")
		}
	}
	h.cfg, h.hb = cfg, next
	if next != nil {
		next.Start()
		h.log.Info("heartbeat", zap.Duration("interval", cfg.Interval)) // never the URL
	}
	return nil
}

func (h *heartbeat) stop(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.hb == nil {
		return nil
	}
	err := h.hb.Stop(ctx)
	h.hb = nil
	return err
}
