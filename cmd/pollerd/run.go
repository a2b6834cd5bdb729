package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pollerd/pollerd/internal/alert"
	"github.com/pollerd/pollerd/internal/alert/outbox"
	"github.com/pollerd/pollerd/internal/config"
	"github.com/pollerd/pollerd/internal/ingest"
	"github.com/pollerd/pollerd/internal/monitor"
	"github.com/pollerd/pollerd/internal/probe"
	"github.com/pollerd/pollerd/internal/store"
	"github.com/pollerd/pollerd/internal/web"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"go.uber.org/zap"
)

// Stop bounds: the outbox flushes for at most 5 s (DESIGN); the unit's
// TimeoutStopSec leaves room for all of them.
const (
	httpDrainTimeout = 2 * time.Second
	probeStopTimeout = 2 * time.Second
	flushTimeout     = 5 * time.Second
	stopTimeout      = 12 * time.Second // all steps together; the unit allows 15
)

func newRunCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run the daemon",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, file, err := loadConfigFile(configPath(cmd))
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			log := newLogger(cfg.Log, cmd.ErrOrStderr())
			defer func() { _ = log.Sync() }()
			setGCPercent()          // gc.go
			defer startPprof(log)() // only with POLLERD_PPROF_ADDR set (pprof.go)
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			if err := Run(cmd.Context(), cfg, log, hup, file); err != nil {
				log.Error("pollerd stopped on an error", zap.Error(err))
				return &exitError{code: 1}
			}
			return nil
		},
	}
}

// Run starts pollerd on cfg and blocks until ctx ends, then stops it in
// order: HTTP, ingest confirmations, probes, outbox flush, store. A signal
// on hup, or a change of file (the config file cfg was loaded from), reloads
// it (reload.go).
func Run(ctx context.Context, cfg *config.Config, log *zap.Logger, hup <-chan os.Signal, file configFile) (err error) {
	lc := &lifecycle{log: log, total: stopTimeout}
	// Metrics: each package registers its own series on reg; web serves it.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	defer func() {
		if stopErr := lc.stop(); stopErr != nil && err == nil {
			log.Warn("unclean stop", zap.Error(stopErr))
		}
	}()

	// Store: a fault here is fatal, and says what and where.
	db, err := store.Open(ctx, cfg.StateDir, store.Options{
		Logger:    log.Named("store"),
		Retention: time.Duration(cfg.History.RetentionDays) * 24 * time.Hour,
		// A target adds a history bucket a minute, and ~2 are buffered in
		// steady state: room for 20 minutes of a disk that cannot be
		// written, whatever the number of targets.
		MaxBuckets: max(100_000, 20*len(cfg.Targets)),
	})
	if err != nil {
		return err
	}
	lc.onStop("store", flushTimeout, func(context.Context) error { return db.Close() })
	storeCtx, stopStore := context.WithCancel(context.WithoutCancel(ctx))
	var storeDone sync.WaitGroup
	storeDone.Go(func() { db.Run(storeCtx) })
	lc.onStop("store writer", flushTimeout, func(ctx context.Context) error {
		stopStore() // Run flushes once more, for at most 5 s, and returns
		done := make(chan struct{})
		go func() { storeDone.Wait(); close(done) }()
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})

	// Alerting: Slack when configured, else the log.
	channels, err := buildChannels(cfg, log)
	if err != nil {
		return err
	}
	useRefStore(channels, db) // Slack bot mode threads an incident's messages under its first
	ob, err := outbox.New(outbox.Options{Store: db, Channels: channels, Logger: log.Named("alert"), Registerer: reg})
	if err != nil {
		return err
	}
	if err := ob.Load(ctx); err != nil {
		return err
	}
	chans, err := startChannelLoops(ctx, cfg, db, channels, lc)
	if err != nil {
		return err
	}
	ob.Run(context.WithoutCancel(ctx))
	lc.onStop("outbox", flushTimeout, ob.Close)
	// Alert policy between the engine and the outbox (policy.go): grouping,
	// reminders, canaries, then the cover (maintenance windows, silences).
	pol := newPolicy(cfg, log.Named("alert"))
	cov, covers, err := newCover(cfg, db, log.Named("alert"))
	if err != nil {
		return err
	}
	engine, err := alert.New(alert.Options{
		Store:           db,
		Sink:            alert.Chain(ob, append(pol.stages(), cov.Stage())...),
		Services:        cfg.ServiceTargets(),
		Targets:         cfg.TargetNames(),
		TargetChannels:  cfg.TargetChannels(),
		DedupWindow:     cfg.Ingest.DedupWindow,
		MaxFingerprints: cfg.Ingest.MaxFingerprints,
		Logger:          log.Named("alert"),
	})
	if err != nil {
		return err
	}
	if err := startCover(ctx, cov, covers, lc); err != nil {
		return err
	}
	if err := pol.start(ctx, db, engine, lc); err != nil {
		return err
	}
	if err := engine.Load(ctx); err != nil {
		return err
	}
	engine.Run(context.WithoutCancel(ctx))
	lc.onStop("alert engine", flushTimeout, engine.Close) // before the outbox: its last report counts go there

	certs, err := newCertWatch(ctx, cfg, db, ob, log.Named("alert"))
	if err != nil {
		return err
	}

	// Monitor, restored from the store.
	recs, err := db.TargetRecords(ctx)
	if err != nil {
		return err
	}
	mon, err := monitor.New(monitor.Options{
		Targets:         monitorTargets(cfg),
		Initial:         initialStatuses(recs),
		Sink:            monitorSink{db: db, engine: engine, certs: certs},
		Probe:           probe.Run,
		ConfirmCooldown: cfg.Ingest.ConfirmCooldown,
		Services:        cfg.ServiceTargets(),
		Logger:          log.Named("monitor"),
		Registerer:      reg,
	})
	if err != nil {
		return err
	}

	pol.confirm.set(mon)
	mon.Start()
	lc.onStop("probes", probeStopTimeout, mon.Stop)

	// Ingest and HTTP, last: stopped first, so no report arrives for a
	// stopped monitor or engine.
	ingOpts := ingestOptions(cfg, cfg.Alerting.ChannelNames())
	ingOpts.Reports, ingOpts.Confirmer, ingOpts.Logger, ingOpts.Registerer = engine, mon, log.Named("ingest"), reg
	ing, err := ingest.New(ingOpts)
	if err != nil {
		return err
	}
	lc.onStop("confirmations", probeStopTimeout, ing.Close)
	rl := &reloader{log: log.Named("reload"), mon: mon, engine: engine, ing: ing, cfg: cfg, file: file,
		policy: reloadPolicy{log: log, ob: ob, chans: chans, stages: pol, covers: covers, certs: certs}}
	var ready atomic.Bool
	srv, err := web.New(web.Options{
		Addr:       cfg.Listen,
		Ingest:     ing,
		IngestPath: cfg.Ingest.Path,
		Status: &web.Assembler{Live: liveView{cfg: rl.current, mon: mon}, Uptime: db,
			Incidents: incidentView{db: db}, Deliveries: ob, Config: rl, Canaries: pol.canarySource(),
			Covers: covers},
		Admin: adminOptions(rl.current, db, covers),
		Page:  statusPage(cfg, db, rl.current),
		Ready: func() error {
			if !ready.Load() {
				return errors.New("starting")
			}
			return errors.Join(db.Healthy(), ob.Healthy())
		},
		Logger:  log.Named("web"),
		Metrics: reg,
	})
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	lc.onStop("http", httpDrainTimeout, srv.Shutdown)
	ready.Store(true)
	log.Info("pollerd started", zap.String("version", versionString()), zap.Int("targets", len(cfg.Targets)),
		zap.Int("services", len(cfg.Services)), zap.Strings("channels", channelNames(channels)),
		zap.String("state_dir", cfg.StateDir))
	// systemd last: READY=1 means listening with the schedule armed.
	sd := newSystemd(log.Named("systemd"))
	sd.ready()
	if stop := sd.startWatchdog(mon); stop != nil {
		lc.onStop("watchdog", httpDrainTimeout, stop)
	}
	hb, err := startHeartbeat(cfg.Heartbeat, mon, db.Healthy, lc, log.Named("heartbeat"))
	if err != nil {
		return err
	}
	rl.policy.heartbeat = hb

	// Reload on SIGHUP and when the file changes.
	rl.sd = sd
	fileChanged := make(chan struct{}, 1)
	if file.path != "" {
		stopWatch, err := watchConfig(file.path, watchDebounce, log.Named("reload"), fileChanged)
		if err != nil {
			log.Warn("config file not watched; reload with SIGHUP", zap.Error(err))
		} else {
			lc.onStop("config watch", httpDrainTimeout, stopWatch)
		}
	}

	for {
		select {
		case <-ctx.Done():
			log.Info("stopping", zap.String("cause", context.Cause(ctx).Error()))
			sd.stopping()
			return nil
		case <-hup:
			rl.reload(ctx, "SIGHUP")
		case <-fileChanged:
			rl.reload(ctx, "file changed")
		}
	}
}

func channelNames(chs []outbox.Channel) []string {
	out := make([]string, len(chs))
	for i, c := range chs {
		out[i] = c.Notifier.Name()
	}
	return out
}

// statusPage is the status page's options; nil when it is disabled. Its
// title is the config in force's.
func statusPage(cfg *config.Config, days web.DailySource, current func() *config.Config) *web.PageOptions {
	if !cfg.StatusPage.Enabled {
		return nil
	}
	return &web.PageOptions{TitleFunc: func() string { return current().StatusPage.Title }, Days: days}
}

func ingestServices(cfg *config.Config) []ingest.Service {
	out := make([]ingest.Service, 0, len(cfg.Services))
	for _, s := range cfg.Services {
		out = append(out, ingest.Service{Name: s.Name, AllowedOrigins: s.AllowedOrigins, Token: s.Token.Value()})
	}
	return out
}
