package store

import (
	"context"
	"testing"
	"time"

	"github.com/pollerd/pollerd/internal/incident"
)

// t0 is the tests' fixed "now", on a minute boundary.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// mustOpen opens a store in dir with a fixed clock and closes it at the
// end of the test.
func mustOpen(tb testing.TB, dir string) *DB {
	tb.Helper()
	db, err := Open(context.Background(), dir, Options{Now: func() time.Time { return t0 }})
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func mustCommit(tb testing.TB, db *DB, c incident.Change) {
	tb.Helper()
	if err := db.Commit(context.Background(), c); err != nil {
		tb.Fatalf("commit: %v", err)
	}
}

func mustLoad(tb testing.TB, db *DB) incident.Snapshot {
	tb.Helper()
	s, err := db.Load(context.Background())
	if err != nil {
		tb.Fatalf("load: %v", err)
	}
	return s
}

func mustFlush(tb testing.TB, db *DB) {
	tb.Helper()
	if err := db.Flush(context.Background()); err != nil {
		tb.Fatalf("flush: %v", err)
	}
}

// historyRow, hourRow and dayRow read one bucket of history, history_hourly
// and history_daily.
func historyRow(tb testing.TB, db *DB, target string, minute int64) (probes, failures, sum, mx int64) {
	tb.Helper()
	return bucketRow(tb, db, "history", "minute", target, minute)
}

func hourRow(tb testing.TB, db *DB, target string, hour int64) (probes, failures, sum, mx int64) {
	tb.Helper()
	return bucketRow(tb, db, "history_hourly", "hour", target, hour)
}

func dayRow(tb testing.TB, db *DB, target string, day int64) (probes, failures, sum, mx int64) {
	tb.Helper()
	return bucketRow(tb, db, "history_daily", "day", target, day)
}

func bucketRow(tb testing.TB, db *DB, table, col, target string, unit int64) (probes, failures, sum, mx int64) {
	tb.Helper()
	err := db.sql.QueryRow(`SELECT probes, failures, latency_sum_ms, latency_max_ms FROM `+table+`
		WHERE target = ? AND `+col+` = ?`, target, unit).Scan(&probes, &failures, &sum, &mx)
	if err != nil {
		tb.Fatalf("%s %s@%d: %v", table, target, unit, err)
	}
	return
}

// mustOpenWith opens a database in a fresh temporary directory with opts
// and closes it when the test ends.
func mustOpenWith(tb testing.TB, opts Options) *DB {
	tb.Helper()
	db, err := Open(context.Background(), tb.TempDir(), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func countRows(tb testing.TB, db *DB, table string) int {
	tb.Helper()
	var n int
	if err := db.sql.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		tb.Fatalf("count %s: %v", table, err)
	}
	return n
}

func schemaVersion(tb testing.TB, db *DB) int {
	tb.Helper()
	var v int
	if err := db.sql.QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		tb.Fatalf("schema version: %v", err)
	}
	return v
}
