package main

import (
	"os"
	"runtime/debug"
)

// defaultGCPercent is the garbage collector's target when GOGC is not set:
// the heap may grow 50 % over what is live between collections, not the
// runtime's 100 %. pollerd's live heap is mostly its targets (about 1.9 KB
// each), so at 10,000 targets this is 9 MB less RSS (62 → 53 MB in
// BenchmarkDaemon10k) for no CPU the benchmark could tell from noise: its
// collections were 1 % of the daemon's CPU. Prometheus made the same
// change in 2.53 (GOGC 100 → 50, prometheus/prometheus#14176). The cost
// shows where the heap is small and allocation fast: a flood of client
// reports at 10,000 a second is ~10 % slower than at 100 (README).
const defaultGCPercent = 50

// setGCPercent applies defaultGCPercent unless GOGC is set, so that an
// operator's GOGC (in the unit's Environment=) still wins.
func setGCPercent() {
	if _, ok := os.LookupEnv("GOGC"); ok {
		return
	}
	debug.SetGCPercent(defaultGCPercent)
}
