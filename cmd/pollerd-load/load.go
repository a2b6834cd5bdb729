package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"sync"
	"syscall"
	"time"
)

// DefaultVary is the path -distinct rewrites: the request path of the real
// fixtures.
const DefaultVary = "/api/stores/123"

// Options describe one load run.
type Options struct {
	URL            string // the report endpoint; its host must be loopback
	N              int    // requests to send
	Workers        int    // concurrent workers
	Body           []byte
	ContentType    string
	Distinct       bool   // rewrite Vary per request: one fingerprint each
	Vary           []byte // the path to rewrite; DefaultVary when empty
	Start          int    // the first -distinct counter value
	Timeout        time.Duration
	RequestTimeout time.Duration
}

// Result is what a run measured.
type Result struct {
	Sent      int         // requests started
	ByStatus  map[int]int // answers by HTTP status
	Errors    int         // requests without an answer (transport error, timeout)
	FirstErr  error       // the first of those errors
	Elapsed   time.Duration
	Latencies []time.Duration // of answered requests, sorted
}

// Answered is the number of requests that got an HTTP answer.
func (r *Result) Answered() int {
	n := 0
	for _, c := range r.ByStatus {
		n += c
	}
	return n
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1) of the latencies, by nearest
// rank; 0 when there are none.
func (r *Result) Quantile(q float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(q*float64(len(r.Latencies))+0.5) - 1
	return r.Latencies[min(max(i, 0), len(r.Latencies)-1)]
}

// Print writes the summary a person reads after a run.
func (r *Result) Print(w io.Writer) {
	rate := 0.0
	if r.Elapsed > 0 {
		rate = float64(r.Answered()) / r.Elapsed.Seconds()
	}
	fmt.Fprintf(w, "requests  %d in %s\n", r.Sent, r.Elapsed.Round(time.Millisecond))
	codes := make([]int, 0, len(r.ByStatus))
	for c := range r.ByStatus {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	fmt.Fprint(w, "status   ")
	for _, c := range codes {
		fmt.Fprintf(w, " %d: %d", c, r.ByStatus[c])
	}
	fmt.Fprintln(w)
	if r.Errors > 0 {
		fmt.Fprintf(w, "errors    %d (first: %v)\n", r.Errors, r.FirstErr)
	}
	fmt.Fprintf(w, "rate      %.0f reports/s\n", rate)
	fmt.Fprintf(w, "latency   p50 %s  p90 %s  p99 %s  max %s\n",
		us(r.Quantile(0.5)), us(r.Quantile(0.9)), us(r.Quantile(0.99)), us(r.Quantile(1)))
}

func us(d time.Duration) string { return d.Round(time.Microsecond).String() }

// Run sends o.N posts and returns what it measured. The error says why not
// every request was answered (the overall timeout, ctx, transport errors);
// with a nil Result the options were refused and nothing was sent.
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := CheckLoopback(o.URL); err != nil {
		return nil, err
	}
	if o.N < 1 || o.Workers < 1 || o.Start < 0 {
		return nil, errors.New("-n and -c must be at least 1, -start at least 0")
	}
	if o.Timeout <= 0 || o.RequestTimeout <= 0 {
		return nil, errors.New("timeouts must be positive")
	}
	if len(o.Vary) == 0 {
		o.Vary = []byte(DefaultVary)
	}
	if o.Distinct && !bytes.Contains(o.Body, o.Vary) {
		return nil, fmt.Errorf("-distinct: the body does not contain %q (set -vary)", o.Vary)
	}
	parts := [][]byte{o.Body}
	if o.Distinct {
		parts = bytes.Split(o.Body, o.Vary)
	}

	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	tr := newTransport(o.Workers)
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	jobs := make(chan int)
	var (
		mu  sync.Mutex
		res = &Result{ByStatus: make(map[int]int), Latencies: make([]time.Duration, 0, o.N)}
		wg  sync.WaitGroup
	)
	start := time.Now()
	for range o.Workers {
		wg.Go(func() {
			lat := make([]time.Duration, 0, o.N/o.Workers+1)
			codes := make(map[int]int)
			var errs int
			var firstErr error
			for i := range jobs {
				t0 := time.Now()
				code, err := post(ctx, client, o, body(parts, o.Start+i))
				if err != nil {
					errs++
					if firstErr == nil {
						firstErr = err
					}
					continue
				}
				lat = append(lat, time.Since(t0))
				codes[code]++
			}
			mu.Lock()
			defer mu.Unlock()
			res.Latencies = append(res.Latencies, lat...)
			for c, n := range codes {
				res.ByStatus[c] += n
			}
			res.Errors += errs
			if res.FirstErr == nil {
				res.FirstErr = firstErr
			}
		})
	}
send:
	for i := range o.N {
		select {
		case jobs <- i:
			res.Sent++
		case <-ctx.Done():
			break send
		}
	}
	close(jobs)
	wg.Wait()
	res.Elapsed = time.Since(start)
	slices.Sort(res.Latencies)

	switch {
	case res.Sent < o.N:
		return res, fmt.Errorf("sent %d of %d requests: %w", res.Sent, o.N, context.Cause(ctx))
	case res.Errors > 0:
		return res, fmt.Errorf("%d requests got no answer: %w", res.Errors, res.FirstErr)
	}
	return res, nil
}

// post sends one report and drains the answer, so the connection is reused.
func post(ctx context.Context, c *http.Client, o Options, b []byte) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, o.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.URL, bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", o.ContentType)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)); err != nil {
		return 0, fmt.Errorf("read answer: %w", err)
	}
	return resp.StatusCode, nil
}

// body is request i's body: the parts joined by /api/x<letters of i> when
// the body was split for -distinct, else the one body as is. A fresh slice
// each time: the transport may still read a body after the answer came.
func body(parts [][]byte, i int) []byte {
	if len(parts) == 1 {
		return parts[0]
	}
	return bytes.Join(parts, []byte("/api/x"+letters(i)))
}

// letters is i in bijective base 26 (0 → a, 25 → z, 26 → aa): distinct for
// every i, and with no digit, so fingerprinting never folds it into :id.
func letters(i int) string {
	var b []byte
	for n := i + 1; n > 0; n = (n - 1) / 26 {
		b = append(b, byte('a'+(n-1)%26))
	}
	slices.Reverse(b)
	return string(b)
}

// CheckLoopback accepts only http(s) URLs whose host is 127.0.0.1,
// localhost or [::1]: a load generator must not be aimed at anyone else.
func CheckLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("-url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("-url: scheme %q: want http or https", u.Scheme)
	}
	switch u.Hostname() {
	case "127.0.0.1", "localhost", "::1":
		return nil
	}
	return fmt.Errorf("-url: host %q is not loopback (127.0.0.1, localhost, [::1]); refusing to send load there", u.Hostname())
}

// newTransport keeps one connection per worker alive and dials loopback
// addresses only, whatever a name resolves to.
func newTransport(workers int) *http.Transport {
	d := &net.Dialer{
		Timeout: 5 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				return fmt.Errorf("refusing to dial %s: not loopback", host)
			}
			return nil
		},
	}
	return &http.Transport{
		DialContext:         d.DialContext,
		MaxIdleConns:        workers,
		MaxIdleConnsPerHost: workers,
		MaxConnsPerHost:     workers,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
}
