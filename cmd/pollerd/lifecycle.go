package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
)

// lifecycle is a stack of named stop steps: each is pushed right after
// starting what it stops, and stop runs them in reverse, going on past a
// failure, each within its own time bound and all within total, which stays
// under the unit's TimeoutStopSec (15 s) so systemd never SIGKILLs a flush.
type lifecycle struct {
	log   *zap.Logger
	total time.Duration
	steps []stopStep
}

type stopStep struct {
	name    string
	timeout time.Duration
	stop    func(context.Context) error
}

func (l *lifecycle) onStop(name string, timeout time.Duration, stop func(context.Context) error) {
	l.steps = append(l.steps, stopStep{name: name, timeout: timeout, stop: stop})
}

// stop runs the steps in reverse once, and joins their errors.
func (l *lifecycle) stop() error {
	var errs []error
	deadline := time.Now().Add(l.total)
	for i := len(l.steps) - 1; i >= 0; i-- {
		s := l.steps[i]
		ctx, cancel := context.WithDeadline(context.Background(), earliest(deadline, time.Now().Add(s.timeout)))
		start := time.Now()
		err := runBounded(ctx, s.stop)
		cancel()
		if err != nil {
			l.log.Warn("stop step failed", zap.String("step", s.name), zap.Error(err))
			errs = append(errs, fmt.Errorf("stop %s: %w", s.name, err))
			continue
		}
		l.log.Debug("stopped", zap.String("step", s.name), zap.Duration("took", time.Since(start)))
	}
	l.steps = nil
	return errors.Join(errs...)
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// stepGrace is how long past its deadline a step that ignores its ctx is
// waited for before the stop moves on without it.
const stepGrace = 250 * time.Millisecond

// runBounded runs stop and returns its error, or gives up on it shortly
// after ctx ends: the process is exiting, and systemd's TimeoutStopSec must
// not be reached by a step stuck on a hung disk.
func runBounded(ctx context.Context, stop func(context.Context) error) error {
	done := make(chan error, 1)
	go func() { done <- stop(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	t := time.NewTimer(stepGrace)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		return fmt.Errorf("abandoned after its deadline: %w", ctx.Err())
	}
}
