package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// BenchmarkRecordFlush measures one second's worth of probe results at
// 10,000 targets every 10 s: 1,000 results across 1,000 targets recorded,
// then one flush. One op is that second; ns/result and allocs/result divide
// by the 1,000 results.
func BenchmarkRecordFlush(b *testing.B) {
	const targets = 1000
	db := mustOpen(b, b.TempDir())
	names := make([]string, targets)
	for i := range names {
		names[i] = fmt.Sprintf("target-%04d", i)
	}
	ctx := context.Background()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mallocs := ms.Mallocs
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		at := t0.Add(time.Duration(i) * time.Second) // a new minute every 60 ops
		for j, name := range names {
			db.Record(ProbeRecord{Target: name, At: at, OK: j%50 != 0, Latency: time.Duration(j%200) * time.Millisecond,
				State: "UP", Since: t0, Successes: i})
		}
		if err := db.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	runtime.ReadMemStats(&ms)
	n := float64(b.N * targets)
	b.ReportMetric(float64(elapsed.Nanoseconds())/n, "ns/result")
	b.ReportMetric(float64(ms.Mallocs-mallocs)/n, "allocs/result")
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

// BenchmarkHistoryGrowth writes one day of minute buckets for 100 targets
// (names like "target-0042") and reports the database's growth per target
// per day, after VACUUM, as bytes/target/day. Run it with -benchtime=1x:
// each op builds a fresh database.
func BenchmarkHistoryGrowth(b *testing.B) {
	const targets = 100
	ctx := context.Background()
	for range b.N {
		dir := b.TempDir()
		db := mustOpen(b, dir)
		size := func() int64 {
			if _, err := db.sql.ExecContext(ctx, `VACUUM`); err != nil {
				b.Fatal(err)
			}
			var pages, pageSize int64
			if err := db.sql.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
				b.Fatal(err)
			}
			if err := db.sql.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&pageSize); err != nil {
				b.Fatal(err)
			}
			return pages * pageSize
		}
		empty := size()
		for hour := range 24 {
			for m := range 60 {
				at := t0.Add(time.Duration(hour*60+m) * time.Minute)
				for tg := range targets {
					// 6 probes a minute (a 10 s interval), one slow.
					for p := range 6 {
						db.Record(ProbeRecord{Target: fmt.Sprintf("target-%04d", tg), At: at.Add(time.Duration(p) * 10 * time.Second),
							OK: true, Latency: time.Duration(20+p*30) * time.Millisecond, State: "UP", Since: t0})
					}
				}
			}
			if err := db.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		}
		full := size()
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		fi, err := os.Stat(filepath.Join(dir, FileName))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(full-empty)/targets, "bytes/target/day")
		b.ReportMetric(float64(fi.Size())/targets, "file-bytes/target/day")
	}
}

// BenchmarkOpen measures Open on an existing database holding 100 targets ×
// 1 day of history (about 4 MB), dominated by PRAGMA quick_check, which
// reads the whole file: it reports MB/s, to extrapolate start-up time for a
// large history.
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
