package ingest

import (
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
)

// unknownService is the service label of refusals that name no configured
// service (malformed, unknown name, refused before the body was read): no
// label value ever comes from a client, so the series stay bounded by the
// config.
const unknownService = "unknown"

// reportCounters are one service's pollerd_reports_total series, resolved
// in New so that a request does no label lookup. Without a Registerer they
// are still counted, on series nobody reads.
type reportCounters struct {
	accepted, deduplicated, rejected prometheus.Counter
}

// add counts an accepted report: accepted when it is the first of its
// fingerprint in the dedup window (Reports.Add said so), deduplicated when
// the engine folds it into one it already has.
func (c reportCounters) add(first bool) {
	if first {
		c.accepted.Inc()
	} else {
		c.deduplicated.Inc()
	}
}

// registerMetrics creates pollerd_reports_total{service, result} with every
// configured service's three series and the "unknown" ones, and registers
// it on reg when there is one.
func (h *Handler) registerMetrics(reg prometheus.Registerer) error {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pollerd_reports_total",
		Help: `Client failure reports by service and result: accepted (first of its fingerprint), deduplicated (a repeat folded into it), rejected (4xx or 429; service="unknown" when it names no configured service).`,
	}, []string{"service", "result"})
	counters := func(service string) reportCounters {
		return reportCounters{
			accepted:     vec.WithLabelValues(service, "accepted"),
			deduplicated: vec.WithLabelValues(service, "deduplicated"),
			rejected:     vec.WithLabelValues(service, "rejected"),
		}
	}
	h.counters = counters // each service's, in settingsFor
	// A configured service called "unknown" shares its series: the label
	// stays bounded either way.
	h.unknown = counters(unknownService)
	if reg == nil {
		return nil
	}
	if err := reg.Register(vec); err != nil {
		return fmt.Errorf("ingest: register metrics: %w", err)
	}
	return nil
}

// reject refuses a report and counts it under its service, or "unknown"
// when svc is nil. Only POSTs are reports: a refused preflight or another
// method is refused without counting.
func (h *Handler) reject(w http.ResponseWriter, svc *service, e *apiError) {
	c := h.unknown
	if svc != nil {
		c = svc.counters
	}
	c.rejected.Inc()
	h.refuse(w, e)
}
