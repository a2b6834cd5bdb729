package ingest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/pollerd/pollerd/internal/alert"
)

const okBody = `{"serviceName":"tteokbokki-map","types":["slack"],"description":"boom"}`

func TestHandler_ServeHTTP_Refusals(t *testing.T) {
	huge := `{"serviceName":"tteokbokki-map","description":"` + strings.Repeat("x", 300) + `"}`
	tests := []struct {
		name       string
		method     string
		ct         string
		body       string
		headers    map[string]string
		maxBody    int64
		wantStatus int
		wantError  string // substring of the JSON error
	}{
		{name: "get", method: http.MethodGet, wantStatus: 405, wantError: "method not allowed"},
		{name: "put", method: http.MethodPut, ct: "application/json", body: okBody, wantStatus: 405, wantError: "method not allowed"},
		{name: "no content type", body: okBody, wantStatus: 415, wantError: "content type"},
		{name: "form", ct: "application/x-www-form-urlencoded", body: okBody, wantStatus: 415, wantError: "content type"},
		{name: "multipart", ct: "multipart/form-data; boundary=x", body: okBody, wantStatus: 415, wantError: "content type"},
		{name: "415 before 413", ct: "text/html", body: huge, maxBody: 100, wantStatus: 415, wantError: "content type"},
		{name: "too large by content length", ct: "application/json", body: huge, maxBody: 100, wantStatus: 413, wantError: "too large"},
		{name: "413 before 400", ct: "application/json", body: "[" + huge, maxBody: 100, wantStatus: 413, wantError: "too large"},
		{name: "empty body", ct: "application/json", wantStatus: 400, wantError: "one JSON object"},
		{name: "array", ct: "application/json", body: `[` + okBody + `]`, wantStatus: 400, wantError: "one JSON object"},
		{name: "null", ct: "application/json", body: `null`, wantStatus: 400, wantError: "one JSON object"},
		{name: "string", ct: "application/json", body: `"hi"`, wantStatus: 400, wantError: "one JSON object"},
		{name: "truncated", ct: "application/json", body: okBody[:20], wantStatus: 400, wantError: "one JSON object"},
		{name: "trailing object", ct: "application/json", body: okBody + okBody, wantStatus: 400, wantError: "after the JSON object"},
		{name: "trailing garbage", ct: "application/json", body: okBody + " x", wantStatus: 400, wantError: "after the JSON object"},
		{name: "missing serviceName", ct: "application/json", body: `{"description":"x"}`, wantStatus: 400, wantError: "serviceName"},
		{name: "empty serviceName", ct: "application/json", body: `{"serviceName":""}`, wantStatus: 400, wantError: "serviceName"},
		{name: "null serviceName", ct: "application/json", body: `{"serviceName":null}`, wantStatus: 400, wantError: "serviceName"},
		{name: "numeric serviceName", ct: "application/json", body: `{"serviceName":42}`, wantStatus: 400, wantError: "serviceName"},
		{name: "types not array", ct: "application/json", body: `{"serviceName":"tteokbokki-map","types":"slack"}`, wantStatus: 400, wantError: "types must be"},
		{name: "types entry not string", ct: "application/json", body: `{"serviceName":"tteokbokki-map","types":[1]}`, wantStatus: 400, wantError: "types must be"},
		{name: "unknown type", ct: "application/json", body: `{"serviceName":"tteokbokki-map","types":["slack","pager"]}`, wantStatus: 400, wantError: `unknown channel "pager"`},
		{name: "description not string", ct: "application/json", body: `{"serviceName":"tteokbokki-map","description":{"a":1}}`, wantStatus: 400, wantError: "description must be a string"},
		{name: "400 before 404", ct: "application/json", body: `{"serviceName":"nope","types":["pager"]}`, wantStatus: 400, wantError: "unknown channel"},
		{name: "unknown service", ct: "application/json", body: `{"serviceName":"nope"}`, wantStatus: 404, wantError: "unknown service"},
		{name: "404 before 403", ct: "application/json", body: `{"serviceName":"nope"}`, headers: map[string]string{"Origin": "https://evil.example"}, wantStatus: 404, wantError: "unknown service"},
		{name: "foreign origin", ct: "application/json", body: okBody, headers: map[string]string{"Origin": "https://evil.example"}, wantStatus: 403, wantError: "origin not allowed"},
		{name: "another service's origin", ct: "application/json", body: okBody, headers: map[string]string{"Origin": "https://locked.example"}, wantStatus: 403, wantError: "origin not allowed"},
		{name: "origin differs in scheme", ct: "application/json", body: okBody, headers: map[string]string{"Origin": "http://tteokbokki-map.example"}, wantStatus: 403, wantError: "origin not allowed"},
		{name: "403 before 401", ct: "application/json", body: `{"serviceName":"locked"}`, headers: map[string]string{"Origin": "https://evil.example"}, wantStatus: 403, wantError: "origin not allowed"},
		{name: "token missing", ct: "application/json", body: `{"serviceName":"locked"}`, wantStatus: 401, wantError: "bearer token"},
		{name: "token wrong", ct: "application/json", body: `{"serviceName":"locked"}`, headers: map[string]string{"Authorization": "Bearer s3cr3t-tokeN"}, wantStatus: 401, wantError: "bearer token"},
		{name: "token prefix", ct: "application/json", body: `{"serviceName":"locked"}`, headers: map[string]string{"Authorization": "Bearer s3cr3t"}, wantStatus: 401, wantError: "bearer token"},
		{name: "token as basic", ct: "application/json", body: `{"serviceName":"locked"}`, headers: map[string]string{"Authorization": "Basic s3cr3t-token"}, wantStatus: 401, wantError: "bearer token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			o := testOptions(rec)
			o.MaxBodyBytes = tt.maxBody
			h := newTestHandler(t, o)
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			r := post(tt.body, tt.ct)
			r.Method = method
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			w := serve(h, r)
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", w.Code, tt.wantStatus, w.Body)
			}
			var got struct{ Error string }
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("body is not JSON: %v: %s", err, w.Body)
			}
			if !strings.Contains(got.Error, tt.wantError) {
				t.Errorf("error = %q, want it to contain %q", got.Error, tt.wantError)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q", ct)
			}
			if added, _, _ := rec.snapshot(); len(added) != 0 {
				t.Errorf("a refused report reached the engine: %d", len(added))
			}
			if tt.wantStatus == 403 && w.Header().Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("403 carries Access-Control-Allow-Origin")
			}
			if tt.wantStatus == 401 && strings.Contains(w.Body.String(), "s3cr3t") {
				t.Errorf("401 echoes the token")
			}
		})
	}
}

func TestHandler_ServeHTTP_TooLargeChunked(t *testing.T) {
	rec := &recorder{}
	o := testOptions(rec)
	o.MaxBodyBytes = 1024
	h := newTestHandler(t, o)
	// Behind a MultiReader the length is unknown: the body arrives chunked.
	body := io.MultiReader(strings.NewReader(`{"serviceName":"tteokbokki-map","description":"`),
		strings.NewReader(strings.Repeat("a", 4096)), strings.NewReader(`"}`))
	r := httptest.NewRequest(http.MethodPost, "/api/v1/reports", body)
	r.Header.Set("Content-Type", "application/json")
	if r.ContentLength != -1 {
		t.Fatalf("ContentLength = %d, want unknown", r.ContentLength)
	}
	w := serve(h, r)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status = %d, want 413: %s", w.Code, w.Body)
	}
	if !strings.Contains(w.Body.String(), `"error":"body too large"`) {
		t.Errorf("body = %s", w.Body)
	}
}

// A real server: MaxBytesReader must also stop a chunked upload on the wire.
func TestHandler_ServeHTTP_TooLargeChunkedLoopback(t *testing.T) {
	rec := &recorder{}
	o := testOptions(rec)
	o.MaxBodyBytes = 1024
	srv := httptest.NewServer(newTestHandler(t, o))
	defer srv.Close()
	pr, pw := io.Pipe()
	go func() {
		_, _ = io.WriteString(pw, `{"serviceName":"tteokbokki-map","description":"`+strings.Repeat("a", 8192)+`"}`)
		_ = pw.Close()
	}()
	req, err := http.NewRequest(http.MethodPost, srv.URL, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status = %d, want 413", resp.StatusCode)
	}
	if len(resp.TransferEncoding) == 0 && req.ContentLength > 0 {
		t.Errorf("request was not chunked")
	}
}

func TestHandler_ServeHTTP_Accepted(t *testing.T) {
	tests := []struct {
		name     string
		ct       string
		body     string
		headers  map[string]string
		wantCORS string
		wantChan []string
	}{
		{name: "json", ct: "application/json", body: okBody, wantChan: []string{"slack"}},
		{name: "json with charset", ct: "Application/JSON; charset=utf-8", body: okBody, wantChan: []string{"slack"}},
		{name: "beacon text/plain", ct: "text/plain;charset=UTF-8", body: okBody, wantChan: []string{"slack"}},
		{name: "allowed origin", ct: "application/json", body: okBody, headers: map[string]string{"Origin": testOrigin}, wantCORS: testOrigin, wantChan: []string{"slack"}},
		{name: "no types", ct: "application/json", body: `{"serviceName":"tteokbokki-map"}`},
		{name: "duplicate types", ct: "application/json", body: `{"serviceName":"tteokbokki-map","types":["log","log","slack"]}`, wantChan: []string{"log", "slack"}},
		{name: "extra fields", ct: "application/json", body: `{"serviceName":"tteokbokki-map","extra":{"x":[1,2]},"version":3}`},
		{name: "token", ct: "application/json", body: `{"serviceName":"locked"}`, headers: map[string]string{"Authorization": "Bearer s3cr3t-token"}},
		{name: "token and origin", ct: "application/json", body: `{"serviceName":"locked"}`, headers: map[string]string{"Authorization": "bearer s3cr3t-token", "Origin": "https://locked.example"}, wantCORS: "https://locked.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			h := newTestHandler(t, testOptions(rec))
			r := post(tt.body, tt.ct)
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			w := serve(h, r)
			if w.Code != http.StatusAccepted {
				t.Fatalf("status = %d, want 202: %s", w.Code, w.Body)
			}
			if got := strings.TrimSpace(w.Body.String()); got != `{"status":"accepted"}` {
				t.Errorf("body = %s", got)
			}
			if got := w.Header().Get("Access-Control-Allow-Origin"); got != tt.wantCORS {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tt.wantCORS)
			}
			if !strings.Contains(strings.Join(w.Header().Values("Vary"), ","), "Origin") {
				t.Errorf("Vary = %q, want Origin", w.Header().Values("Vary"))
			}
			added, _, _ := rec.snapshot()
			if len(added) != 1 {
				t.Fatalf("engine got %d reports, want 1", len(added))
			}
			if strings.Join(added[0].Channels, ",") != strings.Join(tt.wantChan, ",") {
				t.Errorf("Channels = %q, want %q", added[0].Channels, tt.wantChan)
			}
			if added[0].Fingerprint == "" || added[0].At.IsZero() {
				t.Errorf("report lacks fingerprint or time: %+v", added[0])
			}
		})
	}
}

func TestHandler_ServeHTTP_Preflight(t *testing.T) {
	tests := []struct {
		name       string
		origin     string
		method     string
		wantStatus int
		wantCORS   bool
	}{
		{name: "allowed origin", origin: testOrigin, method: "POST", wantStatus: 204, wantCORS: true},
		{name: "other service's origin", origin: "https://locked.example", method: "POST", wantStatus: 204, wantCORS: true},
		{name: "foreign origin", origin: "https://evil.example", method: "POST", wantStatus: 403},
		{name: "no origin", method: "POST", wantStatus: 403},
		{name: "asks for PUT", origin: testOrigin, method: "PUT", wantStatus: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHandler(t, testOptions(&recorder{}))
			r := httptest.NewRequest(http.MethodOptions, "/api/v1/reports", nil)
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			r.Header.Set("Access-Control-Request-Method", tt.method)
			r.Header.Set("Access-Control-Request-Headers", "content-type")
			w := serve(h, r)
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d", w.Code, tt.wantStatus)
			}
			hd := w.Header()
			if !tt.wantCORS {
				for _, k := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers"} {
					if hd.Get(k) != "" {
						t.Errorf("refused preflight sets %s", k)
					}
				}
				return
			}
			want := map[string]string{
				"Access-Control-Allow-Origin":  tt.origin,
				"Access-Control-Allow-Methods": "POST",
				"Access-Control-Allow-Headers": "Content-Type, Authorization",
				"Access-Control-Max-Age":       preflightMaxAge,
			}
			for k, v := range want {
				if hd.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, hd.Get(k), v)
				}
			}
		})
	}
}

func TestHandler_ServeHTTP_RateLimit(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	type req struct {
		remote, xff string
		advance     time.Duration
		want        int
	}
	tests := []struct {
		name       string
		perIP      rate.Limit
		burst      int
		global     rate.Limit
		reqs       []req
		wantLimits int
	}{
		{
			name: "per ip burst then refill", perIP: 1, burst: 2, global: rate.Inf,
			reqs: []req{
				{remote: "192.0.2.1:1", want: 202},
				{remote: "192.0.2.1:2", want: 202},
				{remote: "192.0.2.1:3", want: 429},
				{remote: "192.0.2.2:1", want: 202}, // another client has its own bucket
				{remote: "192.0.2.1:4", advance: time.Second, want: 202},
				{remote: "192.0.2.1:5", want: 429},
			},
			wantLimits: 2,
		},
		{
			name: "global caps everyone", perIP: rate.Inf, burst: 1, global: 2,
			reqs: []req{
				{remote: "192.0.2.1:1", want: 202},
				{remote: "192.0.2.2:1", want: 202},
				{remote: "192.0.2.3:1", want: 429},
				{remote: "192.0.2.4:1", advance: 500 * time.Millisecond, want: 202},
			},
			wantLimits: 1,
		},
		{
			name: "a refusal by the global bucket costs the client nothing", perIP: 1, burst: 1, global: 1,
			reqs: []req{
				{remote: "192.0.2.1:1", want: 202},
				{remote: "192.0.2.2:1", want: 429}, // global empty
				{remote: "192.0.2.2:1", advance: time.Second, want: 202},
			},
			wantLimits: 1,
		},
		{
			name: "ipv6 clients share a /64", perIP: 1, burst: 1, global: rate.Inf,
			reqs: []req{
				{remote: "[2001:db8::1]:1", want: 202},
				{remote: "[2001:db8::2]:1", want: 429},
				{remote: "[2001:db8:0:1::1]:1", want: 202},
			},
			wantLimits: 1,
		},
		{
			name: "xff from an untrusted peer is ignored", perIP: 1, burst: 1, global: rate.Inf,
			reqs: []req{
				{remote: "192.0.2.1:1", xff: "198.51.100.1", want: 202},
				{remote: "192.0.2.1:1", xff: "198.51.100.2", want: 429},
			},
			wantLimits: 1,
		},
		{
			name: "xff from a trusted proxy names the client", perIP: 1, burst: 1, global: rate.Inf,
			reqs: []req{
				{remote: "10.0.0.1:1", xff: "198.51.100.1", want: 202},
				{remote: "10.0.0.1:1", xff: "198.51.100.2", want: 202},
				{remote: "10.0.0.1:1", xff: "198.51.100.1", want: 429},
			},
			wantLimits: 1,
		},
		{
			name: "forged left-most xff entries do not help", perIP: 1, burst: 1, global: rate.Inf,
			reqs: []req{
				{remote: "10.0.0.1:1", xff: "203.0.113.1, 198.51.100.1", want: 202},
				{remote: "10.0.0.1:1", xff: "203.0.113.2, 198.51.100.1, 10.0.0.2", want: 429},
			},
			wantLimits: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			o := testOptions(rec)
			o.PerIP, o.PerIPBurst, o.Global = tt.perIP, tt.burst, tt.global
			o.TrustedProxies = trusted
			o.Now = clock.now
			h := newTestHandler(t, o)
			for i, rq := range tt.reqs {
				clock.advance(rq.advance)
				r := post(okBody, "application/json")
				r.RemoteAddr = rq.remote
				if rq.xff != "" {
					r.Header.Set("X-Forwarded-For", rq.xff)
				}
				w := serve(h, r)
				if w.Code != rq.want {
					t.Fatalf("request %d: status = %d, want %d: %s", i, w.Code, rq.want, w.Body)
				}
				if w.Code == 429 {
					if ra := w.Header().Get("Retry-After"); ra != "1" {
						t.Errorf("request %d: Retry-After = %q, want 1", i, ra)
					}
					if !strings.Contains(w.Body.String(), `"error":"rate limited`) {
						t.Errorf("request %d: body = %s", i, w.Body)
					}
				}
			}
			if _, _, limited := rec.snapshot(); limited != tt.wantLimits {
				t.Errorf("RateLimited called %d times, want %d", limited, tt.wantLimits)
			}
		})
	}
}

// 429 is decided before the body is read: even a malformed body of the
// wrong type gets 429 when the bucket is empty.
func TestHandler_ServeHTTP_RateLimitFirst(t *testing.T) {
	rec := &recorder{}
	o := testOptions(rec)
	o.PerIP, o.PerIPBurst = 0.001, 1
	h := newTestHandler(t, o)
	if w := serve(h, post(okBody, "application/json")); w.Code != 202 {
		t.Fatalf("first: %d", w.Code)
	}
	w := serve(h, post("garbage", "image/png"))
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("status = %d, want 429", w.Code)
	}
	if ra := w.Header().Get("Retry-After"); ra != "1000" {
		t.Errorf("Retry-After = %q, want 1000 (one token at 0.001/s)", ra)
	}
}

func TestHandler_Confirm(t *testing.T) {
	t.Run("first report is confirmed then settled", func(t *testing.T) {
		rec := &recorder{first: true}
		o := testOptions(rec)
		confirmed := make(chan string, 1)
		o.Confirmer = confirmerFunc(func(ctx context.Context, service string) {
			if _, ok := ctx.Deadline(); !ok {
				t.Errorf("confirmation ctx has no deadline")
			}
			confirmed <- service
		})
		h, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		if w := serve(h, post(okBody, "application/json")); w.Code != 202 {
			t.Fatalf("status %d", w.Code)
		}
		if err := h.Close(context.Background()); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if got := <-confirmed; got != testService {
			t.Errorf("confirmed %q", got)
		}
		added, settled, _ := rec.snapshot()
		if len(settled) != 1 || settled[0].Fingerprint != added[0].Fingerprint {
			t.Fatalf("settled = %+v, want the added report", settled)
		}
	})
	t.Run("a repeat is not confirmed", func(t *testing.T) {
		rec := &recorder{first: false}
		o := testOptions(rec)
		o.Confirmer = confirmerFunc(func(context.Context, string) { t.Errorf("confirmed a repeat") })
		h, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		serve(h, post(okBody, "application/json"))
		if err := h.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, settled, _ := rec.snapshot(); len(settled) != 0 {
			t.Errorf("settled a repeat")
		}
	})
	t.Run("the answer does not wait for the confirmation", func(t *testing.T) {
		rec := &recorder{first: true}
		o := testOptions(rec)
		release := make(chan struct{})
		o.Confirmer = confirmerFunc(func(ctx context.Context, _ string) { <-release })
		h, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		if w := serve(h, post(okBody, "application/json")); w.Code != 202 {
			t.Fatalf("status %d", w.Code)
		}
		if _, settled, _ := rec.snapshot(); len(settled) != 0 {
			t.Errorf("settled before the confirmation ended")
		}
		close(release)
		if err := h.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, settled, _ := rec.snapshot(); len(settled) != 1 {
			t.Errorf("Close returned before Settle")
		}
	})
	t.Run("close past its deadline cancels confirmations", func(t *testing.T) {
		rec := &recorder{first: true}
		o := testOptions(rec)
		o.ConfirmTimeout = time.Hour
		started := make(chan struct{})
		o.Confirmer = confirmerFunc(func(ctx context.Context, _ string) { close(started); <-ctx.Done() })
		h, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		serve(h, post(okBody, "application/json"))
		<-started
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := h.Close(ctx); err == nil {
			t.Errorf("Close = nil, want the ctx error")
		}
		if _, settled, _ := rec.snapshot(); len(settled) != 1 {
			t.Errorf("a cancelled confirmation was not settled")
		}
	})
	t.Run("after close reports settle at once", func(t *testing.T) {
		rec := &recorder{first: true}
		o := testOptions(rec)
		o.Confirmer = confirmerFunc(func(context.Context, string) { t.Errorf("confirmed after Close") })
		h, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if w := serve(h, post(okBody, "application/json")); w.Code != 202 {
			t.Fatalf("status %d", w.Code)
		}
		if _, settled, _ := rec.snapshot(); len(settled) != 1 {
			t.Errorf("settled %d, want 1", len(settled))
		}
	})
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Options)
		wantErr string
	}{
		{name: "ok", edit: func(*Options) {}},
		{name: "no reports", edit: func(o *Options) { o.Reports = nil }, wantErr: "no Reports"},
		{name: "empty service name", edit: func(o *Options) { o.Services = append(o.Services, Service{}) }, wantErr: "services[2]: empty name"},
		{name: "duplicate service", edit: func(o *Options) { o.Services = append(o.Services, Service{Name: testService}) }, wantErr: "duplicate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := testOptions(&recorder{})
			tt.edit(&o)
			h, err := New(o)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				_ = h.Close(context.Background())
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

var _ = alert.Report{}
