package main

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/pollerd/pollerd/internal/alert"
	"github.com/pollerd/pollerd/internal/config"
	"github.com/pollerd/pollerd/internal/monitor"
	"github.com/pollerd/pollerd/internal/probe"
	"github.com/pollerd/pollerd/internal/store"
)

// monitorSink feeds what the monitor learns to the store (batched probe
// records), to the certificate watch (each probe's certificate expiry) and
// to the alert engine (transitions).
type monitorSink struct {
	db     *store.DB
	engine *alert.Engine
	certs  *alert.CertWatch // nil: no certificate notices
}

var _ monitor.Sink = monitorSink{}

func (s monitorSink) Observe(st monitor.Status) {
	s.db.Record(store.ProbeRecord{
		Target:    st.Name,
		At:        st.Last.At,
		OK:        st.Last.OK,
		Latency:   st.Last.Duration,
		State:     string(st.State),
		Since:     st.Since,
		Failures:  st.ConsecutiveFailures,
		Successes: st.ConsecutiveSuccesses,
	})
	if s.certs != nil {
		s.certs.Observe(st.Name, st.Last.CertNotAfter, st.Last.At)
	}
}

// newCertWatch builds the certificate watch over cfg's targets (their
// cert_warn), restored from db. Its notices go straight to sink, the
// outbox: no policy stage holds or folds them.
func newCertWatch(ctx context.Context, cfg *config.Config, db *store.DB, sink alert.Sink, log *zap.Logger) (*alert.CertWatch, error) {
	w := alert.NewCertWatch(alert.CertWatchOptions{Store: db, Sink: sink, Thresholds: certThresholds(cfg),
		TargetChannels: cfg.TargetChannels(), Logger: log})
	if err := w.Load(ctx); err != nil {
		return nil, err
	}
	return w, nil
}

// certThresholds is each target's cert_warn (https and tls targets).
func certThresholds(cfg *config.Config) map[string][]time.Duration {
	out := map[string][]time.Duration{}
	for _, t := range cfg.Targets {
		if ths := probe.CertWarnings(t.Probe.Spec); len(ths) > 0 {
			out[t.Name] = ths
		}
	}
	return out
}

func (s monitorSink) Transition(t monitor.Transition) {
	s.engine.Transition(alert.Transition{
		Target: t.Target,
		From:   string(t.From),
		To:     string(t.To),
		At:     t.At,
		Since:  t.Since,
		Reason: t.Result.Reason,
	})
}

// initialStatuses turns the store's records into the monitor's restored state.
func initialStatuses(recs map[string]store.TargetRecord) []monitor.Status {
	out := make([]monitor.Status, 0, len(recs))
	for _, r := range recs {
		out = append(out, monitor.Status{
			Name:                 r.Name,
			State:                monitor.State(r.State),
			Since:                r.Since,
			ConsecutiveFailures:  r.Failures,
			ConsecutiveSuccesses: r.Successes,
		})
	}
	return out
}
