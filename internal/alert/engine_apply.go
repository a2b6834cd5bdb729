package alert

import (
	"slices"

	"go.uber.org/zap"

	"github.com/pollerd/pollerd/internal/incident"
)

// Apply puts a reloaded config in force: o's Services, Targets and
// TargetChannels replace the engine's; its other fields (the store, the
// sink, the dedup window and bounds, the logger, the clock) are fixed at New
// and ignored here. Incidents of targets still configured stay open, so a
// target that is still down sends no second DOWN. An open incident of a
// target no longer configured (o.Targets non-nil) is closed at once, with
// a warning line and no message, as at Load: nothing would ever recover it.
// Call it after the monitor stopped the removed targets, so that no
// transition of theirs comes after.
//
// TODO(policy): send the removed target's "no longer monitored" notice
// (DESIGN: Removed while DOWN) through Engine.Retire once it exists.
func (e *Engine) Apply(o Options) {
	tgtSvcs := make(map[string][]string)
	for svc, targets := range o.Services {
		for _, t := range targets {
			tgtSvcs[t] = append(tgtSvcs[t], svc)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.opts.Services = o.Services
	e.opts.Targets = o.Targets
	e.opts.TargetChannels = o.TargetChannels
	e.svcTargets = o.Services
	e.tgtSvcs = tgtSvcs
	if o.Targets == nil {
		return
	}
	var closed []incident.Incident
	for target, inc := range e.open {
		if slices.Contains(o.Targets, target) {
			continue
		}
		inc.ClosedAt = e.now()
		e.reports.Release(inc.ID)
		delete(e.open, target)
		delete(e.dirty, inc.ID)
		closed = append(closed, *inc)
		e.log.Warn("open incident closed: its target is no longer configured",
			zap.String("target", target), zap.Int64("incident", inc.ID), zap.Time("down_since", inc.OpenedAt))
	}
	if len(closed) > 0 {
		slices.SortFunc(closed, func(a, b incident.Incident) int { return int(a.ID - b.ID) })
		e.sink.Emit(incident.Change{Incidents: closed})
	}
}
