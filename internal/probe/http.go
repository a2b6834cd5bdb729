package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"time"
)

// httpKind probes http:// and https:// URLs; its settings are an HTTPSpec,
// decoded by decodeHTTP (http_decode.go).
var httpKind = Kind{
	Schemes:  []string{"http", "https"},
	CheckURL: checkHTTPURL,
	Keys:     []string{"method", "headers", "body", "follow_redirects", "tls_skip_verify", "cert_warn", "expect"},
	Decode:   decodeHTTP,
	Probe:    HTTP,
}

// HTTPSpec is the settings of an http or https target. The zero value is a
// GET that does not follow redirects, verifies TLS and expects a 2xx.
type HTTPSpec struct {
	Method          string // default GET
	Headers         http.Header
	Body            string
	FollowRedirects bool
	TLSSkipVerify   bool
	// CertWarn are the certificate validity thresholds (longest first)
	// under which a notice goes out; see CertWarnings. A plain http target
	// has no certificate and so never warns.
	CertWarn []time.Duration
	Expect   Expect
}

// MaxBodyBytes is how much of a response body a probe reads. A target that
// streams gigabytes is cut here: the probe evaluates what it read, sets
// Result.BodyTruncated, and returns.
const MaxBodyBytes = 1 << 20

// UserAgent is sent unless the target's headers set one.
const UserAgent = "pollerd/1 (+uptime probe)"

// HTTP probes an http or https target: one request, a fresh connection, the
// body read up to MaxBodyBytes, then Evaluate over the response. t.Spec is an
// HTTPSpec or nil.
func HTTP(ctx context.Context, t Target) Result {
	return defaultHTTP.probe(ctx, t)
}

// defaultHTTP is immutable after init: sharing it across goroutines is the
// same as sharing http.DefaultTransport.
var defaultHTTP = newHTTPProber(false)

// httpProber holds the four clients a probe can need — TLS verification on or
// off, redirects followed or not — over two shared transports. keepAlive
// exists for the benchmark that prices the fresh-connection choice.
type httpProber struct {
	clients   [2][2]*http.Client // [skipVerify][follow]
	keepAlive bool
	// viaClient sends every probe through clients; otherwise they take the
	// direct path (http_fast.go). True with keepAlive, and in the tests
	// that hold the direct path to http.Client's behaviour.
	viaClient bool
}

func newHTTPProber(keepAlive bool) *httpProber {
	p := &httpProber{keepAlive: keepAlive, viaClient: keepAlive}
	for skip := range 2 {
		tr := newTransport(skip == 1, keepAlive)
		p.clients[skip][0] = &http.Client{Transport: tr, CheckRedirect: noRedirect}
		p.clients[skip][1] = &http.Client{Transport: tr} // Go's default: up to 10
	}
	return p
}

// newTransport builds a transport template. Timeouts come from the probe's
// ctx, not from here, so one transport serves every target.
func newTransport(skipVerify, keepAlive bool) *http.Transport {
	dialer := &net.Dialer{KeepAlive: -1} // a probe's connection lives for one request
	return &http.Transport{
		Proxy:                  nil, // see the package doc: no environment
		DialContext:            dialer.DialContext,
		TLSClientConfig:        &tls.Config{InsecureSkipVerify: skipVerify, MinVersion: tls.VersionTLS12}, //nolint:gosec // the target opts out explicitly
		DisableKeepAlives:      !keepAlive,
		MaxIdleConnsPerHost:    1,
		MaxResponseHeaderBytes: 64 << 10,
	}
}

// noRedirect makes the 3xx itself the response, so a target can assert it.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func (p *httpProber) probe(ctx context.Context, t Target) Result {
	start := time.Now()
	res := Result{At: start}
	if t.URL == nil {
		return failed(res, "no url")
	}
	spec, ok := t.Spec.(HTTPSpec)
	if !ok && t.Spec != nil {
		return failed(res, fmt.Sprintf("http: spec is %T, want HTTPSpec", t.Spec))
	}
	timeout := timeoutOf(t)
	if !p.viaClient {
		return probeDirect(ctx, t, spec, res, timeout) // http_fast.go
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	tr := newTracer(start)
	req, err := newRequest(httptrace.WithClientTrace(ctx, tr.clientTrace()), t.URL, spec)
	if err != nil {
		return failed(res, "request: "+sanitize(err.Error()))
	}
	resp, err := p.client(spec).Do(req)
	if err != nil {
		res.Timings = tr.snapshot()
		res.CertNotAfter = unverifiedNotAfter(err)
		return failed(res, errReason(err, ctx.Err(), timeout))
	}
	defer resp.Body.Close()

	res.StatusCode = resp.StatusCode
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		res.CertNotAfter = resp.TLS.PeerCertificates[0].NotAfter
	}
	var buf *bytes.Buffer
	if needsBody(spec.Expect) {
		buf = getBuffer()
		defer putBuffer(buf)
	}
	body, cut, err := readBody(resp.Body, buf)
	res.Duration = time.Since(start)
	res.BodyTruncated = cut
	res.Timings = tr.snapshot()
	if err != nil {
		return failed(res, "read body: "+errReason(err, ctx.Err(), timeout))
	}
	Evaluate(spec.Expect, &res, body)
	return res
}

func (p *httpProber) client(s HTTPSpec) *http.Client {
	skip, follow := 0, 0
	if s.TLSSkipVerify {
		skip = 1
	}
	if s.FollowRedirects {
		follow = 1
	}
	return p.clients[skip][follow]
}

func newRequest(ctx context.Context, u *url.URL, s HTTPSpec) (*http.Request, error) {
	method := s.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if s.Body != "" {
		body = strings.NewReader(s.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	for k, vs := range s.Headers {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if h := req.Header.Get("Host"); h != "" {
		req.Host = h // net/http sends req.Host, never a Host header
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", UserAgent)
	}
	return req, nil
}

func needsBody(e Expect) bool {
	return e.BodyContains != "" || e.BodyRegex != nil || len(e.JSON) > 0
}

// readBody reads at most MaxBodyBytes, and one byte more to learn whether
// the body went on. With no buf (no body checks) it only drains, so nothing
// is kept; either way a body that never ends costs at most MaxBodyBytes.
func readBody(r io.Reader, buf *bytes.Buffer) (body []byte, cut bool, err error) {
	lr := io.LimitReader(r, MaxBodyBytes+1)
	if buf == nil {
		n, err := io.Copy(io.Discard, lr)
		return nil, n > MaxBodyBytes, err
	}
	_, err = buf.ReadFrom(lr)
	body = buf.Bytes()
	if len(body) > MaxBodyBytes {
		return body[:MaxBodyBytes], true, err
	}
	return body, false, err
}

// unverifiedNotAfter keeps a failed certificate's expiry, so a status page
// can show when an expired or untrusted certificate ran out.
func unverifiedNotAfter(err error) time.Time {
	var verr *tls.CertificateVerificationError
	if errors.As(err, &verr) && len(verr.UnverifiedCertificates) > 0 {
		return verr.UnverifiedCertificates[0].NotAfter
	}
	return time.Time{}
}

// bufPool recycles body buffers; buffers that grew past maxPooled are
// dropped so a few huge bodies do not pin memory for good.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooled = 64 << 10

func getBuffer() *bytes.Buffer { return bufPool.Get().(*bytes.Buffer) }

func putBuffer(b *bytes.Buffer) {
	if b.Cap() > maxPooled {
		return
	}
	b.Reset()
	bufPool.Put(b)
}
