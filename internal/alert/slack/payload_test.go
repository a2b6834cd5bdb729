package slack

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pollerd/pollerd/internal/alert"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current output")

var at = time.Date(2025, 3, 1, 12, 4, 12, 0, time.UTC)

// goldenMessages are neutral messages as the engine makes them: plain,
// unescaped, no emoji. The golden files pin what Slack gets.
func goldenMessages() map[string]alert.Message {
	return map[string]alert.Message{
		"down": {
			Key: "42:down", IncidentID: 42, Kind: alert.KindDown, Target: "api", At: at,
			Text:  "api is DOWN: GET https://api.example.com/healthz: status 503, want 200",
			Title: "api is DOWN",
			Fields: []alert.Field{
				{Label: "Reason", Value: "GET https://api.example.com/healthz: status 503, want 200"},
				{Label: "Since", Value: "2025-03-01 12:03:42 UTC"},
				{Label: "Failures", Value: "3 in a row"},
			},
		},
		"recovered": {
			Key: "42:recovered", IncidentID: 42, Kind: alert.KindRecovered, Target: "api", At: at.Add(4*time.Minute + 12*time.Second),
			Downtime: 4*time.Minute + 12*time.Second,
			Text:     "api RECOVERED after 4m12s",
			Title:    "api RECOVERED",
			Fields: []alert.Field{
				{Label: "Downtime", Value: "4m12s"},
				{Label: "Since", Value: "2025-03-01 12:03:42 UTC"},
			},
		},
		"report": {
			Key: "r:7f3a", Kind: alert.KindReport, Service: "checkout", At: at,
			Text:  "checkout: POST /api/pay failed with 502 (3 reports)",
			Title: "checkout reported a failure",
			Fields: []alert.Field{
				{Label: "Request", Value: "POST /api/pay → 502"},
				{Label: "Reports", Value: "3"},
			},
			Detail: "<!channel> payment gateway said: upstream & retry failed",
		},
		"reminder": {
			Key: "42:reminder-1", IncidentID: 42, Kind: alert.KindReminder, Target: "api", At: at.Add(time.Hour),
			Downtime: time.Hour,
			Text:     "api still DOWN for 1h0m0s: GET https://api.example.com/healthz: status 503, want 200",
			Title:    "api still DOWN",
			Fields: []alert.Field{
				{Label: "Down for", Value: "1h0m0s"},
				{Label: "Down since", Value: "2025-03-01 12:03:42 UTC"},
			},
		},
		"notice": {
			Key: "connectivity-1740830622000:notice", Kind: alert.KindNotice, At: at,
			Text:  "lost connectivity for 4m12s; held 7 target alerts",
			Title: "pollerd lost connectivity",
			Fields: []alert.Field{
				{Label: "Lost for", Value: "4m12s"},
				{Label: "Held", Value: "7 target alerts"},
			},
		},
		"cert-notice": {
			Key: "cert:api:1797328800:336h", Kind: alert.KindNotice, Target: "api", At: at,
			Text:  "certificate of api expires in 13d (2026-12-15)",
			Title: "certificate of api expires in 13d",
			Fields: []alert.Field{
				{Label: "Expires", Value: "2026-12-15 10:00:00 UTC"},
				{Label: "Days left", Value: "13"},
				{Label: "Warning", Value: "under cert_warn 336h"},
			},
		},
		"group-down": {
			Key: "43:down", IncidentID: 43, Kind: alert.KindDown, Group: "homeserver", Targets: []string{"api", "db", "web"}, At: at,
			Text:  "homeserver: 3 of 9 DOWN — api, db, web",
			Title: "homeserver: 3 of 9 DOWN",
			Fields: []alert.Field{
				{Label: "Down", Value: "api: connection refused\ndb: connection refused\nweb: timeout"},
			},
		},
	}
}

func TestPayload_Golden(t *testing.T) {
	for name, m := range goldenMessages() {
		t.Run(name, func(t *testing.T) {
			body, err := encode(m)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, name, body)
		})
	}
}

// TestResolvedPayload_Golden pins what the DOWN message becomes (chat.update)
// when its incident recovers.
func TestResolvedPayload_Golden(t *testing.T) {
	body, err := json.Marshal(ResolvedPayload(goldenMessages()["recovered"]))
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "resolved", body)
	if got := ResolvedPayload(goldenMessages()["recovered"]).Text; got != "✅ api was DOWN for 4m12s (resolved)" {
		t.Errorf("resolved text = %q", got)
	}
	group := alert.Message{Kind: alert.KindRecovered, Group: "homeserver", Since: at, At: at.Add(90 * time.Second)}
	if got := ResolvedPayload(group).Text; got != "✅ homeserver was DOWN for 1m30s (resolved)" {
		t.Errorf("resolved text of a group = %q", got)
	}
}

// checkGolden compares a posted body, indented for review, with
// testdata/<name>.golden.json (rewritten with -update).
func checkGolden(t *testing.T, name string, body []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, body, "", "  "); err != nil {
		t.Fatal(err)
	}
	buf.WriteByte('\n')
	got := buf.Bytes()
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("payload differs from %s (run with -update if intended):\n%s", path, got)
	}
}

// blockTexts returns every text in the payload's blocks, as Slack checks them.
func blockTexts(t *testing.T, m alert.Message) (text string, sections, fields []string, nBlocks int) {
	t.Helper()
	raw, err := encode(m)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type   string `json:"type"`
			Text   *struct{ Text string }
			Fields []struct{ Text string }
		} `json:"blocks"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	for _, b := range p.Blocks {
		if b.Text != nil {
			sections = append(sections, b.Text.Text)
		}
		if len(b.Fields) > maxFieldsPerSection {
			t.Errorf("section with %d fields, Slack allows 10", len(b.Fields))
		}
		for _, f := range b.Fields {
			fields = append(fields, f.Text)
		}
	}
	return p.Text, sections, fields, len(p.Blocks)
}

func TestPayload_Limits(t *testing.T) {
	long := strings.Repeat("é&<", 2000) // 10,000 bytes of multi-byte runes and characters to escape
	var many []alert.Field
	for i := range 23 {
		many = append(many, alert.Field{Label: "F" + string(rune('a'+i)), Value: long})
	}
	m := alert.Message{Kind: alert.KindReport, Text: long, Title: long, Fields: many, Detail: long}
	text, sections, fields, nBlocks := blockTexts(t, m)

	if len(text) > alert.MaxTextLen || !strings.HasSuffix(text, "[truncated]") || !utf8.ValidString(text) {
		t.Errorf("text: %d bytes, marker %v, valid utf-8 %v", len(text), strings.HasSuffix(text, "[truncated]"), utf8.ValidString(text))
	}
	for i, s := range sections {
		if len(s) > alert.MaxSectionLen || !utf8.ValidString(s) {
			t.Errorf("section %d: %d bytes, valid utf-8 %v", i, len(s), utf8.ValidString(s))
		}
	}
	if !strings.HasPrefix(sections[0], "*") || !strings.HasSuffix(sections[0], "*") {
		t.Errorf("title lost its bold markers: %q…%q", sections[0][:5], sections[0][len(sections[0])-5:])
	}
	if len(fields) != len(many) {
		t.Errorf("got %d fields, want %d", len(fields), len(many))
	}
	for i, f := range fields {
		if len(f) > maxFieldLen || !strings.HasPrefix(f, "*"+many[i].Label+"*\n") {
			t.Errorf("field %d: %d bytes, starts %q", i, len(f), f[:8])
		}
	}
	// Escaping grows the text; the cut comes after it and never splits an entity.
	for i, s := range append(append([]string{text}, sections...), fields...) {
		if j := strings.LastIndexByte(s, '&'); j >= 0 && !strings.HasPrefix(s[j:], "&lt;") && !strings.HasPrefix(s[j:], "&amp;") && !strings.HasPrefix(s[j:], "&gt;") {
			t.Errorf("text %d cut inside an entity: %q", i, s[j:])
		}
	}
	// title + 3 field sections (10+10+3) + detail + context
	if nBlocks != 6 {
		t.Errorf("got %d blocks, want 6", nBlocks)
	}
}

// Untrusted text anywhere in a message (a report's path, message, host, a
// probed response in a reason) can never mention or link in Slack.
func TestPayload_HostileTextEscaped(t *testing.T) {
	hostile := "DOWN <!channel> <!here> <@U123> <http://evil|click> & co"
	m := alert.Message{Kind: alert.KindReport, Service: hostile, At: at,
		Text: "shop: GET /a/" + hostile + " → 500, 1 report", Title: hostile,
		Fields: []alert.Field{{Label: hostile, Value: hostile}}, Detail: hostile}
	text, sections, fields, _ := blockTexts(t, m)
	if want := "⚠️ shop: GET /a/DOWN &lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt; &lt;http://evil|click&gt; &amp; co → 500, 1 report"; text != want {
		t.Errorf("text %q, want %q", text, want)
	}
	for _, s := range append(append([]string{text}, sections...), fields...) {
		assertNoMention(t, s)
	}
}

// assertNoMention fails when s could mention or link in Slack: any "<"
// but the date token of the context line.
func assertNoMention(t *testing.T, s string) {
	t.Helper()
	s = strings.Replace(s, "<!date^", "", 1)
	for _, bad := range []string{"<!channel>", "<!here>", "<@", "<http", "<"} {
		if strings.Contains(s, bad) {
			t.Errorf("%q contains %q", s, bad)
		}
	}
}

// FuzzPayload_NoMention: whatever the untrusted text, Slack's text and
// blocks never carry a "<" of it, stay under the limits, and stay UTF-8.
func FuzzPayload_NoMention(f *testing.F) {
	f.Add("<!channel> payment gateway said: upstream & retry failed")
	f.Add(strings.Repeat("é&<", 1500))
	f.Add("<http://evil.example|click> <@U123> <!here>")
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return // ingest hands over valid UTF-8 only
		}
		m := alert.Message{Kind: alert.KindDown, Text: s, Title: s, Fields: []alert.Field{{Label: "Reason", Value: s}}, Detail: s}
		text, sections, fields, _ := blockTexts(t, m)
		if len(text) > alert.MaxTextLen || !utf8.ValidString(text) {
			t.Fatalf("text %d bytes, valid %v", len(text), utf8.ValidString(text))
		}
		for _, x := range append(append([]string{text}, sections...), fields...) {
			assertNoMention(t, x)
		}
	})
}

func TestPayload_Minimal(t *testing.T) {
	// No title, fields, detail or time: only the context line remains, and
	// the text with the kind's emoji.
	text, sections, fields, nBlocks := blockTexts(t, alert.Message{Kind: alert.KindDown, Text: "x DOWN"})
	if text != "🔴 x DOWN" || len(sections) != 0 || len(fields) != 0 || nBlocks != 1 {
		t.Errorf("got text %q, %d sections, %d fields, %d blocks", text, len(sections), len(fields), nBlocks)
	}
}

// BenchmarkEncode: rendering and marshalling one DOWN message, what each
// webhook delivery costs before the network.
func BenchmarkEncode(b *testing.B) {
	m := goldenMessages()["down"]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encode(m); err != nil {
			b.Fatal(err)
		}
	}
}
