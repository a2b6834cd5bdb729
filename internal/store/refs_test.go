package store

import (
	"context"
	"errors"
	"testing"

	"github.com/pollerd/pollerd/internal/incident"
)

func TestDB_SetMessageRef(t *testing.T) {
	dir := t.TempDir()
	db := mustOpen(t, dir)
	ctx := context.Background()
	inc := incident.Incident{ID: 7, Kind: incident.KindTarget, Subject: "api", OpenedAt: t0, Cause: "refused"}
	mustCommit(t, db, incident.Change{Incidents: []incident.Incident{inc}})

	if ref, err := db.MessageRef(ctx, 7); err != nil || ref != "" {
		t.Fatalf("MessageRef before set = %q, %v; want empty", ref, err)
	}
	if err := db.SetMessageRef(ctx, 7, "C0ALERTS:1740830652.000100"); err != nil {
		t.Fatal(err)
	}
	if err := db.SetMessageRef(ctx, 8, "x"); !errors.Is(err, incident.ErrNotFound) {
		t.Errorf("SetMessageRef of a missing incident = %v, want ErrNotFound", err)
	}
	if ref, err := db.MessageRef(ctx, 8); err != nil || ref != "" {
		t.Errorf("MessageRef of a missing incident = %q, %v", ref, err)
	}

	// The engine closes the incident knowing no ref: the ref stays.
	inc.ClosedAt, inc.Reports = t0.Add(5e9), 3
	mustCommit(t, db, incident.Change{Incidents: []incident.Incident{inc}})
	if ref, err := db.MessageRef(ctx, 7); err != nil || ref != "C0ALERTS:1740830652.000100" {
		t.Errorf("MessageRef after the engine's commit = %q, %v", ref, err)
	}

	// A ref given in a Commit still replaces it.
	inc.MessageRef = "C0ALERTS:2"
	mustCommit(t, db, incident.Change{Incidents: []incident.Incident{inc}})
	db.Close()
	db = mustOpen(t, dir) // and it survives a restart
	if ref, err := db.MessageRef(ctx, 7); err != nil || ref != "C0ALERTS:2" {
		t.Errorf("MessageRef after reopen = %q, %v", ref, err)
	}
}
