package main

import (
	"go.uber.org/zap"

	"github.com/pollerd/pollerd/internal/config"
	"github.com/pollerd/pollerd/internal/monitor"
)

// startHeartbeat starts the dead man's switch when the config has one: it
// pings while the monitor's liveness tick (the watchdog's signal) is on
// time and the store can be written.
func startHeartbeat(cfg config.Heartbeat, mon *monitor.Monitor, storeHealthy func() error, lc *lifecycle, log *zap.Logger) error {
	if cfg.URL == "" {
		return nil
	}
	hb, err := monitor.NewHeartbeat(monitor.HeartbeatOptions{URL: cfg.URL.Value(), Interval: cfg.Interval,
		Liveness: mon.Liveness, Healthy: storeHealthy, Logger: log})
	if err != nil {
		return err
	}
	hb.Start()
	lc.onStop("heartbeat", httpDrainTimeout, hb.Stop)
	log.Info("heartbeat", zap.Duration("interval", cfg.Interval)) // never the URL
	return nil
}
