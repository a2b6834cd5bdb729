package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// webAPI is a fake Slack Web API on loopback: chat.postMessage and
// chat.update answer like Slack (channel "#alerts" is C0ALERTS, a ts per
// message) and record their forms. With fail set, every call answers that
// Slack error.
type webAPI struct {
	mu    sync.Mutex
	calls []apiCall
	n     int
	fail  string
	url   string
}

type apiCall struct {
	Method string
	Form   url.Values
}

func newWebAPI(t *testing.T) *webAPI {
	t.Helper()
	a := &webAPI{}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	a.url = srv.URL + "/api/"
	return a
}

func (a *webAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	a.mu.Lock()
	a.calls = append(a.calls, apiCall{Method: method, Form: r.PostForm})
	a.n++
	ts, fail := fmt.Sprintf("1740830652.%06d", a.n), a.fail
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if fail != "" {
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": fail})
		return
	}
	if method == "chat.update" {
		ts = r.PostForm.Get("ts")
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": "C0ALERTS", "ts": ts})
}

func (a *webAPI) seen() []apiCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]apiCall(nil), a.calls...)
}

func (a *webAPI) waitCalls(t *testing.T, n int) []apiCall {
	t.Helper()
	eventually(t, coreWait, fmt.Sprintf("%d Web API calls", n), func() bool { return len(a.seen()) >= n })
	return a.seen()
}

func botHeader(stateDir string) string {
	return fmt.Sprintf("listen: 127.0.0.1:0\nstate_dir: %q\nlog: {format: json, level: debug}\n", stateDir) +
		"alerting: {slack: {token: \"${SLACK_BOT_TOKEN}\", channel: \"#alerts\", api_url: \"${SLACK_API_URL}\"}}\ntargets:\n"
}

// TestE2E_SlackBotThread: bot mode against a fake Web API. The DOWN is
// posted to the channel; pollerd restarts mid-incident; the RECOVERED
// updates the DOWN message (resolved, with the downtime) and replies in its
// thread: the ts was kept in the incident's row.
func TestE2E_SlackBotThread(t *testing.T) {
	api := newWebAPI(t)
	web, webURL := newFlipperServer(t, false)
	cfg := writeConfig(t, t.TempDir(), botHeader(t.TempDir())+coreTarget("web", webURL))
	env := []string{"SLACK_BOT_TOKEN=xoxb-e2e-s3cr3t", "SLACK_API_URL=" + api.url}

	d := startDaemon(t, cfg, env...)
	down := api.waitCalls(t, 1)[0]
	if down.Method != "chat.postMessage" || !strings.Contains(down.Form.Get("text"), "DOWN") ||
		down.Form.Get("channel") != "#alerts" || down.Form.Get("thread_ts") != "" {
		t.Fatalf("first call %s %v, want the DOWN posted to #alerts", down.Method, down.Form)
	}
	if err := d.stop(coreStopWait); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}

	d = startDaemon(t, cfg, env...)
	web.set(true)
	calls := api.waitCalls(t, 3)
	upd, reply := calls[1], calls[2]
	if upd.Method != "chat.update" || upd.Form.Get("channel") != "C0ALERTS" || upd.Form.Get("ts") != "1740830652.000001" ||
		!strings.Contains(upd.Form.Get("text"), "web was DOWN for ") || !strings.Contains(upd.Form.Get("text"), "(resolved)") {
		t.Errorf("second call %s %v, want chat.update of the DOWN, resolved", upd.Method, upd.Form)
	}
	if reply.Method != "chat.postMessage" || reply.Form.Get("thread_ts") != "1740830652.000001" ||
		reply.Form.Get("channel") != "C0ALERTS" || !strings.Contains(reply.Form.Get("text"), "RECOVERED") {
		t.Errorf("third call %s %v, want the RECOVERED in the DOWN's thread", reply.Method, reply.Form)
	}
	time.Sleep(time.Second)
	if n := len(api.seen()); n != 3 {
		t.Errorf("%d Web API calls, want 3", n)
	}
	if strings.Contains(string(d.output()), "s3cr3t") {
		t.Error("the bot token is in the log")
	}
}

// TestE2E_SlackBotInvalidAuth: a revoked token is permanent: one attempt,
// /readyz 503 naming the channel, no retry loop.
func TestE2E_SlackBotInvalidAuth(t *testing.T) {
	api := newWebAPI(t)
	api.mu.Lock()
	api.fail = "invalid_auth"
	api.mu.Unlock()
	_, webURL := newFlipperServer(t, false)
	cfg := writeConfig(t, t.TempDir(), botHeader(t.TempDir())+coreTarget("web", webURL))
	d := startDaemon(t, cfg, "SLACK_BOT_TOKEN=xoxb-e2e-s3cr3t", "SLACK_API_URL="+api.url)
	api.waitCalls(t, 1)
	var body []byte
	eventually(t, coreWait, "/readyz 503", func() bool {
		var code int
		code, body = d.get("/readyz")
		return code == http.StatusServiceUnavailable
	})
	if !strings.Contains(string(body), "slack") || !strings.Contains(string(body), "invalid_auth") {
		t.Errorf("/readyz = %s, want the slack channel and invalid_auth", body)
	}
	time.Sleep(3 * time.Second)
	if n := len(api.seen()); n != 1 {
		t.Errorf("%d calls after invalid_auth, want 1", n)
	}
}
