package main

import (
	"context"
	"errors"
	"os"
	"reflect"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/pollerd/pollerd/internal/alert"
	"github.com/pollerd/pollerd/internal/alert/outbox"
	"github.com/pollerd/pollerd/internal/config"
	"github.com/pollerd/pollerd/internal/ingest"
	"github.com/pollerd/pollerd/internal/monitor"
	"github.com/pollerd/pollerd/internal/web"
)

// reloadTimeout bounds one reload's wait for the cancelled probes of
// removed and changed targets.
const reloadTimeout = 5 * time.Second

// configFile is the config file in force: where it is, the hash of the
// bytes loaded and when.
type configFile struct {
	path     string
	hash     string
	loadedAt time.Time
}

// loadConfigFile loads path for `pollerd run`, with its hash.
func loadConfigFile(path string) (*config.Config, configFile, error) {
	cfg, hash, err := config.LoadHashed(path, os.LookupEnv)
	if err != nil {
		if len(config.Problems(err)) > 0 {
			return nil, configFile{}, errors.New(path + ": invalid configuration:\n" + err.Error())
		}
		return nil, configFile{}, err
	}
	return cfg, configFile{path: path, hash: hash, loadedAt: time.Now()}, nil
}

// reloader puts a changed config file in force without a restart (SIGHUP or
// the file watcher): targets, services, target channels, ingest settings,
// the alert channels (outbox.Apply: an unchanged one keeps its queue), the
// alert policy (groups, group_wait, repeat_interval, canaries, maintenance
// windows, certificate thresholds), the heartbeat, the status page's title
// and the admin token (both read through current). What cannot change while
// running (restartFields) is logged at warn and left as it was. A bad file
// is refused, every problem logged at error with its field path, and the
// config in force stays; so is one whose channels cannot be built. Reloads
// run one at a time, on Run's goroutine.
type reloader struct {
	log    *zap.Logger
	sd     *systemd
	mon    *monitor.Monitor
	engine *alert.Engine
	ing    *ingest.Handler
	policy reloadPolicy

	mu   sync.Mutex // guards cfg and file, read by the status API
	cfg  *config.Config
	file configFile
}

// current returns the config in force.
func (r *reloader) current() *config.Config {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cfg
}

// ConfigInfo is the status API's config field (web.ConfigSource).
func (r *reloader) ConfigInfo() web.ConfigInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return web.ConfigInfo{Hash: r.file.hash, LoadedAt: r.file.loadedAt}
}

// reload reads the file again and applies it; cause is what asked for it
// (SIGHUP, file change), for the log. systemd hears RELOADING=1 before and
// READY=1 after, whether the new config was applied or refused.
func (r *reloader) reload(ctx context.Context, cause string) {
	r.sd.reloading()
	defer r.sd.reloaded()
	old := r.current()
	path := r.file.path
	cfg, hash, err := config.LoadHashed(path, os.LookupEnv)
	if err != nil {
		if problems := config.Problems(err); len(problems) > 0 {
			for _, p := range problems {
				r.log.Error("config reload refused", zap.String("cause", cause), zap.String("problem", p.String()))
			}
		} else {
			r.log.Error("config reload refused", zap.String("cause", cause), zap.Error(err))
		}
		r.log.Warn("config in force unchanged", zap.String("hash", r.ConfigInfo().Hash))
		return
	}
	if hash == r.ConfigInfo().Hash {
		r.log.Info("config reload: file unchanged", zap.String("cause", cause), zap.String("hash", hash))
		return
	}
	for _, field := range restartFields(old, cfg) {
		r.log.Warn("config change needs a restart; not applied", zap.String("field", field))
	}
	p := r.policy
	var chans channelUpdate
	if p.chans != nil {
		if chans, err = p.chans.prepare(cfg, p.log); err != nil {
			r.log.Error("config reload refused", zap.String("cause", cause), zap.Error(err))
			r.log.Warn("config in force unchanged", zap.String("hash", r.ConfigInfo().Hash))
			return
		}
	}

	actx, cancel := context.WithTimeout(ctx, reloadTimeout)
	defer cancel()
	// Channels first: what the changes below send goes to the new set.
	if p.chans != nil {
		ca, err := p.chans.apply(actx, cfg, chans, p.ob, r.log)
		if err != nil {
			r.log.Error("config reload: channels not applied", zap.Error(err))
		} else if len(ca.Added)+len(ca.Removed)+len(ca.Changed) > 0 {
			r.log.Info("channels reloaded", zap.Strings("added", ca.Added), zap.Strings("removed", ca.Removed),
				zap.Strings("changed", ca.Changed), zap.Int("unchanged", ca.Unchanged))
		}
	}
	if p.covers != nil {
		p.covers.SetWindows(maintenanceWindows(cfg), groupOf(cfg))
	}
	if p.certs != nil {
		p.certs.SetTargets(certThresholds(cfg), cfg.TargetChannels())
	}
	applied, err := r.mon.Apply(actx, monitor.Update{
		Targets:         monitorTargets(cfg),
		Services:        cfg.ServiceTargets(),
		ConfirmCooldown: cfg.Ingest.ConfirmCooldown,
	})
	if err != nil { // config validated what the monitor checks: only a stopped monitor
		r.log.Error("config reload refused", zap.String("cause", cause), zap.Error(err))
		return
	}
	if p.stages != nil { // before the engine retires removed targets
		p.stages.apply(cfg, applied.Removed)
	}
	r.engine.Apply(alert.Options{
		Services:       cfg.ServiceTargets(),
		Targets:        cfg.TargetNames(),
		TargetChannels: cfg.TargetChannels(),
	})
	if err := r.ing.Apply(ingestOptions(cfg, cfg.Alerting.ChannelNames())); err != nil {
		r.log.Error("config reload: ingest settings not applied", zap.Error(err))
	}
	if p.heartbeat != nil {
		if err := p.heartbeat.apply(actx, cfg.Heartbeat); err != nil {
			r.log.Error("config reload: heartbeat not applied", zap.Error(err))
		}
	}

	r.mu.Lock()
	r.cfg = cfg
	r.file.hash, r.file.loadedAt = hash, time.Now()
	r.mu.Unlock()
	r.log.Info("config reloaded", zap.String("cause", cause), zap.String("hash", hash),
		zap.Strings("added", applied.Added), zap.Strings("removed", applied.Removed),
		zap.Strings("changed", applied.Changed), zap.Int("unchanged", applied.Unchanged))
}

// restartFields names the settings that differ between old and next and
// are only read at start: the listener, the store, the logger, whether the
// status page is served, the ingest path and dedup bounds, the history.
func restartFields(old, next *config.Config) []string {
	var out []string
	check := func(field string, a, b any) {
		if !reflect.DeepEqual(a, b) {
			out = append(out, field)
		}
	}
	check("listen", old.Listen, next.Listen)
	check("state_dir", old.StateDir, next.StateDir)
	check("log", old.Log, next.Log)
	check("ingest.path", old.Ingest.Path, next.Ingest.Path)
	check("ingest.dedup_window", old.Ingest.DedupWindow, next.Ingest.DedupWindow)
	check("ingest.max_fingerprints", old.Ingest.MaxFingerprints, next.Ingest.MaxFingerprints)
	check("history", old.History, next.History)
	check("status_page.enabled", old.StatusPage.Enabled, next.StatusPage.Enabled)
	return out
}

// monitorTargets are cfg's targets as the monitor schedules them.
func monitorTargets(cfg *config.Config) []monitor.Target {
	targets := make([]monitor.Target, len(cfg.Targets))
	for i, t := range cfg.Targets {
		targets[i] = monitor.Target{Probe: t.Probe, Interval: t.Interval, Schedule: t.Schedule,
			FailureThreshold: t.FailureThreshold, SuccessThreshold: t.SuccessThreshold, Group: t.Group}
	}
	return targets
}

// ingestOptions are the ingest settings of cfg that a reload changes, for
// the given channel names.
func ingestOptions(cfg *config.Config, channels []string) ingest.Options {
	return ingest.Options{
		Services:       ingestServices(cfg),
		Channels:       channels,
		MaxBodyBytes:   cfg.Ingest.MaxBodyBytes,
		PerIP:          rate.Limit(cfg.Ingest.RateLimit.PerIP),
		PerIPBurst:     cfg.Ingest.RateLimit.PerIPBurst,
		Global:         rate.Limit(cfg.Ingest.RateLimit.Global),
		TrustedProxies: cfg.Ingest.TrustedProxies,
	}
}

// reloadPolicy is what a reload applies besides targets, services and
// ingest; a nil part is left alone.
type reloadPolicy struct {
	log       *zap.Logger // the channels' constructors'
	ob        *outbox.Outbox
	chans     *channelSet
	stages    *policy
	covers    *alert.CoverSet
	certs     *alert.CertWatch
	heartbeat *heartbeat
}
