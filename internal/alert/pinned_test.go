package alert_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/alert"
	"github.com/pollerd/pollerd/internal/alert/alerttest"
	"github.com/pollerd/pollerd/internal/alert/slack"
	"github.com/pollerd/pollerd/internal/incident"
)

type sinkFunc func(c incident.Change, msgs ...alert.Message)

func (f sinkFunc) Emit(c incident.Change, msgs ...alert.Message) { f(c, msgs...) }

// The texts that the README and DESIGN pin, as Slack shows them: the
// engine's neutral messages rendered by alert/slack.
func TestPinnedTexts_AsSlackShowsThem(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	clk := alerttest.NewClock(t0)
	var mu sync.Mutex
	var got []string
	texts := func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), got...) }
	e, err := alert.New(alert.Options{
		Store: alerttest.NewStore(),
		Sink: sinkFunc(func(_ incident.Change, msgs ...alert.Message) {
			mu.Lock()
			defer mu.Unlock()
			for _, m := range msgs {
				got = append(got, slack.Payload(m).Text)
			}
		}),
		Services:    map[string][]string{"tteokbokki-map": {"api"}, "shop": {"db"}},
		DedupWindow: 10 * time.Minute,
		Now:         clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := alert.Report{Service: "tteokbokki-map", Fingerprint: "x", Method: "GET", Path: "/api/stores/:id", Status: 502, StatusText: "Bad Gateway"}
	hostile := alert.Report{Service: "shop", Fingerprint: "h", Method: "GET", Path: "/a/<!channel>&", Status: 500}

	if !e.Add(r) {
		t.Fatal("first report not first")
	}
	e.Settle(r)
	for range 13 {
		e.Add(r)
	}
	for range 3 {
		e.RateLimited()
	}
	if e.Add(hostile) {
		e.Settle(hostile)
	}
	e.Transition(alert.Transition{Target: "api", From: "UP", To: "DOWN", At: t0, Reason: "status 502, want 2xx"})
	for i := range 14 {
		e.Add(alert.Report{Service: "tteokbokki-map", Fingerprint: string(rune('a' + i))})
	}
	e.Transition(alert.Transition{Target: "api", From: "DOWN", To: "UP", At: t0.Add(4*time.Minute + 12*time.Second)})
	// The report window ends; housekeeping (once a second) summarises it.
	clk.Add(10 * time.Minute)
	e.Run(context.Background())
	defer e.Close(context.Background())
	for deadline := time.Now().Add(5 * time.Second); len(texts()) < 5 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	shown := texts()
	want := []string{
		"⚠️ tteokbokki-map: GET /api/stores/:id → 502 Bad Gateway, 1 report",
		"⚠️ shop: GET /a/&lt;!channel&gt;&amp; → 500, 1 report",
		"🔴 api is DOWN: status 502, want 2xx",
		"✅ api RECOVERED after 4m12s (14 client reports during the outage)",
		"⚠️ tteokbokki-map: GET /api/stores/:id → 502 Bad Gateway, 14 reports in 10m, 3 more rate-limited",
	}
	if len(shown) != len(want) {
		t.Fatalf("shown %d messages %q, want %q", len(shown), shown, want)
	}
	for i := range want {
		if shown[i] != want[i] {
			t.Errorf("message %d: %q, want %q", i, shown[i], want[i])
		}
	}
}
