package probe

import (
	"crypto/tls"
	"net/http/httptrace"
	"sync"
	"time"
)

// tracer records the phases of one HTTP probe. The transport calls its hooks
// from its own dial goroutine, which can outlive a timed-out request, so
// every field is guarded and read only through snapshot.
type tracer struct {
	start time.Time

	mu                              sync.Mutex
	dnsStart, connStart, tlsStart   time.Time
	dns, connect, tlsDur, firstByte time.Duration
}

func newTracer(start time.Time) *tracer { return &tracer{start: start} }

// clientTrace returns hooks that feed t. Phases add up over redirects, the
// way blackbox_exporter's roundTripTrace sums them; the first byte is that
// of the last response, which is the one evaluated.
func (t *tracer) clientTrace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		DNSStart: func(httptrace.DNSStartInfo) { t.mark(&t.dnsStart) },
		DNSDone:  func(httptrace.DNSDoneInfo) { t.since(&t.dnsStart, &t.dns) },
		// With several addresses (happy eyeballs) the first start and the
		// winner's done bound the phase.
		ConnectStart: func(string, string) {
			t.mu.Lock()
			if t.connStart.IsZero() {
				t.connStart = time.Now()
			}
			t.mu.Unlock()
		},
		ConnectDone: func(_, _ string, err error) {
			if err == nil {
				t.since(&t.connStart, &t.connect)
			}
		},
		TLSHandshakeStart: func() { t.mark(&t.tlsStart) },
		TLSHandshakeDone:  func(tls.ConnectionState, error) { t.since(&t.tlsStart, &t.tlsDur) },
		GotFirstResponseByte: func() {
			t.mu.Lock()
			t.firstByte = time.Since(t.start)
			t.mu.Unlock()
		},
	}
}

func (t *tracer) mark(at *time.Time) {
	t.mu.Lock()
	*at = time.Now()
	t.mu.Unlock()
}

// since adds the time elapsed from *from to *sum and clears *from, so the
// next hop of a redirect starts its own measurement.
func (t *tracer) since(from *time.Time, sum *time.Duration) {
	t.mu.Lock()
	if !from.IsZero() {
		*sum += time.Since(*from)
		*from = time.Time{}
	}
	t.mu.Unlock()
}

func (t *tracer) snapshot() Timings {
	t.mu.Lock()
	defer t.mu.Unlock()
	return Timings{DNS: t.dns, Connect: t.connect, TLS: t.tlsDur, FirstByte: t.firstByte}
}
