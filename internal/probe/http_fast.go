package probe

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
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

// The common case — one request that follows no redirect — takes this path
// instead of http.Client: dial, TLS when https, write the request, read the
// response with http.ReadResponse over a pooled bufio.Reader, close. It does
// what the Transport did for us with a fresh connection per probe, without
// what it costs (BenchmarkDaemon10k): a persistConn with its read and write
// goroutines and their buffers, a context.WithTimeout timer, the request and
// trace plumbing. The probe's deadline is the connection's deadline; Stop
// (ctx) interrupts it through context.AfterFunc. Redirects, and the
// keep-alive prober of the benchmarks, stay on http.Client.

// maxHeaderBytes bounds a response's status line and headers, as the
// Transport's MaxResponseHeaderBytes did.
const maxHeaderBytes = 64 << 10

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

func probeDirect(ctx context.Context, t Target, spec HTTPSpec, res Result, timeout time.Duration) Result {
	start := res.At
	deadline := start.Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	u := t.URL
	https := u.Scheme == "https"
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "80"
		if https {
			port = "443"
		}
	}
	var tm Timings
	// ctxErr says why an I/O error happened, as the probe's ctx did on the
	// http.Client path: the deadline, or Stop.
	ctxErr := func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !time.Now().Before(deadline) {
			return context.DeadlineExceeded
		}
		return nil
	}
	fail := func(reason string) Result {
		res.Timings = tm
		return failed(res, reason)
	}

	method := spec.Method
	if method == "" {
		method = http.MethodGet
	}
	bp := reqPool.Get().(*[]byte)
	defer reqPool.Put(bp)
	reqBytes, err := appendRequest((*bp)[:0], method, u.RequestURI(), u.Host, u.User, spec)
	*bp = reqBytes[:0]
	if err != nil {
		return fail("request: " + err.Error())
	}

	dialer := net.Dialer{KeepAlive: -1, Deadline: deadline} // one request per connection
	addr := net.JoinHostPort(host, port)
	var conn net.Conn
	if _, perr := netip.ParseAddr(host); perr == nil {
		t0 := time.Now()
		conn, err = dialer.DialContext(ctx, "tcp", addr)
		if err == nil {
			tm.Connect = time.Since(t0)
		}
	} else { // a name: the resolver and happy eyeballs of net.Dialer, timed by its trace hooks
		tr := newTracer(start)
		conn, err = dialer.DialContext(httptrace.WithClientTrace(ctx, tr.clientTrace()), "tcp", addr)
		s := tr.snapshot()
		tm.DNS, tm.Connect = s.DNS, s.Connect
	}
	if err != nil {
		return fail(errReason(err, ctxErr(), timeout))
	}
	defer conn.Close()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(aLongTimeAgo) })
	defer stop()

	var rw io.ReadWriter = conn
	var tc *tls.Conn
	if https {
		cfg := tlsBase[b2i(spec.TLSSkipVerify)].Clone()
		cfg.ServerName = host
		tc = tls.Client(conn, cfg)
		t0 := time.Now()
		err := tc.Handshake() // bounded by the conn's deadline and ctx
		tm.TLS = time.Since(t0)
		if err != nil {
			res.CertNotAfter = unverifiedNotAfter(err)
			var rec tls.RecordHeaderError
			if errors.As(err, &rec) && string(rec.RecordHeader[:]) == "HTTP/" {
				return fail("tls: server answered with plain http")
			}
			return fail(errReason(err, ctxErr(), timeout))
		}
		if cs := tc.ConnectionState(); len(cs.PeerCertificates) > 0 {
			res.CertNotAfter = cs.PeerCertificates[0].NotAfter
		}
		rw = tc
	}

	if _, err := rw.Write(reqBytes); err != nil {
		return fail(errReason(err, ctxErr(), timeout))
	}
	fb := &firstByteReader{r: rw, start: start}
	lr := &io.LimitedReader{R: fb, N: maxHeaderBytes}
	br := brPool.Get().(*bufio.Reader)
	br.Reset(lr)
	defer func() { br.Reset(nil); brPool.Put(br) }()
	req := &http.Request{Method: method} // ReadResponse needs it for HEAD
	resp, err := http.ReadResponse(br, req)
	for err == nil && resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
		resp, err = http.ReadResponse(br, req) // 1xx: informational, the answer follows
	}
	tm.FirstByte = fb.first
	if err != nil {
		if lr.N <= 0 {
			return fail("response headers exceed 64 KiB")
		}
		return fail(errReason(err, ctxErr(), timeout))
	}
	lr.N = math.MaxInt64 // the body is bounded by readBody
	defer resp.Body.Close()

	res.StatusCode = resp.StatusCode
	var buf *bytes.Buffer
	if needsBody(spec.Expect) {
		buf = getBuffer()
		defer putBuffer(buf)
	}
	body, cut, err := readBody(resp.Body, buf)
	res.Duration = time.Since(start)
	res.BodyTruncated = cut
	res.Timings = tm
	if err != nil {
		return failed(res, "read body: "+errReason(err, ctxErr(), timeout))
	}
	Evaluate(spec.Expect, &res, body)
	return res
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// appendRequest appends an HTTP/1.1 request with `Connection: close`: the
// target's headers (a Host header sets the Host line, as on net/http), its
// User-Agent or ours, basic auth from the URL's userinfo unless an
// Authorization header is set, and the body with its length.
func appendRequest(b []byte, method, uri, urlHost string, user *url.Userinfo, s HTTPSpec) ([]byte, error) {
	if !validToken(method) {
		return b, errors.New("invalid method " + strconv.Quote(method))
	}
	host := urlHost
	if h := s.Headers.Get("Host"); h != "" {
		host = h
	}
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, uri...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\n"...)
	if s.Headers.Get("User-Agent") == "" {
		b = append(b, "User-Agent: "+UserAgent+"\r\n"...)
	}
	if user != nil && s.Headers.Get("Authorization") == "" {
		pw, _ := user.Password()
		b = append(b, "Authorization: Basic "...)
		b = base64.StdEncoding.AppendEncode(b, []byte(user.Username()+":"+pw))
		b = append(b, "\r\n"...)
	}
	for k, vs := range s.Headers {
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
	if s.Body != "" || method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(s.Body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "Connection: close\r\n\r\n"...)
	b = append(b, s.Body...)
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
