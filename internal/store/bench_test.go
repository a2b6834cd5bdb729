package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// BenchmarkRecordFlush models the steady state at 10,000 targets probed
// every 10 s: one op is one simulated second, in which the 1,000 targets
// whose turn it is are recorded (each at its own millisecond of that second)
// and then Run's periodic flush (flushDue) runs at the end of that second.
// Most targets are UP and extend a run of successes; every 50th is DOWN and
// extends a run of failures; every 500th flaps, so each of its probes starts
// a run. Before the timer, the store runs 3 simulated minutes so the buffer
// holds what it holds in steady state. It reports ns/result and
// allocs/result (per recorded result: Record plus its share of the flush)
// and rows/s: history and target_state rows written per simulated second.
func BenchmarkRecordFlush(b *testing.B) {
	const (
		targets = 10_000
		every   = 10 // seconds between a target's probes
	)
	db := mustOpen(b, b.TempDir())
	names := make([]string, targets)
	for i := range names {
		names[i] = fmt.Sprintf("target-%05d", i)
	}
	ctx := context.Background()
	var rows int64
	second := func(s int) { // simulated second s after t0
		at := t0.Add(time.Duration(s) * time.Second)
		for j := s % every; j < targets; j += every {
			r := ProbeRecord{Target: names[j], At: at.Add(time.Duration(j%1000) * time.Millisecond),
				Latency: time.Duration(j%200) * time.Millisecond, Since: t0}
			n := s/every + 1 // this target's probe count so far
			switch {
			case j%500 == 1: // flapping
				r.OK = n%2 == 0
				r.State = "UP"
				if r.OK {
					r.Successes = 1
				} else {
					r.Failures = 1
				}
			case j%50 == 0:
				r.State, r.Failures = "DOWN", n
			default:
				r.OK, r.State, r.Successes = true, "UP", n
			}
			db.Record(r)
		}
		n, err := db.flushDue(ctx, at.Add(time.Second))
		if err != nil {
			b.Fatal(err)
		}
		rows += int64(n)
	}
	const warmup = 180
	for s := range warmup {
		second(s)
	}
	rows = 0
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mallocs := ms.Mallocs
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		second(warmup + i)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	runtime.ReadMemStats(&ms)
	n := float64(b.N * targets / every)
	b.ReportMetric(float64(elapsed.Nanoseconds())/n, "ns/result")
	b.ReportMetric(float64(ms.Mallocs-mallocs)/n, "allocs/result")
	b.ReportMetric(float64(rows)/float64(b.N), "rows/s")
}

// BenchmarkBufferSecond is BenchmarkRecordFlush without the disk: per op,
// one simulated second's 1,000 Records at 10,000 targets and the take of
// what is due (which Records wait for, under the buffer's mutex). It
// reports take-µs: the take's own time per second.
func BenchmarkBufferSecond(b *testing.B) {
	const (
		targets = 10_000
		every   = 10
	)
	db := mustOpen(b, b.TempDir())
	names := make([]string, targets)
	for i := range names {
		names[i] = fmt.Sprintf("target-%05d", i)
	}
	var bk []takenBucket
	var st []takenState
	var took time.Duration
	second := func(s int) {
		at := t0.Add(time.Duration(s) * time.Second)
		for j := s % every; j < targets; j += every {
			db.Record(ProbeRecord{Target: names[j], At: at.Add(time.Duration(j%1000) * time.Millisecond),
				OK: true, State: "UP", Since: t0, Successes: s/every + 2})
		}
		start := time.Now()
		bk, st = db.buf.take(at.Add(time.Second).UnixMilli(), false, bk[:0], st[:0])
		took += time.Since(start)
	}
	const warmup = 180
	for s := range warmup {
		second(s)
	}
	took = 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		second(warmup + i)
	}
	b.ReportMetric(float64(took.Microseconds())/float64(b.N), "take-µs")
}

// BenchmarkRecord measures Record alone: what a probing goroutine pays.
func BenchmarkRecord(b *testing.B) {
	db := mustOpen(b, b.TempDir())
	names := make([]string, 1000)
	for i := range names {
		names[i] = fmt.Sprintf("target-%04d", i)
	}
	b.ReportAllocs()
	for i := range b.N {
		db.Record(ProbeRecord{Target: names[i%1000], At: t0, OK: true, State: "UP", Since: t0})
	}
}

// BenchmarkHistoryGrowth builds 90 days of history for 10 targets probed
// every 10 s (6 probes a minute, one in 97 minutes with a failure), hour by
// hour as the daemon would: each hour's minute buckets are inserted (in
// bulk, in time order across targets, as flushes write them) and then Run's
// rollup and retention pass runs, so the minute table churns and the hour
// table grows as they do in a live file. It reports:
//
//   - bytes/target/day: growth per target and day once the minute window is
//     full (days 60 to 90: hour and day buckets only), packed (VACUUM INTO
//     a copy);
//   - bytes/target@90d: the whole database per target at 90 days, packed;
//   - file-bytes/target@90d: the live file per target at 90 days, as it sits
//     on disk (pages freed by the rollup are reused, not returned);
//   - minute-bytes/target/day: the first day of history, packed: its minute
//     buckets (what each day cost before the rollup existed, and what each
//     of the 2 minute days costs now) and its hour and day buckets.
//
// Run it with -benchtime=1x: each op builds a fresh database.
func BenchmarkHistoryGrowth(b *testing.B) {
	const targets = 10
	const days = 90
	const step = 3 // hours of history per insert and pass: 1 is closest to the daemon, and slow
	ctx := context.Background()
	start := t0.Add(-days * 24 * time.Hour)
	for range b.N {
		dir := b.TempDir()
		var now time.Time
		db, err := Open(ctx, dir, Options{Now: func() time.Time { return now }, Retention: days * 24 * time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		copies := 0
		packed := func() int64 { // VACUUM INTO a copy: the packed size, the live file untouched
			copies++
			path := filepath.Join(dir, fmt.Sprintf("copy-%d.db", copies))
			if _, err := db.sql.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
				b.Fatal(err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			os.Remove(path)
			return fi.Size()
		}
		empty := packed()
		var oneDay, at60 int64
		for h := 0; h < days*24; h += step {
			hourStart := start.Add(time.Duration(h) * time.Hour)
			if _, err := db.sql.ExecContext(ctx, `
				WITH RECURSIVE t(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM t WHERE i + 1 < ?1),
				m(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM m WHERE k + 1 < ?3)
				INSERT INTO history (target, minute, probes, failures, latency_sum_ms, latency_max_ms)
				SELECT printf('target-%04d', i), ?2 + k, 6, (?2 + k + i) % 97 = 0, 570, 170 FROM m, t
				ORDER BY k, i`, targets, unixMinute(hourStart), step*60); err != nil {
				b.Fatal(err)
			}
			// Copy-up, as the flushes do it: the same minutes into their
			// hours and days.
			for _, up := range []struct{ table, col, div string }{
				{"history_hourly", "hour", "60"}, {"history_daily", "day", "1440"},
			} {
				if _, err := db.sql.ExecContext(ctx, `
					INSERT INTO `+up.table+` (target, `+up.col+`, probes, failures, latency_sum_ms, latency_max_ms)
					SELECT target, minute / `+up.div+`, SUM(probes), SUM(failures), SUM(latency_sum_ms), MAX(latency_max_ms)
					FROM history WHERE minute >= ?1 AND minute < ?2 GROUP BY 1, 2
					ON CONFLICT DO UPDATE SET
						probes = probes + excluded.probes,
						failures = failures + excluded.failures,
						latency_sum_ms = latency_sum_ms + excluded.latency_sum_ms,
						latency_max_ms = max(latency_max_ms, excluded.latency_max_ms)`,
					unixMinute(hourStart), unixMinute(hourStart)+step*60); err != nil {
					b.Fatal(err)
				}
			}
			now = hourStart.Add(step * time.Hour)
			m := maintainer{db: db}
			m.due()
			for m.pass != nil {
				m.slice(ctx)
			}
			switch h + step {
			case 24:
				oneDay = packed()
			case 60 * 24:
				at60 = packed()
			}
		}
		full := packed()
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		fi, err := os.Stat(filepath.Join(dir, FileName))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(full-at60)/targets/30, "bytes/target/day")
		b.ReportMetric(float64(full-empty)/targets, "bytes/target@90d")
		b.ReportMetric(float64(fi.Size())/targets, "file-bytes/target@90d")
		b.ReportMetric(float64(oneDay-empty)/targets, "minute-bytes/target/day")
	}
}

// BenchmarkOpen measures Open on an existing database holding 100 targets ×
// 1 day of minute history (about 4 MB): small enough for the whole-file
// quick_check, so it reports that check's MB/s.
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	db := mustOpen(b, dir)
	for m := range 24 * 60 {
		for tg := range 100 {
			db.Record(ProbeRecord{Target: fmt.Sprintf("target-%04d", tg), At: t0.Add(time.Duration(m) * time.Minute), OK: true})
		}
		if m%60 == 59 {
			mustFlush(b, db) // stay under MaxBuckets
		}
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	b.ResetTimer()
	for range b.N {
		db, err := Open(context.Background(), dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkOpen10kTargets90Days measures start-up over a full history:
// 10,000 targets with 90 days of it as the rollup leaves it (48 h of minute
// buckets, 90 days of hour and of day buckets: 51 million rows, about
// 1.8 GB), built
// once in bulk (one transaction, in key order, outside the timer). One op is
// Open (with its integrity check) plus TargetRecords, what the daemon does
// before it schedules the targets; it reports s/start and the database's
// MB. The file is in the page cache, as after a restart; a cold cache adds
// the few reads the bounded check makes. It also reports what the status
// API's 24 h and 30 d uptime and a 90-day DailyUptime cost over it.
func BenchmarkOpen10kTargets90Days(b *testing.B) {
	const targets = 10_000
	dir := b.TempDir()
	db := mustOpen(b, dir)
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	buildStart := time.Now()
	buildHistory(b, dir, targets, 90)
	b.Logf("built %d targets × 90 days in %v", targets, time.Since(buildStart).Round(time.Second))
	fi, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		b.Fatal(err)
	}

	ctx := context.Background()
	b.ResetTimer()
	var last *DB
	for range b.N {
		db, err := Open(ctx, dir, Options{Now: func() time.Time { return t0 }})
		if err != nil {
			b.Fatal(err)
		}
		recs, err := db.TargetRecords(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(recs) != targets {
			b.Fatalf("%d target records, want %d", len(recs), targets)
		}
		b.StopTimer()
		if last != nil {
			last.Close()
		}
		last = db
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/start")
	b.ReportMetric(float64(fi.Size())/1e6, "MB")
	b.ReportMetric(float64(fi.Size())/targets, "file-bytes/target")
	timed := func(unit string, fn func() (int, error)) {
		start := time.Now()
		n, err := fn()
		if err != nil {
			b.Fatal(err)
		}
		if n != targets {
			b.Fatalf("%s: %d targets, want %d", unit, n, targets)
		}
		b.ReportMetric(time.Since(start).Seconds(), unit)
	}
	timed("s/uptime-24h", func() (int, error) {
		u, err := last.UptimeAll(ctx, t0.Add(-24*time.Hour))
		return len(u), err
	})
	timed("s/uptime-30d", func() (int, error) {
		u, err := last.UptimeAll(ctx, t0.Add(-30*24*time.Hour))
		return len(u), err
	})
	timed("s/daily-90d", func() (int, error) {
		d, err := last.DailyUptime(ctx, 90, t0)
		return len(d), err
	})
	last.Close()
}

// buildHistory fills the database in dir (already migrated) with targets
// targets ("target-00042"), their state rows, and days of history ending at
// t0 as the flushes and the rollup leave it: minute buckets from
// t0-MinuteHistory's hour on, hour and day buckets for the whole span, each
// the sum of what it covers (the hours of the minute window are their
// minutes' sums, computed in closed form), and the watermarks at the hours
// closed by t0. It writes in key order in one transaction on a connection
// without journal, which is as fast as SQLite inserts go.
func buildHistory(tb testing.TB, dir string, targets, days int) {
	tb.Helper()
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, FileName)+
		"?_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)&_pragma=cache_size(-262144)")
	if err != nil {
		tb.Fatal(err)
	}
	defer raw.Close()
	ctx := context.Background()
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	cutoff := unixHour(t0.Add(-MinuteHistory))
	firstHour := unixHour(t0) - int64(days*24)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`WITH RECURSIVE t(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM t WHERE i + 1 < ?1)
			INSERT INTO target_state (name, state, since, failures, successes, updated_at)
			SELECT printf('target-%05d', i), 'UP', ?2, 0, 2, ?2 FROM t`, []any{targets, msOf(t0)}},
		// Before the cutoff an hour fails one probe in 53 hours; after it,
		// its minutes' sums: one failed minute when a minute k of the hour
		// has (k + i) % 97 = 0, which happens at most once in 60.
		{`WITH RECURSIVE t(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM t WHERE i + 1 < ?1),
			h(k) AS (SELECT ?2 UNION ALL SELECT k + 1 FROM h WHERE k + 1 < ?4)
			INSERT INTO history_hourly (target, hour, probes, failures, latency_sum_ms, latency_max_ms)
			SELECT printf('target-%05d', i), k, 360,
				CASE WHEN k < ?3 THEN (k + i) % 53 = 0 ELSE (97 - (k * 60 + i) % 97) % 97 < 60 END,
				34200, 170 FROM t, h`,
			[]any{targets, firstHour, cutoff, unixHour(t0)}},
		{`WITH RECURSIVE t(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM t WHERE i + 1 < ?1),
			m(k) AS (SELECT ?2 UNION ALL SELECT k + 1 FROM m WHERE k + 1 < ?3)
			INSERT INTO history (target, minute, probes, failures, latency_sum_ms, latency_max_ms)
			SELECT printf('target-%05d', i), k, 6, (k + i) % 97 = 0, 570, 170 FROM t, m`,
			[]any{targets, cutoff * 60, unixMinute(t0)}},
		// Read in key order, grouped in key order: appended in key order.
		{`INSERT INTO history_daily (target, day, probes, failures, latency_sum_ms, latency_max_ms)
			SELECT target, hour / 24, SUM(probes), SUM(failures), SUM(latency_sum_ms), MAX(latency_max_ms)
			FROM history_hourly GROUP BY target, hour / 24`, nil},
		// The watermarks as Run's pass leaves them at t0: the hours closed
		// up to hourCloseDelay ago, the days before that hour's day (the
		// rows after them are there, and ignored by readers).
		{`INSERT OR REPLACE INTO history_marks (name, value) VALUES ('hours_done', ?1), ('days_done', ?2)`,
			[]any{unixHour(t0.Add(-hourCloseDelay)), unixHour(t0.Add(-hourCloseDelay)) / 24}},
	} {
		if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
}

// buildHistory's rows keep copy-up: the hours of the minute window are
// their minutes' sums and every day is its hours' sum.
func TestBuildHistory_CopiedUp(t *testing.T) {
	dir := t.TempDir()
	if err := mustOpen(t, dir).Close(); err != nil {
		t.Fatal(err)
	}
	buildHistory(t, dir, 4, 3)
	db := mustOpen(t, dir)
	cutoff := unixHour(t0.Add(-MinuteHistory))
	const sums = `SUM(probes), SUM(failures), SUM(latency_sum_ms), MAX(latency_max_ms)`
	hours := `SELECT target, hour, probes, failures, latency_sum_ms, latency_max_ms FROM history_hourly WHERE hour >= ` +
		fmt.Sprint(cutoff)
	minutes := `SELECT target, minute / 60, ` + sums + ` FROM history GROUP BY 1, 2`
	days := `SELECT target, day, probes, failures, latency_sum_ms, latency_max_ms FROM history_daily`
	daysOfHours := `SELECT target, hour / 24, ` + sums + ` FROM history_hourly GROUP BY 1, 2`
	for _, pair := range [][2]string{{hours, minutes}, {minutes, hours}, {days, daysOfHours}, {daysOfHours, days}} {
		var n int
		if err := db.sql.QueryRow(`SELECT COUNT(*) FROM (` + pair[0] + ` EXCEPT ` + pair[1] + `)`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d rows of %q not in %q", n, pair[0], pair[1])
		}
	}
	var failed int
	if err := db.sql.QueryRow(`SELECT SUM(failures) FROM history_hourly WHERE hour >= ?`, cutoff).Scan(&failed); err != nil || failed == 0 {
		t.Errorf("failures in the minute window's hours = %d, %v", failed, err)
	}
}
