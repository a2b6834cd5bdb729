package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

// The stop runs steps in reverse, goes on past failures, and keeps to its
// overall bound even when a step ignores its ctx.
func TestLifecycle_Stop(t *testing.T) {
	var order []string
	step := func(name string, err error) func(context.Context) error {
		return func(context.Context) error { order = append(order, name); return err }
	}
	hung := make(chan struct{})
	defer close(hung)
	l := &lifecycle{log: zaptest.NewLogger(t), total: 500 * time.Millisecond}
	l.onStop("first", time.Second, step("first", nil))
	l.onStop("hangs", time.Second, func(context.Context) error { <-hung; return nil })
	l.onStop("fails", time.Second, step("fails", errors.New("boom")))
	start := time.Now()
	err := l.stop()
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("stop took %s, want about the 500ms bound", took)
	}
	if len(order) != 2 || order[0] != "fails" || order[1] != "first" {
		t.Errorf("order %v, want [fails first]", order)
	}
	if err == nil {
		t.Error("stop returned nil, want the failed and abandoned steps")
	}
	if err := l.stop(); err != nil {
		t.Errorf("second stop = %v, want nil (idempotent)", err)
	}
}
