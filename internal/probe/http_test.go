package probe

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestHTTP_Assertions(t *testing.T) {
	const health = `{"data": {"status": "up", "version": 3}}`
	tests := []struct {
		name    string
		status  int
		body    string
		delay   time.Duration
		expect  Expect
		want    string // "" means pass
		wantLat bool
	}{
		{name: "default 200 passes", status: 200, body: health},
		{name: "default 502 fails", status: 502, want: "status 502, want 2xx"},
		{name: "status list passes", status: 304, expect: Expect{Status: []StatusRange{{200, 200}, {300, 399}}}},
		{name: "status list fails", status: 404, expect: Expect{Status: []StatusRange{{200, 200}, {300, 399}}},
			want: "status 404, want 200 or 3xx"},
		{name: "body contains passes", status: 200, body: health, expect: Expect{BodyContains: `"up"`}},
		{name: "body contains fails", status: 200, body: health, expect: Expect{BodyContains: "ok"}, want: `body lacks "ok"`},
		{name: "regex passes", status: 200, body: health, expect: Expect{BodyRegex: regexp.MustCompile(`"status":\s*"up"`)}},
		{name: "regex fails", status: 200, body: health, expect: Expect{BodyRegex: regexp.MustCompile(`^ok$`)},
			want: "body does not match /^ok$/"},
		{name: "json passes", status: 200, body: health, expect: Expect{JSON: []JSONExpect{{"data.status", "up"}, {"data.version", "3"}}}},
		{name: "json value fails", status: 200, body: `{"data": {"status": "down"}}`, expect: Expect{JSON: []JSONExpect{{"data.status", "up"}}},
			want: `json data.status = "down", want "up"`},
		{name: "json missing", status: 200, body: `{}`, expect: Expect{JSON: []JSONExpect{{"data.status", "up"}}},
			want: "json data.status missing"},
		{name: "latency passes", status: 200, expect: Expect{MaxLatency: time.Minute}},
		// The handler sleeps 50ms, so a 1ms bound fails however fast the machine.
		{name: "latency fails", status: 200, delay: 50 * time.Millisecond, expect: Expect{MaxLatency: time.Millisecond}, wantLat: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				time.Sleep(tt.delay)
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			})
			tg := target(t, srv.URL+"/health")
			tg.Spec = HTTPSpec{Expect: tt.expect}
			res := HTTP(context.Background(), tg)
			if tt.wantLat {
				if res.OK || !strings.HasPrefix(res.Reason, "latency ") || !strings.HasSuffix(res.Reason, " over 1ms") {
					t.Fatalf("got ok=%v reason %q, want a latency failure", res.OK, res.Reason)
				}
				return
			}
			if res.Reason != tt.want || res.OK != (tt.want == "") {
				t.Fatalf("got ok=%v reason %q, want %q", res.OK, res.Reason, tt.want)
			}
			if res.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", res.StatusCode, tt.status)
			}
			if res.At.IsZero() || res.Duration <= 0 || res.Timings.Connect <= 0 || res.Timings.FirstByte <= 0 {
				t.Errorf("result lacks times: %+v", res)
			}
		})
	}
}

func TestHTTP_Request(t *testing.T) {
	type seen struct{ method, body, ua, probe, host string }
	tests := []struct {
		name string
		tg   func(Target) Target
		want seen
	}{
		{name: "defaults", tg: func(tg Target) Target { return tg },
			want: seen{method: "GET", ua: UserAgent}},
		{name: "method headers body", tg: func(tg Target) Target {
			tg.Spec = HTTPSpec{
				Method:  "POST",
				Body:    `{"ping": true}`,
				Headers: http.Header{"X-Probe": {"pollerd"}, "User-Agent": {"custom/1"}, "Host": {"home.example"}},
			}
			return tg
		}, want: seen{method: "POST", body: `{"ping": true}`, ua: "custom/1", probe: "pollerd", host: "home.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan seen, 1)
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got <- seen{r.Method, string(b), r.UserAgent(), r.Header.Get("X-Probe"), r.Host}
			})
			res := HTTP(context.Background(), tt.tg(target(t, srv.URL)))
			if !res.OK {
				t.Fatalf("probe failed: %s", res.Reason)
			}
			s := <-got
			if tt.want.host == "" {
				tt.want.host = srv.Listener.Addr().String()
			}
			if s != tt.want {
				t.Errorf("server saw %+v, want %+v", s, tt.want)
			}
		})
	}
}

func TestHTTP_Redirects(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new", http.StatusMovedPermanently)
			return
		}
		_, _ = io.WriteString(w, "new page")
	})
	tests := []struct {
		name       string
		follow     bool
		expect     Expect
		wantStatus int
		wantReason string
	}{
		{name: "followed", follow: true, expect: Expect{BodyContains: "new page"}, wantStatus: 200},
		{name: "not followed fails default", follow: false, wantStatus: 301, wantReason: "status 301, want 2xx"},
		{name: "not followed asserts 3xx", follow: false, expect: Expect{Status: []StatusRange{{300, 399}}}, wantStatus: 301},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := target(t, srv.URL+"/old")
			tg.Spec = HTTPSpec{FollowRedirects: tt.follow, Expect: tt.expect}
			res := HTTP(context.Background(), tg)
			if res.StatusCode != tt.wantStatus || res.Reason != tt.wantReason {
				t.Errorf("got %d %q, want %d %q", res.StatusCode, res.Reason, tt.wantStatus, tt.wantReason)
			}
		})
	}
}

func TestHTTP_TLS(t *testing.T) {
	now := time.Now()
	ok := func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }
	valid := newTLSServerWithCert(t, now.Add(-time.Hour), now.Add(72*time.Hour), ok)
	expired := newTLSServerWithCert(t, now.Add(-72*time.Hour), now.Add(-time.Hour), ok)
	for _, srv := range []*httptest.Server{valid, expired} {
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake failures are the point
	}
	tests := []struct {
		name      string
		srv       *httptest.Server
		skip      bool
		expect    Expect
		want      string
		wantAfter time.Time
	}{
		{name: "untrusted fails verification", srv: valid,
			want: "tls: x509: certificate signed by unknown authority", wantAfter: now.Add(72 * time.Hour)},
		{name: "untrusted passes with skip", srv: valid, skip: true, wantAfter: now.Add(72 * time.Hour)},
		{name: "expired fails verification", srv: expired,
			want: "tls: certificate has expired", wantAfter: now.Add(-time.Hour)},
		{name: "expired passes with skip", srv: expired, skip: true, wantAfter: now.Add(-time.Hour)},
		{name: "cert validity bound", srv: valid, skip: true, expect: Expect{CertMinValidity: 14 * 24 * time.Hour},
			want: "certificate expires in 2d, want ≥ 14d", wantAfter: now.Add(72 * time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := target(t, tt.srv.URL)
			tg.Spec = HTTPSpec{TLSSkipVerify: tt.skip, Expect: tt.expect}
			res := HTTP(context.Background(), tg)
			if res.Reason != tt.want || res.OK != (tt.want == "") {
				t.Fatalf("got ok=%v %q, want %q", res.OK, res.Reason, tt.want)
			}
			// Certificates store seconds; compare at that precision.
			if !res.CertNotAfter.Truncate(time.Second).Equal(tt.wantAfter.Truncate(time.Second)) {
				t.Errorf("CertNotAfter = %v, want %v", res.CertNotAfter, tt.wantAfter)
			}
			if res.Timings.TLS <= 0 {
				t.Errorf("TLS timing not filled: %+v", res.Timings)
			}
		})
	}
}

func TestHTTP_PlainServerOverHTTPS(t *testing.T) {
	srv := newServer(t, func(http.ResponseWriter, *http.Request) {})
	res := HTTP(context.Background(), target(t, strings.Replace(srv.URL, "http://", "https://", 1)))
	if res.OK || res.Reason != "tls: server answered with plain http" {
		t.Errorf("got ok=%v %q", res.OK, res.Reason)
	}
}

func TestHTTP_Timeout(t *testing.T) {
	tests := []struct {
		name string
		// headers first: the hang is in the body, not before the response.
		headersFirst bool
		want         string
	}{
		{name: "before response", want: "timeout after 200ms"},
		{name: "during body", headersFirst: true, want: "read body: timeout after 200ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			release := make(chan struct{})
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.headersFirst {
					_, _ = io.WriteString(w, "partial")
					w.(http.Flusher).Flush()
				}
				select {
				case <-r.Context().Done():
				case <-release:
				}
			})
			t.Cleanup(func() { close(release) }) // runs before srv.Close
			tg := target(t, srv.URL)
			tg.Timeout = 200 * time.Millisecond
			tg.Spec = HTTPSpec{Expect: Expect{BodyContains: "never"}}
			res := HTTP(context.Background(), tg)
			if res.OK || res.Reason != tt.want {
				t.Fatalf("got ok=%v %q, want %q", res.OK, res.Reason, tt.want)
			}
			// Generous: the point is that the probe returns, not how fast.
			if res.Duration > tg.Timeout+2*time.Second {
				t.Errorf("probe took %v with a %v timeout", res.Duration, tg.Timeout)
			}
		})
	}
}

func TestHTTP_EndlessBody(t *testing.T) {
	tests := []struct {
		name   string
		expect Expect
		want   string
	}{
		{name: "no body checks drains to the cap"},
		{name: "found within the cap", expect: Expect{BodyContains: "chunk"}},
		{name: "missing is cut", expect: Expect{BodyContains: "the end"}, want: `body lacks "the end" (body cut at 1 MiB)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var written atomic.Int64
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				chunk := []byte(strings.Repeat("chunk ", 1024/6) + "\n")
				for range 64 * 1024 { // at most ~64 MiB, or until the client is gone
					n, err := w.Write(chunk)
					written.Add(int64(n))
					if err != nil {
						return
					}
				}
			})
			tg := target(t, srv.URL)
			tg.Spec = HTTPSpec{Expect: tt.expect}
			res := HTTP(context.Background(), tg)
			if res.Reason != tt.want || res.OK != (tt.want == "") {
				t.Fatalf("got ok=%v %q, want %q", res.OK, res.Reason, tt.want)
			}
			if !res.BodyTruncated {
				t.Error("BodyTruncated = false")
			}
			if res.Timings.FirstByte <= 0 || res.Timings.Connect <= 0 {
				t.Errorf("timings not filled: %+v", res.Timings)
			}
			srv.Close() // waits for the handler: it must stop once the probe hung up
			if w := written.Load(); w >= 64*1024*1024 {
				t.Errorf("server wrote %d bytes: the probe kept reading", w)
			}
		})
	}
}

func TestHTTP_FreshConnectionPerProbe(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	tg := target(t, srv.URL)
	for i := range 3 {
		if res := HTTP(context.Background(), tg); !res.OK {
			t.Fatalf("probe %d: %s", i, res.Reason)
		}
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("3 probes opened %d connections, want 3", n)
	}

	// A dead listener must show even though the server process lives on.
	if err := srv.Listener.Close(); err != nil {
		t.Fatal(err)
	}
	res := HTTP(context.Background(), tg)
	if res.OK || res.Reason != "connect: connection refused" {
		t.Errorf("after listener closed: ok=%v %q", res.OK, res.Reason)
	}
}

func TestHTTP_ServerHangsUp(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { // owned by this test: ends when the listener closes
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = c.Read(make([]byte, 1024))
			_ = c.Close()
		}
	}()
	t.Cleanup(func() { _ = l.Close(); <-done })
	res := HTTP(context.Background(), target(t, "http://"+l.Addr().String()))
	if res.OK || res.Reason != "server closed the connection" {
		t.Errorf("got ok=%v %q", res.OK, res.Reason)
	}
}

func TestHTTP_ReasonsHideSecrets(t *testing.T) {
	loop := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/again?token=s3cret", http.StatusFound)
	})
	refused := "http://user:pw@" + refusedAddr(t) + "/x?token=s3cret"
	tests := []struct {
		name   string
		url    string
		follow bool
	}{
		{name: "refused", url: refused},
		{name: "redirect loop", url: loop.URL + "/?token=s3cret", follow: true},
		{name: "bad scheme", url: "ftp://user:pw@example.invalid/?token=s3cret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := target(t, tt.url)
			tg.Spec = HTTPSpec{FollowRedirects: tt.follow}
			res := HTTP(context.Background(), tg)
			if res.OK {
				t.Fatal("probe passed")
			}
			for _, s := range []string{"s3cret", "token", "pw", "user"} {
				if strings.Contains(res.Reason, s) {
					t.Errorf("reason %q leaks %q", res.Reason, s)
				}
			}
			t.Log(res.Reason)
		})
	}
}

func TestHTTP_NilURL(t *testing.T) {
	res := HTTP(context.Background(), Target{})
	if res.OK || res.Reason != "no url" {
		t.Errorf("got ok=%v %q", res.OK, res.Reason)
	}
}

func ExampleHTTP() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	res := HTTP(context.Background(), Target{URL: u, Timeout: time.Second})
	fmt.Println(res.OK, res.Reason)
	// Output: false status 502, want 2xx
}
