package probe

import (
	"context"
	"fmt"
	"time"
)

// DefaultTimeout bounds a probe whose Target has no Timeout, so no probe can
// hang forever; the config normally sets one.
const DefaultTimeout = 10 * time.Second

// Run probes t with the kind its URL scheme names (see KindOf): http and
// https go to HTTP, tcp to TCP. Each kind applies t.Timeout as a deadline on ctx. Run
// never panics: an unknown scheme, a missing URL or even a bug in a probe is
// a failed Result with a reason.
func Run(ctx context.Context, t Target) (res Result) {
	defer func() {
		if v := recover(); v != nil {
			if res.At.IsZero() {
				res.At = time.Now()
			}
			res.OK, res.Reason = false, "internal error: probe panicked"
		}
	}()
	if t.URL == nil {
		return failed(Result{At: time.Now()}, "no url")
	}
	k, ok := KindOf(t.URL.Scheme)
	if !ok {
		return failed(Result{At: time.Now()}, fmt.Sprintf("unsupported scheme %q", truncate(t.URL.Scheme)))
	}
	return k.Probe(ctx, t)
}

// timeoutOf is the deadline a probe of t gets.
func timeoutOf(t Target) time.Duration {
	if t.Timeout > 0 {
		return t.Timeout
	}
	return DefaultTimeout
}

// failed marks res failed with reason, filling Duration if the probe did not.
func failed(res Result, reason string) Result {
	res.OK = false
	res.Reason = reason
	if res.Duration == 0 && !res.At.IsZero() {
		res.Duration = time.Since(res.At)
	}
	return res
}
