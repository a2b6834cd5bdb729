package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/web"
)

type dailyFunc func(ctx context.Context, days int, now time.Time) (map[string][]web.Day, error)

func (f dailyFunc) DailyUptime(ctx context.Context, days int, now time.Time) (map[string][]web.Day, error) {
	return f(ctx, days, now)
}

var _ web.DailySource = dailyFunc(nil)

// pageNow is the fixed clock of the page tests.
var pageNow = time.Date(2026, 11, 3, 14, 5, 0, 0, time.UTC)

// pageStatus is a home server with one target down, a client-report burst,
// a target never probed, and secrets in a URL and in a reason.
func pageStatus() web.Status {
	ago := func(d time.Duration) *time.Time { t := pageNow.Add(-d); return &t }
	closed := ago(50 * time.Hour)
	refused := `Get "https://probe:hunter2@home.example.com/api/health?token=s3cret": dial tcp 203.0.113.7:443: connect: connection refused`
	return web.Status{
		Targets: []web.TargetStatus{
			{Name: "api", Group: "homeserver", Kind: "http", URL: "https://probe:hunter2@home.example.com/api/health?token=s3cret",
				State: "DOWN", Since: ago(4*time.Minute + 12*time.Second),
				LastResult: &web.Result{OK: false, At: pageNow.Add(-5 * time.Second), DurationMS: 3.2, Reason: refused}},
			{Name: "web", Group: "homeserver", Kind: "http", URL: "https://home.example.com/", State: "UP", Since: ago(12*24*time.Hour + 3*time.Hour),
				LastResult: &web.Result{OK: true, At: pageNow.Add(-9 * time.Second), DurationMS: 41, Reason: "HTTP 200"}},
			{Name: "cert-home", Group: "homeserver", Kind: "tls", URL: "tls://home.example.com:443", State: "UP", Since: ago(3 * 24 * time.Hour),
				LastResult: &web.Result{OK: true, At: pageNow.Add(-20 * time.Second), Reason: "certificate valid for 61 days"}},
			{Name: "dns-home", Kind: "dns", URL: "dns://home.example.com", State: "UP", Since: ago(26 * time.Hour),
				LastResult: &web.Result{OK: true, At: pageNow.Add(-3 * time.Second), Reason: "A 203.0.113.7"}},
			{Name: "backup-nas", Kind: "tcp", URL: "tcp://nas.home.example:22", State: "UNKNOWN"},
		},
		Incidents: []web.Incident{
			{ID: 9, Kind: "target", Subject: "api", OpenedAt: *ago(4*time.Minute + 12*time.Second), Cause: refused},
			{ID: 8, Kind: "report", Subject: "tteokbokki-map", OpenedAt: *ago(6 * time.Minute), Cause: "GET /api/v1/places → 502", Reports: 7},
			{ID: 7, Kind: "target", Subject: "web", OpenedAt: *ago(51 * time.Hour), ClosedAt: closed, Cause: "HTTP 503"},
		},
	}
}

// pageDays gives api a bad week and a partial today, web 60 days of history
// (a shorter slice, aligned on today) and dns-home a perfect record;
// cert-home has none.
func pageDays(_ context.Context, days int, _ time.Time) (map[string][]web.Day, error) {
	out := map[string][]web.Day{"api": make([]web.Day, days), "web": make([]web.Day, 60), "dns-home": make([]web.Day, days)}
	for i := range days {
		ago := days - 1 - i // entry i is this many days before today
		api := web.Day{Probes: 2880}
		switch {
		case ago == 0:
			api.Failures = 23 // 99.2 %
		case ago >= 20 && ago < 23:
			api.Failures = 300 // 89.5 %
		case ago == 40:
			api.Failures = 100 // 96.5 %
		}
		out["api"][i] = api
		out["dns-home"][i] = web.Day{Probes: 1440}
	}
	for i := range out["web"] {
		out["web"][i] = web.Day{Probes: 2880}
	}
	return out, nil
}

// pageOptions serves doc through a status page titled "Home server".
func pageOptions(doc web.Status) web.Options {
	return web.Options{
		Status: statusFunc(func(context.Context) (web.Status, error) { return doc, nil }),
		Page:   &web.PageOptions{Title: "Home server", Days: dailyFunc(pageDays), Now: func() time.Time { return pageNow }},
	}
}

func TestStatusPage_Content(t *testing.T) {
	_, base := startServer(t, pageOptions(pageStatus()))
	r := do(t, "GET", base+"/")
	if r.code != 200 {
		t.Fatalf("GET / = %d %q", r.code, r.body)
	}
	for h, want := range map[string]string{
		"Content-Type":           "text/html; charset=utf-8",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := r.header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	for _, want := range []string{
		"<title>Home server</title>",
		"1 of 5 down, 1 of 5 unknown",
		`<meta http-equiv="refresh" content="60">`,
		// each target: name, group, state word, since (absolute and relative)
		`<h3 class="name">api</h3>`, `>DOWN</span>`,
		"DOWN since 2026-11-03 14:00 UTC (<time datetime=\"2026-11-03T14:00:48Z\">4 min ago</time>)",
		`<span class="k">group</span> homeserver`,
		"UP since 2026-10-22 11:05 UTC (<time datetime=\"2026-10-22T11:05:00Z\">12 d 3 h ago</time>)",
		"UP since 2026-11-02 12:05 UTC (<time datetime=\"2026-11-02T12:05:00Z\">1 d 2 h ago</time>)",
		`<h3 class="name">backup-nas</h3>`, `>UNKNOWN</span>`, "Not probed yet",
		// the last reason of the failing one, its URL stripped
		`Get &#34;https://home.example.com/api/health&#34;: dial tcp 203.0.113.7:443: connect: connection refused`,
		// a report burst among the open incidents
		"tteokbokki-map", "7 client reports", "GET /api/v1/places → 502",
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// A passing target shows no reason, a closed incident is not listed.
	for _, unwanted := range []string{"HTTP 200", "certificate valid", "HTTP 503"} {
		if strings.Contains(r.body, unwanted) {
			t.Errorf("page shows %q", unwanted)
		}
	}
	// No script, no link, no external fetch of any kind.
	for _, re := range []string{`(?i)<script`, `(?i)\s(src|href|action|srcset)=`, `(?i)url\(`, `(?i)@import`, `(?i)javascript:`} {
		if regexp.MustCompile(re).MatchString(r.body) {
			t.Errorf("page matches %s", re)
		}
	}
}

func TestStatusPage_OpenIncidentsFirst(t *testing.T) {
	_, base := startServer(t, pageOptions(pageStatus()))
	body := do(t, "GET", base+"/").body
	open, targets := strings.Index(body, ">Open incidents</h2>"), strings.Index(body, ">Targets</h2>")
	if open < 0 || targets < 0 || open > targets {
		t.Fatalf("open incidents at %d, targets at %d: want both, incidents first", open, targets)
	}
	incidents := body[open:targets]
	api, report := strings.Index(incidents, ">api</strong>"), strings.Index(incidents, ">tteokbokki-map</strong>")
	if api < 0 || report < 0 || api > report {
		t.Errorf("open incidents not newest first: api at %d, report at %d\n%s", api, report, incidents)
	}

	// With no open incident there is no section.
	doc := pageStatus()
	doc.Incidents = doc.Incidents[2:]
	_, base = startServer(t, pageOptions(doc))
	if body := do(t, "GET", base+"/").body; strings.Contains(body, "Open incidents") {
		t.Error("page has an open-incidents section with none open")
	}
}

var segmentRE = regexp.MustCompile(`<span class="d d-(\w+)" title="([^"]*)"></span>`)

func TestStatusPage_UptimeBar(t *testing.T) {
	_, base := startServer(t, pageOptions(pageStatus()))
	body := do(t, "GET", base+"/").body
	bars := regexp.MustCompile(`(?s)<div class="bar"[^>]*>(.*?)</div>`).FindAllStringSubmatch(body, -1)
	if len(bars) != 5 {
		t.Fatalf("%d bars, want one per target (5)", len(bars))
	}
	for i, bar := range bars {
		if n := len(segmentRE.FindAllString(bar[1], -1)); n != web.PageDays || web.PageDays != 90 {
			t.Errorf("bar %d has %d segments, want 90", i, n)
		}
	}
	api := segmentRE.FindAllStringSubmatch(bars[0][1], -1)
	wantAPI := map[int][2]string{
		89: {"minor", "2026-11-03: 99.2 %"},   // today, rightmost
		88: {"ok", "2026-11-02: 100 %"},       // a perfect day
		69: {"major", "2026-10-14: 89.5 %"},   // 20 days ago
		49: {"partial", "2026-09-24: 96.5 %"}, // 40 days ago
		0:  {"ok", "2026-08-06: 100 %"},       // 89 days ago, leftmost
	}
	for i, want := range wantAPI {
		if got := [2]string{api[i][1], api[i][2]}; got != want {
			t.Errorf("api segment %d = %v, want %v", i, got, want)
		}
	}
	webBar := segmentRE.FindAllStringSubmatch(bars[1][1], -1)
	if got := [2]string{webBar[29][1], webBar[29][2]}; got != [2]string{"none", "2026-09-04: no data"} {
		t.Errorf("web segment 29 = %v, want grey no data (history starts 60 days back)", got)
	}
	if got := [2]string{webBar[30][1], webBar[30][2]}; got != [2]string{"ok", "2026-09-05: 100 %"} {
		t.Errorf("web segment 30 = %v, want the first day with data", got)
	}
	if n := strings.Count(bars[2][1], `d-none`); n != 90 {
		t.Errorf("cert-home has %d grey segments, want 90 (no history)", n)
	}
	// The 90-day figure: 3×300 + 100 + 23 failures of 90×2880 probes.
	if !strings.Contains(body, `<span class="total">99.60 %</span>`) {
		t.Error("api's 90-day uptime 99.60 % missing")
	}
	if !strings.Contains(body, `aria-label="Uptime over the last 90 days: no data"`) {
		t.Error("a target with no history is not labelled no data")
	}
}

func TestStatusPage_Escaping(t *testing.T) {
	doc := web.Status{Targets: []web.TargetStatus{{
		Name: `x<script>alert(1)</script>`, Group: `g"><img src=x onerror=alert(2)>`, URL: `https://h.example/<script>`,
		State: "DOWN", LastResult: &web.Result{Reason: `body: <script>alert("r")</script> & more`},
	}}}
	o := pageOptions(doc)
	o.Page.Title = `</title><script>alert(3)</script>`
	_, base := startServer(t, o)
	body := do(t, "GET", base+"/").body
	if regexp.MustCompile(`(?i)<script|<img`).MatchString(body) {
		t.Fatalf("markup from the data reached the page:\n%s", body)
	}
	for _, want := range []string{
		`x&lt;script&gt;alert(1)&lt;/script&gt;`,
		`g&#34;&gt;&lt;img src=x onerror=alert(2)&gt;`,
		`body: &lt;script&gt;alert(&#34;r&#34;)&lt;/script&gt; &amp; more`,
		`<title>&lt;/title&gt;&lt;script&gt;alert(3)&lt;/script&gt;</title>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks the escaped %q", want)
		}
	}
}

func TestStatusPage_NoSecrets(t *testing.T) {
	_, base := startServer(t, pageOptions(pageStatus()))
	body := do(t, "GET", base+"/").body
	for _, secret := range []string{"hunter2", "s3cret", "token=", "probe:"} {
		if strings.Contains(body, secret) {
			t.Errorf("page leaks %q", secret)
		}
	}
	if !strings.Contains(body, `<span class="url">https://home.example.com/api/health</span>`) {
		t.Error("api's URL is not shown stripped")
	}
}

// The inline stylesheet is the only thing the Content-Security-Policy lets
// in; its hash must match it, or browsers drop the styling.
func TestStatusPage_CSP(t *testing.T) {
	_, base := startServer(t, pageOptions(pageStatus()))
	r := do(t, "GET", base+"/")
	csp := r.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
		t.Errorf("CSP %q: want default-src 'none' and no script source", csp)
	}
	m := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatal("no inline stylesheet")
	}
	sum := sha256.Sum256([]byte(m[1]))
	if want := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, want) {
		t.Errorf("CSP %q lacks %q", csp, want)
	}
}

func TestStatusPage_Routes(t *testing.T) {
	_, base := startServer(t, pageOptions(pageStatus()))
	get := do(t, "GET", base+"/")
	t.Run("HEAD", func(t *testing.T) {
		r := do(t, "HEAD", base+"/")
		if r.code != 200 || r.body != "" || r.header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("HEAD / = %d %q %v", r.code, r.body, r.header)
		}
		if cl := r.header.Get("Content-Length"); cl != strconv.Itoa(len(get.body)) {
			t.Errorf("HEAD Content-Length = %q, GET body is %d bytes", cl, len(get.body))
		}
	})
	t.Run("only the exact path", func(t *testing.T) {
		for _, p := range []string{"/index.html", "/x", "/api/"} {
			if r := do(t, "GET", base+p); r.code != 404 || jsonError(t, r) != "Not Found" {
				t.Errorf("GET %s = %d %q, want the JSON 404", p, r.code, r.body)
			}
		}
	})
	t.Run("POST", func(t *testing.T) {
		r := do(t, "POST", base+"/")
		if r.code != 405 || jsonError(t, r) != "Method Not Allowed" {
			t.Errorf("POST / = %d %q, want the JSON 405", r.code, r.body)
		}
	})
	t.Run("disabled", func(t *testing.T) {
		o := pageOptions(pageStatus())
		o.Page = nil
		_, base := startServer(t, o)
		if r := do(t, "GET", base+"/"); r.code != 404 || jsonError(t, r) != "Not Found" {
			t.Errorf("GET / without a page = %d %q, want the JSON 404", r.code, r.body)
		}
	})
}

func TestStatusPage_SourceErrors(t *testing.T) {
	t.Run("status fails", func(t *testing.T) {
		o := pageOptions(pageStatus())
		o.Status = statusFunc(func(context.Context) (web.Status, error) { return web.Status{}, errTest })
		_, base := startServer(t, o)
		if r := do(t, "GET", base+"/"); r.code != 500 || jsonError(t, r) != "status unavailable" {
			t.Errorf("GET / = %d %q", r.code, r.body)
		}
	})
	t.Run("history fails", func(t *testing.T) {
		o := pageOptions(pageStatus())
		o.Page.Days = dailyFunc(func(context.Context, int, time.Time) (map[string][]web.Day, error) { return nil, errTest })
		_, base := startServer(t, o)
		r := do(t, "GET", base+"/")
		if r.code != 200 || !strings.Contains(r.body, "uptime history is unavailable") || !strings.Contains(r.body, ">DOWN</span>") {
			t.Fatalf("GET / = %d, want the live page with a note:\n%s", r.code, r.body)
		}
		if n := strings.Count(r.body, `class="d d-none"`); n != 5*90 {
			t.Errorf("%d grey segments, want all 450", n)
		}
	})
	t.Run("no history source", func(t *testing.T) {
		o := pageOptions(pageStatus())
		o.Page.Days = nil
		_, base := startServer(t, o)
		r := do(t, "GET", base+"/")
		if r.code != 200 || strings.Contains(r.body, "unavailable") || strings.Count(r.body, `class="d d-none"`) != 450 {
			t.Errorf("GET / = %d, want grey bars and no note", r.code)
		}
	})
}

func TestStatusPage_Summary(t *testing.T) {
	up := func(name string) web.TargetStatus { return web.TargetStatus{Name: name, State: "UP"} }
	tests := []struct {
		name    string
		targets []web.TargetStatus
		want    string
	}{
		{"all up", []web.TargetStatus{up("a"), up("b")}, "All 2 targets up"},
		{"one up", []web.TargetStatus{up("a")}, "The target is up"},
		{"one down", []web.TargetStatus{up("a"), {Name: "b", State: "DOWN"}}, "1 of 2 down"},
		{"unknown only", []web.TargetStatus{up("a"), {Name: "b", State: ""}}, "1 of 2 unknown"},
		{"none", nil, "No targets are monitored"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, base := startServer(t, pageOptions(web.Status{Targets: tt.targets}))
			if body := do(t, "GET", base+"/").body; !strings.Contains(body, "<span>"+tt.want+"</span>") {
				t.Errorf("summary is not %q", tt.want)
			}
		})
	}
}

// The group reaches the status document from the live source.
func TestAssembler_Group(t *testing.T) {
	a := &web.Assembler{Live: liveFunc(func() []web.Live {
		return []web.Live{{Name: "api", Group: "homeserver", State: "UP"}, {Name: "solo", State: "UP"}}
	})}
	doc, err := a.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if doc.Targets[0].Group != "homeserver" || doc.Targets[1].Group != "" {
		t.Errorf("groups = %q, %q", doc.Targets[0].Group, doc.Targets[1].Group)
	}
	_, base := startServer(t, web.Options{Status: a})
	if body := do(t, "GET", base+"/api/v1/status").body; !strings.Contains(body, `"name":"solo","group":""`) {
		t.Errorf("status API lacks an empty group for solo: %s", body)
	}
}
