package web

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The status document is assembled here from four small sources, each
// declared where it is used and each satisfied by the package that owns the
// facts: the monitor's live state, the history's uptime, the incidents, and
// the outbox's counts.

// LiveSource gives every target's live state, in a stable order.
type LiveSource interface {
	Live() []Live
}

// UptimeSource gives each target's share of passed probes since a time.
// Targets with no probe since then are absent.
type UptimeSource interface {
	Uptime(ctx context.Context, since time.Time) (map[string]float64, error)
}

// IncidentSource gives up to limit incidents, open or closed, newest first.
type IncidentSource interface {
	RecentIncidents(ctx context.Context, limit int) ([]Incident, error)
}

// ConfigSource tells which config is in force; it changes on reload.
type ConfigSource interface {
	ConfigInfo() ConfigInfo
}

// DeliverySource counts outbox rows waiting and given up on.
type DeliverySource interface {
	Deliveries() (pending, failed int)
}

// CoverSource tells what covers each target at now, for targets in order:
// "maintenance" (a maintenance window), "silenced" (a silence) or ""
// (nothing): the target's DOWNs and reminders are held meanwhile. One call
// for the whole document, however many targets. alert's cover set
// satisfies it.
type CoverSource interface {
	CoverKinds(targets []string, now time.Time) []string
}

// Live is one target as the monitor sees it now.
type Live struct {
	Name  string
	Group string // "" for a target in no group
	Kind  string // the probe kind: http, tcp, …
	URL   string // served through SafeURL
	State string // UP, DOWN, UNKNOWN
	Since time.Time
	Last  *Result // nil before the first probe
}

// Window is a span the status document reports uptime over.
type Window struct {
	Name string // the key in TargetStatus.Uptime: "24h"
	Span time.Duration
}

// DefaultWindows are the uptime spans of the status API.
var DefaultWindows = []Window{{"24h", 24 * time.Hour}, {"7d", 7 * 24 * time.Hour}, {"30d", 30 * 24 * time.Hour}}

// DefaultRecentIncidents is how many incidents the document lists.
const DefaultRecentIncidents = 20

// Assembler builds the status document from its sources. It is a
// StatusSource.
type Assembler struct {
	Live       LiveSource     // required
	Uptime     UptimeSource   // nil: no uptime figures
	Incidents  IncidentSource // nil: no incidents
	Deliveries DeliverySource // nil: zero counts
	Config     ConfigSource   // nil: no config field
	Canaries   CanarySource   // nil: no canaries field
	Covers     CoverSource    // nil: no target is silenced
	Windows    []Window       // default DefaultWindows
	Recent     int            // incidents listed; default DefaultRecentIncidents
	Now        func() time.Time
}

var _ StatusSource = (*Assembler)(nil)

// Status assembles the document: each live target with its uptime per
// window, the outbox counts and the recent incidents.
func (a *Assembler) Status(ctx context.Context) (Status, error) {
	if a.Live == nil {
		return Status{}, errors.New("status: no live source")
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	windows := a.Windows
	if windows == nil {
		windows = DefaultWindows
	}
	at := now()
	uptimes := make([]map[string]float64, len(windows))
	if a.Uptime != nil {
		for i, w := range windows {
			u, err := a.Uptime.Uptime(ctx, at.Add(-w.Span))
			if err != nil {
				return Status{}, fmt.Errorf("uptime %s: %w", w.Name, err)
			}
			uptimes[i] = u
		}
	}
	var doc Status
	live := a.Live.Live()
	var covers []string
	if a.Covers != nil {
		names := make([]string, len(live))
		for i, l := range live {
			names[i] = l.Name
		}
		covers = a.Covers.CoverKinds(names, at)
	}
	doc.Targets = make([]TargetStatus, 0, len(live))
	for i, l := range live {
		ts := TargetStatus{Name: l.Name, Group: l.Group, Kind: l.Kind, URL: l.URL, State: l.State, LastResult: l.Last}
		if i < len(covers) && covers[i] != "" {
			ts.Silenced, ts.Cover = true, covers[i]
		}
		if !l.Since.IsZero() {
			since := l.Since
			ts.Since = &since
		}
		if l.Last != nil {
			ts.LastError = l.Last.Reason
		}
		for i, w := range windows {
			if r, ok := uptimes[i][l.Name]; ok {
				if ts.Uptime == nil {
					ts.Uptime = make(map[string]float64, len(windows))
				}
				ts.Uptime[w.Name] = r
			}
		}
		doc.Targets = append(doc.Targets, ts)
	}
	if a.Config != nil {
		ci := a.Config.ConfigInfo()
		doc.Config = &ci
	}
	if a.Canaries != nil {
		doc.Canaries = canaryStatus(a.Canaries)
	}
	if a.Deliveries != nil {
		doc.Deliveries.Pending, doc.Deliveries.Failed = a.Deliveries.Deliveries()
	}
	if a.Incidents != nil {
		recent := a.Recent
		if recent <= 0 {
			recent = DefaultRecentIncidents
		}
		incs, err := a.Incidents.RecentIncidents(ctx, recent)
		if err != nil {
			return Status{}, fmt.Errorf("incidents: %w", err)
		}
		doc.Incidents = incs
	}
	return doc, nil
}
