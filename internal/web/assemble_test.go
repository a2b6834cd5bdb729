package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/web"
)

type liveFunc func() []web.Live

func (f liveFunc) Live() []web.Live { return f() }

type uptimeFunc func(ctx context.Context, since time.Time) (map[string]float64, error)

func (f uptimeFunc) Uptime(ctx context.Context, since time.Time) (map[string]float64, error) {
	return f(ctx, since)
}

type incidentsFunc func(ctx context.Context, limit int) ([]web.Incident, error)

func (f incidentsFunc) RecentIncidents(ctx context.Context, limit int) ([]web.Incident, error) {
	return f(ctx, limit)
}

type deliveriesFunc func() (int, int)

func (f deliveriesFunc) Deliveries() (int, int) { return f() }

var (
	_ web.LiveSource     = liveFunc(nil)
	_ web.UptimeSource   = uptimeFunc(nil)
	_ web.IncidentSource = incidentsFunc(nil)
	_ web.DeliverySource = deliveriesFunc(nil)
)

func TestAssembler_Status(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	downSince := now.Add(-4 * time.Minute)
	last := &web.Result{OK: false, At: now.Add(-time.Second), DurationMS: 1.5, Reason: "connect: connection refused"}
	closed := now.Add(-time.Hour)
	var asked []time.Time
	var askedLimit int
	a := &web.Assembler{
		Live: liveFunc(func() []web.Live {
			return []web.Live{
				{Name: "api", Kind: "http", URL: "https://home.example/health", State: "DOWN", Since: downSince, Last: last},
				{Name: "fresh", Kind: "tcp", URL: "tcp://home.example:22", State: "UNKNOWN"},
			}
		}),
		Uptime: uptimeFunc(func(_ context.Context, since time.Time) (map[string]float64, error) {
			asked = append(asked, since)
			if since.Equal(now.Add(-24 * time.Hour)) {
				return map[string]float64{"api": 0.5}, nil
			}
			return map[string]float64{"api": 0.9}, nil
		}),
		Incidents: incidentsFunc(func(_ context.Context, limit int) ([]web.Incident, error) {
			askedLimit = limit
			return []web.Incident{{ID: 7, Kind: "target", Subject: "api", OpenedAt: downSince},
				{ID: 6, Kind: "target", Subject: "api", OpenedAt: closed.Add(-time.Minute), ClosedAt: &closed}}, nil
		}),
		Deliveries: deliveriesFunc(func() (int, int) { return 2, 1 }),
		Now:        func() time.Time { return now },
	}
	doc, err := a.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	wantAsked := []time.Time{now.Add(-24 * time.Hour), now.Add(-7 * 24 * time.Hour), now.Add(-30 * 24 * time.Hour)}
	if !reflect.DeepEqual(asked, wantAsked) {
		t.Errorf("uptime asked since %v, want %v", asked, wantAsked)
	}
	if askedLimit != web.DefaultRecentIncidents {
		t.Errorf("incidents limit = %d, want %d", askedLimit, web.DefaultRecentIncidents)
	}
	if len(doc.Targets) != 2 {
		t.Fatalf("targets = %+v, want 2", doc.Targets)
	}
	api, fresh := doc.Targets[0], doc.Targets[1]
	if api.Name != "api" || api.Kind != "http" || api.State != "DOWN" || api.Since == nil || !api.Since.Equal(downSince) {
		t.Errorf("api = %+v", api)
	}
	if api.LastResult != last || api.LastError != last.Reason {
		t.Errorf("api last = %+v, %q; want the live result and its reason", api.LastResult, api.LastError)
	}
	if want := map[string]float64{"24h": 0.5, "7d": 0.9, "30d": 0.9}; !reflect.DeepEqual(api.Uptime, want) {
		t.Errorf("api uptime = %v, want %v", api.Uptime, want)
	}
	// A target never probed: no since, no last result, no uptime (not 0 %).
	if fresh.Since != nil || fresh.LastResult != nil || fresh.LastError != "" || fresh.Uptime != nil {
		t.Errorf("fresh = %+v, want no since, result, error or uptime", fresh)
	}
	if doc.Deliveries != (web.Deliveries{Pending: 2, Failed: 1}) {
		t.Errorf("deliveries = %+v", doc.Deliveries)
	}
	if len(doc.Incidents) != 2 || doc.Incidents[0].ID != 7 || doc.Incidents[1].ClosedAt == nil {
		t.Errorf("incidents = %+v", doc.Incidents)
	}
}

func TestAssembler_Errors(t *testing.T) {
	errStore := errors.New("disk I/O error")
	live := liveFunc(func() []web.Live { return []web.Live{{Name: "api", State: "UP"}} })
	tests := []struct {
		name string
		a    *web.Assembler
	}{
		{"no live source", &web.Assembler{}},
		{"uptime fails", &web.Assembler{Live: live, Uptime: uptimeFunc(func(context.Context, time.Time) (map[string]float64, error) {
			return nil, errStore
		})}},
		{"incidents fail", &web.Assembler{Live: live, Incidents: incidentsFunc(func(context.Context, int) ([]web.Incident, error) {
			return nil, errStore
		})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.a.Status(context.Background()); err == nil {
				t.Fatal("Status() succeeded, want an error")
			}
		})
	}
}

// Only the live source is required: a document with no history, incidents
// or outbox still lists every target.
func TestAssembler_OptionalSources(t *testing.T) {
	a := &web.Assembler{
		Live:    liveFunc(func() []web.Live { return []web.Live{{Name: "api", State: "UP"}} }),
		Windows: []web.Window{{Name: "1h", Span: time.Hour}},
		Recent:  3,
	}
	doc, err := a.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Targets) != 1 || doc.Targets[0].Uptime != nil || doc.Incidents != nil || doc.Deliveries != (web.Deliveries{}) {
		t.Errorf("doc = %+v", doc)
	}
}

// The assembled document goes through the server's sanitizing like any other.
func TestAssembler_ServedSanitized(t *testing.T) {
	a := &web.Assembler{Live: liveFunc(func() []web.Live {
		return []web.Live{{Name: "api", Kind: "http", URL: "https://u:hunter2@h.example/x?token=abc", State: "UP"}}
	})}
	_, base := startServer(t, web.Options{Status: a})
	r := do(t, "GET", base+"/api/v1/status")
	if r.code != 200 {
		t.Fatalf("code = %d %q", r.code, r.body)
	}
	for _, secret := range []string{"hunter2", "token=abc"} {
		if strings.Contains(r.body, secret) {
			t.Errorf("body leaks %q: %s", secret, r.body)
		}
	}
}

type canaryFunc func() (string, time.Time)

func (f canaryFunc) State() (string, time.Time) { return f() }

func TestAssembler_Canaries(t *testing.T) {
	since := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	a := &web.Assembler{Live: liveFunc(func() []web.Live { return nil }),
		Canaries: canaryFunc(func() (string, time.Time) { return "offline", since })}
	doc, err := a.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(doc.Canaries)
	if string(b) != `{"state":"offline","since":"2025-03-01T12:00:00Z"}` {
		t.Errorf("canaries = %s", b)
	}
	a.Canaries = nil
	if doc, _ := a.Status(context.Background()); doc.Canaries != nil {
		t.Error("canaries field without canaries")
	}
}
