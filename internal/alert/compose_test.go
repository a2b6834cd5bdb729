package alert

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pollerd/pollerd/internal/incident"
)

func TestCompose_TextContract(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	inc := incident.Incident{ID: 42, Kind: incident.KindTarget, Subject: "api", OpenedAt: t0, Cause: "status 502, want 200"}
	hostile := Report{Service: "shop", Fingerprint: "x", Method: "GET", Path: "/a/<!channel>", Status: 500,
		Message: "Service DOWN <!here> <http://evil|click> & RECOVERED", Code: "<@U123>"}
	tests := []struct {
		name    string
		m       Message
		has     []string
		hasNot  []string
		wantKey string
	}{{
		name:    "down leads with DOWN, name and reason",
		m:       downMessage(inc, t0, nil),
		has:     []string{"DOWN", "api", "status 502, want 200"},
		wantKey: "42:down",
	}, {
		name:    "recovered carries the downtime rounded to seconds",
		m:       recoveredMessage(incident.Incident{ID: 42, Subject: "api", OpenedAt: t0, Reports: 3}, t0.Add(4*time.Minute+12*time.Second+400*time.Millisecond)),
		has:     []string{"RECOVERED", "api", "4m12s", "3 client reports"},
		hasNot:  []string{"4m12.4s"},
		wantKey: "42:recovered",
	}, {
		// Plain and unescaped: each channel escapes for itself (alert/slack's
		// tests pin that a hostile report can never mention or link there).
		name:    "report: service, request, count; never DOWN or RECOVERED; plain",
		m:       reportMessage(incident.Incident{ID: 7}, hostile, t0),
		has:     []string{"shop", "GET /a/<!channel> → 500", "1 report"},
		hasNot:  []string{"DOWN", "RECOVERED", "&lt;", "&amp;"},
		wantKey: "7:report",
	}, {
		name:    "summary: count and rate-limited",
		m:       summaryMessage(incident.Incident{ID: 7}, report("shop", "x"), 14, 3, 5*time.Minute, t0),
		has:     []string{"GET /api/stores/:id → 502 Bad Gateway, 14 reports in 5m", "3 more rate-limited"},
		hasNot:  []string{"DOWN", "RECOVERED"},
		wantKey: "7:summary",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			all := tc.m.Text + tc.m.Title + tc.m.Detail
			for _, f := range tc.m.Fields {
				all += f.Label + f.Value
			}
			for _, s := range tc.has {
				if !strings.Contains(tc.m.Text, s) {
					t.Errorf("text %q lacks %q", tc.m.Text, s)
				}
			}
			for _, s := range tc.hasNot {
				if strings.Contains(all, s) && (s != "DOWN" && s != "RECOVERED" || strings.Contains(tc.m.Text, s)) {
					t.Errorf("message has %q: %+v", s, tc.m)
				}
			}
			if tc.m.Key != tc.wantKey {
				t.Errorf("key %q, want %q", tc.m.Key, tc.wantKey)
			}
		})
	}
}

// Escaped entities are cut by channels (alert/slack's TestPayload_HostileLimits);
// the plain message keeps its own limits, on rune boundaries.
func TestCompose_LimitsWithMarker(t *testing.T) {
	long := strings.Repeat("é<", 5000)
	m := reportMessage(incident.Incident{ID: 1}, Report{Service: "shop", Message: long, Path: "/" + long, Method: "GET"}, time.Now())
	if len(m.Text) > MaxTextLen || len(m.Detail) > MaxSectionLen {
		t.Fatalf("text %d, detail %d bytes: over the limits", len(m.Text), len(m.Detail))
	}
	if !strings.HasSuffix(m.Detail, truncMarker) {
		t.Errorf("cut detail has no visible marker")
	}
	for _, s := range []string{m.Text, m.Detail} {
		if !utf8.ValidString(s) {
			t.Errorf("cut inside a rune")
		}
	}
}

// The pinned texts, as plain text: alert/slack puts the emoji in front and
// escapes, and its tests pin the result.
func TestCompose_PinnedTexts(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	inc := incident.Incident{ID: 42, Kind: incident.KindTarget, Subject: "api", OpenedAt: t0, Cause: "status 502, want 2xx", Reports: 14}
	r := report("tteokbokki-map", "x")
	for _, tc := range []struct{ got, want string }{
		{downMessage(inc, t0, nil).Text, "api is DOWN: status 502, want 2xx"},
		{recoveredMessage(inc, t0.Add(4*time.Minute+12*time.Second)).Text, "api RECOVERED after 4m12s (14 client reports during the outage)"},
		{reportMessage(incident.Incident{ID: 7}, r, t0).Text, "tteokbokki-map: GET /api/stores/:id → 502 Bad Gateway, 1 report"},
		{summaryMessage(incident.Incident{ID: 7}, r, 14, 3, 10*time.Minute, t0).Text, "tteokbokki-map: GET /api/stores/:id → 502 Bad Gateway, 14 reports in 10m, 3 more rate-limited"},
	} {
		if tc.got != tc.want {
			t.Errorf("text %q, want %q", tc.got, tc.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"0123456789abcdefghijklmnop", 20, "01234" + truncMarker}, // the marker is 15 bytes
		{"abcdefg&amp;xyz" + strings.Repeat("x", 20), 24, "abcdefg" + truncMarker},
	}
	for _, tc := range tests {
		if got := Truncate(tc.in, tc.max); got != tc.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}
