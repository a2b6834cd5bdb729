package alert

import (
	"container/list"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Dedup folds client reports by fingerprint into windows. It decides and
// the engine acts: Add says what to do with a report, Settle whether its
// first report is announced, and windows that end come back as Windows to
// close or summarise. It holds no incident, only ids the engine gave it.
//
// Memory is bounded by max entries whatever the flood: the least recently
// seen entry is evicted first, and leaves both lists at once. It is safe for
// concurrent use; RateLimited takes no lock, so a flood's 429s stay cheap.
type Dedup struct {
	window time.Duration
	max    int
	perSvc int

	mu       sync.Mutex
	entries  map[string]*fpEntry
	lru      *list.List // *fpEntry, most recently seen at the front
	expiry   *list.List // *fpEntry in creation order, which is expiry order
	services map[string]*svcWindow
	other    *svcWindow // evicted fingerprints, for all services
	// limitedSince is when the limited count was last told (or Dedup was
	// made): a count no summary took for a window is told on its own, so a
	// flood that is only ever refused is still told.
	limitedSince time.Time
	limited      atomic.Int64 // reports refused with 429 since the last summary
}

// Action is what Add decided for a report.
type Action int

const (
	// Announce: the first of its fingerprint in the window. Confirm its
	// service, then Settle announces it unless an outage absorbed it.
	Announce Action = iota + 1
	// Count: a repeat, counted into its window's summary.
	Count
	// Absorb: a repeat of a report an outage carried; count it into the
	// outage's incident (Decision.Incident).
	Absorb
	// Overflow: a new error over its service's budget, folded into the
	// service's summary.
	Overflow
)

// Decision is what Add decided, and the windows the report closed on its
// way in (a stale window of its fingerprint, an evicted fingerprint, its
// service's ended window), to act on in order.
type Decision struct {
	Action   Action
	Incident int64 // Absorb: the incident that carries the fingerprint
	Ended    []Window
}

// Ending says why a window is handed back.
type Ending int

const (
	// Settled: a first report whose confirmation ended, to announce as the
	// incident Settle was given.
	Settled Ending = iota
	// Repeated: an announced fingerprint's window ended: close its incident
	// with Reports, and summarise it when Reports > 1.
	Repeated
	// Evicted: an announced fingerprint made room for a new one: close its
	// incident with Reports; no message.
	Evicted
	// Overflowed: what a service's window (Service "" for evicted
	// fingerprints of all services) did not itemise: one summary.
	Overflowed
	// RateLimitedAlone: 429s no summary counted, told on their own.
	RateLimitedAlone
)

// Window is a window handed back to the engine.
type Window struct {
	Ending      Ending
	Service     string    // Overflowed: "" for all services
	First       Report    // Settled, Repeated, Evicted: the fingerprint's first report
	Reports     int       // reports counted in the window
	Distinct    int       // Overflowed: distinct errors folded
	RateLimited int       // 429s this summary tells; taken from the count
	Opened      time.Time // when the window began (RateLimitedAlone: the count's start)
	Incident    int64     // Repeated, Evicted: the incident its announcement opened
}

// fpEntry is one fingerprint in its window.
type fpEntry struct {
	first    Report
	count    int       // reports in the window, the first included
	opened   time.Time // the window's start
	pending  bool      // waiting for its confirmation to settle
	absorbed int64     // the target incident whose DOWN carried it; 0: none
	incident int64     // its own service incident, once announced; 0: none
	elem     *list.Element
	expElem  *list.Element
}

// svcWindow counts what a service's window did not itemise.
type svcWindow struct {
	opened    time.Time
	announced int // distinct errors announced on their own
	reports   int // reports folded into the overflow summary
	distinct  int
}

// NewDedup returns a Dedup folding repeats for window, holding at most max
// fingerprints and announcing at most perService distinct errors per
// service and window.
func NewDedup(window time.Duration, max, perService int, now time.Time) *Dedup {
	return &Dedup{window: window, max: max, perSvc: perService, limitedSince: now,
		entries: make(map[string]*fpEntry), lru: list.New(), expiry: list.New(), services: make(map[string]*svcWindow)}
}

// Add takes an accepted report at now.
func (d *Dedup) Add(r Report, now time.Time) Decision {
	d.mu.Lock()
	defer d.mu.Unlock()
	var dec Decision
	if ent := d.entries[r.Fingerprint]; ent != nil {
		if ent.pending || now.Before(ent.opened.Add(d.window)) {
			ent.count++
			d.lru.MoveToFront(ent.elem)
			if ent.absorbed != 0 {
				return Decision{Action: Absorb, Incident: ent.absorbed}
			}
			return Decision{Action: Count}
		}
		dec.Ended = d.closeEntry(dec.Ended, ent, now)
	}
	if len(d.entries) >= d.max {
		dec.Ended = d.evictOldest(dec.Ended, now)
	}
	ent := &fpEntry{first: r, count: 1, opened: now}
	ent.elem = d.lru.PushFront(ent)
	ent.expElem = d.expiry.PushBack(ent)
	d.entries[r.Fingerprint] = ent

	sw := d.services[r.Service]
	if sw == nil || !now.Before(sw.opened.Add(d.window)) {
		if sw != nil {
			dec.Ended = d.closeServiceWindow(dec.Ended, r.Service, sw, now)
		}
		sw = &svcWindow{opened: now}
		d.services[r.Service] = sw
	}
	if sw.announced >= d.perSvc {
		// Too many distinct errors at once: fold the rest into one summary.
		sw.reports++
		sw.distinct++
		ent.count = 0 // its repeats are counted in sw through overflow
		dec.Action = Overflow
		return dec
	}
	sw.announced++
	ent.pending = true
	dec.Action = Announce
	return dec
}

// Settle ends the confirmation of a first report. It returns the window to
// announce as incident id, and false when there is none: no first report
// is waiting, or an outage absorbed it.
func (d *Dedup) Settle(fingerprint string, id int64) (Window, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ent := d.entries[fingerprint]
	if ent == nil || !ent.pending {
		return Window{}, false
	}
	ent.pending = false
	if ent.absorbed != 0 {
		return Window{}, false
	}
	ent.incident = id
	return Window{Ending: Settled, Service: ent.first.Service, First: ent.first, Reports: ent.count, Opened: ent.opened, Incident: id}, true
}

// RateLimited counts a report refused with 429, for the next summary.
func (d *Dedup) RateLimited() { d.limited.Add(1) }

// Absorb hands the reports of services that wait on their confirmation to
// the outage incident id, whose DOWN then carries them: the most reported
// first, then the oldest.
func (d *Dedup) Absorb(services []string, id int64) []Window {
	if len(services) == 0 {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var taken []*fpEntry
	for _, ent := range d.entries {
		if ent.pending && ent.absorbed == 0 && slices.Contains(services, ent.first.Service) {
			ent.absorbed = id
			taken = append(taken, ent)
		}
	}
	slices.SortFunc(taken, func(a, b *fpEntry) int {
		if a.count != b.count {
			return b.count - a.count
		}
		return a.opened.Compare(b.opened)
	})
	out := make([]Window, len(taken))
	for i, ent := range taken {
		out[i] = Window{Service: ent.first.Service, First: ent.first, Reports: ent.count, Opened: ent.opened}
	}
	return out
}

// Release forgets the fingerprints the outage id carried, when it ends:
// their reports were counted in it, and a client that still fails after
// the recovery must alert afresh, not feed a closed incident.
func (d *Dedup) Release(id int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, ent := range d.entries {
		if ent.absorbed == id {
			d.forget(ent)
		}
	}
}

// Expire closes the windows that ended by now and returns what they leave
// to tell, in order.
func (d *Dedup) Expire(now time.Time) []Window {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []Window
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
		out = d.closeEntry(out, ent, now)
	}
	for i := len(waiting) - 1; i >= 0; i-- {
		waiting[i].expElem = d.expiry.PushFront(waiting[i])
	}
	for svc, sw := range d.services {
		if !now.Before(sw.opened.Add(d.window)) {
			out = d.closeServiceWindow(out, svc, sw, now)
			delete(d.services, svc)
		}
	}
	if d.other != nil && !now.Before(d.other.opened.Add(d.window)) {
		out = d.closeServiceWindow(out, "", d.other, now)
		d.other = nil
	}
	// The next summary says how many were rate-limited. When none is due
	// (no window open) a window after the last one, or none came in two,
	// the count is told on its own.
	idle := d.expiry.Len() == 0 && len(d.services) == 0 && d.other == nil
	if since := d.limitedSince; idle && !now.Before(since.Add(d.window)) || !now.Before(since.Add(2*d.window)) {
		if n := d.takeLimited(now); n > 0 {
			out = append(out, Window{Ending: RateLimitedAlone, RateLimited: n, Opened: since})
		}
	}
	return out
}

// closeEntry ends a fingerprint's window: one summary when it repeated.
func (d *Dedup) closeEntry(out []Window, ent *fpEntry, now time.Time) []Window {
	d.forget(ent)
	if ent.incident == 0 {
		if ent.absorbed == 0 && ent.count > 0 {
			// Never announced (its confirmation had not settled, or it was over
			// the service's budget): fold into the service's overflow.
			d.overflow(ent.first.Service, now).reports += ent.count
		}
		return out
	}
	w := Window{Ending: Repeated, Service: ent.first.Service, First: ent.first, Reports: ent.count, Opened: ent.opened, Incident: ent.incident}
	if ent.count > 1 {
		w.RateLimited = d.takeLimited(now)
	}
	return append(out, w)
}

// evictOldest makes room: the least recently seen fingerprint goes, its
// count into the "other errors" summary.
func (d *Dedup) evictOldest(out []Window, now time.Time) []Window {
	back := d.lru.Back()
	// A report waiting on its confirmation is not evicted: Settle would
	// find nothing to announce. There are few (each waits ≤ 3 s).
	for back != nil && back.Value.(*fpEntry).pending {
		back = back.Prev()
	}
	if back == nil {
		return out
	}
	ent := back.Value.(*fpEntry)
	d.forget(ent)
	if ent.absorbed != 0 {
		return out // counted in its outage
	}
	if d.other == nil {
		d.other = &svcWindow{opened: now}
	}
	d.other.distinct++
	if ent.incident != 0 {
		d.other.reports += ent.count - 1 // its first was announced; the repeats were not
		return append(out, Window{Ending: Evicted, Service: ent.first.Service, First: ent.first, Reports: ent.count,
			Opened: ent.opened, Incident: ent.incident})
	}
	d.other.reports += ent.count // over the budget: count holds its repeats only
	return out
}

func (d *Dedup) overflow(service string, now time.Time) *svcWindow {
	sw := d.services[service]
	if sw == nil {
		sw = &svcWindow{opened: now}
		d.services[service] = sw
	}
	return sw
}

// closeServiceWindow hands back one summary of what the window did not itemise.
func (d *Dedup) closeServiceWindow(out []Window, service string, sw *svcWindow, now time.Time) []Window {
	if sw.reports == 0 {
		return out
	}
	return append(out, Window{Ending: Overflowed, Service: service, Reports: sw.reports, Distinct: max(sw.distinct, 1),
		RateLimited: d.takeLimited(now), Opened: sw.opened})
}

// forget drops an entry from the map and both lists.
func (d *Dedup) forget(ent *fpEntry) {
	d.lru.Remove(ent.elem)
	d.expiry.Remove(ent.expElem)
	if d.entries[ent.first.Fingerprint] == ent {
		delete(d.entries, ent.first.Fingerprint)
	}
}

// takeLimited returns the rate-limited count for a summary, and resets it.
func (d *Dedup) takeLimited(now time.Time) int {
	d.limitedSince = now
	return int(d.limited.Swap(0))
}
