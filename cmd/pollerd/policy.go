package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/pollerd/pollerd/internal/alert"
	"github.com/pollerd/pollerd/internal/config"
	"github.com/pollerd/pollerd/internal/monitor"
	"github.com/pollerd/pollerd/internal/web"
)

// policy holds the alert policy stages that cmd wires between the engine
// and the outbox, in this order (alert/doc.go):
//
//	engine → grouping → reminders → canaries → cover (windows, silences) → outbox
//
// Grouping first, so what follows sees one grouped DOWN; reminders after
// it, so a member is reminded of only once its (grouped) DOWN went by;
// canaries then hold DOWNs, follow-ups and reminders while pollerd's own
// network is down; the cover last, holding what a window or silence covers.
//
// Every stage is built, whatever the config: one that is off (no groups,
// repeat_interval 0, no canaries) passes everything on, so that a reload
// can turn it on (apply).
type policy struct {
	grouping    *alert.Grouping
	reminders   *alert.Reminders
	canaries    *alert.Canaries
	hasCanaries bool // configured at start: the status API's canaries field
	confirm     *lateConfirmer
}

func newPolicy(cfg *config.Config, log *zap.Logger) *policy {
	p := &policy{confirm: &lateConfirmer{}}
	p.grouping = alert.NewGrouping(alert.GroupOptions{Groups: cfg.Groups(), Wait: cfg.Alerting.GroupWait,
		Confirmer: p.confirm, Logger: log.Named("group")})
	p.reminders = alert.NewReminders(alert.ReminderOptions{Interval: cfg.Alerting.RepeatInterval,
		Groups: cfg.TargetGroups(), Logger: log.Named("reminders")})
	p.canaries = alert.NewCanaries(alert.CanaryOptions{Canaries: cfg.Canaries.Targets, Quorum: cfg.Canaries.Quorum,
		Confirmer: p.confirm, Logger: log.Named("canaries")})
	p.hasCanaries = len(cfg.Canaries.Targets) > 0
	return p
}

// apply puts a reloaded config's policy in force: groups and group_wait,
// repeat_interval, canaries and quorum. removed are the targets the
// reload removed: reminders forget them.
func (p *policy) apply(cfg *config.Config, removed []string) {
	p.grouping.Apply(cfg.Groups(), cfg.Alerting.GroupWait)
	p.reminders.Apply(cfg.Alerting.RepeatInterval, cfg.TargetGroups())
	p.reminders.Forget(removed)
	p.canaries.Apply(cfg.Canaries.Targets, cfg.Canaries.Quorum)
}

// stages are the policy's stages for alert.Chain, in order.
func (p *policy) stages() []alert.Stage {
	return []alert.Stage{p.grouping.Stage, p.reminders.Stage, p.canaries.Stage}
}

// start restores the stages from the store and starts their loops; call it
// before the engine's Load (whose removals then pass through them), with
// the engine built.
func (p *policy) start(ctx context.Context, db policyStore, engine *alert.Engine, lc *lifecycle) error {
	snap, err := db.Load(ctx)
	if err != nil {
		return fmt.Errorf("load policy state: %w", err)
	}
	held, err := db.UnannouncedGroupIncidents(ctx) // grouped DOWNs a cover held at the stop
	if err != nil {
		return fmt.Errorf("load held grouped alerts: %w", err)
	}
	p.grouping.UseIDs(engine.NewIncidentID)
	p.canaries.Restore(snap.Targets)
	p.reminders.Restore(snap.OpenIncidents)
	p.reminders.Run(context.WithoutCancel(ctx))
	// After the cover's Load: a grouped DOWN held at the stop is held again.
	p.grouping.Unannounced(held)
	p.grouping.Restore(snap)
	lc.onStop("alert policy", flushTimeout, p.close) // before the engine and the outbox
	return nil
}

// policyStore is what the policy restores from; *store.DB.
type policyStore interface {
	alert.Loader
	alert.UnannouncedGroups
}

func (p *policy) close(ctx context.Context) error {
	return errors.Join(p.grouping.Close(ctx), p.reminders.Close(ctx), p.canaries.Close(ctx))
}

// canarySource is the status API's canaries field; nil without canaries
// at start (the field is there or not from start to stop).
func (p *policy) canarySource() web.CanarySource {
	if !p.hasCanaries {
		return nil
	}
	return p.canaries
}

// lateConfirmer confirms through the monitor, which is built after the
// engine and its stages: until set, it confirms nothing.
type lateConfirmer struct {
	mon atomic.Pointer[monitor.Monitor]
}

func (c *lateConfirmer) set(m *monitor.Monitor) { c.mon.Store(m) }

// Confirm re-probes targets and returns those whose last probe failed.
func (c *lateConfirmer) Confirm(ctx context.Context, targets []string) []string {
	m := c.mon.Load()
	if m == nil {
		return nil
	}
	var failing []string
	for _, st := range m.Confirm(ctx, targets) {
		if !st.Last.At.IsZero() && !st.Last.OK {
			failing = append(failing, st.Name)
		}
	}
	return failing
}
