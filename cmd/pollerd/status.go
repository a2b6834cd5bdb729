package main

import (
	"context"
	"time"

	"github.com/pollerd/pollerd/internal/alert"
	"github.com/pollerd/pollerd/internal/config"
	"github.com/pollerd/pollerd/internal/monitor"
	"github.com/pollerd/pollerd/internal/store"
	"github.com/pollerd/pollerd/internal/web"
)

// statusSource builds the status document from the monitor (live state),
// the store (uptime, incidents) and the engine (the outbox).
type statusSource struct {
	cfg    *config.Config
	mon    *monitor.Monitor
	db     *store.DB
	engine *alert.Engine
	now    func() time.Time
}

var _ web.StatusSource = statusSource{}

// uptimeWindows are the spans the status API reports uptime over.
var uptimeWindows = []struct {
	name string
	span time.Duration
}{{"24h", 24 * time.Hour}, {"7d", 7 * 24 * time.Hour}, {"30d", 30 * 24 * time.Hour}}

func (s statusSource) Status(ctx context.Context) (web.Status, error) {
	now := s.now()
	uptimes := make([]map[string]store.UptimeOf, len(uptimeWindows))
	for i, w := range uptimeWindows {
		u, err := s.db.UptimeAll(ctx, now.Add(-w.span))
		if err != nil {
			return web.Status{}, err
		}
		uptimes[i] = u
	}
	var doc web.Status
	for _, st := range s.mon.Statuses() {
		t, ok := s.cfg.Target(st.Name)
		if !ok {
			continue
		}
		ts := web.TargetStatus{Name: st.Name, Kind: t.ParsedURL.Scheme, URL: t.URL, State: string(st.State)}
		if !st.Since.IsZero() {
			since := st.Since
			ts.Since = &since
		}
		if !st.Last.At.IsZero() {
			ts.LastResult = &web.Result{OK: st.Last.OK, At: st.Last.At, Reason: st.Last.Reason,
				DurationMS: float64(st.Last.Duration.Microseconds()) / 1000, StatusCode: st.Last.StatusCode}
			ts.LastError = st.Last.Reason
		}
		for i, w := range uptimeWindows {
			if u, ok := uptimes[i][st.Name]; ok {
				if ts.Uptime == nil {
					ts.Uptime = make(map[string]float64, len(uptimeWindows))
				}
				ts.Uptime[w.name] = u.Ratio
			}
		}
		doc.Targets = append(doc.Targets, ts)
	}
	doc.Deliveries.Pending, doc.Deliveries.Failed = s.engine.Deliveries()
	incs, err := s.db.RecentIncidents(ctx, 20)
	if err != nil {
		return web.Status{}, err
	}
	for _, inc := range incs {
		wi := web.Incident{ID: inc.ID, Kind: inc.Kind, Subject: inc.Subject, OpenedAt: inc.OpenedAt,
			Cause: inc.Cause, Reports: inc.Reports}
		if !inc.ClosedAt.IsZero() {
			closed := inc.ClosedAt
			wi.ClosedAt = &closed
		}
		doc.Incidents = append(doc.Incidents, wi)
	}
	return doc, nil
}
