// Heartbeat pings a dead man's switch (healthchecks.io and the
// like): a GET to a URL after each interval in which pollerd was healthy,
// so that the pinged service tells the owner when pollerd is gone or
// wedged. Healthy means the scheduler kept time (its liveness tick fresh at
// the end of the interval and no stall during it: the signal the systemd
// watchdog uses too) and the store could be written. Failed pings are
// logged, on change and every HeartbeatLogEvery-th, and counted; they are never sent
// to an alert channel, whose outage may be the very cause.

package monitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Defaults and bounds.
const (
	HeartbeatMaxTimeout = 10 * time.Second // one ping; the interval bounds it too
	HeartbeatLogEvery   = 10               // a repeated failure is logged every HeartbeatLogEvery-th time
)

// ErrHeartbeatWithheld marks an interval that earned no ping. It is not counted as
// a failure: the silence is the message.
var ErrHeartbeatWithheld = errors.New("heartbeat withheld")

// HeartbeatOptions configure a Heartbeat.
type HeartbeatOptions struct {
	// URL is pinged with GET. It is a bearer secret: it never appears in a
	// log line or an error.
	URL      string
	Interval time.Duration   // required, > 0
	Liveness func() Liveness // required: the scheduler's tick
	Healthy  func() error    // required: nil while the store can be written
	Client   *http.Client    // default: http.DefaultClient's transport, no cookies
	Logger   *zap.Logger     // default: none
}

// Heartbeat is the ping loop. Start starts it; Stop stops it and waits.
type Heartbeat struct {
	o        HeartbeatOptions
	failures atomic.Uint64

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	// Owned by the loop.
	stalls  uint64 // the scheduler's stall count at the last beat
	last    string // the last outcome's error text, "" for a ping
	repeats int    // how often last came in a row
}

// New checks o; nothing runs until Start.
func NewHeartbeat(o HeartbeatOptions) (*Heartbeat, error) {
	if o.Interval <= 0 || o.Liveness == nil || o.Healthy == nil {
		return nil, errors.New("new heartbeat: interval, liveness and healthy are required")
	}
	if u, err := url.Parse(o.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("new heartbeat: the URL must be http(s)://host/…") // never echo it
	}
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Heartbeat{o: o, ctx: ctx, cancel: cancel, done: make(chan struct{})}, nil
}

// Start starts the loop: the first ping goes out one interval from now.
func (h *Heartbeat) Start() {
	h.stalls = h.o.Liveness().Stalls
	go h.run()
}

// Stop ends the loop (a ping in flight is cancelled) and waits for it, or
// for ctx. Stop after Start only.
func (h *Heartbeat) Stop(ctx context.Context) error {
	h.cancel()
	select {
	case <-h.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop heartbeat: %w", ctx.Err())
	}
}

// Failures counts the pings that failed (withheld ones are not failures).
func (h *Heartbeat) Failures() uint64 { return h.failures.Load() }

func (h *Heartbeat) run() {
	defer close(h.done)
	t := time.NewTicker(h.o.Interval)
	defer t.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case now := <-t.C:
			h.report(h.beat(now))
		}
	}
}

// beat pings once if the interval that ended at now earned it.
func (h *Heartbeat) beat(now time.Time) error {
	l := h.o.Liveness()
	stalled := l.Stalls != h.stalls
	h.stalls = l.Stalls
	if stalled || !l.OnTime(now) {
		return fmt.Errorf("%w: the scheduler is not on time", ErrHeartbeatWithheld)
	}
	if h.o.Healthy() != nil {
		return fmt.Errorf("%w: the store cannot be written", ErrHeartbeatWithheld)
	}
	ctx, cancel := context.WithTimeout(h.ctx, min(h.o.Interval, HeartbeatMaxTimeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.o.URL, nil)
	if err != nil {
		return errors.New("GET: bad URL") // checked in New; never echo it
	}
	resp, err := h.o.Client.Do(req)
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err // url.Error quotes the URL
	}
	if err != nil {
		return fmt.Errorf("GET: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("GET: status %d", resp.StatusCode)
	}
	return nil
}

// report counts failed pings and logs an outcome when it changes and every
// HeartbeatLogEvery-th time it repeats.
func (h *Heartbeat) report(err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if msg == h.last {
		h.repeats++
	} else {
		h.last, h.repeats = msg, 0
	}
	if err != nil && !errors.Is(err, ErrHeartbeatWithheld) {
		h.failures.Add(1)
	}
	switch {
	case h.repeats%HeartbeatLogEvery != 0:
	case err == nil:
		if h.repeats == 0 {
			h.o.Logger.Info("heartbeat sent")
		}
	default:
		h.o.Logger.Warn("heartbeat not sent", zap.Error(err), zap.Uint64("failures", h.failures.Load()),
			zap.Int("repeats", h.repeats))
	}
}
