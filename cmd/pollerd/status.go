package main

import (
	"context"

	"github.com/pollerd/pollerd/internal/config"
	"github.com/pollerd/pollerd/internal/monitor"
	"github.com/pollerd/pollerd/internal/store"
	"github.com/pollerd/pollerd/internal/web"
)

// The status document is assembled in web (web.Assembler). The layout keeps
// web from importing the monitor and the store, so the two views below hand
// it their records field by field; everything else (windows, joins, order,
// redaction) is web's.

// liveView is the monitor's live state with each target's kind and URL.
type liveView struct {
	cfg func() *config.Config // the config in force (reloads change it)
	mon *monitor.Monitor
}

func (v liveView) Live() []web.Live {
	sts := v.mon.Statuses()
	cfg := v.cfg()
	targets := make(map[string]*config.Target, len(cfg.Targets)) // not cfg.Target: a scan per target
	for i := range cfg.Targets {
		targets[cfg.Targets[i].Name] = &cfg.Targets[i]
	}
	out := make([]web.Live, 0, len(sts))
	for _, st := range sts {
		t, ok := targets[st.Name]
		if !ok {
			continue
		}
		l := web.Live{Name: st.Name, Group: t.Group, Kind: t.Probe.URL.Scheme, URL: t.URL, State: string(st.State), Since: st.Since}
		if !st.Last.At.IsZero() {
			l.Last = &web.Result{OK: st.Last.OK, At: st.Last.At, Reason: st.Last.Reason,
				DurationMS: float64(st.Last.Duration.Microseconds()) / 1000, StatusCode: st.Last.StatusCode}
		}
		out = append(out, l)
	}
	return out
}

// incidentView lists the store's recent incidents for the status document.
type incidentView struct{ db *store.DB }

func (v incidentView) RecentIncidents(ctx context.Context, limit int) ([]web.Incident, error) {
	incs, err := v.db.RecentIncidents(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]web.Incident, 0, len(incs))
	for _, inc := range incs {
		wi := web.Incident{ID: inc.ID, Kind: inc.Kind, Subject: inc.Subject, OpenedAt: inc.OpenedAt,
			Cause: inc.Cause, Reports: inc.Reports}
		if !inc.Open() {
			closed := inc.ClosedAt
			wi.ClosedAt = &closed
		}
		out = append(out, wi)
	}
	return out, nil
}
