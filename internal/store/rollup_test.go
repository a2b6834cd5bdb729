package store

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// finishPass runs Run's hourly pass to its end, slice by slice.
func finishPass(tb testing.TB, db *DB) {
	tb.Helper()
	m := maintainer{db: db}
	m.due()
	for i := 0; m.pass != nil; i++ {
		if i > 10_000 {
			tb.Fatal("pass does not end")
		}
		m.slice(context.Background())
	}
}

// seedAcrossBoundary records, for "api" and "db", a probe a minute from
// 4 days before t0 to t0 (exclusive): every 7th fails. It returns the
// expected per-day counts for a 5-day DailyUptime at t0.
func seedAcrossBoundary(tb testing.TB, db *DB) map[string][]DayCounts {
	tb.Helper()
	want := map[string][]DayCounts{"api": make([]DayCounts, 5), "db": make([]DayCounts, 5)}
	firstDay := t0.Truncate(24*time.Hour).AddDate(0, 0, -4)
	i := 0
	for at := t0.Add(-96 * time.Hour); at.Before(t0); at = at.Add(time.Minute) {
		for _, target := range []string{"api", "db"} {
			ok := i%7 != 0
			db.Record(ProbeRecord{Target: target, At: at, OK: ok, Latency: time.Duration(i%100) * time.Millisecond, State: "UP", Since: t0})
			d := int(at.Sub(firstDay) / (24 * time.Hour))
			want[target][d].Probes++
			if !ok {
				want[target][d].Failures++
			}
		}
		i++
		if i%1000 == 0 {
			mustFlush(tb, db)
		}
	}
	mustFlush(tb, db)
	return want
}

func TestDB_Rollup_KeepsUptime(t *testing.T) {
	db := mustOpen(t, t.TempDir())
	wantDaily := seedAcrossBoundary(t, db)
	ctx := context.Background()

	spans := []time.Time{
		t0.Add(-24 * time.Hour),
		t0.Add(-48 * time.Hour),
		t0.Add(-72 * time.Hour),
		t0.Add(-7 * 24 * time.Hour),
	}
	before := make([]map[string]UptimeOf, len(spans))
	for i, since := range spans {
		u, err := db.UptimeAll(ctx, since)
		if err != nil {
			t.Fatal(err)
		}
		before[i] = u
	}
	minutesBefore := countRows(t, db, "history")

	finishPass(t, db) // what Run does: rolls up minutes before t0-48h

	cutoff := unixHour(t0.Add(-MinuteHistory)) * 60
	var oldMinutes int
	if err := db.sql.QueryRow(`SELECT COUNT(*) FROM history WHERE minute < ?`, cutoff).Scan(&oldMinutes); err != nil {
		t.Fatal(err)
	}
	if oldMinutes != 0 {
		t.Errorf("%d minute rows older than 48 h left", oldMinutes)
	}
	// 96 h of minutes: 48 h stay as minutes, the older ones go; every
	// closed hour and day (all but t0's last hour and day) was summed.
	if got, want := countRows(t, db, "history"), 2*48*60; got != want {
		t.Errorf("minute rows = %d, want %d (of %d)", got, want, minutesBefore)
	}
	if got, want := countRows(t, db, "history_hourly"), 2*95; got != want {
		t.Errorf("hour rows = %d, want %d", got, want)
	}
	if got, want := countRows(t, db, "history_daily"), 2*4; got != want {
		t.Errorf("day rows = %d, want %d", got, want)
	}

	for i, since := range spans {
		t.Run("uptime since "+t0.Sub(since).String(), func(t *testing.T) {
			after, err := db.UptimeAll(ctx, since)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(after, before[i]) {
				t.Errorf("after rollup %v, before %v", after, before[i])
			}
		})
	}
	t.Run("daily", func(t *testing.T) {
		got, err := db.DailyUptime(ctx, 5, t0)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, wantDaily) {
			t.Errorf("daily = %v\nwant    %v", got, wantDaily)
		}
	})
	t.Run("second pass changes nothing", func(t *testing.T) {
		n, err := db.Rollup(ctx, t0.Add(-MinuteHistory))
		if err != nil || n != 0 {
			t.Errorf("rollup = %d, %v; want 0", n, err)
		}
	})
}

func TestDB_Rollup_HourBucket(t *testing.T) {
	db := mustOpen(t, t.TempDir())
	h := t0.Add(-72 * time.Hour) // an hour's start, rolled up below
	rec := func(at time.Duration, ok bool, lat time.Duration) {
		db.Record(ProbeRecord{Target: "api", At: h.Add(at), OK: ok, Latency: lat, State: "UP", Since: t0})
	}
	rec(0, true, 10*time.Millisecond)
	rec(59*time.Minute+59*time.Second, false, 90*time.Millisecond)
	rec(30*time.Minute, true, 20*time.Millisecond)
	rec(time.Hour, true, 5*time.Millisecond) // the next hour
	mustFlush(t, db)
	n, err := db.Rollup(context.Background(), t0.Add(-MinuteHistory))
	if err != nil || n != 4 {
		t.Fatalf("rollup = %d, %v; want 4 minute rows dropped", n, err)
	}
	// A late minute of an hour already rolled up adds to it.
	rec(45*time.Minute, true, 100*time.Millisecond)
	mustFlush(t, db)
	if n, err := db.Rollup(context.Background(), t0.Add(-MinuteHistory)); err != nil || n != 1 {
		t.Fatalf("second rollup = %d, %v; want 1", n, err)
	}

	tests := []struct {
		name                      string
		hour                      int64
		probes, failures, sum, mx int64
	}{
		{"minutes summed, max kept, late minute added", unixHour(h), 4, 1, 220, 100},
		{"next hour apart", unixHour(h) + 1, 1, 0, 5, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, f, s, m := hourRow(t, db, "api", tt.hour)
			if p != tt.probes || f != tt.failures || s != tt.sum || m != tt.mx {
				t.Errorf("row = probes %d failures %d sum %d max %d; want %d %d %d %d",
					p, f, s, m, tt.probes, tt.failures, tt.sum, tt.mx)
			}
		})
	}
	if n := countRows(t, db, "history"); n != 0 {
		t.Errorf("minute rows = %d, want 0", n)
	}
	if p, f, s, m := dayRow(t, db, "api", unixHour(h)/24); p != 5 || f != 1 || s != 225 || m != 100 {
		t.Errorf("day row = probes %d failures %d sum %d max %d; want 5 1 225 100", p, f, s, m)
	}
}

// A big backlog (a database from before rollup) is dropped in transactions
// of bounded size, and a pass resumes where the last transaction stopped.
func TestDB_Rollup_BoundedTransactions(t *testing.T) {
	db := mustOpen(t, t.TempDir())
	const days = 6
	for m := range days * 24 * 60 {
		db.Record(ProbeRecord{Target: "big", At: t0.Add(-10 * 24 * time.Hour).Add(time.Duration(m) * time.Minute), OK: true})
		if m%5000 == 0 {
			mustFlush(t, db)
		}
	}
	db.Record(ProbeRecord{Target: "small", At: t0.Add(-5 * 24 * time.Hour), OK: true})
	mustFlush(t, db)

	p := newPass(t0.Add(-MinuteHistory), time.Time{})
	for done := false; !done; {
		var err error
		if done, err = db.closeStep(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	var txs int
	for done := false; !done; txs++ {
		before := countRows(t, db, "history")
		var err error
		if done, err = db.maintTx(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		if moved := before - countRows(t, db, "history"); moved > maintTxRows+maintChunkMinutes {
			t.Errorf("transaction %d moved %d rows, more than %d", txs, moved, maintTxRows+maintChunkMinutes)
		}
	}
	if want := days*24*60/maintTxRows + 1; txs < want {
		t.Errorf("%d transactions, want at least %d", txs, want)
	}
	if p.rolledUp != days*24*60+1 || countRows(t, db, "history") != 0 {
		t.Errorf("rolled up %d, %d minute rows left; want %d, 0", p.rolledUp, countRows(t, db, "history"), days*24*60+1)
	}
	if got := countRows(t, db, "history_hourly"); got != days*24+1 {
		t.Errorf("hour rows = %d, want %d", got, days*24+1)
	}
}

func TestDB_DailyUptime(t *testing.T) {
	db := mustOpen(t, t.TempDir())
	day := 24 * time.Hour
	today := t0.Truncate(day)
	rec := func(target string, at time.Time, n, failed int) {
		for i := range n {
			db.Record(ProbeRecord{Target: target, At: at, OK: i >= failed, State: "UP", Since: t0})
		}
	}
	rec("api", today.Add(-90*day), 5, 5)                             // the day before a 90-day span
	rec("api", today.Add(-89*day), 4, 1)                             // first day of it
	rec("api", today.Add(-3*day+23*time.Hour+59*time.Minute), 10, 2) // last minute of a day
	rec("api", today.Add(-2*day), 6, 0)                              // first minute of the next
	rec("api", t0.Add(-time.Minute), 3, 3)                           // today
	rec("api", t0.Add(day), 7, 0)                                    // tomorrow: never asked for
	rec("old", today.Add(-95*day), 1, 0)                             // only outside the span
	mustFlush(t, db)
	// Now as the store sees it after Run's passes: minutes before 48 h ago
	// are hours.
	if _, err := db.Rollup(context.Background(), t0.Add(-MinuteHistory)); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		days int
		now  time.Time
		want map[string]map[int]DayCounts // index → counts; other days zero
	}{
		{"90 days", 90, t0, map[string]map[int]DayCounts{"api": {
			0: {4, 1}, 86: {10, 2}, 87: {6, 0}, 89: {3, 3},
		}}},
		{"3 days", 3, t0, map[string]map[int]DayCounts{"api": {0: {6, 0}, 2: {3, 3}}}},
		{"at midnight the new day is today", 2, today.Add(day), map[string]map[int]DayCounts{"api": {0: {3, 3}, 1: {7, 0}}}},
		{"just before midnight", 2, today.Add(day - time.Nanosecond), map[string]map[int]DayCounts{"api": {1: {3, 3}}}},
		{"nothing in the span", 1, t0.Add(30 * day), map[string]map[int]DayCounts{}},
		{"zero days", 0, t0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.DailyUptime(context.Background(), tt.days, tt.now)
			if err != nil {
				t.Fatal(err)
			}
			var want map[string][]DayCounts
			if tt.want != nil {
				want = make(map[string][]DayCounts)
				for name, days := range tt.want {
					want[name] = make([]DayCounts, tt.days)
					for i, c := range days {
						want[name][i] = c
					}
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("daily = %v, want %v", got, want)
			}
		})
	}
}

// UptimeAll over a span reaching into the hour buckets counts from the
// start of the hour containing since.
func TestDB_Uptime_HourBuckets(t *testing.T) {
	db := mustOpen(t, t.TempDir())
	h := t0.Add(-5 * 24 * time.Hour)
	db.Record(ProbeRecord{Target: "api", At: h.Add(10 * time.Minute), OK: false})
	db.Record(ProbeRecord{Target: "api", At: h.Add(50 * time.Minute), OK: true})
	db.Record(ProbeRecord{Target: "api", At: h.Add(70 * time.Minute), OK: true})
	db.Record(ProbeRecord{Target: "api", At: t0.Add(-time.Hour), OK: true}) // a minute bucket
	mustFlush(t, db)
	finishPass(t, db)
	tests := []struct {
		name       string
		since      time.Time
		wantRatio  float64
		wantProbes int64
	}{
		{"whole hours", h, 0.75, 4},
		{"mid-hour since counts its hour", h.Add(30 * time.Minute), 0.75, 4},
		{"next hour", h.Add(time.Hour), 1, 2},
		{"minutes only", t0.Add(-24 * time.Hour), 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all, err := db.UptimeAll(context.Background(), tt.since)
			if err != nil {
				t.Fatal(err)
			}
			u := all["api"]
			if u.Probes != tt.wantProbes || math.Abs(u.Ratio-tt.wantRatio) > 1e-9 {
				t.Errorf("uptime = %v over %d probes, want %v over %d", u.Ratio, u.Probes, tt.wantRatio, tt.wantProbes)
			}
		})
	}
}

func TestDB_Pass_PrunesBothResolutions(t *testing.T) {
	db, err := Open(context.Background(), t.TempDir(), Options{
		Now: func() time.Time { return t0 }, Retention: 4 * 24 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cut := t0.Add(-4 * 24 * time.Hour)
	for _, at := range []time.Time{
		cut.Add(-25 * time.Hour), // pruned as an hour
		cut.Add(-time.Minute),    // pruned
		cut,                      // kept
		t0.Add(-3 * 24 * time.Hour),
		t0.Add(-time.Hour),
	} {
		db.Record(ProbeRecord{Target: "api", At: at, OK: true})
	}
	mustFlush(t, db)
	if _, err := db.Rollup(context.Background(), cut); err != nil { // the first as an hour
		t.Fatal(err)
	}
	finishPass(t, db)
	u, err := db.UptimeAll(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	// The day holding the cutoff is kept whole, so a read from before the
	// cutoff counts its probes from before the cutoff too.
	if got := u["api"].Probes; got != 4 {
		t.Errorf("probes kept = %d, want 4", got)
	}
	if u, err = db.UptimeAll(context.Background(), cut); err != nil {
		t.Fatal(err)
	}
	if got := u["api"].Probes; got != 3 {
		t.Errorf("probes since the cutoff = %d, want 3", got)
	}
	// t0's hour and day are not closed yet: their probe is a minute row.
	for table, want := range map[string]int{"history": 1, "history_hourly": 2, "history_daily": 2} {
		if got := countRows(t, db, table); got != want {
			t.Errorf("%s rows = %d, want %d", table, got, want)
		}
	}
}

// Above fullCheckMaxBytes, Open checks every table but the history ones
// whole: damage there is refused, damage inside history is left for the
// queries that read it.
func TestOpen_BoundedCheck(t *testing.T) {
	build := func(t *testing.T) (dir string, rootOf func(string) int64, pageSize int64) {
		dir = t.TempDir()
		db := mustOpen(t, dir)
		for i := range 3000 {
			db.Record(ProbeRecord{Target: fmt.Sprintf("target-%04d", i%300), At: t0.Add(time.Duration(i) * time.Minute),
				State: "UP", Since: t0})
		}
		mustFlush(t, db)
		roots := map[string]int64{}
		rows, err := db.sql.Query(`SELECT name, rootpage FROM sqlite_schema WHERE type = 'table'`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var name string
			var root int64
			if err := rows.Scan(&name, &root); err != nil {
				t.Fatal(err)
			}
			roots[name] = root
		}
		rows.Close()
		if err := db.sql.QueryRow(`PRAGMA page_size`).Scan(&pageSize); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		return dir, func(name string) int64 { return roots[name] }, pageSize
	}
	damage := func(t *testing.T, dir string, page, pageSize int64) {
		f, err := os.OpenFile(filepath.Join(dir, FileName), os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteAt([]byte(strings.Repeat("\xde\xad\xbe\xef", int(pageSize/4))), (page-1)*pageSize); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name        string
		page        func(root func(string) int64, dir string, pageSize int64) int64
		wantCorrupt bool
	}{
		{"target_state damaged", func(root func(string) int64, _ string, _ int64) int64 { return root("target_state") }, true},
		{"a page in the middle of history", func(_ func(string) int64, dir string, pageSize int64) int64 {
			fi, err := os.Stat(filepath.Join(dir, FileName))
			if err != nil {
				t.Fatal(err)
			}
			return fi.Size() / pageSize / 2
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, root, pageSize := build(t)
			damage(t, dir, tt.page(root, dir, pageSize), pageSize)
			if tt.name == "a page in the middle of history" {
				// The damage is real: the whole-file check finds it.
				if db, err := Open(context.Background(), dir, Options{}); err == nil {
					db.Close()
					t.Fatal("whole-file check missed the damage")
				}
			}
			db, err := Open(context.Background(), dir, Options{fullCheckMaxBytes: 1})
			if err == nil {
				db.Close()
			}
			if got := err != nil; got != tt.wantCorrupt {
				t.Fatalf("open error = %v, want corrupt %v", err, tt.wantCorrupt)
			}
			if tt.wantCorrupt && !strings.Contains(err.Error(), "is corrupt") {
				t.Errorf("error = %v, want ErrCorrupt's message", err)
			}
		})
	}
}
