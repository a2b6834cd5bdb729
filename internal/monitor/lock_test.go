package monitor

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestEntryLockExcludes(t *testing.T) {
	e := &entry{}
	if !e.tryLock() {
		t.Fatal("tryLock of a free lock failed")
	}
	if e.tryLock() {
		t.Fatal("tryLock of a held lock succeeded")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if e.lock(ctx) {
		t.Fatal("lock of a held lock succeeded before its ctx ended")
	}

	// Waiters, each holding the lock a moment: never two at once, and
	// every one gets it once the holder lets go.
	const waiters = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		inside  int
		overlap bool
		got     int
	)
	for range waiters {
		wg.Go(func() {
			if !e.lock(context.Background()) {
				return
			}
			mu.Lock()
			inside++
			overlap = overlap || inside > 1
			got++
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			inside--
			mu.Unlock()
			e.unlock()
		})
	}
	time.Sleep(10 * time.Millisecond) // let them wait on the held lock
	e.unlock()
	wg.Wait()
	if overlap {
		t.Error("two holders at once")
	}
	if got != waiters {
		t.Errorf("%d of %d waiters got the lock", got, waiters)
	}
	if !e.tryLock() {
		t.Error("lock not free after the last waiter's unlock")
	}
}
