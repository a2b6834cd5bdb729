package monitor

import (
	"sync"
	"sync/atomic"
	"time"
)

// workers runs the wheel's scheduled probes on goroutines that outlive one
// probe. A goroutine started per probe begins on a small stack and grows it
// (a copy each time) on every probe's way through dial, TLS and
// http.ReadResponse: 4.7 % of the daemon's CPU profile at 10,000 targets
// (BenchmarkDaemon10k). A worker keeps its grown stack from one probe to
// the next. The pool is elastic, not bounded: a job goes to an idle worker
// when there is one and to a new worker when there is none, so a hung
// target never delays another's probe (Monitor.slots is the bound), and a
// worker idle for workerIdle exits, so a burst's workers do not stay.
type workers struct {
	jobs chan probeJob // unbuffered: a send succeeds only into an idle worker
	idle time.Duration
	run  func(probeJob)
	quit chan struct{} // closed by stop: idle workers exit at once
	once sync.Once
	wg   sync.WaitGroup
	// spawned counts the workers started (tests read it).
	spawned atomic.Int64
}

// probeJob is one scheduled probe: the target and the slot it is due at.
type probeJob struct {
	due time.Time
	e   *entry
}

// workerIdle is how long a worker waits for its next job before it exits:
// longer than the gap between a slot's wakes (PhaseGrid) with room to
// spare, so the steady state reuses the same workers.
const workerIdle = 2 * time.Second

func newWorkers(run func(probeJob)) *workers {
	return &workers{jobs: make(chan probeJob), idle: workerIdle, run: run, quit: make(chan struct{})}
}

// stop makes the workers exit once their job, if any, is done, and waits
// for them. No job may be given after it (the wheel is halted first). It
// may be called more than once.
func (w *workers) stop() {
	w.once.Do(func() { close(w.quit) })
	w.wg.Wait()
}

// do runs j on an idle worker, or on a new one; it never blocks.
func (w *workers) do(j probeJob) {
	select {
	case w.jobs <- j:
	default:
		w.wg.Add(1)
		w.spawned.Add(1)
		go w.loop(j)
	}
}

func (w *workers) loop(j probeJob) {
	defer w.wg.Done()
	w.run(j)
	t := time.NewTimer(w.idle)
	defer t.Stop()
	for {
		select {
		case j := <-w.jobs:
			w.run(j)
			t.Reset(w.idle)
		case <-t.C:
			return
		case <-w.quit:
			return
		}
	}
}
