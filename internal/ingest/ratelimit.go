package ingest

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Bounds of the per-client table: an IP-spraying flood must not grow memory
// without bound. An entry idle this long is as good as a fresh one (its
// bucket refilled long ago), so sweeping it changes no decision.
const (
	clientIdle    = 10 * time.Minute
	sweepEvery    = time.Minute
	maxClientsDef = 100_000
)

// limiter is a token bucket per client address plus one global bucket.
// IPv6 clients are keyed by their /64: one host usually owns a whole /64, so
// keying by /128 would hand it 2^64 buckets.
type limiter struct {
	perIP      rate.Limit
	burst      int
	global     *rate.Limiter
	maxClients int

	mu        sync.Mutex
	clients   map[netip.Addr]*client
	lastSweep time.Time
}

type client struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiter(perIP rate.Limit, burst int, global rate.Limit, maxClients int, now time.Time) *limiter {
	gb := int(global)
	if gb < 1 || global == rate.Inf {
		gb = 1
	}
	return &limiter{
		perIP:      perIP,
		burst:      burst,
		global:     rate.NewLimiter(global, gb),
		maxClients: maxClients,
		clients:    make(map[netip.Addr]*client),
		lastSweep:  now,
	}
}

// allow takes one token from the client's bucket and one from the global
// bucket. When either is empty it takes none and says how long to wait.
func (l *limiter) allow(ip netip.Addr, now time.Time) (bool, time.Duration) {
	key := clientKey(ip)
	l.mu.Lock()
	if now.Sub(l.lastSweep) >= sweepEvery {
		l.sweep(now)
	}
	c := l.clients[key]
	if c == nil {
		if len(l.clients) >= l.maxClients {
			l.evictOne()
		}
		c = &client{lim: rate.NewLimiter(l.perIP, l.burst)}
		l.clients[key] = c
	}
	c.seen = now
	l.mu.Unlock()

	r := c.lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	g := l.global.ReserveN(now, 1)
	if !g.OK() {
		r.CancelAt(now)
		return false, time.Second
	}
	if d := g.DelayFrom(now); d > 0 {
		g.CancelAt(now)
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep drops clients idle for clientIdle. Called with mu held, at most once
// a sweepEvery, so its cost (one pass over the table) is spread thin.
func (l *limiter) sweep(now time.Time) {
	for k, c := range l.clients {
		if now.Sub(c.seen) > clientIdle {
			delete(l.clients, k)
		}
	}
	l.lastSweep = now
}

// evictOne makes room in a full table by dropping an arbitrary entry (map
// order is random). Under a spraying flood that may forget a real client's
// bucket; the global bucket still caps what gets through.
func (l *limiter) evictOne() {
	for k := range l.clients {
		delete(l.clients, k)
		return
	}
}

func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}

func clientKey(ip netip.Addr) netip.Addr {
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.Addr()
		}
	}
	return ip
}

// clientIP is the address a request came from: RemoteAddr's host, or, when
// RemoteAddr is a trusted proxy, the right-most X-Forwarded-For address that
// is not itself a trusted proxy (everything left of it is client-supplied
// and could be forged).
func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	ip := parseAddr(r.RemoteAddr)
	if !ip.IsValid() || !isTrusted(ip, trusted) {
		return ip
	}
	values := r.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		hops := strings.Split(values[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			hop := parseAddr(strings.TrimSpace(hops[j]))
			if !hop.IsValid() {
				return ip // garbage: stop at the last address we could vouch for
			}
			ip = hop
			if !isTrusted(hop, trusted) {
				return ip
			}
		}
	}
	return ip
}

// parseAddr reads "ip", "ip:port" or "[ip]:port"; the zero Addr otherwise.
func parseAddr(s string) netip.Addr {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("")
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		if a, err := netip.ParseAddr(host); err == nil {
			return a.Unmap().WithZone("")
		}
	}
	return netip.Addr{}
}

func isTrusted(ip netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
