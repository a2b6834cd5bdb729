package store

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/incident"
)

func TestDB_CertNotices(t *testing.T) {
	dir := t.TempDir()
	db := mustOpen(t, dir)
	notAfter := time.Date(2026, 12, 15, 10, 0, 0, 0, time.UTC)
	first := incident.CertNotice{Target: "api", NotAfter: notAfter, Threshold: 336 * time.Hour, At: t0}
	mustCommit(t, db, incident.Change{
		Certs: []incident.CertNotice{first},
		Deliveries: []incident.Delivery{{Key: "cert:api:1797328800:336h", Channel: "slack",
			Payload: []byte(`{}`), CreatedAt: t0}},
	})
	second := first
	second.Threshold, second.At = 72*time.Hour, t0.Add(time.Hour)
	mustCommit(t, db, incident.Change{Certs: []incident.CertNotice{second}})
	db.Close()

	db = mustOpen(t, dir)
	got, err := db.CertNotices(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := []incident.CertNotice{second}; !reflect.DeepEqual(got, want) {
		t.Errorf("CertNotices = %+v, want %+v", got, want)
	}
	if n := countRows(t, db, "outbox"); n != 1 {
		t.Errorf("outbox rows = %d, want the notice's", n)
	}
}
