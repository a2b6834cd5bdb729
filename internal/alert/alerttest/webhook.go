package alerttest

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Secret is the last path segment of every fake webhook URL: the part of a
// real Slack webhook URL that works as a password. Tests pass it to
// AssertNoSecret to prove that no error, log line or output leaks the URL.
const Secret = "SECRETXYZ"

// webhookPath is where the fake listens, shaped like a real Slack webhook.
const webhookPath = "/services/T000/B000/" + Secret

// maxBody bounds what the fake reads from one post (Slack's own limit is
// far lower; this only keeps a runaway test from eating memory).
const maxBody = 1 << 20

// Response is one scripted answer of the fake webhook.
type Response struct {
	Status     int    // 0 means 200
	Body       string // "" means "ok" for 2xx, the status text otherwise
	RetryAfter string // the Retry-After header, when set
	// Delay holds the answer back, to fake a slow or hanging Slack. The
	// handler gives up early when the client goes away or the fake closes.
	Delay time.Duration
}

// Received is one post the fake saw.
type Received struct {
	At     time.Time
	Text   string // the payload's top-level "text"
	Raw    []byte // the whole body as posted
	Status int    // the status answered; 0 if the client gave up first
}

// Webhook is a recording fake Slack incoming webhook on 127.0.0.1. It answers
// scripted responses in order, then 200 "ok"; like Slack it rejects a body
// that is not JSON (400 invalid_payload), a payload with neither text nor
// blocks (400 no_text) and any other path (404 no_service).
type Webhook struct {
	srv     *httptest.Server
	closing chan struct{} // closed first on cleanup, to release delayed answers

	mu       sync.Mutex
	script   []Response
	attempts []Received
	changed  chan struct{} // closed and replaced on every recorded post
}

// NewWebhook starts a fake webhook; it is closed by tb.Cleanup.
func NewWebhook(tb testing.TB) *Webhook {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("alerttest: listen: %v", err)
	}
	w := &Webhook{closing: make(chan struct{}), changed: make(chan struct{})}
	w.srv = &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(w.serve)}}
	w.srv.Start()
	tb.Cleanup(func() {
		close(w.closing)
		w.srv.Close()
	})
	return w
}

// URL is the webhook URL to configure: http://127.0.0.1:port/services/T000/B000/SECRETXYZ.
func (w *Webhook) URL() string { return w.srv.URL + webhookPath }

// Script queues answers for the next posts, after any still queued.
func (w *Webhook) Script(responses ...Response) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.script = append(w.script, responses...)
}

// Messages returns the accepted (2xx) posts in order.
func (w *Webhook) Messages() []Received {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Received
	for _, r := range w.attempts {
		if r.Status/100 == 2 {
			out = append(out, r)
		}
	}
	return out
}

// Attempts returns every post in order, whatever the answer.
func (w *Webhook) Attempts() []Received {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Received(nil), w.attempts...)
}

// WaitFor waits until at least n posts were accepted and returns all the
// accepted ones, or fails the test after timeout. Call it from the test's
// goroutine (it may call tb.Fatalf).
func (w *Webhook) WaitFor(tb testing.TB, n int, timeout time.Duration) []Received {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		w.mu.Lock()
		changed := w.changed
		w.mu.Unlock()
		if msgs := w.Messages(); len(msgs) >= n {
			return msgs
		}
		select {
		case <-changed:
		case <-deadline.C:
			tb.Fatalf("alerttest: got %d accepted webhook messages within %s, want %d (%d attempts)",
				len(w.Messages()), timeout, n, len(w.Attempts()))
			return nil
		}
	}
}

func (w *Webhook) serve(rw http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
	rec := Received{At: time.Now(), Raw: raw}
	resp := w.answer(r, raw, &rec)
	// Record after any delay, so that a post the client gave up on is never
	// counted as accepted: it is recorded with Status 0.
	defer func() { w.record(rec) }()

	if resp.Delay > 0 {
		t := time.NewTimer(resp.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		case <-w.closing:
			return
		}
	}
	if resp.RetryAfter != "" {
		rw.Header().Set("Retry-After", resp.RetryAfter)
	}
	rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
	rw.WriteHeader(resp.Status)
	_, _ = io.WriteString(rw, resp.Body)
	rec.Status = resp.Status
}

// answer decides the response to one post: Slack's own rejections first
// (they do not use up the script), then the script, then 200 "ok".
func (w *Webhook) answer(r *http.Request, raw []byte, rec *Received) Response {
	if r.Method != http.MethodPost {
		return Response{Status: http.StatusMethodNotAllowed, Body: "invalid_method"}
	}
	if r.URL.Path != webhookPath {
		return Response{Status: http.StatusNotFound, Body: "no_service"}
	}
	var p struct {
		Text   string            `json:"text"`
		Blocks []json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return Response{Status: http.StatusBadRequest, Body: "invalid_payload"}
	}
	rec.Text = p.Text
	if p.Text == "" && len(p.Blocks) == 0 {
		return Response{Status: http.StatusBadRequest, Body: "no_text"}
	}

	w.mu.Lock()
	var resp Response
	if len(w.script) > 0 {
		resp = w.script[0]
		w.script = w.script[1:]
	}
	w.mu.Unlock()
	if resp.Status == 0 {
		resp.Status = http.StatusOK
	}
	if resp.Body == "" {
		if resp.Status/100 == 2 {
			resp.Body = "ok"
		} else {
			resp.Body = strconv.Itoa(resp.Status) + " " + http.StatusText(resp.Status)
		}
	}
	return resp
}

func (w *Webhook) record(rec Received) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.attempts = append(w.attempts, rec)
	close(w.changed)
	w.changed = make(chan struct{})
}
