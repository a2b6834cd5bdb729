package probe

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

const benchBody = `{"data": {"status": "up"}}`

func benchHandler(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, benchBody) }

// BenchmarkHTTP prices one probe of a small health endpoint on loopback.
// "fresh" is what HTTP does (a new connection per probe); "keepalive" is the
// same prober over a pooled connection, the cost the design declined.
func BenchmarkHTTP(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(benchHandler))
	defer srv.Close()
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(benchHandler))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	// httptest's certificate is RSA-2048, whose server-side signature
	// dominates a loopback handshake; an ECDSA P-256 one is what most
	// ACME-issued servers present today.
	ecSrv := newTLSServerWithCert(b, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), benchHandler)
	ecSrv.Config.ErrorLog = log.New(io.Discard, "", 0)

	cases := []struct {
		name      string
		url       string
		keepAlive bool
		viaClient bool // through http.Client, as before the direct path
		expect    Expect
	}{
		{name: "http/fresh", url: srv.URL},
		{name: "http/fresh/net-http", url: srv.URL, viaClient: true},
		{name: "http/fresh/json", url: srv.URL, expect: Expect{JSON: []JSONExpect{{"data.status", "up"}}}},
		{name: "http/keepalive", url: srv.URL, keepAlive: true},
		{name: "https-rsa/fresh", url: tlsSrv.URL},
		{name: "https-rsa/fresh/net-http", url: tlsSrv.URL, viaClient: true},
		{name: "https-rsa/keepalive", url: tlsSrv.URL, keepAlive: true},
		{name: "https-ecdsa/fresh", url: ecSrv.URL},
		{name: "https-ecdsa/keepalive", url: ecSrv.URL, keepAlive: true},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			p := defaultHTTP
			switch {
			case c.keepAlive:
				p = newHTTPProber(true)
			case c.viaClient:
				p = newHTTPProber(false)
				p.viaClient = true
			}
			tg := target(b, c.url)
			// Redirects followed: the default (follow_redirects: true).
			tg.Spec = HTTPSpec{TLSSkipVerify: true, FollowRedirects: true, Expect: c.expect}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if res := p.probe(ctx, tg); !res.OK {
					b.Fatalf("probe failed: %s", res.Reason)
				}
			}
		})
	}
}

// BenchmarkTCP prices a connect-and-close to a loopback listener.
func BenchmarkTCP(b *testing.B) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { // accepts and closes so the backlog never fills; ends with l
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	defer func() { _ = l.Close(); <-done }()
	tg := target(b, "tcp://"+l.Addr().String())
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if res := TCP(ctx, tg); !res.OK {
			b.Fatalf("probe failed: %s", res.Reason)
		}
	}
}

// BenchmarkEvaluate prices the checks alone over a small JSON body.
func BenchmarkEvaluate(b *testing.B) {
	e := Expect{BodyContains: "up", JSON: []JSONExpect{{"data.status", "up"}}}
	body := []byte(benchBody)
	b.ReportAllocs()
	for b.Loop() {
		r := Result{StatusCode: 200}
		Evaluate(e, &r, body)
		if !r.OK {
			b.Fatal(r.Reason)
		}
	}
}
