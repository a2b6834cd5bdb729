package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/incident"
)

func TestOpen_CreatesMigratesReopens(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "nested")
	db, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if got, want := schemaVersion(t, db), SchemaVersion(); got != want || want < 2 {
		t.Fatalf("schema version = %d, want %d (≥ 2)", got, want)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("state dir mode = %o, want 700", perm)
	}
	var mode string
	if err := db.sql.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	mustCommit(t, db, incident.Change{Targets: []incident.TargetState{{Name: "api", State: "DOWN", Since: t0}}})
	if err := db.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".pollerd-write-probe") {
			t.Errorf("write probe file left behind: %s", e.Name())
		}
	}

	db = mustOpen(t, dir)
	s := mustLoad(t, db)
	if len(s.Targets) != 1 || s.Targets[0].State != "DOWN" || !s.Targets[0].Since.Equal(t0) {
		t.Fatalf("after reopen targets = %+v", s.Targets)
	}
}

func TestOpen_PathNeedsEscaping(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "odd ?name#50%")
	db := mustOpen(t, dir)
	mustCommit(t, db, incident.Change{Targets: []incident.TargetState{{Name: "api", State: "UP", Since: t0}}})
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Fatalf("database not at its path: %v", err)
	}
}

func TestOpen_MigratesFromVersion1(t *testing.T) {
	dir := t.TempDir()
	old, err := open(context.Background(), dir, Options{}, migrations[:1])
	if err != nil {
		t.Fatalf("open at version 1: %v", err)
	}
	mustCommit(t, old, incident.Change{
		Targets:    []incident.TargetState{{Name: "api", State: "DOWN", Since: t0}},
		Incidents:  []incident.Incident{{ID: 7, Kind: "target", Subject: "api", OpenedAt: t0, Cause: "refused"}},
		Deliveries: []incident.Delivery{{Key: "7:down", Channel: "slack", IncidentID: 7, Payload: []byte(`{}`), CreatedAt: t0}},
	})
	var n int
	if err := old.sql.QueryRow(`SELECT COUNT(*) FROM sqlite_schema WHERE name = 'history'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("version 1 has a history table (n=%d, err=%v)", n, err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	db := mustOpen(t, dir)
	if v := schemaVersion(t, db); v != SchemaVersion() {
		t.Fatalf("schema version after upgrade = %d, want %d", v, SchemaVersion())
	}
	s := mustLoad(t, db)
	if len(s.Targets) != 1 || len(s.OpenIncidents) != 1 || len(s.Pending) != 1 || s.MaxIncidentID != 7 {
		t.Fatalf("data lost in upgrade: %+v", s)
	}
	db.Record(ProbeRecord{Target: "api", At: t0, OK: true, State: "DOWN", Since: t0})
	mustFlush(t, db) // the history table 0002 added is usable
	if probes, _, _, _ := historyRow(t, db, "api", unixMinute(t0)); probes != 1 {
		t.Fatalf("probes = %d, want 1", probes)
	}
}

func TestOpen_Faults(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T) string // returns the state dir
		wantErr error
		wantMsg string // with DIR replaced by the state dir
	}{
		{
			name: "garbage file",
			setup: func(t *testing.T) string {
				dir := t.TempDir()
				garbage := []byte(strings.Repeat("this is not a sqlite database\n", 200))
				if err := os.WriteFile(filepath.Join(dir, FileName), garbage, 0o600); err != nil {
					t.Fatal(err)
				}
				return dir
			},
			wantErr: ErrCorrupt,
			wantMsg: "database DIR/pollerd.db is corrupt: ",
		},
		{
			name: "damaged pages",
			setup: func(t *testing.T) string {
				dir := t.TempDir()
				db := mustOpen(t, dir)
				for i := range 2000 {
					db.Record(ProbeRecord{Target: "t" + strings.Repeat("x", i%50), At: t0.Add(time.Duration(i) * time.Minute)})
				}
				mustFlush(t, db)
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
				// Keep the 100-byte header, so SQLite recognises the file,
				// and overwrite the rest of the first page and the next
				// ones, where the schema and the tables' roots live.
				path := filepath.Join(dir, FileName)
				f, err := os.OpenFile(path, os.O_RDWR, 0)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if _, err := f.WriteAt([]byte(strings.Repeat("\xde\xad\xbe\xef", 4000)), 100); err != nil {
					t.Fatal(err)
				}
				return dir
			},
			wantErr: ErrCorrupt,
			wantMsg: "database DIR/pollerd.db is corrupt: ",
		},
		{
			name: "damaged data page",
			setup: func(t *testing.T) string {
				dir := t.TempDir()
				db := mustOpen(t, dir)
				for i := range 5000 {
					db.Record(ProbeRecord{Target: "target-" + strings.Repeat("x", i%50), At: t0.Add(time.Duration(i) * time.Minute)})
				}
				mustFlush(t, db)
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
				// Leave the header and schema (page 1) intact and damage
				// the middle of the file: only an integrity check finds it.
				path := filepath.Join(dir, FileName)
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				f, err := os.OpenFile(path, os.O_RDWR, 0)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if _, err := f.WriteAt([]byte(strings.Repeat("\xde\xad\xbe\xef", 2048)), fi.Size()/2/4096*4096); err != nil {
					t.Fatal(err)
				}
				return dir
			},
			wantErr: ErrCorrupt,
			wantMsg: "database DIR/pollerd.db is corrupt: ",
		},
		{
			name: "newer schema",
			setup: func(t *testing.T) string {
				dir := t.TempDir()
				db := mustOpen(t, dir)
				if _, err := db.sql.Exec(`INSERT INTO schema_migrations (version) VALUES (99)`); err != nil {
					t.Fatal(err)
				}
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
				return dir
			},
			wantErr: ErrNewerSchema,
			wantMsg: "database DIR/pollerd.db has schema version 99, newer than this pollerd (" + strconv.Itoa(SchemaVersion()) + "): refusing to start",
		},
		{
			name: "dir under a regular file",
			setup: func(t *testing.T) string {
				file := filepath.Join(t.TempDir(), "file")
				if err := os.WriteFile(file, nil, 0o600); err != nil {
					t.Fatal(err)
				}
				return filepath.Join(file, "sub")
			},
			wantErr: ErrNotWritable,
			wantMsg: "state dir DIR: not writable: ",
		},
		{
			name: "read-only dir",
			setup: func(t *testing.T) string {
				if os.Geteuid() == 0 {
					t.Skip("root ignores directory permissions; covered by the regular-file case")
				}
				dir := t.TempDir()
				if err := os.Chmod(dir, 0o500); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { os.Chmod(dir, 0o700) })
				return dir
			},
			wantErr: ErrNotWritable,
			wantMsg: "state dir DIR: not writable: ",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.setup(t)
			before, _ := os.ReadFile(filepath.Join(dir, FileName))
			db, err := Open(context.Background(), dir, Options{})
			if err == nil {
				db.Close()
				t.Fatal("open succeeded")
			}
			t.Logf("error: %v", err)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error %q is not %v", err, tt.wantErr)
			}
			want := strings.ReplaceAll(tt.wantMsg, "DIR", dir)
			if !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error = %q, want one line starting %q", err, want)
			}
			// Never a silent fresh start: the file is left as it was.
			if after, _ := os.ReadFile(filepath.Join(dir, FileName)); string(after) != string(before) {
				t.Error("open changed the database file")
			}
		})
	}
}
