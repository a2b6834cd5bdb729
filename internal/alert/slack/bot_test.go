package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"

	"github.com/pollerd/pollerd/internal/alert"
	"github.com/pollerd/pollerd/internal/alert/alerttest"
	"github.com/pollerd/pollerd/internal/incident"
	"github.com/pollerd/pollerd/internal/store"
)

const botToken = "xoxb-000-" + alerttest.Secret

// call is one Web API request the fake saw.
type call struct {
	Method string
	Form   url.Values
}

// fakeAPI is a slacktest server whose chat.postMessage and chat.update
// (which slacktest lacks) record their forms and answer like Slack: a
// channel id for "#alerts", a ts per message. Script queues answers for a
// method (a body, and a status with a Retry-After when set).
type fakeAPI struct {
	*slacktest.Server
	mu      sync.Mutex
	calls   []call
	n       int
	scripts map[string][]answer
}

type answer struct {
	status     int
	retryAfter string
	body       string
}

func startFake(t *testing.T) *fakeAPI {
	t.Helper()
	f := &fakeAPI{scripts: map[string][]answer{}}
	s := slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", f.handle("chat.postMessage"))
		c.Handle("/chat.update", f.handle("chat.update"))
	})
	s.Start()
	t.Cleanup(s.Stop)
	if !strings.HasPrefix(s.GetAPIURL(), "http://127.0.0.1:") {
		t.Fatalf("slacktest is not on loopback: %s", s.GetAPIURL())
	}
	f.Server = s
	return f
}

func (f *fakeAPI) script(method string, a ...answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scripts[method] = append(f.scripts[method], a...)
}

func (f *fakeAPI) handle(method string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		f.mu.Lock()
		f.calls = append(f.calls, call{Method: method, Form: r.PostForm})
		var a *answer
		if q := f.scripts[method]; len(q) > 0 {
			a, f.scripts[method] = &q[0], q[1:]
		}
		f.n++
		ts := fmt.Sprintf("1740830652.%06d", f.n)
		f.mu.Unlock()
		if a != nil {
			if a.retryAfter != "" {
				w.Header().Set("Retry-After", a.retryAfter)
			}
			if a.status != 0 {
				w.WriteHeader(a.status)
			}
			_, _ = w.Write([]byte(a.body))
			return
		}
		ch := r.PostForm.Get("channel")
		if ch == "#alerts" {
			ch = "C0ALERTS"
		}
		if method == "chat.update" {
			ts = r.PostForm.Get("ts")
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": ch, "ts": ts})
	}
}

func (f *fakeAPI) seen() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

func newTestBot(t *testing.T, f *fakeAPI, refs RefStore) *Bot {
	t.Helper()
	b, err := NewBot(BotOptions{Token: botToken, Channel: "#alerts", APIURL: f.GetAPIURL(), Refs: refs})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// story is one incident's messages as the engine makes them.
func story() (down, reminder, recovered alert.Message) {
	m := goldenMessages()
	down, recovered = m["down"], m["recovered"]
	reminder = alert.Message{Key: "42:reminder:1", IncidentID: 42, Kind: alert.KindReminder, Target: "api",
		At: at.Add(time.Minute), Text: "api is still DOWN after 1m", Title: "api is still DOWN"}
	return down, reminder, recovered
}

func mustNotify(t *testing.T, b *Bot, m alert.Message) {
	t.Helper()
	if err := b.Notify(context.Background(), m); err != nil {
		t.Fatalf("Notify(%s): %v", m.Key, err)
	}
}

// checkThread checks that calls are: the DOWN posted to the channel, then
// every later message a reply in its thread, and the RECOVERED's update of
// the DOWN (channel id and ts) before its reply.
func checkThread(t *testing.T, calls []call, want ...string) {
	t.Helper()
	if len(calls) != len(want) {
		t.Fatalf("calls = %d, want %d (%v)", len(calls), len(want), want)
	}
	downTS := "1740830652.000001"
	for i, c := range calls {
		wantMethod, wantText, _ := strings.Cut(want[i], " ")
		if c.Method != wantMethod || !strings.Contains(c.Form.Get("text"), wantText) {
			t.Errorf("call %d = %s %q, want %s containing %q", i, c.Method, c.Form.Get("text"), wantMethod, wantText)
		}
		if c.Form.Get("token") != botToken {
			t.Errorf("call %d: token not sent", i)
		}
		switch {
		case i == 0:
			if c.Form.Get("channel") != "#alerts" || c.Form.Get("thread_ts") != "" {
				t.Errorf("DOWN: channel %q thread_ts %q, want #alerts and none", c.Form.Get("channel"), c.Form.Get("thread_ts"))
			}
		case c.Method == "chat.update":
			if c.Form.Get("channel") != "C0ALERTS" || c.Form.Get("ts") != downTS {
				t.Errorf("update: channel %q ts %q, want C0ALERTS %s", c.Form.Get("channel"), c.Form.Get("ts"), downTS)
			}
		default:
			if c.Form.Get("channel") != "C0ALERTS" || c.Form.Get("thread_ts") != downTS {
				t.Errorf("call %d: channel %q thread_ts %q, want a reply in C0ALERTS/%s", i,
					c.Form.Get("channel"), c.Form.Get("thread_ts"), downTS)
			}
		}
	}
}

func TestBot_Thread(t *testing.T) {
	f := startFake(t)
	refs := &memRefs{m: map[int64]string{}}
	b := newTestBot(t, f, refs)
	down, reminder, recovered := story()
	mustNotify(t, b, down)
	mustNotify(t, b, reminder)
	mustNotify(t, b, recovered)
	checkThread(t, f.seen(),
		"chat.postMessage api is DOWN",
		"chat.postMessage still DOWN",
		"chat.update api was DOWN for 4m12s (resolved)",
		"chat.postMessage api RECOVERED after 4m12s")
	if refs.m[42] != "C0ALERTS:1740830652.000001" {
		t.Errorf("ref kept = %q", refs.m[42])
	}
	// The update replaces the DOWN's blocks too.
	upd := f.seen()[2].Form
	if want, _ := json.Marshal(ResolvedPayload(recovered).Blocks); upd.Get("blocks") != string(want) {
		t.Errorf("update blocks = %s, want %s", upd.Get("blocks"), want)
	}

	t.Run("a message of no incident is posted to the channel", func(t *testing.T) {
		n := len(f.seen())
		mustNotify(t, b, alert.Message{Key: "n1", Kind: alert.KindReport, Text: "hello"})
		c := f.seen()[n]
		if c.Form.Get("thread_ts") != "" || c.Form.Get("channel") != "#alerts" {
			t.Errorf("posted %v", c.Form)
		}
	})
}

// TestBot_ThreadSurvivesRestart: the DOWN's ts is kept in the incident's
// row; a new bot over the reopened store replies in the same thread and
// updates the same message.
func TestBot_ThreadSurvivesRestart(t *testing.T) {
	f := startFake(t)
	dir := t.TempDir()
	ctx := context.Background()
	open := func() *store.DB {
		db, err := store.Open(ctx, dir, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	down, reminder, recovered := story()
	inc := incident.Incident{ID: 42, Kind: incident.KindTarget, Subject: "api", OpenedAt: at, Cause: "503"}

	db := open()
	if err := db.Commit(ctx, incident.Change{Incidents: []incident.Incident{inc}}); err != nil {
		t.Fatal(err)
	}
	mustNotify(t, newTestBot(t, f, db), down)
	_ = db.Close()

	db = open()
	defer db.Close()
	b := newTestBot(t, f, db)
	// The DOWN again (stopped before it was marked delivered): not posted twice.
	mustNotify(t, b, down)
	mustNotify(t, b, reminder)
	// The engine closes the incident knowing no ref; the ref stays.
	inc.ClosedAt = recovered.At
	if err := db.Commit(ctx, incident.Change{Incidents: []incident.Incident{inc}}); err != nil {
		t.Fatal(err)
	}
	mustNotify(t, b, recovered)
	checkThread(t, f.seen(),
		"chat.postMessage api is DOWN",
		"chat.postMessage still DOWN",
		"chat.update (resolved)",
		"chat.postMessage RECOVERED")
}

// TestBot_GroupThread: a group incident's messages thread on its incident
// id, whatever their keys and kinds.
func TestBot_GroupThread(t *testing.T) {
	f := startFake(t)
	b := newTestBot(t, f, nil)
	mustNotify(t, b, alert.Message{Key: "9:down", IncidentID: 9, Kind: alert.KindDown, Group: "homeserver",
		Text: "homeserver is DOWN: 2 of 3"})
	mustNotify(t, b, alert.Message{Key: "9:followup:1", IncidentID: 9, Kind: alert.KindDown, Group: "homeserver",
		Text: "homeserver: db is DOWN too"})
	mustNotify(t, b, alert.Message{Key: "9:recovered", IncidentID: 9, Kind: alert.KindRecovered, Group: "homeserver",
		Since: at, At: at.Add(time.Minute), Text: "homeserver RECOVERED"})
	checkThread(t, f.seen(),
		"chat.postMessage homeserver is DOWN",
		"chat.postMessage db is DOWN too",
		"chat.update homeserver was DOWN for 1m0s (resolved)",
		"chat.postMessage homeserver RECOVERED")
}

func TestBot_RecoveredUpdate(t *testing.T) {
	tests := []struct {
		name      string
		update    answer
		wantReply bool
		wantPerm  bool
		wantWait  time.Duration
	}{
		// The DOWN was deleted or is too old to edit: the reply still goes.
		{name: "message_not_found", update: answer{body: `{"ok":false,"error":"message_not_found"}`}, wantReply: true},
		{name: "cant_update_message", update: answer{body: `{"ok":false,"error":"cant_update_message"}`}, wantReply: true},
		// A rate limit or an outage: the whole RECOVERED is retried.
		{name: "ratelimited", update: answer{status: 429, retryAfter: "7"}, wantWait: 7 * time.Second},
		{name: "503", update: answer{status: 503}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t)
			b := newTestBot(t, f, nil)
			down, _, recovered := story()
			mustNotify(t, b, down)
			f.script("chat.update", tt.update)
			err := b.Notify(context.Background(), recovered)
			calls := f.seen()
			replied := calls[len(calls)-1].Method == "chat.postMessage" && len(calls) == 3
			if replied != tt.wantReply {
				t.Errorf("reply posted = %v, want %v", replied, tt.wantReply)
			}
			if tt.wantReply {
				if err != nil {
					t.Errorf("Notify = %v", err)
				}
				return
			}
			checkVerdict(t, err, tt.wantPerm, tt.wantWait)
			// The retry updates and replies.
			mustNotify(t, b, recovered)
			checkThread(t, f.seen(), "chat.postMessage DOWN", "chat.update resolved", "chat.update resolved", "chat.postMessage RECOVERED")
		})
	}
}

func TestBot_NotifyPosts(t *testing.T) {
	f := startFake(t)
	b := newTestBot(t, f, nil)
	mustNotify(t, b, downMessage())
	got := f.seen()[0].Form
	p := Payload(downMessage())
	wantBlocks, _ := json.Marshal(p.Blocks)
	for k, want := range map[string]string{"token": botToken, "channel": "#alerts", "text": p.Text, "blocks": string(wantBlocks)} {
		if got.Get(k) != want {
			t.Errorf("posted %s = %q, want %q", k, got.Get(k), want)
		}
	}
}

func TestBot_NotifyErrors(t *testing.T) {
	tests := []struct {
		name     string
		answer   answer
		wantPerm bool
		wantWait time.Duration
	}{
		{name: "429 Retry-After 3", answer: answer{status: 429, retryAfter: "3"}, wantWait: 3 * time.Second},
		{name: "429 without Retry-After", answer: answer{status: 429}, wantWait: time.Second},
		{name: "503 retries", answer: answer{status: 503}},
		{name: "400 is final", answer: answer{status: 400}, wantPerm: true},
		{name: "invalid_auth", answer: answer{body: `{"ok":false,"error":"invalid_auth"}`}, wantPerm: true},
		{name: "account_inactive", answer: answer{body: `{"ok":false,"error":"account_inactive"}`}, wantPerm: true},
		{name: "token_revoked", answer: answer{body: `{"ok":false,"error":"token_revoked"}`}, wantPerm: true},
		{name: "channel_not_found", answer: answer{body: `{"ok":false,"error":"channel_not_found"}`}, wantPerm: true},
		{name: "not_in_channel", answer: answer{body: `{"ok":false,"error":"not_in_channel"}`}, wantPerm: true},
		{name: "is_archived", answer: answer{body: `{"ok":false,"error":"is_archived"}`}, wantPerm: true},
		{name: "internal_error retries", answer: answer{body: `{"ok":false,"error":"internal_error"}`}},
		{name: "ratelimited in the body", answer: answer{body: `{"ok":false,"error":"ratelimited"}`}, wantWait: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t)
			f.script("chat.postMessage", tt.answer)
			logger, logs := alerttest.CaptureLogs(t)
			refs := &memRefs{m: map[int64]string{}}
			b, err := NewBot(BotOptions{Token: botToken, Channel: "C0ALERTS", APIURL: f.GetAPIURL(), Refs: refs, Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			err = b.Notify(context.Background(), downMessage())
			checkVerdict(t, err, tt.wantPerm, tt.wantWait)
			if len(refs.m) != 0 {
				t.Errorf("ref kept on failure: %v", refs.m)
			}
			alerttest.AssertNoSecret(t, alerttest.Secret, []byte(err.Error()), logs())
		})
	}
}

func TestBot_NotifyNetworkError(t *testing.T) {
	f := startFake(t)
	api := f.GetAPIURL()
	f.Stop() // connection refused from now on
	logger, logs := alerttest.CaptureLogs(t)
	b, err := NewBot(BotOptions{Token: botToken, Channel: "C0ALERTS", APIURL: api, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	err = b.Notify(context.Background(), downMessage())
	checkVerdict(t, err, false, 0)
	alerttest.AssertNoSecret(t, alerttest.Secret, []byte(err.Error()), logs())
}

// TestBot_RefStoreFails: a store that cannot keep the ref costs nothing
// while the process runs: the thread is kept in memory.
func TestBot_RefStoreFails(t *testing.T) {
	f := startFake(t)
	b := newTestBot(t, f, &memRefs{m: map[int64]string{}, fail: true})
	down, reminder, _ := story()
	mustNotify(t, b, down)
	mustNotify(t, b, reminder)
	checkThread(t, f.seen(), "chat.postMessage DOWN", "chat.postMessage still DOWN")
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
	// An api url without its trailing slash still reaches the methods.
	f := startFake(t)
	b, err = NewBot(BotOptions{Token: botToken, Channel: "C1", APIURL: strings.TrimSuffix(f.GetAPIURL(), "/")})
	if err != nil {
		t.Fatal(err)
	}
	mustNotify(t, b, downMessage())
}

// memRefs is a RefStore in memory; fail makes every call fail.
type memRefs struct {
	mu   sync.Mutex
	m    map[int64]string
	fail bool
}

var _ RefStore = (*memRefs)(nil)

func (r *memRefs) MessageRef(_ context.Context, id int64) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return "", fmt.Errorf("disk I/O error")
	}
	return r.m[id], nil
}

func (r *memRefs) SetMessageRef(_ context.Context, id int64, ref string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return fmt.Errorf("disk I/O error")
	}
	r.m[id] = ref
	return nil
}
