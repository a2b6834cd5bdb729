package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// watchDebounce is how long the config file must stay quiet after a change
// before it is reloaded: editors write in several steps (truncate, write,
// chmod; or write a temporary file and rename it over).
const watchDebounce = time.Second

// watchConfig watches the config file and sends on changed (buffered, never
// blocking) once it has been quiet for debounce after a change. It watches
// the file's directory, not the file: an editor that saves by renaming a
// new file over the old one (vim, sed -i, Kubernetes' ConfigMap symlink
// swap) would leave a watch on the file's inode behind. viper's WatchConfig
// does the same but cannot be stopped; this one is stopped by the returned
// function, which the lifecycle calls.
func watchConfig(path string, debounce time.Duration, log *zap.Logger, changed chan<- struct{}) (stop func(context.Context) error, err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("watch config: %w", err)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch config: %w", err)
	}
	dir := filepath.Dir(abs)
	if err := w.Add(dir); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("watch config: %w", err)
	}
	// The file as a symlink target (…/..data/pollerd.yaml) changes when the
	// link is swapped; compare resolved paths too.
	resolved := func() string {
		r, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return abs
		}
		return r
	}
	lastResolved := resolved()
	done := make(chan struct{})
	go func() {
		defer close(done)
		timer := time.NewTimer(debounce)
		timer.Stop()
		for {
			select {
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				r := resolved()
				if filepath.Clean(ev.Name) != abs && r == lastResolved {
					continue
				}
				lastResolved = r
				timer.Reset(debounce)
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				log.Warn("config watch", zap.Error(err))
			case <-timer.C:
				select {
				case changed <- struct{}{}:
				default: // one is pending already
				}
			}
		}
	}()
	return func(ctx context.Context) error {
		err := w.Close() // closes Events and Errors: the loop returns
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
		return err
	}, nil
}
