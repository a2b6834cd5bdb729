package alert

import (
	"slices"
)

// Apply puts a reloaded config in force: o's Services, Targets and
// TargetChannels replace the engine's; its other fields (the store, the
// sink, the dedup window and bounds, the logger, the clock) are fixed at New
// and ignored here. Incidents of targets still configured stay open, so a
// target that is still down sends no second DOWN. An open incident of a
// target no longer configured (o.Targets non-nil) is retired as by Retire:
// one "no longer monitored" NOTICE, and it closes. Call it after the
// monitor stopped the removed targets, so that no transition of theirs
// comes after.
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
	var removed []string
	for target := range e.open {
		if !slices.Contains(o.Targets, target) {
			removed = append(removed, target)
		}
	}
	slices.Sort(removed)
	e.retireLocked(removed)
}
