package alert

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/alert/alerttest"
	"github.com/pollerd/pollerd/internal/incident"
)

// The engine's own tests: what it emits, in what order, with a sink that
// records. What becomes of the messages (outbox rows, delivery, retries,
// channels) is alert/outbox's, tested there with this engine in front.

func down(target string, at time.Time, reason string) Transition {
	return Transition{Target: target, From: "UP", To: "DOWN", At: at, Reason: reason}
}

func up(target string, since, at time.Time) Transition {
	return Transition{Target: target, From: "DOWN", To: "UP", Since: since, At: at}
}

func report(service, fp string) Report {
	return Report{Service: service, Fingerprint: fp, Method: "GET", Path: "/api/stores/:id",
		Status: 502, StatusText: "Bad Gateway", Code: "ERR_BAD_RESPONSE", Message: "Request failed with status code 502"}
}

func TestEngine_OneDownOneRecoveredPerOutage(t *testing.T) {
	e, sink := startEngine(t, nil, nil)
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

	e.Transition(Transition{Target: "api", From: "UNKNOWN", To: "UP", At: t0})
	e.Transition(down("api", t0.Add(time.Minute), "connect: connection refused"))
	e.Transition(up("api", t0.Add(time.Minute), t0.Add(5*time.Minute+12*time.Second)))
	e.Transition(down("api", t0.Add(time.Hour), "status 502, want 200"))
	e.Transition(up("api", t0.Add(time.Hour), t0.Add(time.Hour+3*time.Second)))

	got := sink.want(t, 4)
	want := []struct {
		kind Kind
		has  []string
	}{
		{KindDown, []string{"DOWN", "api", "connect: connection refused"}},
		{KindRecovered, []string{"RECOVERED", "api", "4m12s"}},
		{KindDown, []string{"DOWN", "api", "status 502, want 200"}},
		{KindRecovered, []string{"RECOVERED", "api", "3s"}},
	}
	for i, w := range want {
		if got[i].Kind != w.kind {
			t.Errorf("message %d kind %s, want %s", i, got[i].Kind, w.kind)
		}
		for _, s := range w.has {
			if !strings.Contains(got[i].Text, s) {
				t.Errorf("message %d text %q lacks %q", i, got[i].Text, s)
			}
		}
	}
	if got[0].Key != "1:down" || got[1].Key != "1:recovered" || got[2].Key != "2:down" {
		t.Errorf("keys %q %q %q, want 1:down 1:recovered 2:down", got[0].Key, got[1].Key, got[2].Key)
	}
	// The structured fields carry the same facts as the text.
	if got[1].Target != "api" || got[1].Downtime != 4*time.Minute+12*time.Second || got[1].Reason != "connect: connection refused" {
		t.Errorf("RECOVERED fields: target %q downtime %s reason %q", got[1].Target, got[1].Downtime, got[1].Reason)
	}
}

func TestEngine_RestartDuringOutage(t *testing.T) {
	store := alerttest.NewStore()
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

	e1, sink1 := startEngine(t, store, nil)
	e1.Transition(down("api", t0, "timeout after 5s"))
	sink1.want(t, 1)
	if err := e1.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Restarted: a monitor whose state was not restored (UNKNOWN) counts
	// again and reports DOWN; the engine must not announce it twice, and the
	// recovery is timed from the original DOWN.
	e2, sink2 := startEngine(t, store, nil)
	e2.Transition(Transition{Target: "api", From: "UNKNOWN", To: "DOWN", At: t0.Add(2 * time.Minute), Reason: "timeout after 5s"})
	e2.Transition(up("api", t0.Add(2*time.Minute), t0.Add(10*time.Minute)))
	got := sink2.want(t, 1)
	if got[0].Kind != KindRecovered || !strings.Contains(got[0].Text, "10m0s") {
		t.Errorf("got %q, want a RECOVERED after 10m0s", got[0].Text)
	}
}

// A report's types travel with its messages: the outbox narrows by them.
func TestEngine_ReportCarriesItsChannels(t *testing.T) {
	e, sink := startEngine(t, nil, nil)
	r := report("shop", "fp1")
	r.Channels = []string{"log"}
	if !e.Add(r) {
		t.Fatal("first report not first")
	}
	e.Settle(r)
	if got := sink.want(t, 1); !slices.Equal(got[0].Channels, []string{"log"}) {
		t.Errorf("channels %q, want [log]", got[0].Channels)
	}
}

func TestEngine_ReportStormFoldsIntoTwoMessages(t *testing.T) {
	clk := alerttest.NewClock(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	e, sink := startEngine(t, nil, func(o *Options) { o.Now = clk.Now; o.DedupWindow = time.Minute })
	firsts := 0
	for i := 0; i < 10_000; i++ {
		r := report("shop", "fp1")
		if e.Add(r) {
			firsts++
			e.Settle(r)
		}
	}
	for i := 0; i < 7; i++ {
		e.RateLimited()
	}
	if firsts != 1 {
		t.Fatalf("%d reports were first, want 1", firsts)
	}
	sink.want(t, 1)
	clk.Add(time.Minute)
	e.expireReports()
	got := sink.want(t, 2)
	for _, s := range []string{"shop", "GET /api/stores/:id → 502 Bad Gateway", "10000 reports", "7 more rate-limited"} {
		if !strings.Contains(got[1].Text, s) {
			t.Errorf("summary %q lacks %q", got[1].Text, s)
		}
	}
	for _, m := range got {
		if strings.Contains(m.Text, "DOWN") || strings.Contains(m.Text, "RECOVERED") {
			t.Errorf("report message reads as a transition: %q", m.Text)
		}
	}
}

func TestEngine_ReportsJoinTheOutage(t *testing.T) {
	e, sink := startEngine(t, nil, nil)
	t0 := time.Now()

	// A report arrives; while its confirmation runs, the target goes DOWN:
	// the one DOWN carries the report, and no REPORT message follows.
	r := report("shop", "fp1")
	if !e.Add(r) {
		t.Fatal("first report not first")
	}
	e.Transition(down("api", t0, "connect: connection refused"))
	e.Settle(r)
	// Reports during the outage are counted into it.
	for i := 0; i < 5; i++ {
		if e.Add(report("shop", fmt.Sprintf("other%d", i))) {
			t.Fatal("a report during an outage alerted on its own")
		}
	}
	e.Transition(up("api", t0, t0.Add(time.Minute)))
	got := sink.want(t, 2)
	if !strings.Contains(got[0].Text, "DOWN") || !strings.Contains(got[0].Text, "GET /api/stores/:id → 502") {
		t.Errorf("DOWN %q does not carry the report", got[0].Text)
	}
	if !strings.Contains(got[1].Text, "6 client reports") {
		t.Errorf("RECOVERED %q does not count the 6 reports", got[1].Text)
	}
}

func TestEngine_DistinctErrorsBudget(t *testing.T) {
	clk := alerttest.NewClock(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	e, sink := startEngine(t, nil, func(o *Options) {
		o.Now = clk.Now
		o.DedupWindow = time.Minute
		o.MaxReportAlerts = 3
	})
	for i := 0; i < 50; i++ {
		r := report("shop", fmt.Sprintf("fp%d", i))
		if e.Add(r) {
			e.Settle(r)
		}
	}
	sink.want(t, 3)
	clk.Add(time.Minute)
	e.expireReports()
	got := sink.want(t, 4)
	if !strings.Contains(got[3].Text, "47 client reports of 47 other errors") {
		t.Errorf("summary %q", got[3].Text)
	}
}

func TestEngine_FingerprintsBounded(t *testing.T) {
	clk := alerttest.NewClock(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	e, _ := startEngine(t, nil, func(o *Options) {
		o.Now = clk.Now
		o.MaxFingerprints = 100
	})
	// Pending reports (waiting on a confirmation) are never evicted; they
	// are bounded by services × MaxReportAlerts, and settle within 3 s.
	for i := 0; i < 10_000; i++ {
		r := report("shop", fmt.Sprintf("fp%d", i))
		if e.Add(r) {
			e.Settle(r)
		}
	}
	d := e.reports
	d.mu.Lock()
	n, lru, exp := len(d.entries), d.lru.Len(), d.expiry.Len()
	d.mu.Unlock()
	if n > 100 || lru > 100 || exp > 100 {
		t.Fatalf("holding %d fingerprints (lru %d, expiry %d), want at most 100 each", n, lru, exp)
	}
}

// A window that ends while the report's confirmation is still running must
// not fold the report away: the DOWN that the confirmation finds carries it.
func TestEngine_WindowEndsDuringConfirmation(t *testing.T) {
	clk := alerttest.NewClock(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	e, sink := startEngine(t, nil, func(o *Options) { o.Now = clk.Now; o.DedupWindow = time.Second })
	r := report("shop", "fp1")
	if !e.Add(r) {
		t.Fatal("first report not first")
	}
	clk.Add(2 * time.Second)
	e.expireReports()
	if e.Add(r) {
		t.Fatal("a repeat during the confirmation counted as first")
	}
	e.Transition(down("api", clk.Now(), "connect: connection refused"))
	e.Settle(r)
	clk.Add(2 * time.Second)
	e.expireReports()
	got := sink.want(t, 1)
	if !strings.Contains(got[0].Text, "GET /api/stores/:id → 502 Bad Gateway, 2 reports") {
		t.Errorf("DOWN %q does not carry both reports", got[0].Text)
	}
}

// Reports after a recovery alert afresh: the fingerprints the outage
// carried are released with it.
func TestEngine_ReportsAfterRecoveryAlertAgain(t *testing.T) {
	e, sink := startEngine(t, nil, nil)
	t0 := time.Now()
	r := report("shop", "fp1")
	if !e.Add(r) {
		t.Fatal("first report not first")
	}
	e.Transition(down("api", t0, "refused"))
	e.Settle(r)
	e.Transition(up("api", t0, t0.Add(time.Minute)))
	if !e.Add(r) {
		t.Fatal("a report after the recovery was folded into the closed outage")
	}
	e.Settle(r)
	got := sink.want(t, 3)
	if got[2].Kind != KindReport {
		t.Errorf("third message %s, want the new REPORT", got[2].Kind)
	}
}

// An outage of a target removed from the configuration is closed at start:
// nothing would ever recover it.
func TestEngine_LoadClosesIncidentsOfRemovedTargets(t *testing.T) {
	store := alerttest.NewStore()
	t0 := time.Now()
	if err := store.Commit(context.Background(), incident.Change{Incidents: []incident.Incident{
		{ID: 1, Kind: incident.KindTarget, Subject: "gone", OpenedAt: t0},
		{ID: 2, Kind: incident.KindTarget, Subject: "api", OpenedAt: t0},
	}}); err != nil {
		t.Fatal(err)
	}
	e, sink := startEngine(t, store, func(o *Options) { o.Targets = []string{"api"} })
	e.mu.Lock()
	_, gone := e.open["gone"]
	_, api := e.open["api"]
	e.mu.Unlock()
	if gone || !api {
		t.Fatalf("open after load: gone=%v api=%v, want only api", gone, api)
	}
	if inc, _ := store.Incident(1); inc.ClosedAt.IsZero() {
		t.Fatal("the removed target's incident was not closed in the store")
	}
	if m := sink.want(t, 1)[0]; m.Kind != KindNotice || m.Key != "1:removed" { // DESIGN: one "no longer monitored"
		t.Errorf("message = %+v, want the removal notice", m)
	}
}

// An incident whose close was lost (the target has been seen UP since) does
// not swallow the next outage's DOWN.
func TestEngine_StaleIncidentDoesNotSwallowADown(t *testing.T) {
	store := alerttest.NewStore()
	t0 := time.Now()
	if err := store.Commit(context.Background(), incident.Change{Incidents: []incident.Incident{
		{ID: 1, Kind: incident.KindTarget, Subject: "api", OpenedAt: t0.Add(-time.Hour)},
	}}); err != nil {
		t.Fatal(err)
	}
	e, sink := startEngine(t, store, nil)
	e.Transition(down("api", t0, "refused")) // from UP
	got := sink.want(t, 1)
	if got[0].Kind != KindDown || got[0].Key != "2:down" {
		t.Fatalf("got %s %s, want a new DOWN (2:down)", got[0].Kind, got[0].Key)
	}
}

// Reports that were only ever refused with 429 are still told, once a
// window, when no summary counted them.
func TestEngine_RateLimitedAlone(t *testing.T) {
	clk := alerttest.NewClock(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	e, sink := startEngine(t, nil, func(o *Options) { o.Now = clk.Now; o.DedupWindow = time.Minute })
	for range 42 {
		e.RateLimited()
	}
	e.expireReports()
	sink.want(t, 0)
	clk.Add(time.Minute)
	e.expireReports()
	got := sink.want(t, 1)
	if !strings.Contains(got[0].Text, "42 client reports rate-limited in 1m") {
		t.Errorf("text %q", got[0].Text)
	}
	clk.Add(time.Minute)
	e.expireReports()
	sink.want(t, 1) // nothing more was refused
}

// Report counts added to an open outage reach the store by housekeeping or,
// at the latest, at Close.
func TestEngine_CloseEmitsReportCounts(t *testing.T) {
	store := alerttest.NewStore()
	e, _ := startEngine(t, store, nil)
	e.Transition(down("api", time.Now(), "refused"))
	for i := range 3 {
		e.Add(report("shop", fmt.Sprint(i)))
	}
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if inc, _ := store.Incident(1); inc.Reports != 3 {
		t.Errorf("incident reports %d in the store, want 3", inc.Reports)
	}
}
