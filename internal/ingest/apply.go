package ingest

import (
	"crypto/sha256"
	"fmt"
	"net/netip"
	"slices"

	"golang.org/x/time/rate"
)

// settings are the parts of Options that a reload may change: the services
// (names, origins, tokens), the channel names, the body cap, the rate
// limits and the trusted proxies. A request reads them once, so it is
// checked against one config, never half of two.
type settings struct {
	services  map[string]*service
	anyOrigin map[string]bool // union of all services' origins, for preflights
	channels  map[string]bool
	maxBody   int64
	trusted   []netip.Prefix
	limiter   *limiter
	limits    limits // what limiter was built with
}

type limits struct {
	perIP  rate.Limit
	burst  int
	global rate.Limit
}

// settingsFor checks o's changeable parts and builds them. The limiter of
// prev is kept when the limits did not change, so a reload does not refill
// every client's bucket.
func (h *Handler) settingsFor(o Options, prev *settings) (*settings, error) {
	s := &settings{
		services:  make(map[string]*service, len(o.Services)),
		anyOrigin: make(map[string]bool),
		channels:  make(map[string]bool, len(o.Channels)),
		maxBody:   o.MaxBodyBytes,
		trusted:   slices.Clone(o.TrustedProxies),
	}
	for i, sv := range o.Services {
		if sv.Name == "" {
			return nil, fmt.Errorf("ingest: services[%d]: empty name", i)
		}
		if s.services[sv.Name] != nil {
			return nil, fmt.Errorf("ingest: services[%d]: duplicate name %q", i, sv.Name)
		}
		svc := &service{name: sv.Name, origins: make(map[string]bool, len(sv.AllowedOrigins)), counters: h.counters(sv.Name)}
		for _, origin := range sv.AllowedOrigins {
			svc.origins[origin] = true
			s.anyOrigin[origin] = true
		}
		if sv.Token != "" {
			svc.hasToken, svc.tokenHash = true, sha256.Sum256([]byte(sv.Token))
		}
		s.services[sv.Name] = svc
	}
	for _, c := range o.Channels {
		s.channels[c] = true
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	s.limits = limits{perIP: o.PerIP, burst: o.PerIPBurst, global: o.Global}
	if s.limits.perIP <= 0 {
		s.limits.perIP = DefaultPerIP
	}
	if s.limits.burst <= 0 {
		s.limits.burst = DefaultPerIPBurst
	}
	if s.limits.global <= 0 {
		s.limits.global = DefaultGlobal
	}
	if prev != nil && prev.limits == s.limits {
		s.limiter = prev.limiter
	} else {
		s.limiter = newLimiter(s.limits.perIP, s.limits.burst, s.limits.global, maxClientsDef, h.now())
	}
	return s, nil
}

// Apply puts a reloaded config in force for the requests that start after
// it: o's Services, Channels, MaxBodyBytes, rate limits (PerIP, PerIPBurst,
// Global; changed limits start with full buckets) and TrustedProxies. The
// other fields (the engine, the confirmer, timeouts, logger, clock,
// metrics) are fixed at New and ignored. On an error nothing changes.
func (h *Handler) Apply(o Options) error {
	h.applyMu.Lock()
	defer h.applyMu.Unlock()
	s, err := h.settingsFor(o, h.set.Load())
	if err != nil {
		return err
	}
	h.set.Store(s)
	return nil
}
