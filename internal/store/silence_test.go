package store

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/incident"
)

func TestDB_Silences(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := mustOpen(t, dir)
	a := incident.Silence{ID: "a1", Targets: []string{"api", "db"}, Comment: "deploy", StartsAt: t0, EndsAt: t0.Add(time.Hour)}
	b := incident.Silence{ID: "b2", Groups: []string{"home"}, StartsAt: t0, EndsAt: t0.Add(10 * time.Minute)}
	for _, s := range []incident.Silence{a, b} {
		if err := db.AddSilence(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.AddSilence(ctx, a); err == nil {
		t.Fatal("a second silence with the same id was accepted")
	}
	got, err := db.ActiveSilences(ctx, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	b.Targets = []string{}
	a.Groups = []string{}
	if want := []incident.Silence{b, a}; !reflect.DeepEqual(got, want) {
		t.Fatalf("active = %+v\nwant %+v", got, want)
	}
	if got, _ := db.ActiveSilences(ctx, t0.Add(10*time.Minute)); len(got) != 1 || got[0].ID != "a1" {
		t.Fatalf("after b ended: %+v", got)
	}

	// Survives a reopen; ended ones are pruned by the next add.
	db.Close()
	db = mustOpen(t, dir)
	if got, _ := db.ActiveSilences(ctx, t0.Add(time.Minute)); len(got) != 2 {
		t.Fatalf("after reopen: %d silences", len(got))
	}
	if err := db.AddSilence(ctx, incident.Silence{ID: "c3", Targets: []string{"api"}, StartsAt: t0.Add(20 * time.Minute), EndsAt: t0.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.sql.QueryRow(`SELECT COUNT(*) FROM silences`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("rows after prune = %d (%v), want 2", n, err)
	}

	// Delete: active → done; unknown or ended → ErrNotFound.
	if err := db.DeleteSilence(ctx, "a1", t0.Add(30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a1", "nope"} {
		if err := db.DeleteSilence(ctx, id, t0.Add(30*time.Minute)); !errors.Is(err, incident.ErrNotFound) {
			t.Fatalf("delete %s: %v, want ErrNotFound", id, err)
		}
	}
	if err := db.DeleteSilence(ctx, "c3", t0.Add(3*time.Hour)); !errors.Is(err, incident.ErrNotFound) {
		t.Fatalf("delete ended: %v, want ErrNotFound", err)
	}
}

func TestDB_UnannouncedIncidents(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir())
	open := func(id int64, subject string) incident.Incident {
		return incident.Incident{ID: id, Kind: incident.KindTarget, Subject: subject, OpenedAt: t0, Cause: "refused"}
	}
	row := func(key string, id int64) incident.Delivery {
		return incident.Delivery{Key: key, Channel: "slack", IncidentID: id, Payload: []byte("{}"), Status: incident.DeliveryPending, CreatedAt: t0}
	}
	closed := open(3, "web")
	closed.ClosedAt = t0.Add(time.Minute)
	svc := incident.Incident{ID: 4, Kind: incident.KindService, Subject: "shop", OpenedAt: t0}
	mustCommit(t, db, incident.Change{
		Incidents:  []incident.Incident{open(1, "api"), open(2, "db"), closed, svc, open(5, "nas")},
		Deliveries: []incident.Delivery{row("1:down", 1), row("5:down", 5)},
	})
	// 5's DOWN went out long ago: retention keeps its row while it is open.
	if _, err := db.sql.Exec(`UPDATE outbox SET status = 'delivered', delivered_at = ? WHERE key = '5:down'`, msOf(t0.Add(-365*24*time.Hour))); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Prune(ctx, t0); err != nil {
		t.Fatal(err)
	}
	got, err := db.UnannouncedIncidents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != 2 || got[0].Subject != "db" || !got[0].OpenedAt.Equal(t0) || got[0].Cause != "refused" {
		t.Fatalf("unannounced = %+v, want incident 2 only", got)
	}
}

func TestDB_UnannouncedGroupIncidents(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir())
	group := func(id int64, subject string) incident.Incident {
		return incident.Incident{ID: id, Kind: incident.KindGroup, Subject: subject, OpenedAt: t0, Cause: "a, b"}
	}
	row := func(key string, id int64) incident.Delivery {
		return incident.Delivery{Key: key, Channel: "slack", IncidentID: id, Payload: []byte("{}"), Status: incident.DeliveryPending, CreatedAt: t0}
	}
	closed := group(3, "lab")
	closed.ClosedAt = t0.Add(time.Minute)
	target := incident.Incident{ID: 4, Kind: incident.KindTarget, Subject: "a", OpenedAt: t0}
	mustCommit(t, db, incident.Change{
		// 1 went out; 2 was held (only a follow-up of it went out); 3 closed; 4 is a target.
		Incidents:  []incident.Incident{group(1, "home"), group(2, "office"), closed, target},
		Deliveries: []incident.Delivery{row("1:down", 1), row("2:followup-3", 2)},
	})
	got, err := db.UnannouncedGroupIncidents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != 2 || got[0].Subject != "office" || got[0].Cause != "a, b" {
		t.Fatalf("unannounced groups = %+v, want incident 2 only", got)
	}
	if tg, err := db.UnannouncedIncidents(ctx); err != nil || len(tg) != 1 || tg[0].ID != 4 {
		t.Fatalf("unannounced targets = %+v, %v; want incident 4 only", tg, err)
	}
}
