package store

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// This file tests the history's layout (see rollup.go): flushes write
// minute rows, the pass sums closed hours and days behind the watermarks,
// and the reads count each probe once whatever the rows' layout, however
// far the pass got, and whatever is still buffered.

// histModel is the probes each target got per unix minute, as a test
// recorded or wrote them: what every read must add up to.
type histModel map[string]map[int64]bucket

func (h histModel) add(target string, minute int64, b bucket) {
	if h[target] == nil {
		h[target] = make(map[int64]bucket)
	}
	cur := h[target][minute]
	cur.add(b)
	h[target][minute] = cur
}

// uptime is what UptimeAll(since) at now must return.
func (h histModel) uptime(since, now time.Time) map[string]UptimeOf {
	from, _ := uptimeStart(unixMinute(since), now)
	out := make(map[string]UptimeOf)
	for name, minutes := range h {
		var p, f int64
		for m, b := range minutes {
			if m >= from {
				p += b.probes
				f += b.failures
			}
		}
		if p > 0 {
			out[name] = UptimeOf{Ratio: 1 - float64(f)/float64(p), Probes: p}
		}
	}
	return out
}

// daily is what DailyUptime(days, now) must return.
func (h histModel) daily(days int, now time.Time) map[string][]DayCounts {
	first := floorDiv(now.Unix(), 86400) - int64(days-1)
	out := make(map[string][]DayCounts)
	for name, minutes := range h {
		for m, b := range minutes {
			i := floorDiv(m, 1440) - first
			if i < 0 || i >= int64(days) || b.probes == 0 {
				continue
			}
			if out[name] == nil {
				out[name] = make([]DayCounts, days)
			}
			out[name][i].Probes += b.probes
			out[name][i].Failures += b.failures
		}
	}
	return out
}

// checkReads compares UptimeAll over several spans and DailyUptime with the
// model, at the store's now (t0). spans older than the retention are the
// caller's to leave out.
func checkReads(t *testing.T, db *DB, model histModel, when string, spans []time.Duration, days int) {
	t.Helper()
	ctx := context.Background()
	for _, d := range spans {
		got, err := db.UptimeAll(ctx, t0.Add(-d))
		if err != nil {
			t.Fatal(err)
		}
		if want := model.uptime(t0.Add(-d), t0); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: UptimeAll(now-%v) = %v, want %v", when, d, got, want)
		}
	}
	got, err := db.DailyUptime(ctx, days, t0)
	if err != nil {
		t.Fatal(err)
	}
	if want := model.daily(days, t0); !reflect.DeepEqual(got, want) {
		t.Errorf("%s: DailyUptime(%d) = %v\nwant %v", when, days, got, want)
	}
}

// checkCopyUp fails unless every hour row is the sum of its minute rows and
// every day row the sum of its hour rows (max for the latency maximum),
// both ways round: true once the pass has closed every hour and day with
// rows, until a rollup or a prune drops minutes or hours.
func checkCopyUp(t *testing.T, db *DB, when string) {
	t.Helper()
	const sums = `SUM(probes), SUM(failures), SUM(latency_sum_ms), MAX(latency_max_ms)`
	const cols = `probes, failures, latency_sum_ms, latency_max_ms`
	for _, q := range []struct{ name, upper, lower string }{
		{"hours", `SELECT target, hour, ` + cols + ` FROM history_hourly`,
			`SELECT target, minute / 60, ` + sums + ` FROM history GROUP BY 1, 2`},
		{"days", `SELECT target, day, ` + cols + ` FROM history_daily`,
			`SELECT target, hour / 24, ` + sums + ` FROM history_hourly GROUP BY 1, 2`},
	} {
		for _, pair := range [][2]string{{q.upper, q.lower}, {q.lower, q.upper}} {
			var n int
			if err := db.sql.QueryRow(`SELECT COUNT(*) FROM (` + pair[0] + ` EXCEPT ` + pair[1] + `)`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("%s: %d %s rows differ from the sums of their parts", when, n, q.name)
			}
		}
	}
}

// checkRowsMatch fails unless the hour and day rows are the model's sums
// per hour and day, each of them there and no other.
func checkRowsMatch(t *testing.T, db *DB, model histModel, when string) {
	t.Helper()
	type key struct {
		target string
		unit   int64
	}
	for _, tb := range []struct {
		table, col string
		minutes    int64
	}{{"history_hourly", "hour", 60}, {"history_daily", "day", 1440}} {
		want := map[key]bucket{}
		for name, minutes := range model {
			for m, b := range minutes {
				k := key{name, floorDiv(m, tb.minutes)}
				cur := want[k]
				cur.add(b)
				want[k] = cur
			}
		}
		got := map[key]bucket{}
		rows, err := db.sql.Query(`SELECT target, ` + tb.col + `, probes, failures, latency_sum_ms, latency_max_ms FROM ` + tb.table)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var k key
			var b bucket
			if err := rows.Scan(&k.target, &k.unit, &b.probes, &b.failures, &b.latencySumMs, &b.latencyMaxMs); err != nil {
				t.Fatal(err)
			}
			got[k] = b
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			n := 0
			for k, b := range want {
				if got[k] != b {
					n++
				}
			}
			t.Errorf("%s: %s has %d rows, want %d; %d differ", when, tb.table, len(got), len(want), n)
		}
	}
}

// Flushes write minute rows only, including a minute flushed in two parts;
// the pass then sums the closed hours and days.
func TestDB_Flush_MinutesOnly(t *testing.T) {
	now := t0
	db := mustOpenWith(t, Options{Now: func() time.Time { return now }})
	h := t0.Add(-3 * time.Hour) // an hour's start
	rec := func(at time.Duration, ok bool, lat time.Duration) {
		db.Record(ProbeRecord{Target: "api", At: h.Add(at), OK: ok, Latency: lat, State: "UP", Since: t0})
	}
	rec(0, true, 10*time.Millisecond)
	rec(10*time.Second, false, 70*time.Millisecond)
	rec(59*time.Minute, true, 20*time.Millisecond)
	rec(2*time.Hour, true, 5*time.Millisecond) // another hour, same day
	db.Record(ProbeRecord{Target: "db", At: h, OK: true, Latency: time.Millisecond})
	mustFlush(t, db)
	// The first minute again, in a second flush: a delta of 2 probes.
	rec(30*time.Second, false, 90*time.Millisecond)
	rec(40*time.Second, true, 30*time.Millisecond)
	mustFlushDue(t, db, h.Add(3*time.Minute)) // only that bucket is due
	mustFlush(t, db)
	for _, table := range []string{"history_hourly", "history_daily"} {
		if n := countRows(t, db, table); n != 0 {
			t.Errorf("%s rows after flushes = %d, want 0", table, n)
		}
	}
	if p, f, s, m := historyRow(t, db, "api", unixMinute(h)); p != 4 || f != 2 || s != 200 || m != 90 {
		t.Errorf("minute row = %d %d %d %d, want 4 2 200 90", p, f, s, m)
	}

	// At t0 the hour h is closed, the hour of t0-1h is not yet.
	finishPass(t, db)
	if p, f, s, m := hourRow(t, db, "api", unixHour(h)); p != 5 || f != 2 || s != 220 || m != 90 {
		t.Errorf("hour row = %d %d %d %d, want 5 2 220 90", p, f, s, m)
	}
	if n := countRows(t, db, "history_hourly"); n != 2 {
		t.Errorf("hour rows = %d, want 2 (api's and db's of h)", n)
	}
	if n := countRows(t, db, "history_daily"); n != 0 {
		t.Errorf("day rows = %d before the day closed", n)
	}
	// The next day: every hour and the day are closed.
	now = t0.Add(13 * time.Hour)
	finishPass(t, db)
	checkCopyUp(t, db, "after the day closed")
	if p, f, s, m := dayRow(t, db, "api", unixHour(h)/24); p != 6 || f != 2 || s != 225 || m != 90 {
		t.Errorf("day row = %d %d %d %d, want 6 2 225 90", p, f, s, m)
	}
	if p, _, _, _ := dayRow(t, db, "db", unixHour(h)/24); p != 1 {
		t.Errorf("db's day row = %d probes, want 1", p)
	}
	hw, dw := marks(t, db)
	if want := unixHour(now.Add(-hourCloseDelay)); hw != want || dw != want/24 {
		t.Errorf("marks = %d %d, want %d %d", hw, dw, want, want/24)
	}
}

// marks reads the watermarks.
func marks(tb testing.TB, db *DB) (hw, dw int64) {
	tb.Helper()
	tx, err := db.sql.Begin()
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	if hw, dw, err = historyMarks(context.Background(), tx); err != nil {
		tb.Fatal(err)
	}
	return hw, dw
}

// UptimeAll and DailyUptime read the same sums before and after Run's
// rollup and retention pass, and with buckets still buffered (one of them
// for a minute the rollup has dropped).
func TestDB_Reads_SameAcrossPassAndBuffer(t *testing.T) {
	const retention = 4 * 24 * time.Hour
	db := mustOpenWith(t, Options{Now: func() time.Time { return t0 }, Retention: retention})
	model := histModel{}
	rec := func(target string, at time.Time, ok bool, lat time.Duration) {
		db.Record(ProbeRecord{Target: target, At: at, OK: ok, Latency: lat, State: "UP", Since: t0})
		b := bucket{probes: 1, latencySumMs: lat.Milliseconds(), latencyMaxMs: lat.Milliseconds()}
		if !ok {
			b.failures = 1
		}
		model.add(target, unixMinute(at), b)
	}
	// 6 days, two probes a minute for api and one every 7 minutes for db.
	start := t0.Add(-6 * 24 * time.Hour)
	for i := 0; i < 6*24*60; i++ {
		at := start.Add(time.Duration(i) * time.Minute)
		rec("api", at, i%11 != 0, time.Duration(i%90)*time.Millisecond)
		rec("api", at.Add(30*time.Second), i%13 != 0, time.Duration(i%70)*time.Millisecond)
		if i%7 == 0 {
			rec("db", at.Add(5*time.Second), i%3 != 0, time.Millisecond)
		}
		if i%5000 == 0 {
			mustFlush(t, db)
		}
	}
	mustFlush(t, db)
	// Buffered: this minute, a minute of the hour before, and a late one
	// for a minute the rollup drops (older than 48 h).
	rec("api", t0.Add(10*time.Second), false, 3*time.Millisecond)
	rec("web", t0.Add(-30*time.Minute), true, 3*time.Millisecond)
	rec("db", t0.Add(-50*time.Hour-20*time.Minute), false, 3*time.Millisecond)

	// Within the retention (the pass prunes before t0-4d): minute, hour and
	// day boundaries, since on a boundary and off it, inside and outside
	// the minute window.
	spans := []time.Duration{
		0, 10 * time.Minute, 59*time.Minute + 30*time.Second, time.Hour, 24 * time.Hour,
		24*time.Hour + 17*time.Minute, 47*time.Hour + 59*time.Minute, 48 * time.Hour,
		48*time.Hour + 30*time.Minute, 50*time.Hour + 20*time.Minute, 72 * time.Hour,
		84*time.Hour + 45*time.Minute, 3*24*time.Hour + 12*time.Hour,
	}
	checkReads(t, db, model, "before the pass", spans, 4)
	if n := countRows(t, db, "history_hourly"); n != 0 {
		t.Errorf("hour rows before the pass = %d", n)
	}
	finishPass(t, db)
	if n := countRows(t, db, "history"); n == 0 || n > 2*48*60 {
		t.Errorf("minute rows after the pass = %d", n)
	}
	checkReads(t, db, model, "after the pass", spans, 4)
	mustFlush(t, db)
	checkReads(t, db, model, "after the pass and a flush", spans, 4)
	finishPass(t, db)
	checkReads(t, db, model, "after a second pass", spans, 4)
}

// oldLayout writes model into a database at schema version migs (2, 5 or
// 6) the way pollerd left it: minute rows from the minute rolledBefore on;
// before it, with schema 5, each hour's minutes summed into its hour row and
// deleted, except the minutes in late, which stay minute rows (a late flush
// of an hour already rolled up, which the next pass would have added to
// it). With schema 6 (copy-up) every minute, kept or not, is in its hour and
// day rows, the last (open) hour and day included.
func oldLayout(t *testing.T, dir string, migs int, model histModel, rolledBefore int64, late map[int64]bool) {
	t.Helper()
	ctx := context.Background()
	old, err := open(ctx, dir, Options{Now: func() time.Time { return t0 }}, migrations[:migs])
	if err != nil {
		t.Fatal(err)
	}
	tx, err := old.sql.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	for name, minutes := range model {
		hours := map[int64]bucket{}
		days := map[int64]bucket{}
		for m, b := range minutes {
			if migs >= 6 {
				cur := hours[floorDiv(m, 60)]
				cur.add(b)
				hours[floorDiv(m, 60)] = cur
				cur = days[floorDiv(m, 1440)]
				cur.add(b)
				days[floorDiv(m, 1440)] = cur
				if m < rolledBefore && !late[m] {
					continue
				}
			} else if migs >= 3 && m < rolledBefore && !late[m] {
				cur := hours[floorDiv(m, 60)]
				cur.add(b)
				hours[floorDiv(m, 60)] = cur
				continue
			}
			if _, err := tx.Exec(`INSERT INTO history (target, minute, probes, failures, latency_sum_ms, latency_max_ms)
				VALUES (?, ?, ?, ?, ?, ?)`, name, m, b.probes, b.failures, b.latencySumMs, b.latencyMaxMs); err != nil {
				t.Fatal(err)
			}
		}
		for h, b := range hours {
			if _, err := tx.Exec(`INSERT INTO history_hourly (target, hour, probes, failures, latency_sum_ms, latency_max_ms)
				VALUES (?, ?, ?, ?, ?, ?)`, name, h, b.probes, b.failures, b.latencySumMs, b.latencyMaxMs); err != nil {
				t.Fatal(err)
			}
		}
		for d, b := range days {
			if _, err := tx.Exec(`INSERT INTO history_daily (target, day, probes, failures, latency_sum_ms, latency_max_ms)
				VALUES (?, ?, ?, ?, ?, ?)`, name, d, b.probes, b.failures, b.latencySumMs, b.latencyMaxMs); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
}

// A database of the previous layouts reads, once migrated, what its probes
// add up to, and so before and after the first pass.
func TestOpen_MigratesHistory(t *testing.T) {
	for _, tt := range []struct {
		name string
		migs int
	}{
		{"from schema 6: copy-up, every probe in its minute, hour and day", 6},
		{"from schema 5: minutes and hours, each probe in one", 5},
		{"from schema 2: minutes only", 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			model := histModel{}
			start := t0.Add(-5 * 24 * time.Hour).Add(-7 * time.Hour)
			for i := int64(0); i < int64(t0.Sub(start)/time.Minute); i++ {
				m := unixMinute(start) + i
				model.add("api", m, bucket{probes: 6, failures: (m % 97 / 96), latencySumMs: 570, latencyMaxMs: 100 + m%50})
				if i%3 == 0 {
					model.add("db", m, bucket{probes: 2, failures: m % 2, latencySumMs: 10, latencyMaxMs: 9})
				}
			}
			// A target whose probes ended four days ago.
			for m := unixMinute(t0.Add(-5 * 24 * time.Hour)); m < unixMinute(t0.Add(-4*24*time.Hour)); m += 10 {
				model.add("gone", m, bucket{probes: 1, failures: 1, latencySumMs: 1, latencyMaxMs: 1})
			}
			// The last pass ran 90 minutes ago; two minutes of hours it
			// rolled up came late.
			rolledBefore := unixHour(t0.Add(-MinuteHistory-90*time.Minute)) * 60
			late := map[int64]bool{rolledBefore - 61: true, unixMinute(t0.Add(-3*24*time.Hour)) + 7: true}
			dir := t.TempDir()
			oldLayout(t, dir, tt.migs, model, rolledBefore, late)

			migStart := time.Now()
			db := mustOpen(t, dir)
			t.Logf("migrated in %v", time.Since(migStart))
			if v := schemaVersion(t, db); v != SchemaVersion() {
				t.Fatalf("schema version = %d, want %d", v, SchemaVersion())
			}
			checkRowsMatch(t, db, model, "after the migration")
			spans := []time.Duration{
				time.Hour, 24 * time.Hour, 47*time.Hour + 10*time.Minute, 48 * time.Hour,
				49*time.Hour + 30*time.Minute, 72 * time.Hour, 4*24*time.Hour + 5*time.Minute,
				6 * 24 * time.Hour, 1 << 62,
			}
			checkReads(t, db, model, "after the migration", spans, 7)
			hw, dw := marks(t, db)
			if want := unixHour(t0) - 1; hw != want || dw != want/24 {
				// The latest minute is t0's last: its hour is the first
				// not known complete.
				t.Errorf("marks after the migration = %d %d, want %d %d", hw, dw, want, want/24)
			}
			finishPass(t, db)
			want := 0
			for _, minutes := range model {
				for m := range minutes {
					if m >= unixHour(t0.Add(-MinuteHistory))*60 {
						want++
					}
				}
			}
			if got := countRows(t, db, "history"); got != want {
				t.Errorf("minute rows after the first pass = %d, want %d", got, want)
			}
			checkReads(t, db, model, "after the first pass", spans, 7)
			checkRowsMatch(t, db, model, "after the first pass")
			// New probes land on the backfilled rows.
			db.Record(ProbeRecord{Target: "api", At: t0.Add(-time.Minute), OK: false})
			model.add("api", unixMinute(t0.Add(-time.Minute)), bucket{probes: 1, failures: 1})
			mustFlush(t, db)
			checkReads(t, db, model, "after a flush", spans, 7)
		})
	}
}

func TestUptimeCover_Start(t *testing.T) {
	// The model's cover start follows UptimeAll's: the minute within the
	// minute window, the start of the hour before it.
	for _, tt := range []struct {
		since time.Time
		want  int64
	}{
		{t0.Add(-time.Hour - 30*time.Second), unixMinute(t0.Add(-time.Hour - 30*time.Second))},
		{t0.Add(-MinuteHistory), unixMinute(t0.Add(-MinuteHistory))},
		{t0.Add(-MinuteHistory - 30*time.Minute), unixHour(t0.Add(-MinuteHistory-time.Hour)) * 60},
	} {
		if from, _ := uptimeStart(unixMinute(tt.since), t0); from != tt.want {
			t.Errorf("cover of %v starts at %d, want %d", tt.since, from, tt.want)
		}
	}
}

// Closing an hour spans transactions of maintTxTargets targets; the
// watermark moves only with the last, reads count every probe once between
// them, and a pass cut midway (a restart) redoes the hour without counting
// anything twice.
func TestDB_Close_ResumesAcrossChunks(t *testing.T) {
	db := mustOpen(t, t.TempDir())
	ctx := context.Background()
	model := histModel{}
	h := unixHour(t0) - 2
	const targets = maintTxTargets + 44
	for i := range targets {
		name := fmt.Sprintf("t%04d", i)
		at := time.Unix(h*3600+int64(i%60)*60, 0)
		db.Record(ProbeRecord{Target: name, At: at, OK: i%5 != 0, State: "UP", Since: t0})
		b := bucket{probes: 1}
		if i%5 == 0 {
			b.failures = 1
		}
		model.add(name, unixMinute(at), b)
	}
	mustFlush(t, db)
	spans := []time.Duration{time.Hour, 3 * time.Hour, 30 * time.Hour}
	step := func(p *maintPass) bool {
		t.Helper()
		done, err := db.closeStep(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return done
	}
	p := newPass(time.Time{}, time.Time{})
	step(p) // jumps from 0 to h: no minutes before it
	if hw, _ := marks(t, db); hw != h {
		t.Fatalf("hours_done after the jump = %d, want %d", hw, h)
	}
	step(p) // the first chunk
	if hw, _ := marks(t, db); hw != h || countRows(t, db, "history_hourly") != maintTxTargets {
		t.Fatalf("after a chunk: hours_done %d (want %d), %d hour rows", hw, h, countRows(t, db, "history_hourly"))
	}
	checkReads(t, db, model, "midway through an hour", spans, 2)

	// A restart: a new pass starts the hour over.
	p = newPass(time.Time{}, time.Time{})
	for i := 0; !step(p); i++ {
		if i > 100 {
			t.Fatal("closing does not end")
		}
	}
	if hw, _ := marks(t, db); hw != h+1 {
		t.Errorf("hours_done = %d, want %d", hw, h+1)
	}
	checkReads(t, db, model, "after the hour closed", spans, 2)
	var rows, probes int
	if err := db.sql.QueryRow(`SELECT COUNT(*), SUM(probes) FROM history_hourly`).Scan(&rows, &probes); err != nil {
		t.Fatal(err)
	}
	if rows != targets || probes != targets {
		t.Errorf("hour rows = %d holding %d probes, want %d of 1", rows, probes, targets)
	}
}

// Retention and rollup never delete a minute of an hour not closed: here a
// buffered bucket (a write outage) holds the hours from its own back.
func TestDB_Pass_KeepsUnclosedMinutes(t *testing.T) {
	db := mustOpenWith(t, Options{
		Now: func() time.Time { return t0 }, Retention: 24 * time.Hour,
	})
	model := histModel{}
	rec := func(target string, at time.Time) {
		db.Record(ProbeRecord{Target: target, At: at, OK: true, State: "UP", Since: t0})
		model.add(target, unixMinute(at), bucket{probes: 1})
	}
	rec("api", t0.Add(-60*time.Hour))
	rec("api", t0.Add(-2*time.Hour))
	mustFlush(t, db)
	rec("db", t0.Add(-70*time.Hour)) // buffered
	finishPass(t, db)
	if hw, _ := marks(t, db); hw != unixHour(t0.Add(-70*time.Hour)) {
		t.Errorf("hours_done = %d, want the buffered bucket's hour %d", hw, unixHour(t0.Add(-70*time.Hour)))
	}
	if n := countRows(t, db, "history"); n != 2 {
		t.Errorf("minute rows = %d, want 2: their hours are not closed", n)
	}
	spans := []time.Duration{time.Hour, 3 * time.Hour, 1 << 62}
	checkReads(t, db, model, "with hours held back", spans, 4)
	mustFlush(t, db)
	finishPass(t, db)
	if hw, _ := marks(t, db); hw != unixHour(t0.Add(-hourCloseDelay)) {
		t.Errorf("hours_done after the flush = %d, want %d", hw, unixHour(t0.Add(-hourCloseDelay)))
	}
	// Retention (24 h) dropped the old probes, minutes and hours alike.
	if n := countRows(t, db, "history"); n != 1 {
		t.Errorf("minute rows after the flush and a pass = %d, want 1", n)
	}
	for name, minutes := range model {
		for m := range minutes {
			if m < unixMinute(t0.Add(-24*time.Hour)) {
				delete(minutes, m)
			}
		}
		if len(minutes) == 0 {
			delete(model, name)
		}
	}
	checkReads(t, db, model, "after the flush and a pass", spans[:2], 4)
}

// A probe recorded for a minute of an hour already closed is added to the
// closed hour and day rows by its flush, and counted once before and after.
func TestDB_Flush_LateBucketOfClosedHour(t *testing.T) {
	db := mustOpen(t, t.TempDir())
	model := histModel{}
	rec := func(at time.Time) {
		db.Record(ProbeRecord{Target: "api", At: at, OK: false, Latency: 7 * time.Millisecond, State: "UP", Since: t0})
		model.add("api", unixMinute(at), bucket{probes: 1, failures: 1, latencySumMs: 7, latencyMaxMs: 7})
	}
	rec(t0.Add(-30 * time.Hour))
	mustFlush(t, db)
	finishPass(t, db)
	rec(t0.Add(-30*time.Hour + 5*time.Minute)) // late, buffered
	spans := []time.Duration{time.Hour, 29 * time.Hour, 31 * time.Hour, 1 << 62}
	checkReads(t, db, model, "late bucket buffered", spans, 3)
	mustFlush(t, db)
	checkReads(t, db, model, "late bucket flushed", spans, 3)
	checkCopyUp(t, db, "late bucket flushed")
	finishPass(t, db)
	checkReads(t, db, model, "late bucket flushed, after a pass", spans, 3)
}

// A long DailyUptime over minutes and hours not yet summed into days (here
// before any pass) reads its many groups too.
func TestDB_DailyUptime_ManyOpenDays(t *testing.T) {
	db := mustOpenWith(t, Options{
		Now: func() time.Time { return t0 }, Retention: 500 * 24 * time.Hour,
	})
	model := histModel{}
	for d := range 400 {
		at := t0.Add(-time.Duration(d) * 24 * time.Hour)
		db.Record(ProbeRecord{Target: "api", At: at, OK: d%3 != 0, State: "UP", Since: t0})
		b := bucket{probes: 1}
		if d%3 == 0 {
			b.failures = 1
		}
		model.add("api", unixMinute(at), b)
	}
	mustFlush(t, db)
	checkReads(t, db, model, "before a pass", nil, 365)
	finishPass(t, db)
	checkReads(t, db, model, "after a pass", nil, 365)
}
