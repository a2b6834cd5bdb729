package alert

import (
	"container/list"
	"slices"
	"sync/atomic"
	"time"

	"github.com/pollerd/pollerd/internal/incident"
	"go.uber.org/zap"
)

// dedup holds the report fingerprints of the current windows. Memory is
// bounded by max entries whatever the flood: the least recently seen entry is
// evicted first, and leaves both lists at once.
type dedup struct {
	window   time.Duration
	max      int
	perSvc   int
	entries  map[string]*fpEntry
	lru      *list.List // *fpEntry, most recently seen at the front
	expiry   *list.List // *fpEntry in creation order, which is expiry order
	services map[string]*svcWindow
	other    *svcWindow   // evicted fingerprints, for all services
	limited  atomic.Int64 // reports refused with 429 since the last summary
	// limitedSince is when the limited count was last reported (or the
	// engine started): a count no summary took for a window is reported on
	// its own, so a flood that is only ever refused is still told.
	limitedSince time.Time
}

// fpEntry is one fingerprint in its window.
type fpEntry struct {
	first    Report
	count    int                // reports in the window, the first included
	opened   time.Time          // the window's start
	pending  bool               // waiting for its confirmation to settle
	absorbed *incident.Incident // the target incident whose DOWN carried it
	incident *incident.Incident // its own service incident, once announced
	elem     *list.Element      // in lru
	expElem  *list.Element      // in expiry
}

// svcWindow counts what a service's window did not itemise.
type svcWindow struct {
	opened    time.Time
	announced int // distinct errors announced on their own
	reports   int // reports folded into the overflow summary
	distinct  int
}

func newDedup(window time.Duration, max, perSvc int, now time.Time) *dedup {
	return &dedup{window: window, max: max, perSvc: perSvc, limitedSince: now,
		entries: make(map[string]*fpEntry), lru: list.New(), expiry: list.New(), services: make(map[string]*svcWindow)}
}

// Add takes an accepted report. It returns true when the report is the
// first of its fingerprint in the window and will be announced on its own,
// once Settle says its confirmation ended; ingest then confirms the service.
func (e *Engine) Add(r Report) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	if inc := e.serviceIncident(r.Service); inc != nil {
		// The service's target is down: the report joins that outage.
		inc.Reports++
		e.dirty[inc.ID] = inc
		return false
	}
	d := e.reports
	if ent := d.entries[r.Fingerprint]; ent != nil {
		if ent.pending || now.Before(ent.opened.Add(d.window)) {
			ent.count++
			d.lru.MoveToFront(ent.elem)
			if ent.absorbed != nil {
				ent.absorbed.Reports++
				e.dirty[ent.absorbed.ID] = ent.absorbed
			}
			return false
		}
		e.closeEntry(ent, now)
	}
	if len(d.entries) >= d.max {
		e.evictOldest(now)
	}
	ent := &fpEntry{first: r, count: 1, opened: now}
	ent.elem = d.lru.PushFront(ent)
	ent.expElem = d.expiry.PushBack(ent)
	d.entries[r.Fingerprint] = ent

	sw := d.services[r.Service]
	if sw == nil || !now.Before(sw.opened.Add(d.window)) {
		if sw != nil {
			e.closeServiceWindow(r.Service, sw, now)
		}
		sw = &svcWindow{opened: now}
		d.services[r.Service] = sw
	}
	if sw.announced >= d.perSvc {
		// Too many distinct errors at once: fold the rest into one summary.
		sw.reports++
		sw.distinct++
		ent.incident = nil
		ent.pending = false
		ent.count = 0 // its repeats are counted in sw through overflow
		return false
	}
	sw.announced++
	ent.pending = true
	return true
}

// Settle announces the first report of a fingerprint after its
// confirmation, unless a DOWN of the service's target carried it.
func (e *Engine) Settle(r Report) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ent := e.reports.entries[r.Fingerprint]
	if ent == nil || !ent.pending {
		return
	}
	ent.pending = false
	if ent.absorbed != nil {
		return
	}
	now := e.now()
	e.nextID++
	inc := &incident.Incident{ID: e.nextID, Kind: incident.KindService, Subject: r.Service, OpenedAt: ent.opened,
		Cause: requestLine(ent.first), Reports: ent.count}
	if inc.Cause == "" {
		inc.Cause = Truncate(oneLine(firstNonEmpty(r.Code, r.Message, r.Opaque)), 200)
	}
	ent.incident = inc
	e.commit(incident.Change{Incidents: []incident.Incident{*inc}, Deliveries: e.deliveries(reportMessage(*inc, ent.first, now), ent.first.Channels)})
}

// RateLimited counts a report refused with 429, for the next summary.
func (e *Engine) RateLimited() {
	e.reports.limited.Add(1) // no lock: a flood's 429s must stay cheap
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

// absorbPending hands reports waiting on confirmation for the target's
// services to its new incident; the DOWN message then carries them.
func (e *Engine) absorbPending(target string, inc *incident.Incident) []reportSummary {
	var taken []*fpEntry
	for _, svc := range e.tgtSvcs[target] {
		for _, ent := range e.reports.entries {
			if ent.pending && ent.absorbed == nil && ent.first.Service == svc {
				ent.absorbed = inc
				inc.Reports += ent.count
				taken = append(taken, ent)
			}
		}
	}
	// The most reported first, then the oldest: the DOWN's text quotes the first.
	slices.SortFunc(taken, func(a, b *fpEntry) int {
		if a.count != b.count {
			return b.count - a.count
		}
		return a.opened.Compare(b.opened)
	})
	out := make([]reportSummary, len(taken))
	for i, ent := range taken {
		out[i] = summarize(ent.first, ent.count)
	}
	return out
}

// releaseAbsorbed forgets the fingerprints an outage carried, when it
// ends: their reports were counted in it, and a client that still fails
// after the recovery must alert afresh, not feed a closed incident.
func (e *Engine) releaseAbsorbed(inc *incident.Incident) {
	d := e.reports
	for _, ent := range d.entries {
		if ent.absorbed == inc {
			d.forget(ent)
		}
	}
}

// expireReports closes the windows that ended.
func (e *Engine) expireReports() {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	d := e.reports
	var waiting []*fpEntry
	for front := d.expiry.Front(); front != nil; front = d.expiry.Front() {
		ent := front.Value.(*fpEntry)
		if now.Before(ent.opened.Add(d.window)) {
			break
		}
		if ent.pending {
			// Its confirmation has not settled (at most ConfirmTimeout):
			// a DOWN may still carry it. Look again at the next tick.
			d.expiry.Remove(front)
			waiting = append(waiting, ent)
			continue
		}
		e.closeEntry(ent, now)
	}
	for i := len(waiting) - 1; i >= 0; i-- {
		waiting[i].expElem = d.expiry.PushFront(waiting[i])
	}
	for svc, sw := range d.services {
		if !now.Before(sw.opened.Add(d.window)) {
			e.closeServiceWindow(svc, sw, now)
			delete(d.services, svc)
		}
	}
	if d.other != nil && !now.Before(d.other.opened.Add(d.window)) {
		e.closeServiceWindow("", d.other, now)
		d.other = nil
	}
	// The next summary says how many were rate-limited. When none is due
	// (no window open) a window after the last one, or none came in two,
	// the count is told on its own.
	idle := d.expiry.Len() == 0 && len(d.services) == 0 && d.other == nil
	if since := d.limitedSince; idle && !now.Before(since.Add(d.window)) || !now.Before(since.Add(2*d.window)) {
		if n := d.takeLimited(now); n > 0 {
			e.nextID++
			inc := incident.Incident{ID: e.nextID, Kind: incident.KindService, Subject: "*", OpenedAt: since, ClosedAt: now,
				Cause: "client reports rate-limited"}
			e.log.Warn("client reports rate-limited", zap.Int("count", n))
			e.commit(incident.Change{Incidents: []incident.Incident{inc}, Deliveries: e.deliveries(rateLimitedMessage(inc, n, now.Sub(since), now), nil)})
		}
	}
}

// closeEntry ends a fingerprint's window: one summary when it repeated.
func (e *Engine) closeEntry(ent *fpEntry, now time.Time) {
	d := e.reports
	d.forget(ent)
	inc := ent.incident
	if inc == nil {
		if ent.absorbed == nil && ent.count > 0 {
			// Never announced (its confirmation had not settled, or it was over
			// the service's budget): fold into the service's overflow.
			e.overflow(ent.first.Service, now).reports += ent.count
		}
		return
	}
	inc.Reports, inc.ClosedAt = ent.count, now
	c := incident.Change{Incidents: []incident.Incident{*inc}}
	if ent.count > 1 {
		m := summaryMessage(*inc, ent.first, ent.count, d.takeLimited(now), now.Sub(ent.opened), now)
		c.Deliveries = e.deliveries(m, ent.first.Channels)
	}
	e.commit(c)
}

// evictOldest makes room: the least recently seen fingerprint goes, its
// count into the "other errors" summary.
func (e *Engine) evictOldest(now time.Time) {
	d := e.reports
	back := d.lru.Back()
	// A report waiting on its confirmation is not evicted: Settle would
	// find nothing to announce. There are few (each waits ≤ 3 s).
	for back != nil && back.Value.(*fpEntry).pending {
		back = back.Prev()
	}
	if back == nil {
		return
	}
	ent := back.Value.(*fpEntry)
	d.forget(ent)
	if ent.absorbed != nil {
		return // counted in its outage
	}
	if d.other == nil {
		d.other = &svcWindow{opened: now}
	}
	d.other.distinct++
	if ent.incident != nil {
		d.other.reports += ent.count - 1 // its first was announced; the repeats were not
	} else {
		d.other.reports += ent.count // over the budget: count holds its repeats only
	}
	if ent.incident != nil {
		ent.incident.Reports, ent.incident.ClosedAt = ent.count, now
		e.persist.commit(incident.Change{Incidents: []incident.Incident{*ent.incident}}, nil)
	}
}

func (e *Engine) overflow(service string, now time.Time) *svcWindow {
	sw := e.reports.services[service]
	if sw == nil {
		sw = &svcWindow{opened: now}
		e.reports.services[service] = sw
	}
	return sw
}

// closeServiceWindow sends one summary of what the window did not itemise.
func (e *Engine) closeServiceWindow(service string, sw *svcWindow, now time.Time) {
	if sw.reports == 0 {
		return
	}
	e.nextID++
	inc := &incident.Incident{ID: e.nextID, Kind: incident.KindService, Subject: firstNonEmpty(service, "*"),
		OpenedAt: sw.opened, ClosedAt: now, Cause: "other client errors", Reports: sw.reports}
	m := overflowMessage(*inc, service, sw.reports, max(sw.distinct, 1), e.reports.takeLimited(now), now.Sub(sw.opened), now)
	e.log.Info("client reports folded into a summary", zap.String("service", service), zap.Int("reports", sw.reports))
	e.commit(incident.Change{Incidents: []incident.Incident{*inc}, Deliveries: e.deliveries(m, nil)})
}

// forget drops an entry from the map and both lists.
func (d *dedup) forget(ent *fpEntry) {
	d.lru.Remove(ent.elem)
	d.expiry.Remove(ent.expElem)
	if d.entries[ent.first.Fingerprint] == ent {
		delete(d.entries, ent.first.Fingerprint)
	}
}

// takeLimited returns the rate-limited count for a summary, and resets it.
func (d *dedup) takeLimited(now time.Time) int {
	d.limitedSince = now
	return int(d.limited.Swap(0))
}
