package monitor

import (
	"sync"
	"testing"
	"time"
)

// A job never waits for a busy worker: with every worker blocked, the next
// job starts on a new one at once.
func TestWorkers_BusyWorkersDelayNothing(t *testing.T) {
	release := make(chan struct{})
	var started sync.WaitGroup
	w := newWorkers(func(probeJob) { started.Done(); <-release })
	defer w.stop()
	started.Add(3)
	for range 3 {
		w.do(probeJob{})
	}
	done := make(chan struct{})
	go func() { started.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("three jobs did not all start while the first ones were blocked")
	}
	if got := w.spawned.Load(); got != 3 {
		t.Errorf("spawned %d workers for 3 concurrent jobs, want 3", got)
	}
	close(release)
}

// Sequential jobs reuse one worker; an idle worker exits after its idle
// time, and the next job starts a new one.
func TestWorkers_ReuseAndIdleExit(t *testing.T) {
	ran := make(chan struct{}, 10)
	w := newWorkers(func(probeJob) { ran <- struct{}{} })
	w.idle = 200 * time.Millisecond
	defer w.stop()
	for range 5 {
		w.do(probeJob{})
		<-ran
		time.Sleep(50 * time.Millisecond) // the worker is back waiting
	}
	// One, unless a loaded machine kept the worker from its receive for 50 ms.
	n := w.spawned.Load()
	if n > 2 {
		t.Errorf("spawned %d workers for 5 sequential jobs, want 1", n)
	}
	time.Sleep(600 * time.Millisecond) // past idle: the worker has exited
	w.do(probeJob{})
	<-ran
	if got := w.spawned.Load(); got != n+1 {
		t.Errorf("spawned %d workers after an idle exit, want %d", got, n+1)
	}
}

// stop waits for the job in flight and ends the idle workers.
func TestWorkers_StopWaits(t *testing.T) {
	release := make(chan struct{})
	finished := make(chan struct{})
	w := newWorkers(func(probeJob) { <-release; close(finished) })
	w.do(probeJob{})
	stopped := make(chan struct{})
	go func() { w.stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("stop returned while a job was running")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	<-finished
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("stop did not return after the job ended")
	}
	w.stop() // a second stop is harmless
}
