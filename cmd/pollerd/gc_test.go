package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/bytedance/gopkg/util/gctuner"
)

func TestSetGCPercent(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))

	t.Setenv("GOGC", "200") // the operator's choice: left as the runtime read it
	setGCPercent()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set: GC percent %d, want it untouched (100)", got)
	}

	if err := os.Unsetenv("GOGC"); err != nil { // t.Setenv restores it
		t.Fatal(err)
	}
	setGCPercent()
	defer gctuner.Tuning(0)

	// The tuner sets the percent after each collection, from a finalizer:
	// collect until it shows what is wanted, for at most 5 s.
	percentAfterGC := func(ok func(uint32) bool) uint32 {
		deadline := time.Now().Add(5 * time.Second)
		for {
			runtime.GC()
			time.Sleep(5 * time.Millisecond)
			if p := gctuner.GetGCPercent(); ok(p) || time.Now().After(deadline) {
				return p
			}
		}
	}

	// The test binary's heap is far below the threshold: the heap may grow
	// by more than the 50 % of a large one.
	small := func(p uint32) bool { return p > defaultGCPercent && p <= 500 }
	if p := percentAfterGC(small); !small(p) {
		t.Errorf("small heap: GC percent %d, want in (%d, 500]", p, defaultGCPercent)
	} else if got := debug.SetGCPercent(int(p)); got != int(p) {
		t.Errorf("small heap: the runtime's GC percent is %d, the tuner's %d", got, p)
	}

	// Past the threshold, 50 %.
	big := make([][]byte, 0, 64)
	for range 48 {
		big = append(big, make([]byte, 1<<20))
	}
	p := percentAfterGC(func(p uint32) bool { return p == defaultGCPercent })
	runtime.KeepAlive(big)
	if p != defaultGCPercent {
		t.Errorf("48 MB live: GC percent %d, want %d", p, defaultGCPercent)
	}
}
