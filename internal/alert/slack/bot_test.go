package slack

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"

	"github.com/pollerd/pollerd/internal/alert/alerttest"
)

const botToken = "xoxb-000-" + alerttest.Secret

// startSlack starts a slacktest server on loopback, optionally with our own
// chat.postMessage handler, stopped at the end of the test.
func startSlack(t *testing.T, postMessage http.HandlerFunc) *slacktest.Server {
	t.Helper()
	var binders []slacktest.Binder
	if postMessage != nil {
		binders = append(binders, func(c slacktest.Customize) { c.Handle("/chat.postMessage", postMessage) })
	}
	s := slacktest.NewTestServer(binders...)
	s.Start()
	t.Cleanup(s.Stop)
	if !strings.HasPrefix(s.GetAPIURL(), "http://127.0.0.1:") {
		t.Fatalf("slacktest is not on loopback: %s", s.GetAPIURL())
	}
	return s
}

func TestBot_NotifyRef(t *testing.T) {
	s := startSlack(t, nil)
	b, err := NewBot(BotOptions{Token: botToken, Channel: "C0ALERTS", APIURL: s.GetAPIURL()})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := b.NotifyRef(context.Background(), downMessage())
	if err != nil {
		t.Fatalf("NotifyRef: %v", err)
	}
	if ts == "" {
		t.Error("NotifyRef returned no ts")
	}
	if err := b.Notify(context.Background(), downMessage()); err != nil {
		t.Errorf("Notify: %v", err)
	}
}

func TestBot_NotifyPosts(t *testing.T) {
	var mu sync.Mutex
	var got map[string][]string
	s := startSlack(t, func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		mu.Lock()
		got = r.PostForm
		mu.Unlock()
		_, _ = w.Write([]byte(`{"ok":true,"channel":"C0ALERTS","ts":"1740830652.000100"}`))
	})
	b, err := NewBot(BotOptions{Token: botToken, Channel: "C0ALERTS", APIURL: s.GetAPIURL()})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := b.NotifyRef(context.Background(), downMessage())
	if err != nil || ts != "1740830652.000100" {
		t.Fatalf("NotifyRef = %q, %v", ts, err)
	}
	mu.Lock()
	defer mu.Unlock()
	p := Payload(downMessage())
	wantBlocks, _ := json.Marshal(p.Blocks)
	for k, want := range map[string]string{"token": botToken, "channel": "C0ALERTS", "text": p.Text, "blocks": string(wantBlocks)} {
		if len(got[k]) != 1 || got[k][0] != want {
			t.Errorf("posted %s = %q, want %q", k, got[k], want)
		}
	}
}

func TestBot_NotifyErrors(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		retryAfter string
		body       string
		wantPerm   bool
		wantWait   time.Duration
	}{
		{name: "429 Retry-After 3", status: 429, retryAfter: "3", wantWait: 3 * time.Second},
		{name: "429 without Retry-After", status: 429, wantWait: time.Second},
		{name: "503 retries", status: 503},
		{name: "400 is final", status: 400, wantPerm: true},
		{name: "invalid_auth", body: `{"ok":false,"error":"invalid_auth"}`, wantPerm: true},
		{name: "token_revoked", body: `{"ok":false,"error":"token_revoked"}`, wantPerm: true},
		{name: "channel_not_found", body: `{"ok":false,"error":"channel_not_found"}`, wantPerm: true},
		{name: "not_in_channel", body: `{"ok":false,"error":"not_in_channel"}`, wantPerm: true},
		{name: "is_archived", body: `{"ok":false,"error":"is_archived"}`, wantPerm: true},
		{name: "internal_error retries", body: `{"ok":false,"error":"internal_error"}`},
		{name: "ratelimited in the body", body: `{"ok":false,"error":"ratelimited"}`, wantWait: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startSlack(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				if tt.status != 0 {
					w.WriteHeader(tt.status)
				}
				_, _ = w.Write([]byte(tt.body))
			})
			logger, logs := alerttest.CaptureLogs(t)
			b, err := NewBot(BotOptions{Token: botToken, Channel: "C0ALERTS", APIURL: s.GetAPIURL(), Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			ts, err := b.NotifyRef(context.Background(), downMessage())
			if ts != "" {
				t.Errorf("ts = %q on failure", ts)
			}
			checkVerdict(t, err, tt.wantPerm, tt.wantWait)
			alerttest.AssertNoSecret(t, alerttest.Secret, []byte(err.Error()), logs())
		})
	}
}

func TestBot_NotifyNetworkError(t *testing.T) {
	s := startSlack(t, nil)
	api := s.GetAPIURL()
	s.Stop() // connection refused from now on
	logger, logs := alerttest.CaptureLogs(t)
	b, err := NewBot(BotOptions{Token: botToken, Channel: "C0ALERTS", APIURL: api, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	err = b.Notify(context.Background(), downMessage())
	checkVerdict(t, err, false, 0)
	alerttest.AssertNoSecret(t, alerttest.Secret, []byte(err.Error()), logs())
}

func TestNewBot(t *testing.T) {
	tests := []struct {
		name string
		o    BotOptions
	}{
		{"no token", BotOptions{Channel: "C1"}},
		{"no channel", BotOptions{Token: botToken}},
		{"relative api url", BotOptions{Token: botToken, Channel: "C1", APIURL: "api/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewBot(tt.o)
			if err == nil {
				t.Fatal("NewBot accepted it")
			}
			alerttest.AssertNoSecret(t, alerttest.Secret, []byte(err.Error()))
		})
	}
	b, err := NewBot(BotOptions{Token: botToken, Channel: "C1"})
	if err != nil || b.Name() != "slack" {
		t.Errorf("NewBot = %v, %v", b, err)
	}
}
