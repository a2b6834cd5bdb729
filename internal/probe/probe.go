// Package probe runs one check against one target and says whether it passed
// and, when it did not, why, in one short human line. It owns the probe kinds
// (HTTP(S), TCP, DNS, TLS) and the assertions over their results; it knows
// nothing of schedules, state or alerts.
//
// Connections are never reused: every HTTP probe dials, and for https
// handshakes, afresh (keep-alives off). A pooled keep-alive connection can
// stay healthy while the server's listener is dead — the process restarted
// and failed to bind, or a proxy lost its backend — and a probe riding it
// would report UP for a service no new client can reach. The price is a
// TCP (and TLS) handshake per probe; BenchmarkHTTP measures it against a
// keep-alive variant. Only the *http.Transport templates are shared, so no
// heavy state is allocated per probe. For the same reason TLS sessions are
// not resumed: a resumed session skips the certificate, so a replaced or
// broken certificate would go unseen and CertNotAfter would go stale.
//
// Probes ignore HTTP_PROXY and friends: only internal/config reads the
// environment, and a poller should see the server the way its clients do.
package probe

import (
	"context"
	"net/url"
	"time"
)

// Target is everything one probe needs. The caller's ctx carries no deadline
// of its own: Run applies Timeout.
type Target struct {
	Name    string
	URL     *url.URL // its scheme picks the kind (see KindOf)
	Timeout time.Duration
	// Spec holds the kind's own settings: an HTTPSpec for http and https,
	// a DNSSpec for dns, a TLSSpec for tls, nothing for tcp. nil means the
	// kind's defaults.
	Spec any
}

// Timings are the phases of an HTTP probe, measured with net/http/httptrace.
// DNS, Connect and TLS are how long each phase took, summed over redirects;
// FirstByte is the time from the start of the probe to the first byte of the
// final response (time to first byte, the phases before it included). A TCP
// probe fills Connect only (its DNS lookup included), a TLS probe Connect
// and TLS, a DNS probe DNS (the whole exchange with the resolver).
type Timings struct {
	DNS       time.Duration
	Connect   time.Duration
	TLS       time.Duration
	FirstByte time.Duration
}

// Result is what one probe found. It is plain data: the monitor keeps it, the
// status API shows it, and the alert text quotes Reason.
type Result struct {
	OK         bool
	At         time.Time     // when the probe started
	Duration   time.Duration // total, start to verdict
	Reason     string        // empty when OK; one short line otherwise
	StatusCode int           // HTTP only; 0 when no response
	Timings    Timings
	// CertNotAfter is the expiry of the leaf certificate for HTTPS and TLS, kept
	// even when verification failed (so an expired one shows when it ran
	// out); zero otherwise.
	CertNotAfter time.Time
	// Answers are the records a DNS probe got of the type it asked for, in
	// the order given: IPs for A and AAAA, host names (lower case, no
	// trailing dot) for CNAME, MX and NS, each TXT record's strings joined.
	// Nil for other kinds and when the resolver answered none.
	Answers []string
	// BodyTruncated says the HTTP body was longer than MaxBodyBytes and the
	// probe read and evaluated only the first MaxBodyBytes of it.
	BodyTruncated bool
}

// Func is the signature every probe kind has; the monitor takes one so tests
// can drive it.
type Func func(ctx context.Context, t Target) Result
