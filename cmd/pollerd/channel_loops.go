package main

import (
	"context"
	"fmt"
	"os"
	"slices"

	"go.uber.org/zap"

	"github.com/pollerd/pollerd/internal/alert"
	"github.com/pollerd/pollerd/internal/alert/alertmanager"
	"github.com/pollerd/pollerd/internal/alert/outbox"
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

// startChannelLoops restores each looping channel's firing set from the
// open incidents of configured targets and starts its loop. Call it
// before the outbox runs, so a restored alert is re-posted before anything
// else reaches the channel; the loops stop after the outbox flushed.
func startChannelLoops(ctx context.Context, cfg *config.Config, db alert.Loader, channels []outbox.Channel, lc *lifecycle) error {
	var loops []channelLoop
	for _, ch := range channels {
		if l, ok := ch.Notifier.(channelLoop); ok {
			loops = append(loops, l)
		}
	}
	if len(loops) == 0 {
		return nil
	}
	snap, err := db.Load(ctx)
	if err != nil {
		return fmt.Errorf("load open incidents: %w", err)
	}
	names := cfg.TargetNames()
	open := slices.DeleteFunc(snap.OpenIncidents, func(inc incident.Incident) bool {
		return inc.Kind != incident.KindTarget || !slices.Contains(names, inc.Subject)
	})
	for _, l := range loops {
		l.Restore(open)
		l.Run(context.WithoutCancel(ctx))
		lc.onStop(l.Name()+" loop", flushTimeout, l.Close)
	}
	return nil
}
