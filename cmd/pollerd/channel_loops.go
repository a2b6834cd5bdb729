package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"sync"

	"go.uber.org/zap"

	"github.com/pollerd/pollerd/internal/alert"
	"github.com/pollerd/pollerd/internal/alert/alertmanager"
	"github.com/pollerd/pollerd/internal/alert/outbox"
	"github.com/pollerd/pollerd/internal/alert/slack"
	"github.com/pollerd/pollerd/internal/config"
	"github.com/pollerd/pollerd/internal/incident"
)

// newAlertmanagerChannel posts DOWN targets to every Alertmanager of the
// cluster. The reporter annotation defaults to the hostname. It is
// unpaced: Alertmanager takes batches, and a DOWN or RECOVERED per target
// is little.
func newAlertmanagerChannel(cfg *config.Config, _ config.Channel, log *zap.Logger) (outbox.Channel, error) {
	am := cfg.Alerting.Alertmanager
	reporter := am.Reporter
	if reporter == "" {
		reporter, _ = os.Hostname()
	}
	urls := make([]string, len(am.URLs))
	for i, u := range am.URLs {
		urls[i] = u.Value()
	}
	groups := cfg.TargetGroups()
	n, err := alertmanager.New(alertmanager.Options{URLs: urls, Reporter: reporter, Logger: log.Named("alertmanager"),
		GroupOf: func(target string) string { return groups[target] }})
	if err != nil {
		return outbox.Channel{}, fmt.Errorf("alerting.alertmanager: %w", err)
	}
	return outbox.Channel{Notifier: n}, nil
}

// channelLoop is a channel with a loop of its own: Alertmanager's, which
// re-posts what is firing so that Alertmanager keeps it.
type channelLoop interface {
	alert.Notifier
	Restore(open []incident.Incident)
	Run(ctx context.Context)
	Close(ctx context.Context) error
}

// channelSet is the channels in force, what each was built from, and the
// loops of those that have one. A reload (apply) keeps a channel whose
// config did not change (the same Notifier: the outbox keeps its queue),
// builds a new Notifier for a changed or added one, and stops the loops of
// removed and replaced ones; Close stops the loops left, after the outbox
// flushed.
type channelSet struct {
	db   alert.Loader
	refs slack.RefStore

	mu    sync.Mutex
	built map[string]builtChannel
	ctx   context.Context // the loops' parent
}

type builtChannel struct {
	ch   outbox.Channel
	from any // channelSource: what its constructor read
}

// startChannelLoops restores each looping channel's firing set from the
// open incidents of configured targets and starts its loop. Call it
// before the outbox runs, so a restored alert is re-posted before anything
// else reaches the channel; the loops stop after the outbox flushed.
func startChannelLoops(ctx context.Context, cfg *config.Config, db alert.Loader, channels []outbox.Channel, lc *lifecycle) (*channelSet, error) {
	set := &channelSet{db: db, built: map[string]builtChannel{}, ctx: context.WithoutCancel(ctx)}
	if refs, ok := db.(slack.RefStore); ok {
		set.refs = refs
	}
	for _, c := range cfg.Alerting.Channels() {
		for _, ch := range channels {
			if ch.Notifier.Name() == c.Name {
				set.built[c.Name] = builtChannel{ch: ch, from: channelSource(cfg, c)}
			}
		}
	}
	if err := set.startLoops(ctx, cfg, channels); err != nil {
		return nil, err
	}
	lc.onStop("channel loops", flushTimeout, set.close)
	return set, nil
}

// startLoops restores and starts the loops among channels.
func (s *channelSet) startLoops(ctx context.Context, cfg *config.Config, channels []outbox.Channel) error {
	var loops []channelLoop
	for _, ch := range channels {
		if l, ok := ch.Notifier.(channelLoop); ok {
			loops = append(loops, l)
		}
	}
	if len(loops) == 0 {
		return nil
	}
	snap, err := s.db.Load(ctx)
	if err != nil {
		return fmt.Errorf("load open incidents: %w", err)
	}
	names := cfg.TargetNames()
	open := slices.DeleteFunc(snap.OpenIncidents, func(inc incident.Incident) bool {
		return inc.Kind != incident.KindTarget || !slices.Contains(names, inc.Subject)
	})
	for _, l := range loops {
		l.Restore(open)
		l.Run(s.ctx)
	}
	return nil
}

// close stops every loop of the channels in force.
func (s *channelSet) close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(s.built)) {
		if l, ok := s.built[name].ch.Notifier.(channelLoop); ok {
			errs = append(errs, l.Close(ctx))
		}
	}
	return errors.Join(errs...)
}

// channelUpdate is a reload's channels, built but not yet in force.
type channelUpdate struct {
	built map[string]builtChannel
	fresh []outbox.Channel // built for this reload: added or changed
}

// prepare builds the channels of cfg that are new or whose config
// changed; the others are the ones in force. Nothing is in force yet: an
// error refuses the reload.
func (s *channelSet) prepare(cfg *config.Config, log *zap.Logger) (channelUpdate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := channelUpdate{built: map[string]builtChannel{}}
	for _, c := range cfg.Alerting.Channels() {
		from := channelSource(cfg, c)
		if old, ok := s.built[c.Name]; ok && reflect.DeepEqual(old.from, from) {
			u.built[c.Name] = old
			continue
		}
		build, ok := channelKinds[c.Kind]
		if !ok {
			return channelUpdate{}, fmt.Errorf("alerting: channel kind %q has no constructor", c.Kind)
		}
		ch, err := build(cfg, c, log)
		if err != nil {
			return channelUpdate{}, err
		}
		ch.All = c.Fallback
		u.built[c.Name] = builtChannel{ch: ch, from: from}
		u.fresh = append(u.fresh, ch)
	}
	return u, nil
}

// apply puts u in force: the new loops restored and started, the outbox
// on the new set, then the loops of removed and replaced channels stopped.
func (s *channelSet) apply(ctx context.Context, cfg *config.Config, u channelUpdate, ob *outbox.Outbox, log *zap.Logger) (outbox.Applied, error) {
	if s.refs != nil {
		useRefStore(u.fresh, s.refs)
	}
	if err := s.startLoops(ctx, cfg, u.fresh); err != nil {
		return outbox.Applied{}, err
	}
	list := make([]outbox.Channel, 0, len(u.built))
	for _, name := range slices.Sorted(maps.Keys(u.built)) {
		list = append(list, u.built[name].ch)
	}
	applied, err := ob.Apply(list)
	if err != nil {
		for _, ch := range u.fresh { // not in force after all
			if l, ok := ch.Notifier.(channelLoop); ok {
				_ = l.Close(ctx)
			}
		}
		return applied, err
	}
	s.mu.Lock()
	old := s.built
	s.built = u.built
	s.mu.Unlock()
	for name, b := range old {
		l, ok := b.ch.Notifier.(channelLoop)
		if !ok {
			continue
		}
		if now, kept := u.built[name]; kept && now.ch.Notifier == b.ch.Notifier {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, flushTimeout)
		if err := l.Close(cctx); err != nil {
			log.Warn("channel loop not stopped", zap.String("channel", name), zap.Error(err))
		}
		cancel()
	}
	return applied, nil
}

// channelSource is what the constructor of c reads from cfg: when it is
// unchanged by a reload, the channel is kept as it is.
func channelSource(cfg *config.Config, c config.Channel) any {
	a := cfg.Alerting
	switch c.Kind {
	case config.ChannelSlack:
		return a.Slack
	case config.ChannelEmail:
		return a.Email
	case config.ChannelWebhook:
		for _, w := range a.Webhooks {
			if w.Name == c.Name {
				return w
			}
		}
	case config.ChannelAlertmanager: // its alerts carry the target's group
		return struct {
			am     *config.Alertmanager
			groups map[string]string
		}{a.Alertmanager, cfg.TargetGroups()}
	}
	return c
}
