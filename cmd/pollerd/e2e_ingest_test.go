package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/alert/alerttest"
)

// End-to-end tests of client reports (issue 3) against the real binary:
// a flood folds into two Slack messages, a report confirms an outage into
// one DOWN, no secret of a report reaches Slack, the log, the status API
// or the database, and refusals keep DESIGN.md's order. Helpers here are
// prefixed rep so they cannot collide with the other e2e files.

// Bounds for the report tests: generous, for a loaded 2-core machine
// running the binary with -race.
const (
	repWait       = 30 * time.Second // for a message beyond a known delay
	repFloodLimit = 60 * time.Second // a whole flood of posts
	repPostLimit  = 10 * time.Second // one post
	repQuiet      = 3 * time.Second  // watching for a message that must not come
	repStopWait   = 10 * time.Second // SIGTERM to exit
	repFixtureDir = "../../internal/ingest/testdata/reports"
	repService    = "tteokbokki-map"
	repRequest    = "GET /api/stores/:id"
)

// The placeholders planted in every fixture (see the fixtures' README).
var repFixtureSecrets = []string{"SECRET_PLACEHOLDER_TOKEN", "QUERY_PLACEHOLDER_TOKEN"}

// repFixture reads a real client body (copied from shared/fixtures).
func repFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repFixtureDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// repForService re-encodes a body for another service name.
func repForService(t *testing.T, body []byte, service string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	m["serviceName"] = service
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// repTarget is a target probed once an hour: within a test only
// confirmations (and at most one scheduled probe at its phase) touch it.
func repTarget(name, url string) string {
	return fmt.Sprintf("  - name: %s\n    url: %q\n    interval: 1h\n    failure_threshold: 3\n    success_threshold: 2\n", name, url)
}

// repConfig is a whole config: loopback, state in dir, debug JSON log,
// Slack through $SLACK_WEBHOOK_URL when slack is set.
func repConfig(dir string, slack bool, targets, services, ingest string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "listen: 127.0.0.1:0\nstate_dir: %q\nlog: {format: json, level: debug}\n", dir)
	if slack {
		b.WriteString("alerting: {slack: {webhook_url: \"${SLACK_WEBHOOK_URL}\"}}\n")
	}
	b.WriteString("targets:\n" + targets + "services:\n" + services)
	if ingest != "" {
		b.WriteString("ingest:\n" + ingest)
	}
	return b.String()
}

// repPost is one POST's outcome.
type repPost struct {
	status     int
	retryAfter string
	body       []byte
	header     http.Header
}

// repClient posts reports to one daemon over keep-alive connections.
type repClient struct {
	url string
	hc  *http.Client
}

func newRepClient(t *testing.T, d *daemon, conns int) *repClient {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute}
	t.Cleanup(tr.CloseIdleConnections)
	return &repClient{url: "http://" + d.addr + "/api/v1/reports", hc: &http.Client{Transport: tr}}
}

// do sends one request, bounded by repPostLimit.
func (c *repClient) do(method, contentType string, body []byte, hdr map[string]string) (repPost, error) {
	ctx, cancel := context.WithTimeout(context.Background(), repPostLimit)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.url, bytes.NewReader(body))
	if err != nil {
		return repPost{}, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return repPost{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return repPost{}, err
	}
	return repPost{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: b, header: resp.Header}, nil
}

// post sends a JSON report and fails the test on a transport error.
func (c *repClient) post(t *testing.T, body []byte) repPost {
	t.Helper()
	p, err := c.do(http.MethodPost, "application/json", body, nil)
	if err != nil {
		t.Fatalf("post report: %v", err)
	}
	return p
}

// repFloodResult counts a flood's answers.
type repFloodResult struct {
	byStatus     map[int]int
	noRetryAfter int // 429s without a usable Retry-After
	errs         []error
	took         time.Duration
}

// flood posts body n times from workers goroutines. It stops taking new
// posts at repFloodLimit; the caller checks that all n were answered.
func (c *repClient) flood(n, workers int, body []byte) repFloodResult {
	jobs := make(chan struct{})
	var mu sync.Mutex
	res := repFloodResult{byStatus: make(map[int]int)}
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for range jobs {
				p, err := c.do(http.MethodPost, "application/json", body, nil)
				mu.Lock()
				switch {
				case err != nil:
					if len(res.errs) < 5 {
						res.errs = append(res.errs, err)
					}
				default:
					res.byStatus[p.status]++
					if p.status == http.StatusTooManyRequests {
						if s, err := strconv.Atoi(p.retryAfter); err != nil || s < 1 {
							res.noRetryAfter++
						}
					}
				}
				mu.Unlock()
			}
		})
	}
	deadline := time.After(repFloodLimit)
send:
	for range n {
		select {
		case jobs <- struct{}{}:
		case <-deadline:
			break send
		}
	}
	close(jobs)
	wg.Wait()
	res.took = time.Since(start)
	return res
}

// answered is the number of posts that got an HTTP answer.
func (r repFloodResult) answered() int {
	n := 0
	for _, c := range r.byStatus {
		n += c
	}
	return n
}

// repWaitMessages polls the webhook's accepted messages until cond holds.
func repWaitMessages(t *testing.T, wh *alerttest.Webhook, timeout time.Duration, what string, cond func([]alerttest.Received) bool) []alerttest.Received {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msgs := wh.Messages()
		if cond(msgs) {
			return msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s; messages: %q", timeout, what, repTexts(msgs))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func repTexts(msgs []alerttest.Received) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Text
	}
	return out
}

// repStrings returns every string value of a JSON document, decoded: what
// Slack renders, whatever escaping the encoder chose (\u003c for <).
func repStrings(t *testing.T, raw []byte) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("webhook body is not JSON: %v", err)
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			out = append(out, x)
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

func repRandomSecret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "s3cr" + hex.EncodeToString(b)
}

// TestE2E_ReportFloodFoldsIntoTwoMessages: thousands of the same report
// make one REPORT message and one summary with the exact count; with low
// rate limits, the summary also counts exactly the 429s the client saw.
func TestE2E_ReportFloodFoldsIntoTwoMessages(t *testing.T) {
	body := repFixture(t, "node-502.json")
	// The flood must fit in one dedup window (it starts at the first
	// report); a -race binary on a loaded 2-core box takes a few seconds
	// for 2,000 posts, so the window leaves room for several times that.
	const window = 15 * time.Second

	cases := []struct {
		name      string
		n         int
		rateLimit string
		limited   bool
	}{
		{name: "limits raised", n: 2000, rateLimit: "{per_ip: 100000, per_ip_burst: 100000, global: 100000}"},
		{name: "limits low", n: 200, rateLimit: "{per_ip: 5, per_ip_burst: 20, global: 500}", limited: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, targetURL := newFlipperServer(t, true)
			wh := alerttest.NewWebhook(t)
			cfg := repConfig(t.TempDir(), true, repTarget("homeserver", targetURL),
				"  - name: "+repService+"\n    targets: [homeserver]\n",
				fmt.Sprintf("  dedup_window: %s\n  rate_limit: %s\n", window, tc.rateLimit))
			d := startDaemon(t, writeConfig(t, t.TempDir(), cfg), "SLACK_WEBHOOK_URL="+wh.URL())

			c := newRepClient(t, d, 4)
			res := c.flood(tc.n, 4, body)
			accepted, limited := res.byStatus[http.StatusAccepted], res.byStatus[http.StatusTooManyRequests]
			t.Logf("%d posts in %s (%.0f/s): by status %v", tc.n, res.took.Round(time.Millisecond),
				float64(res.answered())/res.took.Seconds(), res.byStatus)
			if len(res.errs) > 0 {
				t.Fatalf("transport errors: %v", res.errs)
			}
			if res.answered() != tc.n {
				t.Fatalf("%d of %d posts answered within %s", res.answered(), tc.n, repFloodLimit)
			}
			if res.took >= window {
				t.Fatalf("the flood took %s, not within one dedup window (%s): the test cannot judge the fold", res.took, window)
			}
			if accepted+limited != tc.n {
				t.Fatalf("by status %v: want only 202 and 429", res.byStatus)
			}
			if tc.limited {
				if limited == 0 || accepted == 0 {
					t.Fatalf("by status %v: want both 202 and 429", res.byStatus)
				}
				if res.noRetryAfter > 0 {
					t.Errorf("%d of %d answers 429 without a Retry-After ≥ 1", res.noRetryAfter, limited)
				}
			} else if accepted != tc.n {
				t.Fatalf("by status %v: want all %d accepted", res.byStatus, tc.n)
			}

			msgs := wh.WaitFor(t, 2, window+repWait)
			time.Sleep(repQuiet) // a third message would come now, if at all
			msgs = wh.Messages()
			t.Logf("messages: %q", repTexts(msgs))
			if len(msgs) != 2 {
				t.Fatalf("%d messages, want 2 (a report and its summary)", len(msgs))
			}
			first, summary := msgs[0].Text, msgs[1].Text
			for _, want := range []string{repService, repRequest + " → 502"} {
				if !strings.Contains(first, want) {
					t.Errorf("first message %q lacks %q", first, want)
				}
			}
			for _, w := range []string{"DOWN", "RECOVERED"} {
				if strings.Contains(first, w) || strings.Contains(summary, w) {
					t.Errorf("report message reads as a transition (%q): %q / %q", w, first, summary)
				}
			}
			if want := fmt.Sprintf("%d reports", accepted); !strings.Contains(summary, want) {
				t.Errorf("summary %q lacks the count %q", summary, want)
			}
			if !strings.Contains(summary, repRequest) {
				t.Errorf("summary %q lacks the request %q", summary, repRequest)
			}
			wantLimited := fmt.Sprintf("%d more rate-limited", limited)
			if got := strings.Contains(summary, "rate-limited"); got != tc.limited {
				t.Errorf("summary %q: mentions rate-limited = %v, want %v", summary, got, tc.limited)
			} else if tc.limited && !strings.Contains(summary, wantLimited) {
				t.Errorf("summary %q lacks %q (the 429s the client saw)", summary, wantLimited)
			}
			t.Logf("summary %s after the first message", msgs[1].At.Sub(msgs[0].At).Round(time.Millisecond))
		})
	}
}

// TestE2E_ReportConfirmsOutage: one report for a service whose target is
// down (but not yet known to be: it is probed hourly) brings one DOWN
// message that carries the report, and no REPORT message; more reports
// during the outage bring nothing new. Recovery is covered by the core
// e2e tests.
func TestE2E_ReportConfirmsOutage(t *testing.T) {
	_, targetURL := newFlipperServer(t, false)
	wh := alerttest.NewWebhook(t)
	cfg := repConfig(t.TempDir(), true, repTarget("homeserver", targetURL),
		"  - name: "+repService+"\n    targets: [homeserver]\n", "  dedup_window: 2s\n")
	d := startDaemon(t, writeConfig(t, t.TempDir(), cfg), "SLACK_WEBHOOK_URL="+wh.URL())
	c := newRepClient(t, d, 2)

	start := time.Now()
	if p := c.post(t, repFixture(t, "node-502.json")); p.status != http.StatusAccepted {
		t.Fatalf("report: %d %s", p.status, p.body)
	}
	msgs := wh.WaitFor(t, 1, repWait)
	took := msgs[0].At.Sub(start)
	t.Logf("report → DOWN message in %s (goal ≤ 3s, bound 10s): %q", took.Round(time.Millisecond), msgs[0].Text)
	if took > 10*time.Second {
		t.Errorf("DOWN message %s after the report, want ≤ 10s", took)
	}
	text := msgs[0].Text
	for _, want := range []string{"DOWN", "homeserver", repRequest} {
		if !strings.Contains(text, want) {
			t.Errorf("DOWN message %q lacks %q", text, want)
		}
	}

	// More reports, the same and another failure, join the outage.
	for _, name := range []string{"node-502.json", "browser-502.json", "node-econnrefused.json", "node-502.json"} {
		if p := c.post(t, repFixture(t, name)); p.status != http.StatusAccepted {
			t.Fatalf("report %s: %d %s", name, p.status, p.body)
		}
	}
	time.Sleep(repQuiet + 2*time.Second) // past the dedup window and a housekeeping tick
	if msgs := wh.Messages(); len(msgs) != 1 {
		t.Fatalf("%d messages, want only the DOWN: %q", len(msgs), repTexts(msgs))
	}
	code, status := d.get("/api/v1/status")
	if code != http.StatusOK || !bytes.Contains(status, []byte(`"DOWN"`)) {
		t.Errorf("status %d %s: want homeserver DOWN", code, status)
	}
}

// TestE2E_ReportSecretsNeverLeak posts the real bodies and a hand-built
// axios error with fresh secrets, to a service whose target is down (one
// incident carries them) and to one whose target is up (REPORT messages),
// then searches every output pollerd has for the secrets.
func TestE2E_ReportSecretsNeverLeak(t *testing.T) {
	bearer, query := repRandomSecret(t), repRandomSecret(t)
	_, upURL := newFlipperServer(t, true)
	wh := alerttest.NewWebhook(t)
	stateDir := t.TempDir()
	targets := repTarget("homeserver", fmt.Sprintf("tcp://127.0.0.1:%d", closedPort(t))) + repTarget("healthy", upURL)
	services := "  - name: broken\n    targets: [homeserver]\n  - name: " + repService + "\n    targets: [healthy]\n"
	cfg := repConfig(stateDir, true, targets, services, "  dedup_window: 3s\n")
	d := startDaemon(t, writeConfig(t, t.TempDir(), cfg), "SLACK_WEBHOOK_URL="+wh.URL())
	c := newRepClient(t, d, 2)

	type report struct {
		name, contentType string
		body              []byte
	}
	browser := repFixture(t, "browser-502.json")
	reports := []report{
		{"node-502", "application/json", repFixture(t, "node-502.json")},
		{"node-econnrefused", "application/json", repFixture(t, "node-econnrefused.json")},
		{"browser-502", "application/json", browser},
		{"browser-502 beacon", "text/plain;charset=UTF-8", browser},
		{"hand-built", "application/json", repAxiosError(t, repService, bearer, query)},
	}
	for _, svc := range []string{"broken", repService} {
		for _, r := range reports {
			body := r.body
			if svc != repService {
				body = repForService(t, body, svc)
			}
			p, err := c.do(http.MethodPost, r.contentType, body, nil)
			if err != nil {
				t.Fatalf("%s to %s: %v", r.name, svc, err)
			}
			if p.status != http.StatusAccepted {
				t.Fatalf("%s to %s: %d %s", r.name, svc, p.status, p.body)
			}
		}
	}

	// Wait for the DOWN of homeserver, the REPORTs of tteokbokki-map's three
	// distinct failures, and the summary of its 502 (three reports).
	msgs := repWaitMessages(t, wh, repWait, "DOWN, 3 reports and a summary", func(ms []alerttest.Received) bool {
		var down, summary bool
		reports := 0
		for _, m := range ms {
			switch {
			case strings.Contains(m.Text, "DOWN"):
				down = true
			case strings.Contains(m.Text, "3 reports"):
				summary = true
			case strings.Contains(m.Text, repService):
				reports++
			}
		}
		return down && summary && reports >= 3
	})
	t.Logf("messages: %q", repTexts(msgs))
	var escaped bool
	for _, m := range wh.Attempts() {
		for _, s := range repStrings(t, m.Raw) {
			if strings.Contains(s, "<!channel>") {
				t.Errorf("a Slack message carries an unescaped <!channel>")
			}
			escaped = escaped || strings.Contains(s, "&lt;!channel&gt;")
		}
	}
	if !escaped {
		t.Errorf("no Slack message carries the report's message escaped (&lt;!channel&gt;); messages: %q", repTexts(msgs))
	}

	code, status := d.get("/api/v1/status")
	if code != http.StatusOK {
		t.Fatalf("status: %d", code)
	}
	if err := d.stop(repStopWait); err != nil {
		t.Errorf("stop: %v", err)
	}
	output := d.output()
	if !bytes.Contains(output, []byte("report accepted")) {
		t.Fatalf("the debug log shows no accepted report: the leak check would be vacuous")
	}

	haystacks := [][]byte{output, status}
	for _, a := range wh.Attempts() {
		haystacks = append(haystacks, a.Raw)
	}
	var dbBytes int
	for _, name := range []string{"pollerd.db", "pollerd.db-wal", "pollerd.db-shm"} {
		b, err := os.ReadFile(filepath.Join(stateDir, name))
		switch {
		case errors.Is(err, fs.ErrNotExist) && name != "pollerd.db":
			continue // checkpointed and removed at a clean stop
		case err != nil:
			t.Fatal(err)
		}
		dbBytes += len(b)
		haystacks = append(haystacks, b)
	}
	t.Logf("searched %d webhook bodies, %d bytes of log, %d of status, %d of database",
		len(wh.Attempts()), len(output), len(status), dbBytes)
	for _, s := range append([]string{bearer, query, alerttest.Secret}, repFixtureSecrets...) {
		alerttest.AssertNoSecret(t, s, haystacks...)
	}
}

// repAxiosError builds an axios error report as a node client sends it,
// with secrets in the Authorization header, the URL's query and params (in
// config and raw.config alike), and a message that tries to mention
// @channel.
func repAxiosError(t *testing.T, service, bearer, query string) []byte {
	t.Helper()
	config := map[string]any{
		"method":  "post",
		"url":     "http://127.0.0.1:18674/api/orders/42?token=" + query + "&page=2",
		"headers": map[string]any{"Accept": "application/json", "Authorization": "Bearer " + bearer, "User-Agent": "axios/1.21.1"},
		"params":  map[string]any{"token": query, "page": 2},
		"timeout": 2000,
	}
	msg := "Request failed with status code 500 <!channel>"
	desc := map[string]any{
		"message":        msg,
		"name":           "AxiosError",
		"code":           "ERR_BAD_RESPONSE",
		"stack":          "AxiosError: " + msg + "\n    at settle (file:///srv/app/node_modules/axios/lib/core/settle.js:19:12)",
		"config":         config,
		"request":        map[string]any{},
		"responseStatus": 500,
		"responseData":   map[string]any{"error": "Internal Server Error"},
		"raw":            map[string]any{"message": msg, "name": "AxiosError", "config": config, "code": "ERR_BAD_RESPONSE", "status": 500},
	}
	d, err := json.Marshal(desc)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(map[string]any{"serviceName": service, "types": []string{"slack"}, "description": string(d)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestE2E_ReportRejections: each refusal of DESIGN.md's list, and the
// acceptances next to them, against the real binary.
func TestE2E_ReportRejections(t *testing.T) {
	const origin = "https://tteokbokki-map.example"
	token := repRandomSecret(t)
	_, upURL := newFlipperServer(t, true)
	services := "  - name: " + repService + "\n    targets: [homeserver]\n    allowed_origins: [\"" + origin + "\"]\n" +
		"  - name: locked\n    targets: [homeserver]\n    token: ${REPORT_TOKEN}\n"
	cfg := repConfig(t.TempDir(), false, repTarget("homeserver", upURL), services, "  max_body_bytes: 16384\n")
	d := startDaemon(t, writeConfig(t, t.TempDir(), cfg), "REPORT_TOKEN="+token)
	c := newRepClient(t, d, 1)

	ok := []byte(`{"serviceName":"` + repService + `","types":["slack"],"description":"GET /api/stores/1 failed"}`)
	locked := []byte(`{"serviceName":"locked","description":"GET /api/stores/1 failed"}`)
	huge := []byte(`{"serviceName":"` + repService + `","description":"` + strings.Repeat("x", 20000) + `"}`)
	cases := []struct {
		name        string
		method      string
		contentType string
		body        []byte
		hdr         map[string]string
		want        int
		wantACAO    string // Access-Control-Allow-Origin, when set
	}{
		{name: "image content type", contentType: "image/png", body: ok, want: http.StatusUnsupportedMediaType},
		{name: "body over max_body_bytes", contentType: "application/json", body: huge, want: http.StatusRequestEntityTooLarge},
		{name: "trailing data", contentType: "application/json", body: append(bytes.Clone(ok), ` {"x":1}`...), want: http.StatusBadRequest},
		{name: "unknown service", contentType: "application/json", body: []byte(`{"serviceName":"nope"}`), want: http.StatusNotFound},
		{name: "origin not allowed", contentType: "application/json", body: ok, hdr: map[string]string{"Origin": "https://evil.example"}, want: http.StatusForbidden},
		{name: "token missing", contentType: "application/json", body: locked, want: http.StatusUnauthorized},
		{name: "token wrong", contentType: "application/json", body: locked, hdr: map[string]string{"Authorization": "Bearer not-" + token}, want: http.StatusUnauthorized},
		{name: "token right", contentType: "application/json", body: locked, hdr: map[string]string{"Authorization": "Bearer " + token}, want: http.StatusAccepted},
		{name: "allowed origin", contentType: "text/plain;charset=UTF-8", body: ok, hdr: map[string]string{"Origin": origin}, want: http.StatusAccepted, wantACAO: origin},
		{name: "preflight from allowed origin", method: http.MethodOptions,
			hdr:  map[string]string{"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
			want: http.StatusNoContent, wantACAO: origin},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			p, err := c.do(method, tc.contentType, tc.body, tc.hdr)
			if err != nil {
				t.Fatal(err)
			}
			if p.status != tc.want {
				t.Fatalf("status %d (%s), want %d", p.status, bytes.TrimSpace(p.body), tc.want)
			}
			if got := p.header.Get("Access-Control-Allow-Origin"); tc.wantACAO != "" && got != tc.wantACAO {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tc.wantACAO)
			}
			switch {
			case tc.want == http.StatusNoContent:
				if len(p.body) != 0 {
					t.Errorf("preflight body %q, want none", p.body)
				}
			case tc.want >= 400:
				var e struct{ Error string }
				if err := json.Unmarshal(p.body, &e); err != nil || e.Error == "" {
					t.Errorf("body %q, want {\"error\": …}", p.body)
				}
			default:
				if !bytes.Contains(p.body, []byte(`"accepted"`)) {
					t.Errorf("body %q, want {\"status\": \"accepted\"}", p.body)
				}
			}
		})
	}
	if err := d.stop(repStopWait); err != nil {
		t.Errorf("stop: %v", err)
	}
	alerttest.AssertNoSecret(t, token, d.output())
}
