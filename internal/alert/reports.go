package alert

import (
	"time"

	"github.com/pollerd/pollerd/internal/incident"
	"go.uber.org/zap"
)

// The engine's side of client reports: it asks its Dedup and acts on the
// decisions, where they meet the target incidents it holds. ingest calls
// Add, Settle and RateLimited.

// Add takes an accepted report. It returns true when the report is the
// first of its fingerprint in the window and will be announced on its own,
// once Settle says its confirmation ended; ingest then confirms the service.
func (e *Engine) Add(r Report) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	if inc := e.serviceIncident(r.Service); inc != nil {
		// The service's target is down: the report joins that outage.
		e.countInto(inc)
		return false
	}
	d := e.reports.Add(r, now)
	e.ended(d.Ended, now)
	switch d.Action {
	case Announce:
		return true
	case Absorb:
		for _, inc := range e.open {
			if inc.ID == d.Incident {
				e.countInto(inc)
			}
		}
	}
	return false
}

// Settle announces the first report of a fingerprint after its
// confirmation, unless a DOWN of the service's target carried it.
func (e *Engine) Settle(r Report) {
	e.mu.Lock()
	defer e.mu.Unlock()
	// An id is taken whether or not the window uses it: a gap in ids is
	// harmless, and a policy stage may take ids concurrently.
	w, ok := e.reports.Settle(r.Fingerprint, e.NewIncidentID())
	if !ok {
		return
	}
	inc := reportIncident(w)
	e.sink.Emit(incident.Change{Incidents: []incident.Incident{inc}}, reportMessage(inc, w.First, e.now()))
}

// RateLimited counts a report refused with 429, for the next summary.
func (e *Engine) RateLimited() { e.reports.RateLimited() }

// expireReports closes the report windows that ended.
func (e *Engine) expireReports() {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	e.ended(e.reports.Expire(now), now)
}

// ended closes and summarises the windows Dedup handed back.
func (e *Engine) ended(ws []Window, now time.Time) {
	for _, w := range ws {
		switch w.Ending {
		case Repeated:
			inc := reportIncident(w)
			inc.ClosedAt = now
			c := incident.Change{Incidents: []incident.Incident{inc}}
			if w.Reports > 1 {
				e.sink.Emit(c, summaryMessage(inc, w.First, w.Reports, w.RateLimited, now.Sub(w.Opened), now))
				continue
			}
			e.sink.Emit(c)
		case Evicted:
			inc := reportIncident(w)
			inc.ClosedAt = now
			e.sink.Emit(incident.Change{Incidents: []incident.Incident{inc}})
		case Overflowed:
			inc := incident.Incident{ID: e.NewIncidentID(), Kind: incident.KindService, Subject: firstNonEmpty(w.Service, "*"),
				OpenedAt: w.Opened, ClosedAt: now, Cause: "other client errors", Reports: w.Reports}
			e.log.Info("client reports folded into a summary", zap.String("service", w.Service), zap.Int("reports", w.Reports))
			e.sink.Emit(incident.Change{Incidents: []incident.Incident{inc}},
				overflowMessage(inc, w.Service, w.Reports, w.Distinct, w.RateLimited, now.Sub(w.Opened), now))
		case RateLimitedAlone:
			inc := incident.Incident{ID: e.NewIncidentID(), Kind: incident.KindService, Subject: "*", OpenedAt: w.Opened, ClosedAt: now,
				Cause: "client reports rate-limited"}
			e.log.Warn("client reports rate-limited", zap.Int("count", w.RateLimited))
			e.sink.Emit(incident.Change{Incidents: []incident.Incident{inc}},
				rateLimitedMessage(inc, w.RateLimited, now.Sub(w.Opened), now))
		}
	}
}

// reportIncident is the service incident an announced fingerprint opened.
func reportIncident(w Window) incident.Incident {
	return incident.Incident{ID: w.Incident, Kind: incident.KindService, Subject: w.First.Service, OpenedAt: w.Opened,
		Cause: reportCause(w.First), Reports: w.Reports}
}

// serviceIncident is the open incident of one of the service's targets.
func (e *Engine) serviceIncident(service string) *incident.Incident {
	for _, t := range e.svcTargets[service] {
		if inc := e.open[t]; inc != nil {
			return inc
		}
	}
	return nil
}

// countInto counts one report into an open outage; housekeeping emits it.
func (e *Engine) countInto(inc *incident.Incident) {
	inc.Reports++
	e.dirty[inc.ID] = inc
}
