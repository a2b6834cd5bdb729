package probe

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Every fresh-connection HTTP probe takes this path instead of http.Client:
// dial, TLS when https, write the request, read the response with
// http.ReadResponse over a pooled bufio.Reader, close; and again for each
// redirect it follows, as http.Client would (see redirectChain). It does what the
// Transport did for us with a fresh connection per probe, without what it
// costs (BenchmarkDaemon10k): a persistConn with its read and write
// goroutines and their buffers, a context.WithTimeout timer, the request and
// trace plumbing. The probe's deadline is the connection's deadline; Stop
// (ctx) interrupts it through context.AfterFunc. Only the keep-alive prober
// of the benchmarks stays on http.Client.

// maxHeaderBytes bounds a response's status line and headers, as the
// Transport's MaxResponseHeaderBytes did.
const maxHeaderBytes = 64 << 10

// maxRequests is how many requests a probe that follows redirects sends at
// most, as http.Client's default CheckRedirect allows (9 redirects followed;
// the 10th fails the probe).
const maxRequests = 10

// aLongTimeAgo is a deadline in the past: it unblocks a conn's I/O at once.
var aLongTimeAgo = time.Unix(1, 0)

var brPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

var reqPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// tlsBase are the TLS settings of http targets, by skipVerify; each probe
// clones one to set its ServerName.
var tlsBase = [2]*tls.Config{
	{MinVersion: tls.VersionTLS12},
	{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true}, //nolint:gosec // the target opts out explicitly
}

// firstByteReader notes when the first response byte arrived.
type firstByteReader struct {
	r     io.Reader
	start time.Time
	first time.Duration
}

func (f *firstByteReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if n > 0 && f.first == 0 {
		f.first = time.Since(f.start)
	}
	return n, err
}

// hopReq is one request of a probe: the target's, or a redirect's.
type hopReq struct {
	url     *url.URL
	method  string
	host    string      // the Host line when it is not url.Host ("": url.Host)
	headers http.Header // sent as given; see appendRequest
	body    string
	referer string // set on redirects, as http.Client does
}

// exchange is one request's connection and response, open until close.
type exchange struct {
	conn net.Conn
	stop func() bool
	br   *bufio.Reader
	lr   *io.LimitedReader
	resp *http.Response
}

func (x *exchange) close() {
	if x.resp != nil {
		_ = x.resp.Body.Close()
	}
	x.br.Reset(nil)
	brPool.Put(x.br)
	x.stop()
	_ = x.conn.Close()
}

// probeState is what the hops of one probe share.
type probeState struct {
	ctx        context.Context
	start      time.Time
	deadline   time.Time
	timeout    time.Duration
	skipVerify bool
	tm         Timings // phases summed over the hops; FirstByte of the last
	res        *Result
}

// ctxErr says why an I/O error happened, as the probe's ctx did on the
// http.Client path: the deadline, or Stop.
func (p *probeState) ctxErr() error {
	if err := p.ctx.Err(); err != nil {
		return err
	}
	if !time.Now().Before(p.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

func (p *probeState) reason(err error) string { return errReason(err, p.ctxErr(), p.timeout) }

func probeDirect(ctx context.Context, t Target, spec HTTPSpec, res Result, timeout time.Duration) Result {
	ps := &probeState{ctx: ctx, start: res.At, deadline: res.At.Add(timeout), timeout: timeout,
		skipVerify: spec.TLSSkipVerify, res: &res}
	if d, ok := ctx.Deadline(); ok && d.Before(ps.deadline) {
		ps.deadline = d
	}
	fail := func(reason string) Result {
		res.Timings = ps.tm
		return failed(res, reason)
	}
	h := hopReq{url: t.URL, method: spec.Method, headers: spec.Headers, body: spec.Body, host: spec.Headers.Get("Host")}
	if h.method == "" {
		h.method = http.MethodGet
	}
	chain := redirectChain{first: h}
	for n := 1; ; n++ {
		x, reason := ps.do(h)
		if reason != "" {
			return fail(reason)
		}
		if spec.FollowRedirects {
			next, follow, reason := chain.next(h, x.resp)
			if follow || reason != "" {
				x.close()
				switch {
				case reason != "":
					return fail(reason)
				case n >= maxRequests:
					return fail("stopped after 10 redirects")
				}
				h = next
				continue
			}
		}
		res = ps.finish(spec, x)
		x.close()
		return res
	}
}

// finish reads the final response's body and evaluates it.
func (p *probeState) finish(spec HTTPSpec, x *exchange) Result {
	res := p.res
	res.StatusCode = x.resp.StatusCode
	var buf *bytes.Buffer
	if needsBody(spec.Expect) {
		buf = getBuffer()
		defer putBuffer(buf)
	}
	body, cut, err := readBody(x.resp.Body, buf)
	res.Duration = time.Since(p.start)
	res.BodyTruncated = cut
	res.Timings = p.tm
	if err != nil {
		return failed(*res, "read body: "+p.reason(err))
	}
	Evaluate(spec.Expect, res, body)
	return *res
}

// do sends one request on a fresh connection and reads the response's
// head; the caller closes the exchange. A non-empty reason is a failure
// (and the exchange is closed already).
func (p *probeState) do(h hopReq) (*exchange, string) {
	u := h.url
	https := u.Scheme == "https"
	p.res.CertNotAfter = time.Time{} // the last hop's certificate, as resp.TLS was
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "80"
		if https {
			port = "443"
		}
	}
	hostLine := h.host
	if hostLine == "" {
		hostLine = u.Host
	}
	bp := reqPool.Get().(*[]byte)
	defer reqPool.Put(bp)
	reqBytes, err := appendRequest((*bp)[:0], h.method, u.RequestURI(), hostLine, u.User, h.referer, h.headers, h.body)
	*bp = reqBytes[:0]
	if err != nil {
		return nil, "request: " + err.Error()
	}

	dialer := net.Dialer{KeepAlive: -1, Deadline: p.deadline} // one request per connection
	addr := net.JoinHostPort(host, port)
	var conn net.Conn
	if _, perr := netip.ParseAddr(host); perr == nil {
		t0 := time.Now()
		conn, err = dialer.DialContext(p.ctx, "tcp", addr)
		if err == nil {
			p.tm.Connect += time.Since(t0)
		}
	} else { // a name: the resolver and happy eyeballs of net.Dialer, timed by its trace hooks
		tr := newTracer(p.start)
		conn, err = dialer.DialContext(httptrace.WithClientTrace(p.ctx, tr.clientTrace()), "tcp", addr)
		s := tr.snapshot()
		p.tm.DNS += s.DNS
		p.tm.Connect += s.Connect
	}
	if err != nil {
		return nil, p.reason(err)
	}
	_ = conn.SetDeadline(p.deadline)
	x := &exchange{conn: conn, br: brPool.Get().(*bufio.Reader)}
	x.stop = context.AfterFunc(p.ctx, func() { _ = conn.SetDeadline(aLongTimeAgo) })
	failX := func(reason string) (*exchange, string) {
		x.close()
		return nil, reason
	}

	var rw io.ReadWriter = conn
	if https {
		cfg := tlsBase[b2i(p.skipVerify)].Clone()
		cfg.ServerName = host
		tc := tls.Client(conn, cfg)
		t0 := time.Now()
		err := tc.Handshake() // bounded by the conn's deadline and ctx
		p.tm.TLS += time.Since(t0)
		if err != nil {
			p.res.CertNotAfter = unverifiedNotAfter(err)
			var rec tls.RecordHeaderError
			if errors.As(err, &rec) && string(rec.RecordHeader[:]) == "HTTP/" {
				return failX("tls: server answered with plain http")
			}
			return failX(p.reason(err))
		}
		if cs := tc.ConnectionState(); len(cs.PeerCertificates) > 0 {
			p.res.CertNotAfter = cs.PeerCertificates[0].NotAfter
		}
		rw = tc
	}

	if _, err := rw.Write(reqBytes); err != nil {
		return failX(p.reason(err))
	}
	fb := &firstByteReader{r: rw, start: p.start}
	x.lr = &io.LimitedReader{R: fb, N: maxHeaderBytes}
	x.br.Reset(x.lr)
	req := &http.Request{Method: h.method} // ReadResponse needs it for HEAD
	resp, err := http.ReadResponse(x.br, req)
	for err == nil && resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
		resp, err = http.ReadResponse(x.br, req) // 1xx: informational, the answer follows
	}
	p.tm.FirstByte = fb.first
	if err != nil {
		if x.lr.N <= 0 {
			return failX("response headers exceed 64 KiB")
		}
		return failX(p.reason(err))
	}
	x.lr.N = math.MaxInt64 // the body is bounded by readBody
	x.resp = resp
	return x, ""
}

// redirectChain is what the redirects of one probe carry over: the first
// request, and two decisions that stick once made.
type redirectChain struct {
	first    hopReq
	stripped bool // sensitive headers dropped: a redirect left the first host
	noBody   bool // the body and its headers dropped: a 301, 302 or 303
}

// next is the request that follows resp, the answer to prev, when it is a
// redirect that http.Client would follow, with the method, body, headers,
// Host and Referer it would send (net/http client.go: redirectBehavior,
// makeHeadersCopier, refererForURL): headers and body come from the first
// request; sensitive headers are dropped for good once a redirect leaves
// the first host and its subdomains; the body and its headers for good
// after a 301, 302 or 303. follow is false when resp is the answer; a
// non-empty reason fails the probe (a bad Location).
func (c *redirectChain) next(prev hopReq, resp *http.Response) (next hopReq, follow bool, reason string) {
	first := c.first
	method := prev.method
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther:
		c.noBody = true
		if method != http.MethodGet && method != http.MethodHead {
			method = http.MethodGet
		}
	case http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return hopReq{}, false, ""
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return hopReq{}, false, "" // a 3xx without a Location is the answer
	}
	u, err := prev.url.Parse(loc)
	if err != nil {
		return hopReq{}, false, sanitize(fmt.Sprintf("failed to parse Location header %q: %v", loc, err))
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return hopReq{}, false, sanitize(fmt.Sprintf("unsupported protocol scheme %q", u.Scheme))
	case u.Host == "":
		return hopReq{}, false, "http: no Host in request URL"
	}
	next = hopReq{url: u, method: method}
	if prev.host != "" && prev.host != prev.url.Host {
		if lu, _ := url.Parse(loc); lu != nil && !lu.IsAbs() {
			next.host = prev.host // a custom Host survives a relative redirect
		}
	}
	if !c.noBody {
		next.body = first.body
	}
	if !c.stripped && first.url.Host != u.Host &&
		!isDomainOrSubdomain(strings.ToLower(u.Hostname()), strings.ToLower(first.url.Hostname())) {
		c.stripped = true
	}
	next.headers = make(http.Header, len(first.headers))
	for k, vs := range first.headers {
		switch http.CanonicalHeaderKey(k) {
		case "Authorization", "Www-Authenticate", "Cookie", "Cookie2", "Proxy-Authorization", "Proxy-Authenticate":
			if c.stripped {
				continue
			}
		case "Content-Encoding", "Content-Language", "Content-Location", "Content-Type":
			if c.noBody {
				continue
			}
		}
		next.headers[k] = vs
	}
	if !(prev.url.Scheme == "https" && u.Scheme == "http") && next.headers.Get("Referer") == "" {
		ref := *prev.url
		ref.User = nil
		next.referer = ref.String()
	}
	return next, true, ""
}

// isDomainOrSubdomain reports whether sub is parent or a subdomain of it
// (net/http's, for the same decision; hosts compared in lower case, not
// IDNA-folded).
func isDomainOrSubdomain(sub, parent string) bool {
	if sub == parent {
		return true
	}
	if strings.ContainsAny(sub, ":%") {
		return false
	}
	return strings.HasSuffix(sub, parent) && len(sub) > len(parent) && sub[len(sub)-len(parent)-1] == '.'
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// appendRequest appends an HTTP/1.1 request with `Connection: close`: the
// Host line (the caller's: a target's Host header, as on net/http, or the
// URL's), the headers, their User-Agent or ours, the Referer of a
// redirect, basic auth from the URL's userinfo unless an Authorization
// header is set, and the body with its length.
func appendRequest(b []byte, method, uri, host string, user *url.Userinfo, referer string, headers http.Header, body string) ([]byte, error) {
	if !validToken(method) {
		return b, errors.New("invalid method " + strconv.Quote(method))
	}
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, uri...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\n"...)
	if headers.Get("User-Agent") == "" {
		b = append(b, "User-Agent: "+UserAgent+"\r\n"...)
	}
	if user != nil && headers.Get("Authorization") == "" {
		pw, _ := user.Password()
		b = append(b, "Authorization: Basic "...)
		b = base64.StdEncoding.AppendEncode(b, []byte(user.Username()+":"+pw))
		b = append(b, "\r\n"...)
	}
	if referer != "" {
		b = append(b, "Referer: "...)
		b = append(b, referer...)
		b = append(b, "\r\n"...)
	}
	for k, vs := range headers {
		switch http.CanonicalHeaderKey(k) {
		case "Host", "Connection", "Content-Length", "Transfer-Encoding":
			continue // ours to set
		}
		if !validToken(k) {
			return b, errors.New("invalid header name " + strconv.Quote(k))
		}
		for _, v := range vs {
			if strings.ContainsAny(v, "\r\n\x00") {
				return b, errors.New("invalid value for header " + k)
			}
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	if body != "" || method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "Connection: close\r\n\r\n"...)
	b = append(b, body...)
	return b, nil
}

// validToken reports whether s is a non-empty RFC 9110 token.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
