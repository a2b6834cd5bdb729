package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/alert/alerttest"
)

// End-to-end tests of the real binary for the alerting core (issue 2) and
// the status and health endpoints (issue 4). Each asserts generous bounds
// and logs the figures it measured; the goals themselves are benchmarked.

// Bounds of the waits: generous, for a loaded 2-core machine running the
// binary with -race. A normal run takes a fraction of them.
const (
	coreWait     = 30 * time.Second // for a transition, a message, a state
	coreStopWait = 10 * time.Second // SIGTERM to exit
)

// coreHeader is the common part of the tests' configs: loopback listener,
// state in stateDir, debug JSON log (the tests read the probe lines).
func coreHeader(stateDir string, slack bool) string {
	s := fmt.Sprintf("listen: 127.0.0.1:0\nstate_dir: %q\nlog: {format: json, level: debug}\n", stateDir)
	if slack {
		s += "alerting: {slack: {webhook_url: \"${SLACK_WEBHOOK_URL}\"}}\n"
	}
	return s + "targets:\n"
}

// coreTarget is one HTTP target probed every second, DOWN after two
// failures, UP after two successes.
func coreTarget(name, url string) string {
	return fmt.Sprintf("  - name: %s\n    url: %q\n    interval: 1s\n    failure_threshold: 2\n    success_threshold: 2\n", name, url)
}

// flapper answers ok twice (so its target comes UP), then fails every other
// request: never two failures in a row, so never DOWN with a threshold of 2.
type flapper struct{ n atomic.Int64 }

func (f *flapper) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	if n := f.n.Add(1); n > 2 && n%2 == 1 {
		http.Error(w, "flap", http.StatusBadGateway)
		return
	}
	_, _ = io.WriteString(w, "ok")
}

// eventually polls cond every 100 ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// isTransition matches the monitor's transition line of target to state.
func isTransition(target, to string) func(map[string]any) bool {
	return func(l map[string]any) bool {
		return l["msg"] == "transition" && l["target"] == target && l["to"] == to
	}
}

// waitTransitions waits until target made n transitions to state to.
func waitTransitions(t *testing.T, d *daemon, target, to string, n int) {
	t.Helper()
	eventually(t, coreWait, fmt.Sprintf("%d transitions of %s to %s", n, target, to), func() bool {
		return len(logsMatching(d.logs(), "transition", map[string]string{"target": target, "to": to})) >= n
	})
}

// logTime is a log line's timestamp.
func logTime(t *testing.T, l map[string]any) time.Time {
	t.Helper()
	s, _ := l["ts"].(string)
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("log line without a ts: %v", l)
	}
	return ts
}

// messageKind classifies a Slack message by its text.
func messageKind(text string) string {
	switch {
	case strings.Contains(text, "RECOVERED"):
		return "RECOVERED"
	case strings.Contains(text, "DOWN"):
		return "DOWN"
	}
	return "OTHER"
}

func messageKinds(msgs []alerttest.Received) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = messageKind(m.Text)
	}
	return out
}

var downtimeRE = regexp.MustCompile(`RECOVERED after (\S+)`)

// downtimeOf parses the downtime a RECOVERED text announces.
func downtimeOf(t *testing.T, text string) time.Duration {
	t.Helper()
	m := downtimeRE.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no downtime in %q", text)
	}
	d, err := time.ParseDuration(m[1])
	if err != nil {
		t.Fatalf("downtime %q in %q: %v", m[1], text, err)
	}
	if d != d.Round(time.Second) {
		t.Errorf("downtime %s is not rounded to seconds", d)
	}
	return d
}

// checkThresholds walks target's probe lines and checks that every DOWN
// came right after exactly fail consecutive failures and every UP after
// exactly succ consecutive successes.
func checkThresholds(t *testing.T, lines []map[string]any, target string, fail, succ int) {
	t.Helper()
	fails, oks := 0, 0
	for _, l := range lines {
		if l["target"] != target {
			continue
		}
		switch l["msg"] {
		case "probe":
			if ok, _ := l["ok"].(bool); ok {
				oks++
				fails = 0
			} else {
				fails++
				oks = 0
			}
		case "transition":
			switch l["to"] {
			case "DOWN":
				if fails != fail {
					t.Errorf("%s DOWN after %d consecutive failures, want %d", target, fails, fail)
				}
			case "UP":
				if oks != succ {
					t.Errorf("%s UP after %d consecutive successes, want %d", target, oks, succ)
				}
			}
		}
	}
}

// TestE2E_OneDownOneRecoveredPerOutage (issue 2): two outages of one target
// give exactly DOWN, RECOVERED, DOWN, RECOVERED; a target that flaps below
// its failure threshold gives nothing; the log has one transition line per
// transition and one `alert sent` per message; SIGTERM exits 0.
func TestE2E_OneDownOneRecoveredPerOutage(t *testing.T) {
	wh := alerttest.NewWebhook(t)
	web, webURL := newFlipperServer(t, true)
	flap := httptest.NewServer(&flapper{})
	t.Cleanup(flap.Close)

	cfg := writeConfig(t, t.TempDir(), coreHeader(t.TempDir(), true)+
		coreTarget("web", webURL)+coreTarget("flappy", flap.URL+"/health"))
	d := startDaemon(t, cfg, "SLACK_WEBHOOK_URL="+wh.URL())
	waitTransitions(t, d, "web", "UP", 1)
	waitTransitions(t, d, "flappy", "UP", 1)

	for outage := 1; outage <= 2; outage++ {
		flipped := time.Now()
		web.set(false)
		msgs := wh.WaitFor(t, 2*outage-1, coreWait)
		down := msgs[2*outage-2]
		t.Logf("outage %d: flip to DOWN message %s", outage, down.At.Sub(flipped).Round(time.Millisecond))
		if took := down.At.Sub(flipped); took > 15*time.Second {
			t.Errorf("outage %d: DOWN %s after the flip, want ≤ 15s (2 probes at 1s)", outage, took)
		}
		for _, want := range []string{"DOWN", "web", "status 502"} {
			if !strings.Contains(down.Text, want) {
				t.Errorf("outage %d: DOWN text %q lacks %q", outage, down.Text, want)
			}
		}

		time.Sleep(time.Second) // let the outage last a little
		flipped = time.Now()
		web.set(true)
		msgs = wh.WaitFor(t, 2*outage, coreWait)
		rec := msgs[2*outage-1]
		t.Logf("outage %d: flip to RECOVERED message %s", outage, rec.At.Sub(flipped).Round(time.Millisecond))
		if !strings.Contains(rec.Text, "RECOVERED") || !strings.Contains(rec.Text, "web") {
			t.Errorf("outage %d: RECOVERED text %q", outage, rec.Text)
		}

		// The announced downtime runs from the DOWN transition to the UP
		// one: compare it with their log timestamps (exact but for the
		// rounding) and with the messages' arrival (loose).
		downtime := downtimeOf(t, rec.Text)
		trDown := logsMatching(d.logs(), "transition", map[string]string{"target": "web", "to": "DOWN"})
		trUp := logsMatching(d.logs(), "transition", map[string]string{"target": "web", "to": "UP"})
		if len(trDown) < outage || len(trUp) < outage+1 {
			t.Fatalf("outage %d: %d DOWN and %d UP transition lines", outage, len(trDown), len(trUp))
		}
		logged := logTime(t, trUp[outage]).Sub(logTime(t, trDown[outage-1]))
		arrived := rec.At.Sub(down.At)
		t.Logf("outage %d: announced downtime %s, transitions %s apart, messages %s apart",
			outage, downtime, logged.Round(time.Millisecond), arrived.Round(time.Millisecond))
		if diff := (downtime - logged).Abs(); diff > time.Second {
			t.Errorf("outage %d: downtime %s, transitions %s apart", outage, downtime, logged)
		}
		if diff := (downtime - arrived).Abs(); diff > 3*time.Second {
			t.Errorf("outage %d: downtime %s, messages %s apart", outage, downtime, arrived)
		}
	}

	// Strays would come within a few intervals; the flapper keeps flapping.
	time.Sleep(3 * time.Second)
	msgs := wh.Messages()
	if got := strings.Join(messageKinds(msgs), ","); got != "DOWN,RECOVERED,DOWN,RECOVERED" {
		t.Errorf("messages %s, want DOWN,RECOVERED,DOWN,RECOVERED", got)
	}
	for _, m := range msgs {
		if strings.Contains(m.Text, "flappy") {
			t.Errorf("message about the flapping target: %q", m.Text)
		}
	}
	if a := wh.Attempts(); len(a) != len(msgs) {
		t.Errorf("%d posts for %d messages", len(a), len(msgs))
	}

	lines := d.logs()
	for _, tc := range []struct {
		target, to string
		want       int
	}{{"web", "UP", 3}, {"web", "DOWN", 2}, {"flappy", "UP", 1}, {"flappy", "DOWN", 0}} {
		if got := len(logsMatching(lines, "transition", map[string]string{"target": tc.target, "to": tc.to})); got != tc.want {
			t.Errorf("%d transition lines of %s to %s, want %d", got, tc.target, tc.to, tc.want)
		}
	}
	if got := len(logsMatching(lines, "transition", nil)); got != 6 {
		t.Errorf("%d transition lines, want 6", got)
	}
	if got := len(logsMatching(lines, "alert sent", nil)); got != len(msgs) {
		t.Errorf("%d `alert sent` lines for %d messages", got, len(msgs))
	}
	checkThresholds(t, lines, "web", 2, 2)
	checkThresholds(t, lines, "flappy", 2, 2)
	flapFails := 0
	for _, l := range logsMatching(lines, "probe", map[string]string{"target": "flappy"}) {
		if ok, _ := l["ok"].(bool); !ok {
			flapFails++
		}
	}
	if flapFails < 3 {
		t.Errorf("flappy failed %d probes; the test needs it to flap", flapFails)
	}
	t.Logf("flappy: %d failed probes, no transition to DOWN", flapFails)

	stopped := time.Now()
	if err := d.stop(coreStopWait); err != nil {
		t.Errorf("exit after SIGTERM: %v, want 0", err)
	}
	t.Logf("SIGTERM to exit: %s", time.Since(stopped).Round(time.Millisecond))
}

// coreStatusDoc is GET /api/v1/status as DESIGN.md spells it, decoded
// independently of the server's own types.
type coreStatusDoc struct {
	Targets []struct {
		Name       string     `json:"name"`
		URL        string     `json:"url"`
		State      string     `json:"state"`
		Since      *time.Time `json:"since"`
		LastResult *struct {
			OK         bool      `json:"ok"`
			At         time.Time `json:"at"`
			DurationMS *float64  `json:"duration_ms"`
			Reason     string    `json:"reason"`
		} `json:"last_result"`
		Uptime map[string]float64 `json:"uptime"`
	} `json:"targets"`
	Deliveries *struct {
		Pending *int `json:"pending"`
		Failed  *int `json:"failed"`
	} `json:"deliveries"`
	Incidents []struct {
		Subject  string     `json:"subject"`
		Cause    string     `json:"cause"`
		OpenedAt time.Time  `json:"opened_at"`
		ClosedAt *time.Time `json:"closed_at"`
	} `json:"incidents"`
}

// status fetches and decodes the status document, and returns the body too.
func (d *daemon) status(t *testing.T) (coreStatusDoc, []byte) {
	t.Helper()
	code, body := d.get("/api/v1/status")
	if code != http.StatusOK {
		t.Fatalf("GET /api/v1/status: %d %s", code, body)
	}
	var doc coreStatusDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("status: %v\n%s", err, body)
	}
	return doc, body
}

// deliveries is the status document's outbox counts.
func (d *daemon) deliveries(t *testing.T) (pending, failed int) {
	t.Helper()
	doc, body := d.status(t)
	if doc.Deliveries == nil || doc.Deliveries.Pending == nil || doc.Deliveries.Failed == nil {
		t.Fatalf("status without deliveries.pending/failed: %s", body)
	}
	return *doc.Deliveries.Pending, *doc.Deliveries.Failed
}

// TestE2E_StatusAndHealth (issue 4): the health endpoints, the status
// document's fields, and that a target URL's userinfo and query never show
// in the status API or the log, even when the probe's error quotes the URL.
func TestE2E_StatusAndHealth(t *testing.T) {
	const (
		query    = "SECRETQ"
		password = "PWSECRET7" // the brief's "pw", made distinctive: two letters would match by chance
	)
	_, upURL := newFlipperServer(t, true)
	upPlain := upURL // http://127.0.0.1:port/health
	upURL = strings.Replace(upURL, "http://", "http://user:"+password+"@", 1) + "?token=" + query
	downPlain := fmt.Sprintf("http://127.0.0.1:%d/health", closedPort(t))
	downURL := strings.Replace(downPlain, "http://", "http://user:"+password+"@", 1) + "?token=" + query

	// No alerting section: alerts go to the log, so the DOWN text is in the
	// output the leak check reads.
	cfg := writeConfig(t, t.TempDir(), coreHeader(t.TempDir(), false)+coreTarget("up", upURL)+coreTarget("down", downURL))
	started := time.Now()
	d := startDaemon(t, cfg)
	if code, body := d.get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d %s", code, body)
	}
	eventually(t, coreWait, "/readyz 200", func() bool { code, _ := d.get("/readyz"); return code == http.StatusOK })
	t.Logf("start to /readyz 200: %s", time.Since(started).Round(time.Millisecond))

	d.waitLog(func(l map[string]any) bool {
		return l["msg"] == "alert" && l["kind"] == "DOWN" && l["target"] == "down"
	}, coreWait)
	t.Logf("start to DOWN alert of a closed port: %s", time.Since(started).Round(time.Millisecond))

	var doc coreStatusDoc
	var bodies [][]byte
	eventually(t, coreWait, "status with both targets' states, results and uptime", func() bool {
		var body []byte
		doc, body = d.status(t)
		bodies = append(bodies, body)
		states := map[string]string{}
		for _, tg := range doc.Targets {
			if tg.LastResult != nil && len(tg.Uptime) > 0 {
				states[tg.Name] = tg.State
			}
		}
		return states["up"] == "UP" && states["down"] == "DOWN"
	})
	last := bodies[len(bodies)-1]
	t.Logf("status: %s", last)

	want := map[string]struct {
		url, state string
		ok         bool
		reason     string
		uptime     func(float64) bool
	}{
		"up":   {upPlain, "UP", true, "", func(u float64) bool { return u == 1 }},
		"down": {downPlain, "DOWN", false, "connect: connection refused", func(u float64) bool { return u == 0 }},
	}
	for _, tg := range doc.Targets {
		w, ok := want[tg.Name]
		if !ok {
			t.Errorf("unexpected target %q", tg.Name)
			continue
		}
		if tg.URL != w.url {
			t.Errorf("%s: url %q, want %q (no userinfo, no query)", tg.Name, tg.URL, w.url)
		}
		if tg.Since == nil || tg.Since.Before(started.Add(-time.Second)) || tg.Since.After(time.Now()) {
			t.Errorf("%s: since %v, want a time since the start", tg.Name, tg.Since)
		}
		r := tg.LastResult
		if r.OK != w.ok || r.At.Before(started.Add(-time.Second)) || r.DurationMS == nil || *r.DurationMS < 0 {
			t.Errorf("%s: last_result %+v", tg.Name, *r)
		}
		if !strings.Contains(r.Reason, w.reason) || (w.ok && r.Reason != "") {
			t.Errorf("%s: reason %q, want %q", tg.Name, r.Reason, w.reason)
		}
		if u, ok := tg.Uptime["24h"]; !ok || !w.uptime(u) {
			t.Errorf("%s: uptime %v", tg.Name, tg.Uptime)
		}
	}
	if p, f := d.deliveries(t); p != 0 || f != 0 {
		t.Errorf("deliveries pending %d failed %d, want 0 0 (the log channel)", p, f)
	}
	if len(doc.Incidents) != 1 || doc.Incidents[0].Subject != "down" || doc.Incidents[0].ClosedAt != nil ||
		!strings.Contains(doc.Incidents[0].Cause, "connection refused") {
		t.Errorf("incidents %+v, want one open incident of down", doc.Incidents)
	}
	var raw map[string]any
	if err := json.Unmarshal(last, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"targets", "deliveries", "incidents"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("status lacks %q", k)
		}
	}

	_, ready := d.get("/readyz")
	if err := d.stop(coreStopWait); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
	haystacks := append(bodies, ready, d.output())
	alerttest.AssertNoSecret(t, query, haystacks...)
	alerttest.AssertNoSecret(t, password, haystacks...)
}

// TestE2E_SlackRateLimitedAndFailing (issue 4): through a 429 and 5xx
// answers every message arrives, in order, once; a permanently failing
// webhook shows on /readyz and the status API and stops nothing.
func TestE2E_SlackRateLimitedAndFailing(t *testing.T) {
	t.Run("429 then 5xx", func(t *testing.T) {
		wh := alerttest.NewWebhook(t)
		wh.Script(
			alerttest.Response{Status: http.StatusTooManyRequests, RetryAfter: "2"},
			alerttest.Response{Status: http.StatusInternalServerError},
			alerttest.Response{Status: http.StatusInternalServerError},
			alerttest.Response{Status: http.StatusInternalServerError},
		)
		web, webURL := newFlipperServer(t, true)
		cfg := writeConfig(t, t.TempDir(), coreHeader(t.TempDir(), true)+coreTarget("web", webURL))
		d := startDaemon(t, cfg, "SLACK_WEBHOOK_URL="+wh.URL())
		waitTransitions(t, d, "web", "UP", 1)

		start := time.Now()
		for i := 1; i <= 2; i++ {
			web.set(false)
			waitTransitions(t, d, "web", "DOWN", i)
			if i == 1 {
				// The 429 holds the first DOWN back for 2 s at least.
				eventually(t, coreWait, "the status API shows the DOWN pending", func() bool {
					p, _ := d.deliveries(t)
					return p >= 1
				})
			}
			web.set(true)
			waitTransitions(t, d, "web", "UP", i+1)
		}
		t.Logf("two outages: %s; messages so far: %d", time.Since(start).Round(time.Millisecond), len(wh.Messages()))

		msgs := wh.WaitFor(t, 4, 60*time.Second)
		t.Logf("first transition to last message: %s", msgs[len(msgs)-1].At.Sub(start).Round(time.Millisecond))
		time.Sleep(2 * time.Second) // a duplicate would come now
		msgs = wh.Messages()
		if got := strings.Join(messageKinds(msgs), ","); got != "DOWN,RECOVERED,DOWN,RECOVERED" {
			t.Errorf("messages %s, want DOWN,RECOVERED,DOWN,RECOVERED", got)
		}
		seen := map[string]bool{}
		for _, m := range msgs {
			if seen[string(m.Raw)] {
				t.Errorf("message delivered twice: %q", m.Text)
			}
			seen[string(m.Raw)] = true
		}

		// The attempts: 429, 500, 500, 500 on the first DOWN (the head of
		// the queue, nothing overtakes it), then the four accepted posts.
		a := wh.Attempts()
		var statuses []string
		for _, x := range a {
			statuses = append(statuses, fmt.Sprint(x.Status))
		}
		if got := strings.Join(statuses, ","); got != "429,500,500,500,200,200,200,200" {
			t.Fatalf("attempts answered %s, want 429,500,500,500,200,200,200,200", got)
		}
		for i := 1; i <= 4; i++ {
			if string(a[i].Raw) != string(a[0].Raw) {
				t.Errorf("attempt %d posted %q, want a retry of %q", i+1, a[i].Text, a[0].Text)
			}
		}
		afterLimit := a[1].At.Sub(a[0].At)
		t.Logf("429 Retry-After 2 → next attempt after %s", afterLimit.Round(time.Millisecond))
		if afterLimit < 2*time.Second || afterLimit > 10*time.Second {
			t.Errorf("retry %s after a 429 with Retry-After: 2, want ≥ 2s (and ≤ 10s)", afterLimit)
		}
		// 5xx backoff starts at 1s and doubles, with jitter in [d/2, d):
		// the k-th retry waits at least 1s·2^(k-1)/2.
		for k := 1; k <= 3; k++ {
			gap := a[k+1].At.Sub(a[k].At)
			least := time.Second << (k - 1) / 2
			t.Logf("retry after 500 #%d: %s", k, gap.Round(time.Millisecond))
			if gap < least || gap > 30*time.Second {
				t.Errorf("retry after 500 #%d came %s later, want ≥ %s", k, gap, least)
			}
		}
		if got := len(logsMatching(d.logs(), "alert rate limited; waiting as asked", nil)); got != 1 {
			t.Errorf("%d rate-limit log lines, want 1", got)
		}
		if got := len(logsMatching(d.logs(), "alert sent", nil)); got != 4 {
			t.Errorf("%d `alert sent` lines, want 4", got)
		}
		if p, f := d.deliveries(t); p != 0 || f != 0 {
			t.Errorf("deliveries pending %d failed %d, want 0 0", p, f)
		}
		if err := d.stop(coreStopWait); err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
		alerttest.AssertNoSecret(t, alerttest.Secret, d.output())
	})

	t.Run("permanent no_service", func(t *testing.T) {
		wh := alerttest.NewWebhook(t)
		for range 10 {
			wh.Script(alerttest.Response{Status: http.StatusNotFound, Body: "no_service"})
		}
		web, webURL := newFlipperServer(t, false)
		cfg := writeConfig(t, t.TempDir(), coreHeader(t.TempDir(), true)+coreTarget("web", webURL))
		d := startDaemon(t, cfg, "SLACK_WEBHOOK_URL="+wh.URL())

		var ready []byte
		eventually(t, coreWait, "/readyz 503 after a permanent failure", func() bool {
			var code int
			code, ready = d.get("/readyz")
			return code == http.StatusServiceUnavailable && len(wh.Attempts()) > 0
		})
		t.Logf("/readyz: %s", ready)
		if !strings.Contains(string(ready), "slack") || !strings.Contains(string(ready), "no_service") {
			t.Errorf("/readyz reason %s, want the channel and Slack's error", ready)
		}
		if _, f := d.deliveries(t); f < 1 {
			t.Errorf("deliveries.failed %d, want ≥ 1", f)
		}

		// Not looped on, and the process goes on: the RECOVERED is still
		// attempted although its DOWN failed.
		web.set(true)
		waitTransitions(t, d, "web", "UP", 1)
		eventually(t, coreWait, "the RECOVERED attempted", func() bool { return len(wh.Attempts()) >= 2 })
		time.Sleep(2 * time.Second)
		a := wh.Attempts()
		if got := strings.Join(messageKinds(a), ","); got != "DOWN,RECOVERED" {
			t.Errorf("attempts %s, want DOWN,RECOVERED, each once", got)
		}
		if _, f := d.deliveries(t); f != 2 {
			t.Errorf("deliveries.failed %d, want 2", f)
		}
		if code, _ := d.get("/healthz"); code != http.StatusOK {
			t.Errorf("/healthz %d while a channel failed", code)
		}
		if got := len(logsMatching(d.logs(), "alert failed permanently; not retried", nil)); got != 2 {
			t.Errorf("%d permanent-failure log lines, want 2 (one per message)", got)
		}
		if err := d.stop(coreStopWait); err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
		alerttest.AssertNoSecret(t, alerttest.Secret, ready, d.output())
	})
}

// TestE2E_ExampleConfigShowsDown runs the README's command on a copy of the
// runnable example, with the environment overrides a test needs: a DOWN
// of the closed port shows in the log within 30 s.
func TestE2E_ExampleConfigShowsDown(t *testing.T) {
	src, err := os.ReadFile("../../configs/pollerd.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	cfg := writeConfig(t, dir, string(src))
	started := time.Now()
	// startDaemon reads the JSON `listening` line: with the example's
	// console format it would time out, so this checks POLLERD_LOG_FORMAT.
	d := startDaemon(t, cfg, "POLLERD_LISTEN=127.0.0.1:0", "POLLERD_STATE_DIR="+stateDir, "POLLERD_LOG_FORMAT=json")
	if strings.HasSuffix(d.addr, ":8080") || !strings.HasPrefix(d.addr, "127.0.0.1:") {
		t.Errorf("listening on %s: POLLERD_LISTEN ignored", d.addr)
	}
	line := d.waitLog(func(l map[string]any) bool {
		return l["msg"] == "alert" && l["kind"] == "DOWN" && l["target"] == "closed-port"
	}, 30*time.Second)
	t.Logf("start to DOWN of closed-port: %s; text %q", time.Since(started).Round(time.Millisecond), line["text"])
	if _, err := os.Stat(filepath.Join(stateDir, "pollerd.db")); err != nil {
		t.Errorf("no pollerd.db in POLLERD_STATE_DIR: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		t.Errorf("the config's state_dir was used despite POLLERD_STATE_DIR")
	}
	if err := d.stop(coreStopWait); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
}
