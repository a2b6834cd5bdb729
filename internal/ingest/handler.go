// Package ingest owns the public report endpoint (POST /api/v1/reports):
// clients that saw an API call fail send what they saw. Every byte is
// hostile, so requests are rate-limited before the body is read, bodies are
// capped and decoded strictly, secrets are scrubbed out before anything
// leaves the handler, and each accepted report gets a fingerprint that folds
// the same failure from many clients into one. Accepted reports go to the
// alert engine; the first of a fingerprint also triggers a confirmation (a
// probe of the service's targets right now), run in a goroutine this
// handler owns and waits for in Close.
package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/pollerd/pollerd/internal/alert"
)

// Defaults for zero Options fields (DESIGN.md's config defaults).
const (
	DefaultMaxBodyBytes   = 65536
	DefaultPerIP          = rate.Limit(5)
	DefaultPerIPBurst     = 20
	DefaultGlobal         = rate.Limit(500)
	DefaultConfirmTimeout = 3 * time.Second
)

// Service is one name the endpoint accepts reports for.
type Service struct {
	Name string
	// AllowedOrigins are the browser origins (exact match) that may report
	// for this service. A request without Origin is a server-side client
	// and is not checked.
	AllowedOrigins []string
	// Token, when not empty, must come as "Authorization: Bearer <token>".
	Token string
}

// Options configure a Handler. Zero values take the defaults above.
type Options struct {
	Services []Service
	// Channels are the notifier names pollerd has ("slack", "log"); a
	// report's `types` may only name these.
	Channels []string
	// MaxBodyBytes caps a body; larger ones get 413.
	MaxBodyBytes int64
	// PerIP and PerIPBurst shape each client's token bucket; Global caps
	// all clients together, with a burst of max(1, int(Global)). Pass
	// rate.Inf to disable one.
	PerIP          rate.Limit
	PerIPBurst     int
	Global         rate.Limit
	TrustedProxies []netip.Prefix // whose X-Forwarded-For is believed
	Reports        Reports
	// Confirmer probes a service's targets on the first report of a
	// fingerprint; nil settles reports at once.
	Confirmer Confirmer
	// ConfirmTimeout bounds one confirmation: a first report waits at
	// most this long before the engine announces it (DESIGN: ≤ 3 s).
	ConfirmTimeout time.Duration
	// Logger gets debug lines only: service and fingerprint of accepted
	// reports, the status of refused ones; never a byte of a body.
	Logger *zap.Logger
	Now    func() time.Time // the clock of rate limits and Report.At
	// Registerer gets pollerd_reports_total (metrics.go); nil: none.
	Registerer prometheus.Registerer
}

// Reports is what ingest needs from the alert engine.
type Reports interface {
	// Add takes an accepted report; it returns true when the report is the
	// first of its fingerprint in the dedup window and the engine waits for
	// Settle before announcing it.
	Add(r alert.Report) (first bool)
	// Settle tells the engine the confirmation for a first report ended; the
	// engine announces the report unless a DOWN absorbed it.
	Settle(r alert.Report)
	// RateLimited counts a report refused with 429 (for the window summary).
	RateLimited()
}

// Confirmer probes a service's targets at once and returns when they are
// settled or ctx ends.
type Confirmer interface {
	ConfirmService(ctx context.Context, service string)
}

// Handler serves the report endpoint. Create it with New; stop it with
// Close after the HTTP server stopped sending it requests.
type Handler struct {
	// set is what a reload may change (apply.go), read once per request.
	set            atomic.Pointer[settings]
	applyMu        sync.Mutex                          // serializes Apply
	counters       func(service string) reportCounters // a service's series
	reports        Reports
	confirmer      Confirmer
	confirmTimeout time.Duration
	log            *zap.Logger
	now            func() time.Time
	unknown        reportCounters // refusals that name no configured service

	// ctx parents every confirmation; Close cancels it when its own
	// deadline runs out.
	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex // guards closed and wg.Add against Close's wg.Wait
	closed bool
	wg     sync.WaitGroup
}

type service struct {
	name      string
	origins   map[string]bool
	hasToken  bool
	tokenHash [sha256.Size]byte // compared in constant time, whatever the length
	counters  reportCounters
}

// New checks o and builds a Handler.
func New(o Options) (*Handler, error) {
	if o.Reports == nil {
		return nil, errors.New("ingest: no Reports")
	}
	h := &Handler{
		reports:        o.Reports,
		confirmer:      o.Confirmer,
		confirmTimeout: o.ConfirmTimeout,
		log:            o.Logger,
		now:            o.Now,
	}
	if h.confirmTimeout <= 0 {
		h.confirmTimeout = DefaultConfirmTimeout
	}
	if h.log == nil {
		h.log = zap.NewNop()
	}
	if h.now == nil {
		h.now = time.Now
	}
	if err := h.registerMetrics(o.Registerer); err != nil {
		return nil, err
	}
	set, err := h.settingsFor(o, nil)
	if err != nil {
		return nil, err
	}
	h.set.Store(set)
	h.ctx, h.cancel = context.WithCancel(context.Background())
	return h, nil
}

// ServeHTTP checks a report in DESIGN.md's order (429, 415, 413, 400, 404,
// 403, 401) and answers 202 once the report is handed to the engine; the
// confirmation, if any, runs after the answer.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Origin")
	switch r.Method {
	case http.MethodPost:
	case http.MethodOptions:
		if r.Header.Get("Access-Control-Request-Method") != "" {
			h.preflight(w, r)
			return
		}
		w.Header().Set("Allow", "OPTIONS, POST")
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		h.refuse(w, errMethod)
		return
	}

	// Until the service is known, a page from an origin that some service
	// lists may read the refusal; a stranger's page may not.
	set := h.set.Load()
	origin := r.Header.Get("Origin")
	if origin != "" && set.anyOrigin[origin] {
		allowOrigin(w, origin)
	}

	now := h.now()
	if ok, wait := set.limiter.allow(clientIP(r, set.trusted), now); !ok {
		h.reports.RateLimited()
		h.reject(w, nil, &apiError{status: http.StatusTooManyRequests, msg: "rate limited: retry later", retryAfter: wait})
		return
	}
	if !mediaTypeOK(r.Header.Get("Content-Type")) {
		h.reject(w, nil, errContentType)
		return
	}
	buf := bufPool.Get().(*bytes.Buffer)
	defer putBuf(buf, set.maxBody)
	if e := readBody(w, r, set.maxBody, buf); e != nil {
		h.reject(w, nil, e)
		return
	}
	req, e := decodeBody(buf.Bytes(), set.channels)
	if e != nil {
		h.reject(w, nil, e)
		return
	}
	svc := set.services[req.service]
	if svc == nil {
		h.reject(w, nil, errUnknownService)
		return
	}
	if origin != "" && !svc.origins[origin] {
		w.Header().Del("Access-Control-Allow-Origin")
		h.reject(w, svc, errOrigin)
		return
	}
	if svc.hasToken && !bearerOK(r.Header.Get("Authorization"), &svc.tokenHash) {
		h.reject(w, svc, errUnauthorized)
		return
	}

	rep := buildReport(req, now)
	first := h.reports.Add(rep)
	svc.counters.add(first)
	h.log.Debug("report accepted",
		zap.String("service", rep.Service), zap.String("fingerprint", rep.Fingerprint), zap.Bool("first", first))
	if first {
		h.confirm(rep)
	}
	writeAccepted(w)
}

// buildReport turns a validated request into the scrubbed, fingerprinted
// report the engine gets.
func buildReport(req request, now time.Time) alert.Report {
	d := describe(req.description)
	// The strings are cloned: unscrubbed ones are substrings of the whole
	// description, and the engine may hold a report for its dedup window;
	// a 3 KB body must not stay alive for a 40-byte message.
	rep := alert.Report{
		Service:    strings.Clone(req.service),
		Channels:   req.channels,
		Method:     strings.Clone(d.method),
		Host:       strings.Clone(d.host),
		Path:       strings.Clone(d.path),
		Status:     d.status,
		StatusText: statusText(d.status),
		Code:       strings.Clone(d.code),
		Message:    strings.Clone(d.message),
		Opaque:     strings.Clone(d.opaque),
		At:         now,
	}
	rep.Fingerprint = fingerprint(&rep)
	return rep
}

// confirm runs the confirmation for a first report in a goroutine the
// handler owns, then settles the report. After Close no confirmation
// starts: the report is settled at once so the engine still announces it.
// Their number is bounded by the global rate × ConfirmTimeout (and, in
// practice, by the engine's dedup: only first reports are confirmed).
func (h *Handler) confirm(rep alert.Report) {
	h.mu.Lock()
	if h.closed || h.confirmer == nil {
		h.mu.Unlock()
		h.reports.Settle(rep)
		return
	}
	h.wg.Add(1)
	h.mu.Unlock()
	go func() {
		defer h.wg.Done()
		ctx, cancel := context.WithTimeout(h.ctx, h.confirmTimeout)
		defer cancel()
		h.confirmer.ConfirmService(ctx, rep.Service)
		h.reports.Settle(rep)
	}()
}

// Close stops new confirmations and waits for those in flight to settle.
// When ctx ends first, it cancels them (a Confirmer returns when its ctx
// ends), waits for their Settle calls, and returns ctx's error.
func (h *Handler) Close(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
		h.cancel()
		return nil
	case <-ctx.Done():
		h.cancel()
		<-done
		return fmt.Errorf("ingest: confirmations cut short: %w", ctx.Err())
	}
}

func (h *Handler) refuse(w http.ResponseWriter, e *apiError) {
	h.log.Debug("report refused", zap.Int("status", e.status))
	writeError(w, e)
}

// bearerOK checks "Bearer <token>" against the service's token hash.
// Hashing first makes the comparison constant-time in the length too.
func bearerOK(header string, want *[sha256.Size]byte) bool {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// putBuf returns a body buffer to the pool unless a body grew it past the
// limit (it cannot, but a pool must not keep outsized buffers).
func putBuf(b *bytes.Buffer, max int64) {
	if int64(b.Cap()) > 2*max+bytes.MinRead {
		return
	}
	b.Reset()
	bufPool.Put(b)
}
