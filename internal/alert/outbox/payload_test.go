package outbox

import (
	"context"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/alert"
	"github.com/pollerd/pollerd/internal/alert/slack"
	"github.com/pollerd/pollerd/internal/incident"
)

// A row pending from before messages became neutral (mrkdwn, escaped, with
// Slack's emoji) is still delivered after an upgrade, and Slack shows it as
// the old pollerd would have.
func TestDecode_PendingFromBeforeTheUpgrade(t *testing.T) {
	old := []byte(`{"key":"7:report","incident_id":7,"kind":"REPORT","service":"shop","created_at":"2026-11-25T10:00:00Z",` +
		`"text":"⚠️ shop: GET /a/&lt;!channel&gt; → 500, 1 report","title":"⚠️ shop: client report",` +
		`"fields":[{"label":"Request","value":"GET /a/&lt;!channel&gt; → 500"}],"detail":"a &amp;amp; b &lt;!here&gt;"}`)
	m, err := decode(old)
	if err != nil {
		t.Fatal(err)
	}
	if m.Text != "shop: GET /a/<!channel> → 500, 1 report" || m.Title != "shop: client report" ||
		m.Fields[0].Value != "GET /a/<!channel> → 500" || m.Detail != "a &amp; b <!here>" {
		t.Errorf("upgraded to %+v", m)
	}
	if !m.At.Equal(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("at %s", m.At)
	}
	if got, want := slack.Payload(m).Text, "⚠️ shop: GET /a/&lt;!channel&gt; → 500, 1 report"; got != want {
		t.Errorf("slack text %q, want the old %q", got, want)
	}

	// A row written now reads back as it was, "&lt;" included.
	m2 := alert.Message{Key: "8:down", Kind: alert.KindDown, Target: "api", Text: "api is DOWN: &lt; 🔴 ", Channels: []string{"log"}}
	raw, err := encode(m2)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decode(raw)
	if err != nil || back.Text != m2.Text || len(back.Channels) != 1 {
		t.Errorf("round trip: %+v, %v", back, err)
	}
}

// Emit writes the change and one row per channel in one store write;
// a message's channels narrow the rows.
func TestOutbox_EmitOneWritePerChange(t *testing.T) {
	store := newMemStore()
	slackRec, logRec := &recorder{name: "slack"}, &recorder{name: "log"}
	ob, err := New(Options{Store: store, Channels: []Channel{{Notifier: slackRec}, {Notifier: logRec}}})
	if err != nil {
		t.Fatal(err)
	}
	inc := incident.Incident{ID: 1, Kind: incident.KindTarget, Subject: "api"}
	ob.Emit(incident.Change{Incidents: []incident.Incident{inc}},
		alert.Message{Key: "1:down", Kind: alert.KindDown},
		alert.Message{Key: "1:report", Kind: alert.KindReport, Channels: []string{"log", "email"}})
	ob.persist.flush(context.Background())
	var rows []string
	for _, d := range store.Deliveries() {
		rows = append(rows, d.Key+"/"+d.Channel)
	}
	if want := "1:down/log 1:down/slack 1:report/log"; len(rows) != 3 || rows[0]+" "+rows[1]+" "+rows[2] != want {
		t.Errorf("rows %q, want %s", rows, want)
	}
	if _, ok := store.Incident(1); !ok {
		t.Error("the incident was not written with its rows")
	}
	if p, _ := ob.Deliveries(); p != 3 {
		t.Errorf("pending %d, want 3 queued once written", p)
	}
}
