package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/pollerd/pollerd/internal/alert"
	"github.com/pollerd/pollerd/internal/alert/alerttest"
	"github.com/pollerd/pollerd/internal/alert/outbox"
	"github.com/pollerd/pollerd/internal/incident"
)

// hookSecret signs bodies in these tests; like alerttest.Secret (the URL's
// last segment) it must never show in an error or a log line.
const hookSecret = "HMACSECRET42"

func downMessage() alert.Message {
	at := time.Date(2025, 3, 1, 12, 4, 12, 0, time.UTC)
	return alert.Message{Key: "42:down", IncidentID: 42, Kind: alert.KindDown, Target: "api", Group: "homeserver",
		Since: at, At: at, Reason: "connection refused",
		Text: `api is DOWN: connection refused <@channel> "quoted"` + "\r\nX-Injected: 1", Title: "api is DOWN"}
}

// received is one post the fake receiver saw.
type received struct {
	header http.Header
	body   []byte
	status int
}

// receiver is a fake webhook receiver on 127.0.0.1 that answers scripted
// statuses in order, then 200.
type receiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	script   []func(http.ResponseWriter)
	attempts []received
	got      chan struct{}
}

func newReceiver(t *testing.T, script ...func(http.ResponseWriter)) *receiver {
	t.Helper()
	r := &receiver{script: script, got: make(chan struct{}, 100)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.srv = &httptest.Server{Listener: l, Config: &http.Server{Handler: r}}
	r.srv.Start()
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	answer := func(w http.ResponseWriter) { w.WriteHeader(http.StatusOK) }
	if len(r.script) > 0 {
		answer, r.script = r.script[0], r.script[1:]
	}
	r.mu.Unlock()
	rec := httptest.NewRecorder()
	answer(rec)
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
	r.mu.Lock()
	r.attempts = append(r.attempts, received{header: req.Header.Clone(), body: body, status: rec.Code})
	r.mu.Unlock()
	r.got <- struct{}{}
}

// URL has the secret in its path and query, as real hook URLs often do.
func (r *receiver) URL() string {
	return r.srv.URL + "/hooks/" + alerttest.Secret + "?token=" + alerttest.Secret
}

func (r *receiver) Attempts() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.attempts...)
}

func status(code int, header ...string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "error page echoing "+alerttest.Secret)
	}
}

func TestBody(t *testing.T) {
	got, err := Body(downMessage())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"DOWN","key":"42:down","text":"api is DOWN: connection refused \u003c@channel\u003e \"quoted\"\r\nX-Injected: 1",` +
		`"target":"api","group":"homeserver","service":"","targets":["api"],"since":"2025-03-01T12:04:12Z","at":"2025-03-01T12:04:12Z"}`
	if string(got) != want {
		t.Errorf("Body =\n%s\nwant\n%s", got, want)
	}
	report := alert.Message{Key: "7:report", Kind: alert.KindReport, Service: "shop", Text: "shop: GET /x → 502",
		At: time.Date(2025, 3, 1, 13, 0, 0, 0, time.FixedZone("KST", 9*3600))}
	got, _ = Body(report)
	want = `{"kind":"REPORT","key":"7:report","text":"shop: GET /x → 502","target":"","group":"","service":"shop","targets":[],"since":null,"at":"2025-03-01T04:00:00Z"}`
	if string(got) != want {
		t.Errorf("Body(report) =\n%s\nwant\n%s", got, want)
	}
	grouped := alert.Message{Key: "9:down", Kind: alert.KindDown, Group: "homeserver", Targets: []string{"api", "db"},
		Text: "homeserver: 2 of 3 DOWN — api, db", At: time.Date(2025, 3, 1, 13, 0, 0, 0, time.UTC)}
	got, _ = Body(grouped)
	want = `{"kind":"DOWN","key":"9:down","text":"homeserver: 2 of 3 DOWN — api, db","target":"","group":"homeserver","service":"","targets":["api","db"],"since":null,"at":"2025-03-01T13:00:00Z"}`
	if string(got) != want {
		t.Errorf("Body(grouped) =\n%s\nwant\n%s", got, want)
	}
}

func FuzzBody(f *testing.F) {
	f.Add("api is DOWN", "api", "shop")
	f.Add("\"}, \"kind\": \"RECOVERED\r\n\x00\xff", "a\"b", "<script>")
	f.Fuzz(func(t *testing.T, text, target, service string) {
		m := alert.Message{Key: "1:down", Kind: alert.KindDown, Text: text, Target: target, Service: service}
		raw, err := Body(m)
		if err != nil {
			t.Fatal(err)
		}
		var back map[string]any
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatalf("body is not JSON: %v", err)
		}
		if len(back) != 9 || back["kind"] != "DOWN" || back["key"] != "1:down" {
			t.Fatalf("untrusted text changed the body's shape: %s", raw)
		}
		if strings.ContainsAny(string(raw), "\r\n") {
			t.Fatalf("raw newline in the body: %q", raw)
		}
	})
}

func TestWebhook_NotifyHeadersAndSignature(t *testing.T) {
	for _, secret := range []string{hookSecret, ""} {
		t.Run("secret="+secret, func(t *testing.T) {
			r := newReceiver(t)
			w, err := New(Options{Name: "ops", URL: r.URL(), Secret: secret})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Notify(context.Background(), downMessage()); err != nil {
				t.Fatalf("Notify: %v", err)
			}
			got := r.Attempts()[0]
			want, _ := Body(downMessage())
			if string(got.body) != string(want) {
				t.Errorf("body %s, want %s", got.body, want)
			}
			if ct := got.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if d := got.header.Get(HeaderDelivery); d != "42:down" {
				t.Errorf("%s = %q, want 42:down", HeaderDelivery, d)
			}
			sig := got.header.Get(HeaderSignature)
			if secret == "" {
				if sig != "" {
					t.Errorf("signed without a secret: %q", sig)
				}
				return
			}
			// Verify as a receiver would (the README's snippet).
			mac := hmac.New(sha256.New, []byte(secret))
			mac.Write(got.body)
			expected := "sha256=" + hex.EncodeToString(mac.Sum(nil))
			if !hmac.Equal([]byte(sig), []byte(expected)) {
				t.Errorf("signature %q, want %q", sig, expected)
			}
		})
	}
}

func TestWebhook_NotifyClassifies(t *testing.T) {
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name     string
		answer   func(http.ResponseWriter)
		wantNil  bool
		wantPerm bool
		wantWait time.Duration // exact, or with wantAbout within 2s
		about    bool
	}{
		{name: "200", answer: status(200), wantNil: true},
		{name: "204", answer: status(204), wantNil: true},
		{name: "202", answer: status(202), wantNil: true},
		{name: "429 Retry-After seconds", answer: status(429, "Retry-After", "7"), wantWait: 7 * time.Second},
		{name: "429 Retry-After date", answer: status(429, "Retry-After", date), wantWait: 90 * time.Second, about: true},
		{name: "429 without Retry-After", answer: status(429), wantWait: time.Second},
		{name: "429 Retry-After huge", answer: status(429, "Retry-After", "999999"), wantWait: time.Hour},
		{name: "500 retries", answer: status(500)},
		{name: "502 retries", answer: status(502)},
		{name: "503 retries", answer: status(503, "Retry-After", "5")},
		{name: "400 permanent", answer: status(400), wantPerm: true},
		{name: "401 permanent", answer: status(401), wantPerm: true},
		{name: "404 permanent", answer: status(404), wantPerm: true},
		{name: "410 permanent", answer: status(410), wantPerm: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newReceiver(t, tt.answer)
			logger, logs := alerttest.CaptureLogs(t)
			w, err := New(Options{Name: "ops", URL: r.URL(), Secret: hookSecret, Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			err = w.Notify(context.Background(), downMessage())
			if tt.wantNil {
				if err != nil {
					t.Fatalf("Notify = %v, want nil", err)
				}
			} else {
				checkVerdict(t, err, tt.wantPerm, tt.wantWait, tt.about)
				if !strings.Contains(err.Error(), "webhook ops") {
					t.Errorf("error %q does not name the channel", err)
				}
				alerttest.AssertNoSecret(t, alerttest.Secret, []byte(err.Error()))
				alerttest.AssertNoSecret(t, hookSecret, []byte(err.Error()))
			}
			alerttest.AssertNoSecret(t, alerttest.Secret, logs())
			alerttest.AssertNoSecret(t, hookSecret, logs())
		})
	}
}

func TestWebhook_NotifyNetworkErrors(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		r := newReceiver(t)
		url := r.URL()
		r.srv.Close()
		w, _ := New(Options{Name: "ops", URL: url, Secret: hookSecret})
		err := w.Notify(context.Background(), downMessage())
		checkVerdict(t, err, false, 0, false)
		alerttest.AssertNoSecret(t, alerttest.Secret, []byte(err.Error()))
	})
	t.Run("timeout", func(t *testing.T) {
		release := make(chan struct{})
		r := newReceiver(t, func(w http.ResponseWriter) { <-release })
		defer close(release)
		w, _ := New(Options{Name: "ops", URL: r.URL(), Client: &http.Client{Timeout: 100 * time.Millisecond}})
		err := w.Notify(context.Background(), downMessage())
		checkVerdict(t, err, false, 0, false)
		alerttest.AssertNoSecret(t, alerttest.Secret, []byte(err.Error()))
	})
}

func checkVerdict(t *testing.T, err error, wantPerm bool, wantWait time.Duration, about bool) {
	t.Helper()
	if err == nil {
		t.Fatal("Notify = nil, want an error")
	}
	if got := alert.IsPermanent(err); got != wantPerm {
		t.Errorf("IsPermanent(%v) = %v, want %v", err, got, wantPerm)
	}
	wait, limited := alert.RetryAfterOf(err)
	if limited != (wantWait != 0) {
		t.Fatalf("RetryAfterOf(%v) = %v, %v, want %v", err, wait, limited, wantWait)
	}
	if about && (wait < wantWait-2*time.Second || wait > wantWait+2*time.Second) || !about && wait != wantWait {
		t.Errorf("RetryAfterOf(%v) = %v, want %v", err, wait, wantWait)
	}
}

func TestNew(t *testing.T) {
	for _, u := range []string{"", "ftp://x/" + alerttest.Secret, "/hooks/" + alerttest.Secret, "http://[::1%" + alerttest.Secret} {
		_, err := New(Options{Name: "ops", URL: u, Secret: hookSecret})
		if err == nil {
			t.Errorf("New accepted %q", u)
			continue
		}
		alerttest.AssertNoSecret(t, alerttest.Secret, []byte(err.Error()))
		alerttest.AssertNoSecret(t, hookSecret, []byte(err.Error()))
	}
	if _, err := New(Options{URL: "https://ops.example/hook"}); err == nil {
		t.Error("New accepted no name")
	}
	w, err := New(Options{Name: "ops", URL: "https://ops.example/hook"})
	if err != nil || w.Name() != "ops" {
		t.Errorf("New = %v, %v", w, err)
	}
}

// Through the outbox: a 500 then a 200 delivers once, both attempts with
// the same delivery key and the same signed body.
func TestWebhook_RetriedThroughOutbox(t *testing.T) {
	r := newReceiver(t, status(500))
	w, err := New(Options{Name: "ops", URL: r.URL(), Secret: hookSecret})
	if err != nil {
		t.Fatal(err)
	}
	store := alerttest.NewStore()
	ob, err := outbox.New(outbox.Options{Store: store, Channels: []outbox.Channel{{Notifier: w}},
		BackoffBase: 10 * time.Millisecond, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := ob.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	ob.Run(context.Background())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = ob.Close(ctx)
	})
	m := downMessage()
	ob.Emit(incident.Change{Incidents: []incident.Incident{{ID: 42, Kind: incident.KindTarget, Subject: "api", OpenedAt: m.At}}}, m)

	deadline := time.After(5 * time.Second)
	for len(r.Attempts()) < 2 {
		select {
		case <-r.got:
		case <-deadline:
			t.Fatalf("got %d attempts, want 2", len(r.Attempts()))
		}
	}
	time.Sleep(100 * time.Millisecond) // a third post would show now
	got := r.Attempts()
	if len(got) != 2 || got[0].status != 500 || got[1].status != 200 {
		t.Fatalf("attempts %+v, want a 500 then one 200", got)
	}
	for i, a := range got {
		if a.header.Get(HeaderDelivery) != "42:down" || a.header.Get(HeaderSignature) != Signature(hookSecret, a.body) {
			t.Errorf("attempt %d: delivery %q signature %q", i, a.header.Get(HeaderDelivery), a.header.Get(HeaderSignature))
		}
	}
	if string(got[0].body) != string(got[1].body) {
		t.Errorf("retry changed the body:\n%s\n%s", got[0].body, got[1].body)
	}
	for end := time.Now().Add(5 * time.Second); store.StatusOf("42:down") != incident.DeliveryDelivered; {
		if time.Now().After(end) {
			t.Fatalf("delivery status %q, want delivered", store.StatusOf("42:down"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
