package web_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/web"
)

type coverFunc func(targets []string, now time.Time) []string

func (f coverFunc) CoverKinds(targets []string, now time.Time) []string { return f(targets, now) }

var _ web.CoverSource = coverFunc(nil)

// Each target says whether a window or a silence covers it, asked once for
// all of them at the document's time.
func TestAssembler_Silenced(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var calls int
	a := &web.Assembler{
		Live: liveFunc(func() []web.Live {
			return []web.Live{{Name: "api", State: "DOWN"}, {Name: "db", State: "UP"}, {Name: "nas", State: "UP"}}
		}),
		Covers: coverFunc(func(targets []string, at time.Time) []string {
			calls++
			if strings.Join(targets, ",") != "api,db,nas" || !at.Equal(now) {
				t.Errorf("asked for %v at %v", targets, at)
			}
			return []string{"silenced", "", "maintenance"}
		}),
		Now: func() time.Time { return now },
	}
	doc, err := a.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Errorf("CoverKinds called %d times, want once", calls)
	}
	got := map[string]bool{}
	for _, ts := range doc.Targets {
		got[ts.Name] = ts.Silenced
	}
	if !got["api"] || got["db"] || !got["nas"] {
		t.Errorf("silenced = %v, want api and nas", got)
	}
	b, _ := json.Marshal(doc.Targets)
	if !strings.Contains(string(b), `"name":"db"`) || strings.Count(string(b), `"silenced":true`) != 2 ||
		strings.Count(string(b), `"silenced":false`) != 1 || strings.Contains(string(b), "maintenance") {
		t.Errorf("targets JSON = %s", b)
	}

	// Without a cover source every target reads "silenced": false.
	a.Covers = nil
	doc, _ = a.Status(context.Background())
	b, _ = json.Marshal(doc.Targets)
	if strings.Count(string(b), `"silenced":false`) != 3 {
		t.Errorf("targets JSON without covers = %s", b)
	}
}

// The page marks a covered target next to its state word, without script.
func TestStatusPage_CoverMarker(t *testing.T) {
	doc := pageStatus()
	doc.Targets[0].Silenced, doc.Targets[0].Cover = true, "silenced"
	doc.Targets[1].Silenced, doc.Targets[1].Cover = true, "maintenance"
	_, base := startServer(t, pageOptions(doc))
	r := do(t, "GET", base+"/")
	if r.code != 200 {
		t.Fatalf("GET / = %d %q", r.code, r.body)
	}
	for _, want := range []string{
		`<h3 class="name">api</h3>` + "\n" + `<span class="cover" title="Alerts are held: a silence covers this target">silenced</span>` +
			"\n" + `<span class="state state-down">`,
		`<h3 class="name">web</h3>` + "\n" + `<span class="cover" title="Alerts are held: a maintenance window covers this target">maintenance</span>`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if n := strings.Count(r.body, `class="cover"`); n != 2 {
		t.Errorf("%d cover markers, want 2", n)
	}
}
