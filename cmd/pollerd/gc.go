package main

import (
	"os"

	"github.com/bytedance/gopkg/util/gctuner"
)

// The garbage collector's target when GOGC is not set: 50 % over the live
// heap once the heap is large, more while it is small.
//
//   - At 50 % rather than the runtime's 100 %, 10,000 targets take 9 MB less
//     RSS (62 → 53 MB in BenchmarkDaemon10k) for no CPU the benchmark could
//     tell from noise. Prometheus made the same change in 2.53 (GOGC 100 →
//     50, prometheus/prometheus#14176).
//   - A small heap at 50 % is collected every 2 MB allocated (the runtime's
//     floor is 4 MB × GOGC/100). Under a flood of client reports, with a
//     1 MB live heap, that was 130 reports a collection and cost a fifth of
//     the ingest throughput (README, Performance).
//
// So bytedance/gopkg's gctuner sets the percent after every collection:
// (gcHeapThreshold − in-use heap) / in-use heap, between 50 and 500. The
// heap grows toward gcHeapThreshold while it is smaller than that, and
// by 50 % once it is larger.
const (
	defaultGCPercent = 50
	gcHeapThreshold  = 8 << 20
)

// setGCPercent starts the tuner unless GOGC is set, so that an operator's
// GOGC (in the unit's Environment=) still wins.
func setGCPercent() {
	if _, ok := os.LookupEnv("GOGC"); ok {
		return
	}
	gctuner.SetMinGCPercent(defaultGCPercent)
	gctuner.Tuning(gcHeapThreshold)
}
